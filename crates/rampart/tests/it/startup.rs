//! `rampart init` and the start-up checks of `rampart serve`.

use base64::Engine as _;

use crate::support::{Server, master_key, rampart, run, snapshot, text};

#[test]
fn init_prints_the_admin_key_once_and_a_second_init_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = run(rampart().args(["init", "--json", "--data-dir"]).arg(&data));
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stderr}");
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    let key = body["admin_api_key"].as_str().unwrap();
    assert!(key.starts_with("rk_") && key.len() == 49, "{key}");
    assert_eq!(body["master_key_source"], "file");
    assert_eq!(body["data_dir"], data.display().to_string());
    let key_file = data.join("master.key");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!stderr.contains(key), "the admin key leaked into the logs");

    let before = snapshot(&data);
    let second = run(rampart().args(["init", "--data-dir"]).arg(&data));
    let (stdout2, stderr2) = text(&second);
    assert!(!second.status.success());
    assert!(stderr2.contains("already initialized"), "{stderr2}");
    assert!(!stdout2.contains("rk_"));
    assert_eq!(
        snapshot(&data),
        before,
        "a second init changed the data dir"
    );

    // The key init printed works once the server starts, and no new key is printed.
    let server = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(server.admin_key, None, "{}", server.stdout());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        crate::support::client(None, None)
            .get(format!("{}/v1/auth/whoami", server.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}

#[test]
fn init_with_the_key_in_the_environment_writes_no_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = master_key();
    let out = run(rampart()
        .args(["init", "--json", "--data-dir"])
        .arg(dir.path())
        .env("RAMPART_MASTER_KEY", &key));
    assert!(out.status.success(), "{}", text(&out).1);
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["master_key_source"], "env");
    assert!(!dir.path().join("master.key").exists());

    // Without the variable, serve cannot find the key, says so, and changes nothing.
    let before = snapshot(dir.path());
    let (stdout, stderr) = Server::try_start(&["--data-dir", dir.path().to_str().unwrap()], &[])
        .err()
        .expect("refuses to start");
    assert!(
        stderr.contains("no master key") && stderr.contains("RAMPART_MASTER_KEY"),
        "{stderr}"
    );
    assert!(!stdout.contains("listening"));
    assert_eq!(snapshot(dir.path()), before);

    // With it, serve starts.
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    drop(server);
}

#[test]
fn malformed_and_short_master_keys_are_refused_before_anything_is_created() {
    let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
    for (value, expected) in [
        ("this is not base64!", "not valid base64"),
        (short.as_str(), "decodes to 16 bytes"),
        ("", "decodes to 0 bytes"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let out = run(rampart()
            .args(["init", "--data-dir"])
            .arg(&data)
            .env("RAMPART_MASTER_KEY", value));
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{value:?} accepted");
        assert!(stderr.contains("RAMPART_MASTER_KEY"), "{stderr}");
        assert!(stderr.contains(expected), "{value:?}: {stderr}");
        assert!(
            !data.exists(),
            "init created the data dir despite a bad key"
        );

        let (_, stderr) = Server::try_start(
            &["--data-dir", data.to_str().unwrap()],
            &[("RAMPART_MASTER_KEY", value)],
        )
        .err()
        .expect("serve refuses");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!data.exists());
    }
}

#[test]
fn a_wrong_master_key_stops_serve_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let right = master_key();
    let out = run(rampart()
        .args(["init", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &right));
    assert!(out.status.success());
    let before = snapshot(dir.path());
    let wrong = master_key();
    let (stdout, stderr) =
        Server::try_start(&["--data-dir", data], &[("RAMPART_MASTER_KEY", &wrong)])
            .err()
            .expect("refuses a wrong key");
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(stderr.contains("Nothing was changed"), "{stderr}");
    assert!(!stdout.contains("listening"));
    assert!(
        !stderr.contains(&wrong) && !stderr.contains(&right),
        "a key leaked into the error"
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a refused start changed the data"
    );
    // The right key still works afterwards.
    drop(Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &right)],
    ));
}

#[test]
fn key_file_problems_are_explained() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert!(
        run(rampart().args(["init", "--data-dir", data]))
            .status
            .success()
    );
    let key_file = dir.path().join("master.key");

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, stderr) = Server::try_start(&["--data-dir", data], &[])
        .err()
        .expect("refuses");
    assert!(stderr.contains("chmod 600"), "{stderr}");

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let original = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, "garbage!\n").unwrap();
    let (_, stderr) = Server::try_start(&["--data-dir", data], &[])
        .err()
        .expect("refuses");
    assert!(
        stderr.contains("master.key") && stderr.contains("not valid base64"),
        "{stderr}"
    );

    std::fs::remove_file(&key_file).unwrap();
    let (_, stderr) = Server::try_start(&["--data-dir", data], &[])
        .err()
        .expect("refuses");
    assert!(stderr.contains("no master key"), "{stderr}");

    std::fs::write(&key_file, original).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(Server::start(&["--data-dir", data], &[]));
}

