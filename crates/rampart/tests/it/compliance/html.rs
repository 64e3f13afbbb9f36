//! The HTML report as a person sees it: served by the running server, opened in headless
//! Chromium (Debian's `chromium`), a screenshot written, and the page's summary counts checked
//! against the report. Skipped without Chromium unless `RAMPART_REQUIRE_CHROMIUM=1`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{SETTINGS, report};
use crate::threat::{rt, start};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless with `args` on `url`, killed (with its process group) after 90 s;
/// its stdout, read while it runs (a DOM dump is larger than a pipe holds).
fn chromium(profile: &std::path::Path, args: &[&str], url: &str) -> String {
    use std::io::Read as _;
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn the_html_report_renders_in_chromium_with_its_summary() {
    if !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var("RAMPART_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "RAMPART_REQUIRE_CHROMIUM=1 but {CHROMIUM} is missing"
        );
        eprintln!("skipped: no chromium");
        return;
    }
    let env = start(SETTINGS);
    let dir = tempfile::tempdir().unwrap();
    let (html, summary) = rt().block_on(async {
        let made = report(&env, "pci-dss").await;
        let id = made["id"].as_str().unwrap();
        let response = env
            .http
            .get(format!(
                "{}/v1/compliance/reports/{id}?format=html",
                env.base
            ))
            .bearer_auth(&env.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        (response.text().await.unwrap(), made["summary"].clone())
    });
    // Self-contained: nothing loaded from anywhere.
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("src=\"http"), "no external resources");
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let shots = std::env::var_os("RAMPART_SCREENSHOT_DIR")
        .map_or_else(|| dir.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("compliance-report-pci-dss.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &dir.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a blank page? {} bytes", png.len());
    // The page as Chromium built it holds the five counts of the report.
    let dom = chromium(&dir.path().join("profile-dom"), &["--dump-dom"], &url);
    for status in ["pass", "fail", "manual", "waived", "not_applicable"] {
        let count = summary[status].as_u64().unwrap();
        let cell = regex_cell(&dom, status);
        assert_eq!(cell, Some(count), "{status} in the rendered page");
    }
}

/// The count in the summary cell `data-status="<status>"` of the rendered DOM.
fn regex_cell(dom: &str, status: &str) -> Option<u64> {
    let marker = format!("data-status=\"{status}\"");
    let at = dom.find(&marker)?;
    let rest = &dom[at + marker.len()..];
    let open = rest.find('>')?;
    let text = &rest[open + 1..];
    let close = text.find('<')?;
    text[..close].trim().parse().ok()
}
