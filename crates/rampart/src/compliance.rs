//! `rampart compliance`: a report made here against the deployment (stored, signed and
//! audited like one made through the API), printed as a table for a terminal or written as
//! JSON, HTML or OSCAL; and the offline check of an evidence package.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_app::compliance::ComplianceService;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment;
use rampart_app::monitor::MonitorService;
use rampart_compliance::{FrameworkId, Report, Status};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::ComplianceCommand;

/// Runs one `rampart compliance` command.
pub(crate) async fn dispatch(
    config: Option<&std::path::PathBuf>,
    command: ComplianceCommand,
) -> anyhow::Result<()> {
    match command {
        ComplianceCommand::Report {
            store,
            framework,
            format,
            output,
        } => {
            let loaded = crate::load(config, &store.flags())?;
            crate::init_logging(&loaded.settings);
            report(&loaded, &framework, format.as_deref(), output.as_deref()).await
        }
        ComplianceCommand::Verify {
            file,
            public_key,
            json,
        } => verify(&file, public_key.as_deref(), json),
    }
}

/// Largest package checked (an evidence package holds an audit export).
const MAX_PACKAGE_BYTES: u64 = 8 << 30;

/// `rampart compliance report`.
pub(crate) async fn report(
    loaded: &LoadedSettings,
    framework: &str,
    format: Option<&str>,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let framework: FrameworkId = framework
        .parse()
        .map_err(|e| anyhow::anyhow!("--framework {framework}: {e}"))?;
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
    let service = ComplianceService::new(
        opened.store.clone(),
        opened.audit.clone(),
        loaded.settings.clone(),
        opened.master_key_source,
        monitor,
        Arc::clone(&opened.threat),
    );
    let generated = service
        .generate(framework, "rampart-cli", OffsetDateTime::now_utc())
        .await
        .context("cannot make the report")?;
    rampart_app::system_audit::record(
        &opened.audit,
        "rampart-cli",
        "compliance.report_generate",
        ("compliance_report", generated.report.id.as_str()),
        json!({
            "framework": framework.as_str(),
            "summary": generated.report.summary,
            "tree_size": generated.report.audit.tree_size,
        }),
    )
    .await;
    let report = &generated.report;
    let text = match format {
        None => table(report),
        Some("json") => generated.stored.document.clone() + "\n",
        Some("html") => rampart_compliance::html(report),
        Some("oscal") => serde_json::to_string_pretty(&rampart_compliance::oscal(report))? + "\n",
        Some(other) => anyhow::bail!("--format {other}: use json, html or oscal"),
    };
    match output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "report {} written to {} ({})",
                report.id.as_str(),
                path.display(),
                summary_line(report)
            );
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    opened.store.close().await;
    Ok(())
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} pass, {} fail, {} manual, {} waived, {} not applicable",
        s.pass, s.fail, s.manual, s.waived, s.not_applicable
    )
}

/// The report for a terminal: the summary, then one line per control, failures first.
fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} ({}) report {}\ngenerated {} over {} audit entries (root {})\n\n",
        report.framework_title,
        report.framework_version,
        report.id.as_str(),
        report.generated_at,
        report.audit.tree_size,
        report
            .audit
            .root_hash
            .get(..16)
            .unwrap_or(&report.audit.root_hash),
    ));
    let s = &report.summary;
    out.push_str("  PASS  FAIL  MANUAL  WAIVED  N/A\n");
    out.push_str(&format!(
        "  {:>4}  {:>4}  {:>6}  {:>6}  {:>3}\n\n",
        s.pass, s.fail, s.manual, s.waived, s.not_applicable
    ));
    let order = |status: Status| match status {
        Status::Fail => 0,
        Status::Manual => 1,
        Status::Waived => 2,
        Status::Pass => 3,
        Status::NotApplicable => 4,
    };
    let mut controls: Vec<_> = report.controls.iter().collect();
    controls.sort_by_key(|c| order(c.status));
    let width = controls.iter().map(|c| c.id.len()).max().unwrap_or(10);
    out.push_str(&format!("{:<width$}  {:<14}  TITLE\n", "CONTROL", "STATUS"));
    for control in controls {
        out.push_str(&format!(
            "{:<width$}  {:<14}  {}\n",
            control.id,
            control.status.as_str(),
            control.title
        ));
        if matches!(control.status, Status::Fail) {
            out.push_str(&format!(
                "{:<width$}  {:<14}  why: {}\n",
                "", "", control.reason
            ));
            out.push_str(&format!(
                "{:<width$}  {:<14}  fix: {}\n",
                "", "", control.remediation
            ));
        }
    }
    out
}

/// `rampart compliance verify PACKAGE.zip [--public-key KEY]`: exits 0 only when everything
/// in the package verifies.
pub(crate) fn verify(file: &Path, public_key: Option<&str>, json_out: bool) -> anyhow::Result<()> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .len();
    if size > MAX_PACKAGE_BYTES {
        anyhow::bail!("{} is larger than 8 GiB", file.display());
    }
    // Read as it is checked, never whole: the audit export inflates as it is verified.
    let zip =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let checked = rampart_compliance::evidence::verify_package_reader(
        std::io::BufReader::with_capacity(1 << 16, zip),
        public_key,
    );
    if json_out {
        println!("{}", serde_json::to_string(&checked)?);
    } else {
        for member in &checked.members {
            match &member.problem {
                None => println!("ok    {}", member.name),
                Some(problem) => println!("FAIL  {}: {problem}", member.name),
            }
        }
        for problem in &checked.problems {
            eprintln!("{problem}");
        }
        if checked.ok {
            println!("OK: every member of {} verifies", file.display());
        }
    }
    if checked.ok {
        Ok(())
    } else {
        anyhow::bail!("the evidence package did not verify")
    }
}