/// The README's first command: `rampart serve` with no data dir named initializes
/// `./rampart-data` on first start and prints the admin key; a restart keeps the deployment.
#[test]
fn sigterm_shuts_down_gracefully_and_restart_keeps_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::try_serve_in(Some(dir.path()), &[], &[]).expect("starts");
    let key = server
        .admin_key
        .clone()
        .expect("first start prints the admin key");
    assert!(server.stdout().contains("First start: initialized"));
    assert!(server.stdout().contains("admin API key: rk_"));
    assert!(dir.path().join("rampart-data/rampart.db").exists());
    assert!(dir.path().join("rampart-data/master.key").exists());
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");

    let again = Server::try_serve_in(Some(dir.path()), &[], &[]).expect("starts again");
    assert_eq!(again.admin_key, None, "a restart must not re-initialize");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        crate::support::client(None, None)
            .get(format!("{}/v1/auth/whoami", again.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    assert!(again.terminate().success());
}

/// Rows of the `leases` table of the SQLite deployment in `data` (read with Python's sqlite3).
fn lease_rows(data: &str) -> u64 {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM leases').fetchone()[0])",
            &format!("{data}/rampart.db"),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a count")
}

#[test]
fn a_graceful_shutdown_hands_leased_jobs_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[]);
    // The leased jobs (key maintenance, login-throttle purge) take their leases at start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lease_rows(data) == 0 {
        assert!(std::time::Instant::now() < deadline, "no lease was taken");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(server.terminate().success());
    // Released, not left to lapse: another node takes the jobs over at once.
    assert_eq!(lease_rows(data), 0);
}

#[test]
fn help_and_version_work() {
    let out = run(rampart().arg("--version"));
    assert!(out.status.success());
    assert!(text(&out).0.contains(env!("CARGO_PKG_VERSION")));
    let out = run(rampart().arg("--help"));
    let (stdout, _) = text(&out);
    for word in ["init", "serve", "config", "RAMPART_MASTER_KEY"] {
        assert!(stdout.contains(word), "--help lacks {word}");
    }
    let out = run(rampart().args(["serve", "--tls-cert", "x.pem"]));
    assert!(
        !out.status.success(),
        "--tls-cert without --tls-key accepted"
    );
}

#[test]
fn serve_help_names_each_flags_variable() {
    let out = run(rampart().args(["serve", "--help"]));
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for variable in [
        "RAMPART_DATA_DIR",
        "RAMPART_DATABASE_URL",
        "RAMPART_LISTEN",
        "RAMPART_TLS_CERT",
        "RAMPART_TLS_KEY",
        "RAMPART_TLS_CLIENT_CA",
        "RAMPART_TLS_MIN_VERSION",
    ] {
        assert!(
            stdout.contains(&format!("[env: {variable}]")),
            "{variable}:\n{stdout}"
        );
    }
}

#[test]
fn a_log_filter_that_names_no_level_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = Server::try_start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_LOG_LEVEL", "verbose")],
    )
    .err()
    .expect("refuses");
    assert!(stderr.contains("log_level"), "{stderr}");
}

#[test]
fn a_cli_command_on_a_data_dir_never_initialized_names_it_once_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("rampart-dta");
    let out = run(rampart()
        .args(["retention", "policies", "--data-dir"])
        .arg(&typo));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    let path = typo.join("rampart.db").display().to_string();
    assert_eq!(stderr.matches(&path).count(), 1, "{stderr}");
    assert!(stderr.contains("rampart init --data-dir"), "{stderr}");
    assert!(!stderr.contains("code: 14"), "{stderr}");
    assert!(!typo.exists(), "nothing created");
}

#[test]
fn a_misspelled_variable_is_refused_at_start_with_the_one_meant() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = Server::try_start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_LISTEN_ADDR", "0.0.0.0:9999")],
    )
    .err()
    .expect("refuses");
    assert!(
        stderr.contains("unknown variable RAMPART_LISTEN_ADDR (did you mean RAMPART_LISTEN?)"),
        "{stderr}"
    );
}
