//! The keys CLI against a real deployment: `keys rotate`, `keys rewrap-all` (resumed after a
//! kill -9) and `master-key rotate` in dual-key mode.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Server, client, master_key, rampart, run, text};

/// A Luhn-valid 16-digit Visa number made from `n`.
fn pan(n: u64) -> String {
    let body = format!("4{n:014}");
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = *d;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

async fn post(base: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
    let response = client(None, None)
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn anonymous_post(base: &str, path: &str, body: &Value) -> Value {
    let response = client(None, None)
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap_or(Value::Null)
}

fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap()
}

#[test]
fn rewrap_all_reencrypts_every_card_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let master = master_key();
    let env = [("RAMPART_MASTER_KEY", master.as_str())];
    let server = Server::start(&["--data-dir", data], &env);
    let admin = server.admin_key.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = 400;
    let tokens: Vec<(String, String)> = rt.block_on(async {
        let mut tokens = Vec::new();
        for i in 0..count {
            let number = pan(i * 7919 + 13);
            let (status, body) = post(
                &server.base,
                &admin,
                "/v1/cards/tokenize",
                json!({"pan": number, "expiry": "01/31"}),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            tokens.push((body["token"].as_str().unwrap().to_owned(), number));
        }
        tokens
    });
    server.terminate();

    let rotated = run(rampart()
        .args([
            "keys",
            "rotate",
            "--key",
            "rampart.cards",
            "--data-dir",
            data,
        ])
        .env("RAMPART_MASTER_KEY", &master));
    let (stdout, stderr) = text(&rotated);
    assert!(rotated.status.success(), "{stderr}");
    assert!(stdout.contains("latest version is now 2"), "{stdout}");

    // Start a rewrap in small batches and kill it with SIGKILL part-way.
    let mut child = rampart()
        .args([
            "keys",
            "rewrap-all",
            "--key",
            "rampart.cards",
            "--batch-size",
            "1",
            "--data-dir",
            data,
        ])
        .env("RAMPART_MASTER_KEY", &master)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let resumed = run(rampart()
        .args([
            "keys",
            "rewrap-all",
            "--key",
            "rampart.cards",
            "--data-dir",
            data,
        ])
        .env("RAMPART_MASTER_KEY", &master));
    let (stdout, stderr) = text(&resumed);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stdout.contains("to version 2"), "{stdout}");
    let done: u64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(done <= count, "{stdout}");
    eprintln!("the resumed run rewrapped {done} of {count} cards");

    // A second run finds nothing left; retiring version 1 then loses no card.
    let again = run(rampart()
        .args([
            "keys",
            "rewrap-all",
            "--key",
            "rampart.cards",
            "--data-dir",
            data,
        ])
        .env("RAMPART_MASTER_KEY", &master));
    assert!(
        text(&again).0.contains("rewrapped 0 "),
        "{}",
        text(&again).0
    );
    let server = Server::start(&["--data-dir", data], &env);
    rt.block_on(async {
        let http = client(None, None);
        let patched = http
            .patch(format!("{}/v1/keys/rampart.cards", server.base))
            .bearer_auth(&admin)
            .json(&json!({"min_decryption_version": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        for (token, number) in &tokens {
            let (status, body) = post(
                &server.base,
                &admin,
                "/v1/cards/detokenize",
                json!({"token": token}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["pan"], number.as_str());
            assert_eq!(body["expiry"], "01/31");
        }
        // The CLI's work is in the audit log.
        let entries: Value = http
            .get(format!(
                "{}/v1/audit/entries?limit=1000&action=keys.rewrap_all",
                server.base
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            entries["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "keys.rewrap_all"),
            "{entries}"
        );
    });
    server.terminate();

    // A key whose ciphertexts applications hold: nothing stored to rewrap, said plainly.
    let unknown = run(rampart()
        .args(["keys", "rewrap-all", "--key", "nope", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &master));
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).1.contains("no key named 'nope'"),
        "{}",
        text(&unknown).1
    );
}

#[test]
fn master_key_rotation_reseals_everything_in_dual_key_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let old = master_key();
    let new = master_key();
    // Webhooks to a receiver on loopback are allowed in this deployment.
    let private = ("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true");
    let server = Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &old), private],
    );
    let admin = server.admin_key.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(crate::monitor::Receiver::start(&[]));
    let (_, webhook) = rt.block_on(post(
        &server.base,
        &admin,
        "/v1/webhooks",
        json!({"url": receiver.url, "events": ["incident.opened"]}),
    ));
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    // A user with TOTP (an admin: the role requires a second factor).
    let login = json!({"name": "root2", "password": "Rotation-Second-Factor-7731"});
    let totp = rt.block_on(async {
        let (_, created) = post(
            &server.base,
            &admin,
            "/v1/principals",
            json!({"name": "root2", "password": "Rotation-Second-Factor-7731", "roles": ["admin"]}),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let first = anonymous_post(&server.base, "/v1/auth/login", &login).await;
        let enrollment = first["enrollment_token"].as_str().unwrap().to_owned();
        let (_, enrolled) = post(
            &server.base,
            &enrollment,
            &format!("/v1/principals/{id}/totp"),
            Value::Null,
        )
        .await;
        let secret_b32 = enrolled["secret_b32"].as_str().unwrap();
        let totp = rampart_access::totp::TotpSecret::from_base32(secret_b32).unwrap();
        let code = rampart_access::totp::Totp::DEFAULT.code_at(&totp, unix_now());
        let (status, confirmed) = post(
            &server.base,
            &enrollment,
            &format!("/v1/principals/{id}/totp/confirm"),
            json!({"code": code}),
        )
        .await;
        assert_eq!(status, 200, "{confirmed}");
        totp
    });
    let (ciphertext, token) = rt.block_on(async {
        post(
            &server.base,
            &admin,
            "/v1/keys",
            json!({"name": "payments"}),
        )
        .await;
        let (_, sealed) = post(
            &server.base,
            &admin,
            "/v1/keys/payments/encrypt",
            json!({"plaintext": "aGVsbG8="}),
        )
        .await;
        let (_, card) = post(
            &server.base,
            &admin,
            "/v1/cards/tokenize",
            json!({"pan": "4111111111111111"}),
        )
        .await;
        // Personal data sealed with a subject key (itself sealed by the KEK).
        let (status, body) = post(
            &server.base,
            &admin,
            "/v1/audit/entries",
            json!({"actor": {"type": "user", "id": "u"}, "action": "record.read",
                "resource": {"type": "patient"}, "status": "success",
                "subject_id": "rotated-subject", "personal": {"name": "Ada"}}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        (sealed["ciphertext"].clone(), card["token"].clone())
    });
    server.terminate();

    // Without both keys the command explains what it needs and changes nothing.
    let refused = run(rampart()
        .args(["master-key", "rotate", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &old));
    assert!(!refused.status.success());
    assert!(
        text(&refused).1.contains("RAMPART_MASTER_KEY_PREVIOUS"),
        "{}",
        text(&refused).1
    );

    // Dual-key mode: servers start with the new key before the rotation ran.
    let dual = [
        ("RAMPART_MASTER_KEY", new.as_str()),
        ("RAMPART_MASTER_KEY_PREVIOUS", old.as_str()),
    ];
    let server = Server::start(&["--data-dir", data], &dual);
    server.terminate();
    let rotated = run(rampart()
        .args(["master-key", "rotate", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &new)
        .env("RAMPART_MASTER_KEY_PREVIOUS", &old));
    let (stdout, stderr) = text(&rotated);
    assert!(rotated.status.success(), "{stderr}");
    assert!(stdout.contains("re-sealed"), "{stdout}");

    // The new key alone now opens everything: API keys, data keys, the card vault, webhook
    // secrets (a delivery is still signed with the secret shown when the webhook was made).
    let server = Server::start(
        &["--data-dir", data],
        &[("RAMPART_MASTER_KEY", &new), private],
    );
    rt.block_on(async {
        let (status, body) = post(
            &server.base,
            &admin,
            "/v1/incidents",
            json!({"title": "after the rotation", "severity": "low"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let delivered = crate::monitor::eventually(std::time::Duration::from_secs(10), || async {
            !receiver.requests().is_empty()
        })
        .await;
        assert!(delivered, "no delivery after the rotation");
        let request = receiver.requests().remove(0);
        assert!(crate::monitor::signature_valid(&secret, &request));
        // The TOTP user still logs in with the authenticator it enrolled.
        let mut full = login.clone();
        let code = rampart_access::totp::Totp::DEFAULT.code_at(&totp, unix_now() + 30);
        full["totp"] = Value::String(code);
        let session = anonymous_post(&server.base, "/v1/auth/login", &full).await;
        assert!(session["token"].is_string(), "{session}");
    });
    rt.block_on(async {
        let (status, body) = post(
            &server.base,
            &admin,
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": ciphertext}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["plaintext"], "aGVsbG8=");
        let (status, body) = post(
            &server.base,
            &admin,
            "/v1/cards/detokenize",
            json!({"token": token}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["pan"], "4111111111111111");
        // Subject keys were re-sealed too: the personal data still opens.
        let entries = crate::support::client(None, None)
            .get(format!(
                "{}/v1/audit/entries?subject_id=rotated-subject",
                server.base
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(
            entries["items"][0]["personal_plain"]["name"], "Ada",
            "{entries}"
        );
    });
    server.terminate();
    // And the old key alone no longer does.
    let stale = Server::try_start(&["--data-dir", data], &[("RAMPART_MASTER_KEY", &old)]);
    let Err((_, stderr)) = stale else {
        panic!("the old master key still opens the deployment")
    };
    assert!(stderr.contains("does not match"), "{stderr}");
}

#[test]
fn master_key_rotation_rewrites_the_key_file_of_a_file_keyed_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let init = run(rampart().args(["init", "--json", "--data-dir", data]));
    assert!(init.status.success(), "{}", text(&init).1);
    let admin = serde_json::from_slice::<Value>(&init.stdout).unwrap()["admin_api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_file = std::path::Path::new(data).join("master.key");
    let old = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_owned();
    let new = master_key();
    let rotated = run(rampart()
        .args(["master-key", "rotate", "--data-dir", data])
        .env("RAMPART_MASTER_KEY", &new)
        .env("RAMPART_MASTER_KEY_PREVIOUS", &old));
    assert!(rotated.status.success(), "{}", text(&rotated).1);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), new);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No variable set: the rewritten file opens the deployment, and the admin key still works.
    let server = Server::start(&["--data-dir", data], &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let response = client(None, None)
            .get(format!("{}/v1/auth/whoami", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
    server.terminate();
}
