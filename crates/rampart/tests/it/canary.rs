//! Secrets planted as canaries never show up in logs, error bodies, `config show`, or the
//! database file in clear.

use serde_json::Value;

use crate::support::{Server, client, master_key, rampart, run, text};

#[test]
fn planted_secrets_appear_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let master = master_key();
    let db_password = "CanaryDbPassw0rd";
    let server = Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &master), ("RUST_LOG", "trace")],
    );
    let admin = server.admin_key.clone().unwrap();
    // A well-formed key from another deployment, presented as if stolen or guessed.
    let foreign = {
        let other = tempfile::tempdir().unwrap();
        let out = run(rampart()
            .args(["init", "--json", "--data-dir"])
            .arg(other.path().join("d")));
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        body["admin_api_key"].as_str().unwrap().to_owned()
    };
    let base = server.base.clone();
    let mut bodies = Vec::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        let requests = [
            http.get(format!("{base}/v1/auth/whoami"))
                .bearer_auth(&admin),
            http.get(format!("{base}/v1/auth/whoami"))
                .bearer_auth(&foreign),
            http.get(format!("{base}/v1/auth/whoami"))
                .bearer_auth(format!("{admin}x")),
            http.get(format!("{base}/v1/auth/whoami"))
                .header("authorization", format!("Basic {master}")),
            http.get(format!("{base}/v1/nothing?token={admin}&master={master}")),
            http.post(format!("{base}/v1/auth/whoami"))
                .bearer_auth(&admin)
                .body(master.clone()),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            let headers = format!("{:?}", response.headers());
            bodies.push(headers + &response.text().await.unwrap());
        }
    });
    let status = server.terminate_and_keep_logs();
    let logs = status.1;
    assert!(
        logs.lines().count() > 5,
        "expected trace logs, got:\n{logs}"
    );
    for (name, secret) in [
        ("master key", master.as_str()),
        ("admin key", admin.as_str()),
        ("foreign key", foreign.as_str()),
    ] {
        assert!(!logs.contains(secret), "{name} in logs");
        // The parts of a key are secret too: the random part is what scanners and thieves use.
        assert!(!logs.contains(&secret[3..20]), "part of the {name} in logs");
        for body in &bodies {
            assert!(!body.contains(secret), "{name} in a response: {body}");
        }
    }
    // The database and every other file in the data dir hold no key in clear (the key file
    // holds the master key by design when the key is not in the environment; here it is).
    for (path, bytes) in crate::support::snapshot(dir.path()) {
        let content = String::from_utf8_lossy(&bytes);
        assert!(
            !content.contains(&master),
            "master key in {}",
            path.display()
        );
        assert!(!content.contains(&admin), "admin key in {}", path.display());
    }

    // config show redacts the master key and the database password.
    let out = run(rampart()
        .args(["config", "show", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &master)
        .env(
            "RAMPART_DATABASE_URL",
            format!("postgres://rampart:{db_password}@db.internal/rampart"),
        ));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("[REDACTED]"));
    assert!(!stdout.contains(&master) && !stderr.contains(&master));
    assert!(!stdout.contains(db_password) && !stderr.contains(db_password));
    assert!(
        stdout.contains("postgres://rampart:[REDACTED]@db.internal/rampart"),
        "{stdout}"
    );
}
