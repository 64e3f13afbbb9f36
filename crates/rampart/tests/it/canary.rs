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

/// The keys service and the card vault: a PAN, a CVV, imported key material and a plaintext
/// planted in requests appear in no log line, error body, audit entry or database file in clear.
#[test]
fn planted_cards_and_key_material_appear_nowhere() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let master = master_key();
    let server = Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &master), ("RUST_LOG", "trace")],
    );
    let admin = server.admin_key.clone().unwrap();
    let pan = "4000056655665556";
    let bad_pan = "4000056655665557";
    let cvv = "739184";
    let key_bytes = [0x5Au8, 0xC3, 0x17, 0x99].repeat(8);
    let fernet_key = URL_SAFE.encode(&key_bytes);
    let plaintext = "PLAINTEXT-CANARY-5d1e";
    let plaintext_b64 = STANDARD.encode(plaintext);
    let base = server.base.clone();
    let mut bodies = Vec::new();
    let mut detokenized = String::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        let post = |path: &str, body: Value| {
            http.post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
        };
        let requests = [
            post("/v1/cards/tokenize", serde_json::json!({"pan": pan, "cvv": cvv})),
            post("/v1/cards/tokenize", serde_json::json!({"pan": bad_pan})),
            post("/v1/cards/tokenize", serde_json::json!({"pan": pan.parse::<u64>().unwrap()})),
            post("/v1/keys", serde_json::json!({"name": "legacy", "type": "fernet", "import_key": fernet_key})),
            post("/v1/keys", serde_json::json!({"name": "other", "type": "aes256-gcm", "import_key": fernet_key})),
            post("/v1/keys/legacy/encrypt", serde_json::json!({"plaintext": plaintext_b64})),
            post("/v1/keys/legacy/encrypt", serde_json::json!({"plaintext": plaintext})),
            post("/v1/keys/legacy/decrypt", serde_json::json!({"ciphertext": plaintext})),
            post("/v1/documents/encrypt", serde_json::json!({"key": "legacy", "fields": ["card"], "document": {"card": pan}})),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            let headers = format!("{:?}", response.headers());
            bodies.push(headers + &response.text().await.unwrap());
        }
        let token: Value = post("/v1/cards/tokenize", serde_json::json!({"pan": pan, "expiry": "11/30"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        detokenized = post("/v1/cards/detokenize", serde_json::json!({"token": token["token"]}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let export = http
            .get(format!("{base}/v1/audit/export"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        bodies.push(export);
    });
    // The one place the PAN may appear: the detokenize answer to a permitted caller.
    assert!(detokenized.contains(pan), "{detokenized}");
    let (_, logs) = server.terminate_and_keep_logs();
    assert!(logs.lines().count() > 5, "expected trace logs");
    let key_hex: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
    for (name, secret) in [
        ("PAN", pan),
        ("invalid PAN", bad_pan),
        ("CVV", cvv),
        ("Fernet key", fernet_key.as_str()),
        ("Fernet key (hex)", key_hex.as_str()),
        ("plaintext", plaintext),
        ("plaintext (base64)", plaintext_b64.as_str()),
    ] {
        assert!(!logs.contains(secret), "{name} in logs");
        for body in &bodies {
            assert!(
                !body.contains(secret),
                "{name} in a response or audit entry: {body}"
            );
        }
        for (path, bytes) in crate::support::snapshot(dir.path()) {
            let content = String::from_utf8_lossy(&bytes);
            assert!(!content.contains(secret), "{name} in {}", path.display());
            assert!(
                !bytes
                    .windows(key_bytes.len())
                    .any(|w| w == key_bytes.as_slice()),
                "raw key bytes in {}",
                path.display()
            );
        }
    }
}

/// Identity: passwords (right and wrong) and API keys never appear in logs, error bodies, audit
/// entries or the database in clear.
#[test]
fn planted_passwords_and_api_keys_appear_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let master = master_key();
    let server = Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &master), ("RUST_LOG", "trace")],
    );
    let admin = server.admin_key.clone().unwrap();
    let password = "Canary-Passw0rd-7731x";
    let wrong = "Wr0ng-Canary-Guess-4412";
    let weak = "canarycanary";
    let base = server.base.clone();
    let mut bodies = Vec::new();
    let mut new_key = String::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        let post = |path: &str, key: Option<&str>, body: Value| {
            let request = http.post(format!("{base}{path}")).json(&body);
            match key {
                Some(key) => request.bearer_auth(key),
                None => request,
            }
        };
        let created: Value = post(
            "/v1/principals",
            Some(&admin),
            serde_json::json!({"name": "mallory", "password": password, "roles": ["developer"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let issued: Value = post(
            "/v1/api-keys",
            Some(&admin),
            serde_json::json!({"principal_id": id, "name": "ci", "scopes": ["keys:encrypt"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        new_key = issued["key"].as_str().unwrap().to_owned();
        let requests = [
            post(
                "/v1/principals",
                Some(&admin),
                serde_json::json!({"name": "weakling", "password": weak}),
            ),
            post(
                "/v1/auth/login",
                None,
                serde_json::json!({"name": "mallory", "password": wrong}),
            ),
            post(
                "/v1/auth/login",
                None,
                serde_json::json!({"name": "nobody", "password": password}),
            ),
            post(
                "/v1/auth/login",
                None,
                serde_json::json!({"name": "mallory", "password": password}),
            ),
            post(
                "/v1/auth/introspect",
                Some(&admin),
                serde_json::json!({"credential": new_key}),
            ),
            post(
                "/v1/auth/introspect",
                Some(&admin),
                serde_json::json!({"credential": format!("{new_key}x")}),
            ),
            http.get(format!("{base}/v1/auth/whoami"))
                .bearer_auth(&new_key),
            http.get(format!("{base}/v1/api-keys")).bearer_auth(&admin),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            let headers = format!("{:?}", response.headers());
            bodies.push(headers + &response.text().await.unwrap());
        }
        bodies.push(
            http.get(format!("{base}/v1/audit/export"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    });
    let (_, logs) = server.terminate_and_keep_logs();
    for (name, secret) in [
        ("password", password),
        ("wrong password", wrong),
        ("weak password", weak),
        ("API key", new_key.as_str()),
        ("API key body", &new_key[3..30]),
    ] {
        assert!(!logs.contains(secret), "{name} in logs");
        for body in &bodies {
            assert!(
                !body.contains(secret),
                "{name} in a response or audit entry: {body}"
            );
        }
        for (path, bytes) in crate::support::snapshot(dir.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{name} in {}",
                path.display()
            );
        }
    }
}

/// The second-factor path of the hardening: an enrollment session, a TOTP secret and a session
/// token are handed to their owner and appear in no log line, audit entry or stored file.
#[test]
fn planted_second_factor_secrets_appear_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[("RUST_LOG", "trace")]);
    let admin = server.admin_key.clone().unwrap();
    let password = "Canary-Second-Factor-9931q";
    let base = server.base.clone();
    let mut secrets: Vec<(&str, String)> = vec![("password", password.to_owned())];
    let mut export = String::new();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = client(None, None);
        let send = |path: &str, key: Option<&str>, body: Value| {
            let request = http.post(format!("{base}{path}")).json(&body);
            let request = match key {
                Some(key) => request.bearer_auth(key),
                None => request,
            };
            async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let created = send(
            "/v1/principals",
            Some(&admin),
            serde_json::json!({"name": "root2", "password": password, "roles": ["admin"]}),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let login = serde_json::json!({"name": "root2", "password": password});
        let first = send("/v1/auth/login", None, login.clone()).await;
        let enrollment = first["enrollment_token"].as_str().unwrap().to_owned();
        let enrolled = send(
            &format!("/v1/principals/{id}/totp"),
            Some(&enrollment),
            Value::Null,
        )
        .await;
        let secret_b32 = enrolled["secret_b32"].as_str().unwrap().to_owned();
        let secret = rampart_access::totp::TotpSecret::from_base32(&secret_b32).unwrap();
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        let code = rampart_access::totp::Totp::DEFAULT.code_at(&secret, now);
        let confirmed = send(
            &format!("/v1/principals/{id}/totp/confirm"),
            Some(&enrollment),
            serde_json::json!({"code": code}),
        )
        .await;
        assert_eq!(confirmed["totp_enabled"], true, "{confirmed}");
        let next = rampart_access::totp::Totp::DEFAULT.code_at(&secret, now + 30);
        let mut full = login.clone();
        full["totp"] = Value::String(next);
        let session = send("/v1/auth/login", None, full).await;
        let token = session["token"].as_str().unwrap().to_owned();
        secrets.push(("enrollment token", enrollment));
        secrets.push(("TOTP secret", secret_b32));
        secrets.push(("session token", token));
        export = http
            .get(format!("{base}/v1/audit/export"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    });
    let (_, logs) = server.terminate_and_keep_logs();
    assert!(
        export.contains("principals.totp_confirm"),
        "the export is the audit log"
    );
    for (name, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{name} in logs");
        assert!(!export.contains(secret.as_str()), "{name} in the audit log");
        for (path, bytes) in crate::support::snapshot(dir.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret.as_str()),
                "{name} in {}",
                path.display()
            );
        }
    }
}

#[test]
fn planted_webhook_secrets_appear_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(
        &["--data-dir", data],
        &[
            ("RUST_LOG", "trace"),
            ("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
    );
    let admin = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(crate::monitor::Receiver::start(&[500]));
    let (secret, export) = rt.block_on(async {
        let http = client(None, None);
        let created: Value = http
            .post(format!("{base}/v1/webhooks"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"url": receiver.url, "events": ["incident.opened"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        let listed = http
            .get(format!("{base}/v1/webhooks"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!listed.contains(&secret["whsec_".len()..]), "{listed}");
        // A delivery signed with it: refused once (a retry is planned), then sent again.
        http.post(format!("{base}/v1/incidents"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"title": "canary", "severity": "low"}))
            .send()
            .await
            .unwrap();
        let sent = crate::monitor::eventually(std::time::Duration::from_secs(10), || async {
            !receiver.requests().is_empty()
        })
        .await;
        assert!(sent, "no delivery");
        let export = http
            .get(format!("{base}/v1/audit/export"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (secret, export)
    });
    let (_, logs) = server.terminate_and_keep_logs();
    assert!(
        export.contains("webhook.create"),
        "the export is the audit log"
    );
    let key = &secret["whsec_".len()..];
    assert!(!logs.contains(key), "webhook secret in logs");
    assert!(!export.contains(key), "webhook secret in the audit log");
    for (path, bytes) in crate::support::snapshot(dir.path()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(key),
            "webhook secret in {}",
            path.display()
        );
    }
}

/// Issue 19: an agent's reasoning and tool calls holding a card number and an email are
/// recorded redacted: neither the logs (at trace), nor the audit export, nor any file of the
/// data directory holds them in clear; the execution token is in no log either.
#[test]
fn planted_personal_data_in_agent_reasoning_appears_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[("RUST_LOG", "trace")]);
    let admin = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    let (pan, email) = ("5105105105105100", "canary.person@example.org");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (token, export) = rt.block_on(async {
        let http = client(None, None);
        let call = |method: reqwest::Method, path: &str, body: Value| {
            http.request(method, format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        let mut policy: Value = http
            .get(format!("{base}/v1/policy"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        policy["roles"]["bot"] = serde_json::json!({"permissions": ["actions:*"]});
        call(reqwest::Method::PUT, "/v1/policy", policy)
            .await
            .unwrap();
        let agent: Value = call(
            reqwest::Method::POST,
            "/v1/principals",
            serde_json::json!({"type": "ai_agent", "name": "bot", "roles": ["bot"]}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let agent = agent["id"].as_str().unwrap().to_owned();
        call(
            reqwest::Method::PUT,
            &format!("/v1/agents/{agent}/guardrails"),
            serde_json::json!({"auto_approve": ["refund"]}),
        )
        .await
        .unwrap();
        let decided: Value = call(
            reqwest::Method::POST,
            &format!("/v1/agents/{agent}/actions"),
            serde_json::json!({"action": "refund", "target": {"type": "order", "id": "o-1"},
                "reasoning": format!("{email} was charged twice on {pan}"),
                "tool_calls": [{"name": "lookup", "arguments": {"email": email, "card": pan}}]}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let token = decided["execution_token"].as_str().unwrap().to_owned();
        let export = http
            .get(format!("{base}/v1/audit/export"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (token, export)
    });
    let (_, logs) = server.terminate_and_keep_logs();
    assert!(
        export.contains("agent.action_decided"),
        "the export is the audit log"
    );
    for canary in [pan, email] {
        assert!(!logs.contains(canary), "{canary} in logs");
        assert!(!export.contains(canary), "{canary} in the audit log");
        for (path, bytes) in crate::support::snapshot(dir.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(canary),
                "{canary} in {}",
                path.display()
            );
        }
    }
    assert!(!logs.contains(&token), "execution token in logs");
}
