//! The HTML report in a real browser: headless Chromium renders a realistic report to a PNG
//! and dumps the DOM it parsed, whose five summary cells must hold the report's counts and
//! whose text must hold the hostile names as text, never as markup.
//!
//! Without `/usr/bin/chromium` the test prints "skipped: no chromium" and passes, unless
//! `RAMPART_REQUIRE_CHROMIUM=1`. The screenshot goes to `$RAMPART_SCREENSHOT_DIR` when set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rampart_compliance::{
    AuditPeriod, ControlResult, Evidence, Facts, FrameworkId, Report, Status, Summary, Waiver,
    WaiverApplied, catalog, frameworks, html,
};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(60);
const HOSTILE: &str = r#"<script>alert(1)</script> "dq" 'sq' & co"#;

/// A report as `Report::build` makes it from the current frameworks and facts, with controls
/// added by hand so that every status, a waiver in force and an expired one appear.
fn realistic_report() -> Report {
    let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
    let mut facts = Facts::new();
    facts.insert(
        catalog::ADMINS_WITHOUT_MFA,
        json!(["alice", HOSTILE]),
        "principals and TOTP enrolments",
    );
    facts.insert(catalog::TLS_ENABLED, true, "server.tls settings");
    facts.insert(
        catalog::TLS_VERSIONS,
        json!(["TLSv1.2", "TLSv1.3"]),
        "server.tls settings",
    );
    facts.insert(
        catalog::PASSWORD_POLICY,
        json!({"min_length": 12, "require_upper": true, "require_symbol": false, "argon2_memory_kib": 65536}),
        "auth.password settings",
    );
    facts.insert(catalog::CARDS_STORED, 0, "vault tokens table");
    facts.insert(
        catalog::RETENTION_LAST_RUN,
        serde_json::Value::Null,
        "retention runs table",
    );
    let soc2 = frameworks::framework(FrameworkId::Soc2);
    let waivers: Vec<Waiver> = Vec::new();
    let audit = AuditPeriod {
        from_seq: 1200,
        tree_size: 1342,
        root_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
    };
    let mut report = Report::build(soc2, &facts, &waivers, audit, HOSTILE, now);
    let hand = |id: &str, status: Status, judged: Status, evidence: Vec<Evidence>| ControlResult {
        id: id.into(),
        title: format!("Hand-made control {id}"),
        requirement: "CC7.2".into(),
        checks: "what a person or Rampart checks for this control".into(),
        status,
        judged,
        reason: format!("{id} is {} for the test", status.as_str()),
        evidence,
        remediation: if matches!(status, Status::Pass | Status::NotApplicable) {
            String::new()
        } else {
            "do what the requirement asks".into()
        },
        waiver: None,
    };
    let evidence = |fact: &str, value: serde_json::Value| Evidence {
        fact: fact.into(),
        value,
        source: "test".into(),
    };
    let mut waived = hand(
        "soc2-cc6.2-api-keys",
        Status::Waived,
        Status::Fail,
        vec![evidence(
            "API keys older than 90 days",
            json!(["ci-deploy", "backup-job"]),
        )],
    );
    waived.waiver = Some(WaiverApplied {
        id: "wvr_0193a6f2aaaa7bbbccccddddeeeeffff".into(),
        reason: format!("rotation scheduled with the vendor {HOSTILE}"),
        expires_at: "2026-09-30T00:00:00Z".into(),
        expired: false,
    });
    let mut expired = hand("soc2-cc7.4-incidents", Status::Fail, Status::Fail, vec![]);
    expired.waiver = Some(WaiverApplied {
        id: "wvr_0193a6f2aaaa7bbbccccddddeeee0000".into(),
        reason: "until the on-call rota".into(),
        expires_at: "2026-04-01T00:00:00Z".into(),
        expired: true,
    });
    report.controls.extend([
        hand(
            "soc2-cc6.7-tls",
            Status::Pass,
            Status::Pass,
            vec![evidence(
                "TLS protocol versions accepted",
                json!(["TLSv1.2", "TLSv1.3"]),
            )],
        ),
        hand("soc2-cc1.1-ethics", Status::Manual, Status::Manual, vec![]),
        waived,
        hand(
            "soc2-p4.2-cards",
            Status::NotApplicable,
            Status::NotApplicable,
            vec![evidence("cards stored in the vault", json!(0))],
        ),
        expired,
    ]);
    report.summary = Summary::of(&report.controls);
    report.signature_b64 = "MEUCIQDk3Jw0sVn3bD8d2p1uQ5qkq3vB9yG4lqf1m0b2Tz8xQwIgXx1pV7hQ==".into();
    report
}

/// Runs `command`, killing it (and its process group) after [`TIMEOUT`]; returns its status
/// and stdout.
fn run(command: &mut Command) -> (std::process::ExitStatus, Vec<u8>, String) {
    use std::os::unix::process::CommandExt as _;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {} s", TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

fn chromium(args: &[String], profile: &Path) -> Command {
    let mut command = Command::new(CHROMIUM);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command.args(args);
    command
}

/// The text of the summary cell `data-status="status"` in the DOM Chromium dumped.
fn summary_cell(dom: &str, status: &str) -> u32 {
    let marker = format!("data-status=\"{status}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in the DOM"))
        + marker.len();
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].trim().parse().expect("a count")
}

#[test]
fn chromium_renders_the_report_and_its_summary() {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("RAMPART_REQUIRE_CHROMIUM").is_none_or(|v| v != "1"),
            "RAMPART_REQUIRE_CHROMIUM=1 but {CHROMIUM} is absent"
        );
        println!("skipped: no chromium");
        return;
    }
    let report = realistic_report();
    let s = report.summary;
    assert!(
        [s.pass, s.fail, s.manual, s.waived, s.not_applicable]
            .iter()
            .all(|n| *n > 0)
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html(&report)).unwrap();
    let url = format!("file://{}", page.display());
    let shots: PathBuf = std::env::var_os("RAMPART_SCREENSHOT_DIR")
        .map_or_else(|| dir.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = shots.join("compliance-report.png");
    let _ = std::fs::remove_file(&screenshot);

    let profile = tempfile::tempdir().unwrap();
    let (status, _, errors) = run(&mut chromium(
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2400".into(),
            url.clone(),
        ],
        profile.path(),
    ));
    assert!(status.success(), "chromium --screenshot failed: {errors}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "a {} byte screenshot is too small to show the report",
        png.len()
    );
    println!("screenshot: {} ({} bytes)", screenshot.display(), png.len());

    let profile = tempfile::tempdir().unwrap();
    let (status, dom, errors) = run(&mut chromium(&["--dump-dom".into(), url], profile.path()));
    assert!(status.success(), "chromium --dump-dom failed: {errors}");
    let dom = String::from_utf8(dom).unwrap();
    assert_eq!(summary_cell(&dom, "pass"), s.pass);
    assert_eq!(summary_cell(&dom, "fail"), s.fail);
    assert_eq!(summary_cell(&dom, "manual"), s.manual);
    assert_eq!(summary_cell(&dom, "waived"), s.waived);
    assert_eq!(summary_cell(&dom, "not_applicable"), s.not_applicable);
    // The browser parsed the hostile names as text: no script element, the text escaped.
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a script element was parsed"
    );
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for control in &report.controls {
        assert!(
            dom.contains(&format!("id=\"control-{}\"", control.id)),
            "{}",
            control.id
        );
    }
}
