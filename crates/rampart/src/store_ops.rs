//! Commands on an export file or a store, with a progress bar: `audit verify`, `audit export`,
//! `keys rewrap-all`.

use std::io::Write as _;

use anyhow::Context as _;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment;

use crate::progress_bar;

/// `rampart audit verify FILE`: an export checked offline.
pub(crate) fn audit_verify(
    file: &std::path::Path,
    public_key: Option<&str>,
    json: bool,
    complete: bool,
) -> anyhow::Result<()> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(size, "bytes");
    let mut verifier = rampart_audit::Verifier::new();
    verifier
        .read_all(std::io::BufReader::with_capacity(1 << 20, handle), |read| {
            bar.set_position(read)
        })
        .with_context(|| format!("cannot read {}", file.display()))?;
    bar.finish_and_clear();
    let mut report = verifier.finish_with_key_text(public_key);
    if complete && report.withheld_entries > 0 {
        report.ok = false;
        report.problems.push(rampart_audit::VerifyProblem {
            seq: None,
            line: None,
            problem: format!(
                "{} entries are withheld (not in the file): the export is not complete",
                report.withheld_entries
            ),
        });
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else if report.ok {
        writeln!(
            out,
            "OK: {} entries verified; tree size {}, root {}; checkpoint signature valid",
            report.checked_entries, report.tree_size, report.root_hash
        )?;
        if report.withheld_entries > 0 {
            writeln!(
                out,
                "   {} entries were withheld from this export (another team's): they count for the tree, their content was not seen",
                report.withheld_entries
            )?;
        }
        if report.pruned_entries > 0 {
            writeln!(
                out,
                "   {} entries were pruned under retention: their leaf hashes count for the tree, their content no longer exists",
                report.pruned_entries
            )?;
        }
    } else {
        writeln!(
            out,
            "FAILED: {} problem(s) after checking {} entries",
            report.problems.len(),
            report.checked_entries
        )?;
        for problem in report.problems.iter().take(20) {
            let place = match (problem.seq, problem.line) {
                (Some(seq), Some(line)) => format!("entry {seq} (line {line})"),
                (Some(seq), None) => format!("entry {seq}"),
                (None, Some(line)) => format!("line {line}"),
                (None, None) => "log".to_owned(),
            };
            writeln!(out, "  {place}: {}", problem.problem)?;
        }
    }
    out.flush()?;
    if report.ok {
        Ok(())
    } else {
        Err(anyhow::anyhow!("the export did not verify"))
    }
}

/// `rampart audit export`: NDJSON straight from the store.
pub(crate) async fn audit_export(
    loaded: &LoadedSettings,
    from_seq: Option<u64>,
    to_seq: Option<u64>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use futures_util::StreamExt as _;
    let opened = deployment::open(loaded).await?;
    let (range, stream) =
        rampart_app::audit_export::export(&opened.audit, from_seq, to_seq, None).await?;
    let mut writer: Box<dyn std::io::Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let bar = progress_bar(range.end - range.from, "entries");
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let lines = chunk.iter().filter(|b| **b == b'\n').count();
        writer.write_all(&chunk)?;
        bar.inc(u64::try_from(lines).unwrap_or(0));
    }
    writer.flush()?;
    bar.finish_and_clear();
    opened.store.close().await;
    Ok(())
}

/// `rampart keys rewrap-all`: every stored ciphertext under a key to its latest version.
pub(crate) async fn keys_rewrap_all(
    loaded: &LoadedSettings,
    key: &str,
    batch: u32,
) -> anyhow::Result<()> {
    use rampart_app::maintenance::{RewrapOutcome, rewrap_all};
    let bar = progress_bar(0, "ciphertexts");
    let outcome = rewrap_all(loaded, key, batch, |progress| {
        bar.set_length(progress.total);
        bar.set_position(progress.done);
    })
    .await?;
    bar.finish_and_clear();
    match outcome {
        RewrapOutcome::Rewrapped { progress, version } => {
            println!(
                "rewrapped {} ciphertexts under {key} to version {version}; {} could not be re-encrypted",
                progress.done, progress.failed
            );
            eprintln!(
                "note: servers that had not yet seen the rotation may encrypt under the old version for up to {} s; run this again after that to catch them",
                rampart_app::services::CACHE_TTL.as_secs()
            );
            if progress.failed > 0 {
                anyhow::bail!(
                    "{} ciphertexts did not decrypt (their tokens are in the log); they stay under their old version",
                    progress.failed
                );
            }
        }
        RewrapOutcome::NothingStored => println!(
            "Rampart stores no ciphertexts under {key}; applications hold them: re-encrypt them with POST /v1/keys/{key}/rewrap"
        ),
    }
    Ok(())
}
