//! Reading a package's zip, bounded: at most [`MAX_MEMBERS`] members with valid names, every
//! member inflated through a meter that hashes it and counts its bytes against
//! [`MAX_TOTAL_BYTES`] (and [`MAX_DOCUMENT_BYTES`] for members held in memory) as they come,
//! whatever the headers claim. The audit export is streamed into the audit verifier.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use zip::ZipArchive;
use zip::read::ZipReadOptions;

use super::verify::Check;
use super::{
    AUDIT_EXPORT, MAX_DOCUMENT_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, hex, is_document, name_problem,
};

/// What was read of a package.
#[derive(Default)]
pub(super) struct Contents {
    /// Every member name in the archive, in order (names that are not UTF-8 shown lossily).
    pub(super) present: Vec<String>,
    /// SHA-256 (hex) and size of every member read in full, by name.
    pub(super) digests: BTreeMap<String, (String, u64)>,
    /// The bytes of the members held in memory ([`is_document`]), by name.
    pub(super) documents: BTreeMap<String, Vec<u8>>,
    /// The audit export fed to the audit verifier (not finished: the key comes later), with
    /// the seq its first line names.
    pub(super) export: Option<(rampart_audit::Verifier, Option<u64>)>,
}

/// Reads the archive `zip`, recording every problem in `check`; `None` when the archive
/// cannot be used at all (unreadable, too many members).
pub(super) fn read_archive<R: Read + Seek>(zip: R, check: &mut Check) -> Option<Contents> {
    let mut archive = match ZipArchive::new(zip) {
        Ok(archive) => archive,
        Err(e) => {
            check.archive(format!("cannot be read ({e})"));
            return None;
        }
    };
    let raw_names: Vec<Vec<u8>> = archive.file_names_raw().map(<[u8]>::to_vec).collect();
    let duplicates = archive.has_duplicate_names();
    let listed = if duplicates {
        // The archive keeps one entry per name: read the names from the central directory
        // itself, then open the archive again.
        let start = archive.central_directory_start();
        let mut zip = archive.into_inner();
        let listed = central_directory_names(&mut zip, start);
        let reopened = ZipArchive::new(zip);
        match (listed, reopened) {
            (Ok(listed), Ok(reopened)) => {
                archive = reopened;
                listed
            }
            (Err(e), _) => {
                check.archive(format!("cannot be read ({e})"));
                return None;
            }
            (_, Err(e)) => {
                check.archive(format!("cannot be read ({e})"));
                return None;
            }
        }
    } else {
        raw_names.clone()
    };
    let count = listed.len().max(raw_names.len());
    if count > MAX_MEMBERS {
        check.archive(format!(
            "holds {count} members, more than the {MAX_MEMBERS} a package may hold"
        ));
        return None;
    }
    let mut contents = Contents::default();
    if duplicates {
        let mut seen: BTreeMap<&[u8], usize> = BTreeMap::new();
        for name in &listed {
            *seen.entry(name.as_slice()).or_default() += 1;
        }
        for (name, times) in seen.into_iter().filter(|(_, times)| *times > 1) {
            check.member(
                &shown(name),
                format!("appears {times} times in the archive (a reader may take either copy)"),
            );
        }
    }
    let mut budget = MAX_TOTAL_BYTES;
    for (index, raw) in raw_names.iter().enumerate() {
        let name = shown(raw);
        contents.present.push(name.clone());
        let Ok(real) = std::str::from_utf8(raw) else {
            check.member(&name, "the name is not UTF-8");
            continue;
        };
        if let Some(problem) = name_problem(real) {
            check.member(&name, problem);
            continue;
        }
        // A valid name is shown as it is.
        let name = real.to_owned();
        let options = ZipReadOptions::new().enforce_header_consistency(!duplicates);
        let file = match archive.by_index_with_options(index, options) {
            Ok(file) => file,
            Err(e) => {
                check.member(&name, format!("cannot be read from the archive ({e})"));
                continue;
            }
        };
        let limit = if is_document(&name) {
            MAX_DOCUMENT_BYTES
        } else {
            MAX_TOTAL_BYTES
        };
        let mut meter = Meter::new(file, limit, &mut budget, name == AUDIT_EXPORT);
        let outcome = if is_document(&name) {
            let mut bytes = Vec::new();
            meter
                .read_to_end(&mut bytes)
                .map(|_| contents.documents.insert(name.clone(), bytes))
                .map(|_| ())
        } else if name == AUDIT_EXPORT {
            let mut verifier = rampart_audit::Verifier::new();
            let read = verifier.read_all(BufReader::with_capacity(1 << 16, &mut meter), |_| {});
            let first_seq = first_seq(&meter.first_line);
            read.map(|()| contents.export = Some((verifier, first_seq)))
        } else {
            io::copy(&mut meter, &mut io::sink()).map(|_| ())
        };
        match (outcome, meter.over) {
            (Ok(()), _) => {
                let size = meter.size;
                let digest = hex(meter.digest.finish().as_ref());
                contents.digests.insert(name, (digest, size));
            }
            (Err(_), Some(over)) => check.member(&name, over),
            (Err(e), None) => check.member(
                &name,
                format!("is corrupt: it does not inflate or fails its CRC check ({e})"),
            ),
        }
    }
    Some(contents)
}

