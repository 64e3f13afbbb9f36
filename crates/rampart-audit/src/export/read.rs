//! Reading an export file: lines in bounded memory, examined (parsed, leaf hashed) in batches
//! on every core, then taken in file order.

use std::io::BufRead;
use std::num::NonZeroUsize;

use super::{Examined, MAX_LINE_BYTES, Verifier, examine};

/// Lines examined together.
const BATCH_LINES: usize = 4096;

/// One line as read: its bytes (line break included), or too long to hold.
enum Raw {
    Line(Vec<u8>),
    TooLong,
}

fn examine_raw(raw: &Raw) -> Examined {
    match raw {
        Raw::TooLong => Examined::TooLong,
        Raw::Line(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => examine(text.trim_end_matches(['\n', '\r'])),
            Err(_) => Examined::NotUtf8,
        },
    }
}

/// Examines `batch` split over `threads`, in order.
fn examine_all(batch: &[Raw], threads: usize) -> Vec<Examined> {
    if threads <= 1 || batch.len() < 256 {
        return batch.iter().map(examine_raw).collect();
    }
    let per_thread = batch.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = batch
            .chunks(per_thread)
            .map(|part| {
                let handle = scope.spawn(move || part.iter().map(examine_raw).collect());
                (part, handle)
            })
            .collect();
        let mut out = Vec::with_capacity(batch.len());
        for (part, handle) in parts {
            let examined: Vec<Examined> = handle
                .join()
                .unwrap_or_else(|_| part.iter().map(examine_raw).collect());
            out.extend(examined);
        }
        out
    })
}

/// The next line of `reader` and the bytes it took; `None` at the end. A line longer than
/// [`MAX_LINE_BYTES`] is skipped without being held.
fn next_line(reader: &mut impl BufRead) -> std::io::Result<(Option<Raw>, u64)> {
    let mut line = Vec::new();
    let mut read = 0u64;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if line.len() + take > MAX_LINE_BYTES + 1 {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(available.get(..take).unwrap_or_default());
            }
        }
        reader.consume(take);
        read += u64::try_from(take).unwrap_or(0);
        if done {
            break;
        }
    }
    if too_long {
        return Ok((Some(Raw::TooLong), read));
    }
    Ok(((!line.is_empty()).then_some(Raw::Line(line)), read))
}

impl Verifier {
    /// Reads an export from `reader` line by line (lines longer than [`MAX_LINE_BYTES`] are
    /// refused without being held in memory), calling `progress` with the bytes read so far.
    /// Lines are parsed and hashed in batches on every available core.
    pub fn read_all(
        &mut self,
        mut reader: impl BufRead,
        mut progress: impl FnMut(u64),
    ) -> std::io::Result<()> {
        let threads = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .clamp(1, 8);
        let mut batch = Vec::with_capacity(BATCH_LINES);
        let mut read = 0u64;
        loop {
            let (raw, taken) = next_line(&mut reader)?;
            read += taken;
            let end = raw.is_none();
            batch.extend(raw);
            if end || batch.len() >= BATCH_LINES {
                for examined in examine_all(&batch, threads) {
                    self.take(examined);
                }
                batch.clear();
                progress(read);
            }
            if end {
                return Ok(());
            }
        }
    }
}
