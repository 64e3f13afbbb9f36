//! `rampart redact`: streaming redaction from the command line, with the deployment's key.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::support::{Server, client, rampart};

fn redact_cli(args: &[&str], input: &str) -> (String, String, bool) {
    let mut child = rampart()
        .arg("redact")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn cli_and_server_hash_alike_and_nothing_passes_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[]);
    let key = server.admin_key.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let from_server: Value = rt.block_on(async {
        client(None, None)
            .post(format!("{}/v1/redact", server.base))
            .bearer_auth(&key)
            .json(&json!({"text": "mail ann@example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    drop(server);
    let input = "{\"user\":\"ann@example.com\",\"n\":1}\nmail ann@example.com\nfree text with 4111 1111 1111 1111 and 123-45-6789\n";
    let (stdout, stderr, ok) = redact_cli(&["--data-dir", data, "--stats"], input);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        from_server["text"].as_str().unwrap(),
        "CLI and server hashes differ"
    );
    assert!(lines[0].starts_with("{\"user\":\"hmac-sha256:"), "{stdout}");
    assert_eq!(
        lines[2],
        "free text with [REDACTED:CREDIT_CARD] and [REDACTED:US_SSN]"
    );
    // Keyed hashes are random hex that may hold any digits: look outside them.
    let outside_hashes: String = stdout
        .split("hmac-sha256:")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.trim_start_matches(|c: char| c.is_ascii_hexdigit())
            }
        })
        .collect();
    for secret in ["ann@example.com", "4111", "6789"] {
        assert!(
            !outside_hashes.contains(secret),
            "{secret} passed through: {stdout}"
        );
        assert!(!stderr.contains(secret), "{secret} in stderr: {stderr}");
    }
    let stats: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["lines"], 3);
    assert_eq!(stats["text_lines"], 2);
    assert_eq!(stats["findings"]["email"], 2);

    // Without a deployment the key is made for the run, and stderr says so.
    let elsewhere = tempfile::tempdir().unwrap();
    let (stdout, stderr, ok) = redact_cli(
        &["--data-dir", elsewhere.path().to_str().unwrap()],
        "mail ann@example.com\n",
    );
    assert!(ok);
    assert!(stderr.contains("key made for this run"), "{stderr}");
    assert_ne!(stdout.trim(), from_server["text"].as_str().unwrap());

    // A bad policy file is a clear error.
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"email": "shred"}"#).unwrap();
    let (_, stderr, ok) = redact_cli(
        &["--data-dir", data, "--policy", policy.to_str().unwrap()],
        "x\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("policy file") && stderr.contains("email"),
        "{stderr}"
    );
    std::fs::write(&policy, r#"{"email": "keep"}"#).unwrap();
    let (stdout, _, ok) = redact_cli(
        &["--data-dir", data, "--policy", policy.to_str().unwrap()],
        "mail ann@example.com\n",
    );
    assert!(ok);
    assert_eq!(stdout, "mail ann@example.com\n");
}

#[test]
fn a_policy_file_sets_the_server_default_and_a_bad_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let policy = dir.path().join("pii.json");
    std::fs::write(&policy, r#"{"email": "keep", "phone": "redact"}"#).unwrap();
    let policy_path = policy.display().to_string();
    let server = Server::start(
        &["--data-dir", &data],
        &[("RAMPART_PRIVACY_POLICY_FILE", &policy_path)],
    );
    let key = server.admin_key.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body: Value = rt.block_on(async {
        client(None, None)
            .post(format!("{}/v1/redact", server.base))
            .bearer_auth(&key)
            .json(&json!({"text": "ann@example.com (415) 555-2671"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(body["text"], "ann@example.com [REDACTED:PHONE]");
    drop(server);

    std::fs::write(&policy, r#"{"email": "shred"}"#).unwrap();
    let (_, stderr) = Server::try_start(
        &["--data-dir", &data],
        &[("RAMPART_PRIVACY_POLICY_FILE", &policy_path)],
    )
    .err()
    .expect("refuses");
    assert!(
        stderr.contains("privacy policy file") && stderr.contains("email"),
        "{stderr}"
    );

    // A server-wide policy may encrypt with a key made after start-up: until it exists, a
    // redaction that needs it is a clear 422; afterwards the value comes back encrypted.
    std::fs::write(&policy, r#"{"email": {"action": "encrypt", "key": "pii"}}"#).unwrap();
    let server = Server::start(
        &["--data-dir", &data],
        &[("RAMPART_PRIVACY_POLICY_FILE", &policy_path)],
    );
    rt.block_on(async {
        let http = client(None, None);
        let redact = || {
            http.post(format!("{}/v1/redact", server.base))
                .bearer_auth(&key)
                .json(&json!({"text": "mail ann@example.com"}))
        };
        let missing = redact().send().await.unwrap();
        assert_eq!(missing.status(), 422);
        let text = missing.text().await.unwrap();
        assert!(
            text.contains("policy.email") && text.contains("no key named 'pii'"),
            "{text}"
        );
        let created = http
            .post(format!("{}/v1/keys", server.base))
            .bearer_auth(&key)
            .json(&json!({"name": "pii"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let body: Value = redact().send().await.unwrap().json().await.unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("mail rampart:v1:"), "{text}");
        let ciphertext = text.strip_prefix("mail ").unwrap();
        let opened: Value = http
            .post(format!("{}/v1/keys/pii/decrypt", server.base))
            .bearer_auth(&key)
            .json(&json!({"ciphertext": ciphertext}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(opened["plaintext"], "YW5uQGV4YW1wbGUuY29t");
    });
    drop(server);

    // The CLI encrypts and tokenizes with the deployment's keys and vault too.
    std::fs::write(
        &policy,
        r#"{"email": {"action": "encrypt", "key": "pii"}, "credit_card": "tokenize"}"#,
    )
    .unwrap();
    let (stdout, stderr, ok) = redact_cli(
        &["--data-dir", &data, "--policy", policy.to_str().unwrap()],
        "{\"card\": \"4111 1111 1111 1111\", \"mail\": \"ann@example.com\"}\n",
    );
    assert!(ok, "{stderr}");
    let line: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        line["card"].as_str().unwrap().starts_with("tok_"),
        "{stdout}"
    );
    assert!(
        line["mail"].as_str().unwrap().starts_with("rampart:v1:"),
        "{stdout}"
    );
}