/// A member's name as problems show it: as is when valid, quoted (escapes visible) otherwise.
pub(super) fn shown(raw: &[u8]) -> String {
    let name = String::from_utf8_lossy(raw);
    if std::str::from_utf8(raw).is_ok() && name_problem(&name).is_none() {
        name.into_owned()
    } else {
        format!("{name:?}")
    }
}

/// The seq the export's first line names (its first entry, or the checkpoint's size when it
/// holds no entry); `None` when that line cannot tell.
fn first_seq(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let text = text.trim_end_matches('\r');
    match rampart_audit::export::parse_line(text).ok()? {
        rampart_audit::ExportLine::Entry { seq, .. }
        | rampart_audit::ExportLine::Withheld { seq, .. }
        | rampart_audit::ExportLine::Pruned { seq, .. } => Some(seq),
        rampart_audit::ExportLine::Trailer(trailer) => Some(trailer.checkpoint.tree_size),
    }
}

/// Every name in the central directory starting at `start`, duplicates included (the zip
/// reader keeps one entry per name). Stops at the first record that is not a central header,
/// or at the archive's end.
fn central_directory_names<R: Read + Seek>(zip: &mut R, start: u64) -> io::Result<Vec<Vec<u8>>> {
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    const FIXED: usize = 46;
    let mut names = Vec::new();
    if zip.seek(SeekFrom::Start(start)).is_err() {
        return Ok(names);
    }
    let mut header = [0u8; FIXED];
    // One more than the limit is enough to refuse the archive.
    while names.len() <= MAX_MEMBERS {
        if !read_full(zip, &mut header)? || header.get(..4) != Some(SIGNATURE) {
            break;
        }
        let u16_at = |at: usize| match header.get(at..at + 2) {
            Some(&[a, b]) => u16::from_le_bytes([a, b]),
            _ => 0,
        };
        let (name_len, extra_len, comment_len) = (u16_at(28), u16_at(30), u16_at(32));
        let mut name = vec![0u8; usize::from(name_len)];
        if !read_full(zip, &mut name)? {
            break;
        }
        names.push(name);
        let skip = i64::from(extra_len) + i64::from(comment_len);
        if zip.seek(SeekFrom::Current(skip)).is_err() {
            break;
        }
    }
    Ok(names)
}

/// Fills `buffer` from `reader`: `false` when the reader ends first.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<bool> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a member through: hashes it, counts its bytes against its own limit and the budget
/// left for the whole package, and keeps the first line (for the audit export).
struct Meter<'b, R> {
    inner: R,
    digest: ring::digest::Context,
    size: u64,
    limit: u64,
    budget: &'b mut u64,
    /// Why reading stopped, when a limit did it.
    over: Option<String>,
    keep_first_line: bool,
    first_line: Vec<u8>,
}

