//! `rampart admin-key create`: a new admin key from the master key, beside a running server,
//! audited as `admin_key.break_glass` without the key in the log.

use crate::support::{Server, client, master_key, rampart, run, snapshot, text};

async fn get(base: &str, path: &str, key: &str) -> (u16, String) {
    let response = client(None, None)
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[test]
fn a_break_glass_key_works_on_a_running_server_and_is_audited_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[]);
    let bootstrap = server.admin_key.clone().unwrap();

    let out = run(rampart().args([
        "admin-key",
        "create",
        "--json",
        "--name",
        "lost-it",
        "--data-dir",
        data,
    ]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let body: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    let key = body["admin_api_key"].as_str().unwrap().to_owned();
    let key_id = body["key_id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("rk_") && key.len() == 49, "{key}");
    assert_ne!(key, bootstrap);
    assert!(!stderr.contains(&key), "the key reached the logs");

    // The text form prints a key once too, with the hint to revoke.
    let out = run(rampart().args(["admin-key", "create", "--data-dir", data]));
    let (human, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(human.matches("rk_").count(), 1, "{human}");
    assert!(
        human.contains("shown once") && human.contains("admin_key.break_glass"),
        "{human}"
    );

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // Admin-only reads work with the new key on the server that was running all along.
        let (status, whoami) = get(&server.base, "/v1/auth/whoami", &key).await;
        assert_eq!(status, 200, "{whoami}");
        assert!(whoami.contains("bootstrap-admin"), "{whoami}");
        let (status, keys) = get(&server.base, "/v1/api-keys", &key).await;
        assert_eq!(status, 200, "{keys}");
        assert!(keys.contains(&key_id) && keys.contains("lost-it"), "{keys}");
        let (status, _) = get(&server.base, "/v1/api-keys", "rk_not_a_key").await;
        assert_eq!(status, 401);

        // The log has the entry, by rampart-cli, naming the key by id; no line holds the key.
        let (status, export) = get(&server.base, "/v1/audit/export", &key).await;
        assert_eq!(status, 200, "{export}");
        assert!(!export.contains(&key), "the key is in the audit log");
        let entries: Vec<serde_json::Value> = export
            .lines()
            .filter(|line| line.contains("admin_key.break_glass"))
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(entries.len(), 2, "{export}");
        let first = entries[0].to_string();
        assert!(first.contains(&key_id), "{first}");
        assert!(
            first.contains("\"rampart-cli\"") && first.contains("lost-it"),
            "{first}"
        );
        // The CLI's appends beside the server's leave one log that verifies.
        let report: serde_json::Value = client(None, None)
            .post(format!("{}/v1/audit/verify", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], true, "{report}");
    });
}

#[test]
fn a_wrong_master_key_mints_nothing_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let right = master_key();
    let out = run(rampart()
        .args(["init", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &right));
    assert!(out.status.success(), "{}", text(&out).1);
    let before = snapshot(dir.path());
    let wrong = master_key();
    let out = run(rampart()
        .args(["admin-key", "create", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &wrong));
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(
        !stdout.contains("rk_") && !stderr.contains("rk_"),
        "{stdout}{stderr}"
    );
    assert!(!stderr.contains(&wrong) && !stderr.contains(&right));
    assert_eq!(snapshot(dir.path()), before, "a refused break-glass wrote");
    // Without any key at all: said so, nothing written.
    let out = run(rampart().args(["admin-key", "create", "--data-dir", data]));
    assert!(!out.status.success());
    assert!(text(&out).1.contains("no master key"), "{}", text(&out).1);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn break_glass_refuses_a_data_dir_never_initialized_and_a_bad_name() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("rampart-dta");
    let out = run(rampart()
        .args(["admin-key", "create", "--data-dir"])
        .arg(&typo));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("rampart init --data-dir {}", typo.display())),
        "{stderr}"
    );
    assert!(!typo.exists(), "created {}", typo.display());

    let data = dir.path().join("data");
    assert!(
        run(rampart().args(["init", "--data-dir"]).arg(&data))
            .status
            .success()
    );
    let before = snapshot(&data);
    let out = run(rampart()
        .args(["admin-key", "create", "--name", "", "--data-dir"])
        .arg(&data));
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--name"), "{}", text(&out).1);
    assert_eq!(snapshot(&data), before);
}
