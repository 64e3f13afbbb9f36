//! `rampart retention`: the policies in force, and a disposal run (or a dry run) executed
//! here, with a progress bar, beside running servers (a run a crash interrupted is resumed).

use std::sync::Arc;

use anyhow::Context as _;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment;
use rampart_app::monitor::MonitorService;
use rampart_app::retention::{RetentionService, policy_json, run_json, run_to_end};

/// Records per transaction.
const BATCH: u32 = 10_000;

/// The deployment's store type (named through the deployment, which holds one).
type Store = rampart_app::retention::DeploymentStore;

/// The service, with the store (closed at the end) and the audit log.
type Opened = (
    RetentionService<Store>,
    Store,
    rampart_audit::AuditLog<Store>,
);

async fn service(loaded: &LoadedSettings) -> anyhow::Result<Opened> {
    let opened = deployment::open(loaded).await?;
    let kek = Arc::new(opened.kek);
    let monitor = Arc::new(
        MonitorService::new(
            opened.store.clone(),
            opened.audit.clone(),
            kek,
            &loaded.settings,
        )
        .map_err(|e| anyhow::anyhow!("detection rules: {e}"))?,
    );
    let service = RetentionService::new(opened.store.clone(), opened.audit.clone(), monitor, BATCH);
    Ok((service, opened.store, opened.audit))
}

/// `rampart retention policies`.
pub(crate) async fn policies(loaded: &LoadedSettings, json: bool) -> anyhow::Result<()> {
    let (service, store, audit) = service(loaded).await?;
    let policies = service
        .policies()
        .await
        .context("cannot read the policies")?;
    if json {
        let items: Vec<_> = policies.iter().map(policy_json).collect();
        println!("{}", serde_json::json!({"items": items}));
    } else if policies.is_empty() {
        println!("no retention policies: everything is kept");
    } else {
        println!(
            "{:<32} {:>14} {:<11} UPDATED BY",
            "DATA TYPE", "RETAIN", "MODE"
        );
        for p in &policies {
            let retain = if p.retain_seconds % 86_400 == 0 {
                format!("{} days", p.retain_seconds / 86_400)
            } else {
                format!("{} s", p.retain_seconds)
            };
            println!(
                "{:<32} {:>14} {:<11} {}",
                p.data_type.to_string(),
                retain,
                p.mode.as_str(),
                p.updated_by
            );
        }
    }
    drop(audit);
    store.close().await;
    Ok(())
}

/// `rampart retention run [--dry-run]`.
pub(crate) async fn run(loaded: &LoadedSettings, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let (service, store, audit) = service(loaded).await?;
    let bar = crate::progress_bar(0, "records");
    let result = run_to_end(&service, &audit, dry_run, "rampart-cli", |_, p| {
        bar.set_length(p.total.max(p.done));
        bar.set_position(p.done);
    })
    .await;
    bar.finish_and_clear();
    let run = result.context("the disposal run failed (run it again to resume it)")?;
    if json {
        println!("{}", run_json(&run, &[]));
    } else {
        println!(
            "{} {} ({})",
            if run.dry_run { "dry run" } else { "run" },
            run.id.as_str(),
            if run.dry_run {
                "nothing disposed of"
            } else {
                "finished"
            }
        );
        println!(
            "{:<24} {:>10} {:>10} {:>10}  CERTIFICATE",
            "DATA TYPE", "DUE", "DISPOSED", "HELD"
        );
        for s in &run.steps {
            let certificate = if s.disposed > 0 && !run.dry_run {
                s.certificate_id.as_str()
            } else {
                "-"
            };
            println!(
                "{:<24} {:>10} {:>10} {:>10}  {certificate}",
                s.data_type.to_string(),
                s.due,
                s.disposed,
                s.held_back
            );
        }
    }
    drop(service);
    drop(audit);
    store.close().await;
    Ok(())
}

/// `rampart retention verify-certificate FILE --public-key KEY`: a disposal certificate's
/// signature by the audit log's key, offline.
pub(crate) fn verify_certificate(
    file: &std::path::Path,
    public_key: &str,
    json_out: bool,
) -> anyhow::Result<()> {
    let verifier = rampart_audit::verifier_from_key_text(public_key).context("--public-key")?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let mut problems = Vec::new();
    if let Err(e) = verifier.verify_document(&document) {
        problems.push(e.to_string());
    }
    let id = document
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    if !id.starts_with("dcert_")
        || document
            .get("count")
            .and_then(serde_json::Value::as_u64)
            .is_none()
    {
        problems.push("the document is not a disposal certificate (no dcert_ id or count)".into());
    }
    if json_out {
        println!(
            "{}",
            serde_json::json!({"ok": problems.is_empty(), "problems": problems})
        );
    } else if problems.is_empty() {
        println!("OK: disposal certificate {id} is signed by the audit log's key");
    } else {
        for problem in &problems {
            eprintln!("{problem}");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("the certificate did not verify")
    }
}