impl<'b, R: Read> Meter<'b, R> {
    fn new(inner: R, limit: u64, budget: &'b mut u64, keep_first_line: bool) -> Self {
        Self {
            inner,
            digest: ring::digest::Context::new(&ring::digest::SHA256),
            size: 0,
            limit,
            budget,
            over: None,
            keep_first_line,
            first_line: Vec::new(),
        }
    }

    fn keep(&mut self, got: &[u8]) {
        let (part, done) = match got.iter().position(|b| *b == b'\n') {
            Some(end) => (got.get(..end).unwrap_or_default(), true),
            None => (got, false),
        };
        let room = rampart_audit::export::MAX_LINE_BYTES.saturating_sub(self.first_line.len());
        self.first_line
            .extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        if done || room < part.len() {
            self.keep_first_line = false;
        }
    }
}

impl<R: Read> Read for Meter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        let counted = u64::try_from(n).unwrap_or(u64::MAX);
        self.size = self.size.saturating_add(counted);
        if self.size > self.limit {
            let over = format!(
                "inflates to more than {} bytes, the most a member of its kind may hold",
                self.limit
            );
            self.over = Some(over);
            return Err(io::Error::other("member too large"));
        }
        if counted > *self.budget {
            let over = format!(
                "the package inflates to more than {MAX_TOTAL_BYTES} bytes in all (reached while reading this member)"
            );
            self.over = Some(over);
            return Err(io::Error::other("package too large"));
        }
        *self.budget -= counted;
        self.digest.update(got);
        if self.keep_first_line {
            self.keep(got);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(meter: &mut Meter<'_, impl Read>) -> io::Result<u64> {
        io::copy(meter, &mut io::sink())
    }

    #[test]
    fn the_meter_stops_at_the_member_limit_and_at_the_package_budget() {
        let mut budget = 1000;
        let mut meter = Meter::new(io::repeat(b'x').take(101), 100, &mut budget, false);
        assert!(read(&mut meter).is_err());
        assert!(meter.over.unwrap().contains("more than 100 bytes"));

        // The budget is shared: what one member used is gone for the next.
        let mut budget = 150;
        let mut first = Meter::new(io::repeat(b'x').take(100), 1000, &mut budget, false);
        assert_eq!(read(&mut first).unwrap(), 100);
        assert_eq!(budget, 50);
        let mut second = Meter::new(io::repeat(b'x').take(100), 1000, &mut budget, false);
        assert!(read(&mut second).is_err());
        assert!(second.over.unwrap().contains("in all"));
    }

    #[test]
    fn the_meter_hashes_and_keeps_the_first_line() {
        let mut budget = MAX_TOTAL_BYTES;
        let text = b"{\"a\":1}\nsecond line\n";
        let mut meter = Meter::new(&text[..], 1000, &mut budget, true);
        assert_eq!(read(&mut meter).unwrap(), 20);
        assert_eq!(meter.first_line, b"{\"a\":1}");
        assert_eq!(
            hex(meter.digest.finish().as_ref()),
            super::super::sha256_hex(text)
        );
    }

    #[test]
    fn central_directory_names_stop_at_anything_but_a_header() {
        let names = |bytes: &[u8], start: u64| {
            central_directory_names(&mut io::Cursor::new(bytes), start).unwrap()
        };
        assert!(names(b"", 0).is_empty());
        assert!(names(b"PK\x01\x02", 0).is_empty());
        assert!(names(b"PK\x01\x02", u64::MAX).is_empty());
        let mut header = b"PK\x01\x02".to_vec();
        header.resize(46, 0);
        header[28] = 3;
        header.extend_from_slice(b"abc");
        assert_eq!(names(&header, 0), [b"abc".to_vec()]);
        header[28] = 4;
        assert!(names(&header, 0).is_empty());
    }
}
