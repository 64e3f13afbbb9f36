//! `rampart gdpr`: checking a subject's export and an erasure certificate offline (no server,
//! no database: the audit log's public key is all they need), and re-destroying the subject keys
//! of recorded erasures after a restore from a backup made before them.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment;
use rampart_app::monitor::MonitorService;
use rampart_app::subjects::SubjectService;
use rampart_audit::tree::{leaf_hash, to_hex};
use rampart_audit::{Entry, verifier_from_key_text};
use rampart_subjects::{ErasureId, SubjectKeyId};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Largest document read.
const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

fn read_document(file: &Path) -> anyhow::Result<Value> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .len();
    if size > MAX_DOCUMENT_BYTES {
        anyhow::bail!("{} is larger than 1 GiB", file.display());
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// The problems of one exported entry: its leaf recomputed from its content (without
/// `leaf_hash` and `personal_plain`, which are outside the leaf) and its subject.
fn entry_problems(index: usize, entry: &Value, subject: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut content = entry.clone();
    let claimed = content
        .as_object_mut()
        .and_then(|o| {
            o.remove("personal_plain");
            o.remove("leaf_hash")
        })
        .and_then(|v| v.as_str().map(str::to_owned));
    let parsed: Result<Entry, _> = serde_json::from_value(content);
    match (parsed, claimed) {
        (Ok(parsed), Some(claimed)) => {
            match parsed.canonical_json() {
                Ok(canonical) if to_hex(&leaf_hash(&canonical)) == claimed => {}
                _ => problems.push(format!(
                    "audit_entries[{index}] (seq {}): its content does not hash to its leaf_hash",
                    parsed.seq
                )),
            }
            if parsed.subject_id.as_deref() != subject {
                problems.push(format!(
                    "audit_entries[{index}] (seq {}): another subject's entry",
                    parsed.seq
                ));
            }
        }
        (Err(_), _) => problems.push(format!("audit_entries[{index}] is not an audit entry")),
        (_, None) => problems.push(format!("audit_entries[{index}] has no leaf_hash")),
    }
    problems
}

/// `rampart gdpr verify-export FILE --public-key KEY`.
pub(crate) fn verify_export(file: &Path, public_key: &str, json_out: bool) -> anyhow::Result<()> {
    let verifier = verifier_from_key_text(public_key).context("--public-key")?;
    let document = read_document(file)?;
    let mut problems = Vec::new();
    if let Err(e) = verifier.verify_document(&document) {
        problems.push(e.to_string());
    }
    let subject = document.get("subject_id").and_then(Value::as_str);
    if subject.is_none() {
        problems.push("the document has no subject_id: it is not a subject's export".into());
    }
    let entries = document
        .get("audit_entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, entry) in entries.iter().enumerate() {
        problems.extend(entry_problems(index, entry, subject));
    }
    report(
        json_out,
        &problems,
        &format!(
            "OK: the export is signed by the audit log's key; {} audit entries each hash to their leaf and belong to the subject",
            entries.len()
        ),
        "the export did not verify",
    )
}

/// `rampart gdpr verify-certificate FILE --public-key KEY`.
pub(crate) fn verify_certificate(
    file: &Path,
    public_key: &str,
    json_out: bool,
) -> anyhow::Result<()> {
    let verifier = verifier_from_key_text(public_key).context("--public-key")?;
    let document = read_document(file)?;
    let mut problems = Vec::new();
    if let Err(e) = verifier.verify_document(&document) {
        problems.push(e.to_string());
    }
    let id = document.get("id").and_then(Value::as_str).unwrap_or("");
    if ErasureId::parse(id).is_none() || document.get("actions").is_none() {
        problems.push("the document is not an erasure certificate (no era_ id or actions)".into());
    }
    let status = document
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("?");
    report(
        json_out,
        &problems,
        &format!("OK: erasure certificate {id} ({status}) is signed by the audit log's key"),
        "the certificate did not verify",
    )
}

fn report(json_out: bool, problems: &[String], ok: &str, failed: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(
            out,
            "{}",
            json!({"ok": problems.is_empty(), "problems": problems})
        )?;
    } else if problems.is_empty() {
        writeln!(out, "{ok}")?;
    } else {
        writeln!(out, "FAILED: {} problem(s)", problems.len())?;
        for problem in problems.iter().take(20) {
            writeln!(out, "  {problem}")?;
        }
    }
    out.flush()?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!("{failed}"))
    }
}

/// The erasures an audit export records: each `gdpr.erasure` entry's erasure id
/// (`resource.id`) and destroyed key ids (`details.subject_keys`).
fn erasures_in_export(file: &Path) -> anyhow::Result<Vec<(ErasureId, Vec<SubjectKeyId>)>> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut found = Vec::new();
    for (number, line) in std::io::BufReader::new(handle).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", file.display()))?;
        if !line.contains("\"gdpr.erasure\"") {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            anyhow::bail!("{} line {}: not JSON", file.display(), number + 1);
        };
        if entry.get("action").and_then(Value::as_str) != Some("gdpr.erasure") {
            continue;
        }
        let id = entry
            .pointer("/resource/id")
            .and_then(Value::as_str)
            .and_then(ErasureId::parse);
        let keys: Option<Vec<SubjectKeyId>> = entry
            .pointer("/details/subject_keys")
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k.as_str().and_then(SubjectKeyId::parse))
                    .collect()
            });
        if let (Some(id), Some(keys)) = (id, keys) {
            found.push((id, keys));
        }
    }
    Ok(found)
}

/// `rampart gdpr replay-erasures [--from-export FILE]`.
pub(crate) async fn replay_erasures(
    loaded: &LoadedSettings,
    from_export: Option<&Path>,
) -> anyhow::Result<()> {
    let extra = match from_export {
        Some(file) => erasures_in_export(file)?,
        None => Vec::new(),
    };
    let opened = deployment::open(loaded).await?;
    let (store, audit) = (opened.store.clone(), opened.audit.clone());
    let kek = Arc::new(opened.kek);
    let monitor = Arc::new(
        MonitorService::new(
            opened.store.clone(),
            opened.audit.clone(),
            Arc::clone(&kek),
            &loaded.settings,
        )
        .map_err(|e| anyhow::anyhow!("detection rules: {e}"))?,
    );
    let subjects = SubjectService::new(
        opened.store,
        opened.audit,
        kek,
        monitor,
        opened.subject_lookup_key,
        std::time::Duration::ZERO,
    );
    let replayed = subjects
        .replay_erasures(&extra, OffsetDateTime::now_utc())
        .await
        .context("cannot replay the erasures")?;
    let written = rampart_app::system_audit::record(
        &audit,
        "rampart-cli",
        "gdpr.erasures_replayed",
        ("erasure", "all"),
        json!({"erasures": replayed.erasures, "keys_destroyed": replayed.keys_destroyed,
               "from_export": extra.len()}),
    )
    .await;
    drop(subjects);
    drop(audit);
    store.close().await;
    println!(
        "replayed {} erasure(s): {} subject key(s) were live again and are destroyed now",
        replayed.erasures, replayed.keys_destroyed
    );
    if !written {
        anyhow::bail!(
            "the keys are destroyed but the audit entry (gdpr.erasures_replayed) could not be written"
        );
    }
    Ok(())
}
