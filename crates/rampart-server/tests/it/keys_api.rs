//! Keys and encryption over the API: key lifecycle, every operation, every kind of bad input,
//! batches, Fernet import and Python interop, documents, and what the audit log records.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{App, Reply};

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

async fn create(app: &App, name: &str, key_type: &str) -> Reply {
    let reply = app
        .post("/v1/keys", json!({"name": name, "type": key_type}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

fn assert_problem(reply: &Reply, status: StatusCode, needle: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.headers["content-type"], "application/problem+json",
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(needle),
        "expected {needle:?} in {}",
        reply.text
    );
}

#[tokio::test]
async fn keys_are_created_read_listed_rotated_and_patched() {
    let app = App::new().await;
    let created = app
        .post(
            "/v1/keys",
            json!({"name": "payments", "rotation_period_days": 90}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["type"], "aes256-gcm");
    assert_eq!(created.body["latest_version"], 1);
    assert_eq!(created.body["min_decryption_version"], 1);
    assert_eq!(created.body["rotation_period_days"], 90);
    assert!(
        created.body["next_rotation_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(created.body["versions"].as_array().unwrap().len(), 1);
    assert!(!created.text.contains("material"));

    let again = app.post("/v1/keys", json!({"name": "payments"})).await;
    assert_problem(&again, StatusCode::CONFLICT, "already exists");

    let rotated = app.post("/v1/keys/payments/rotate", json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(rotated.body["latest_version"], 2);

    let patched = app
        .call(
            Method::PATCH,
            "/v1/keys/payments",
            Some(&app.admin),
            Some(json!({"min_decryption_version": 2, "rotation_period_days": null})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["min_decryption_version"], 2);
    assert_eq!(patched.body["rotation_period_days"], Value::Null);
    assert_eq!(patched.body["next_rotation_at"], Value::Null);

    let above = app
        .call(
            Method::PATCH,
            "/v1/keys/payments",
            Some(&app.admin),
            Some(json!({"min_decryption_version": 3})),
        )
        .await;
    assert_problem(
        &above,
        StatusCode::UNPROCESSABLE_ENTITY,
        "min_decryption_version",
    );

    create(&app, "audit-sig", "ed25519").await;
    let page = app.get("/v1/keys?limit=1").await;
    assert_eq!(page.body["items"][0]["name"], "audit-sig");
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let next = app.get(&format!("/v1/keys?limit=1&cursor={cursor}")).await;
    assert_eq!(next.body["items"][0]["name"], "payments");

    // A viewer reads keys but cannot manage them.
    let read = app
        .call(Method::GET, "/v1/keys/payments", Some(&app.viewer), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let denied = app
        .call(
            Method::POST,
            "/v1/keys/payments/rotate",
            Some(&app.viewer),
            Some(json!({})),
        )
        .await;
    assert_problem(&denied, StatusCode::FORBIDDEN, "keys:manage");
}

#[tokio::test]
async fn bad_key_requests_are_refused_with_clear_problems() {
    let app = App::new().await;
    for (body, needle) in [
        (json!({"name": "bad name"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "type": "rot13"}), "unknown key type"),
        (
            json!({"name": "x", "rotation_period_days": 0}),
            "rotation_period_days",
        ),
        (json!({"name": "x", "colour": "red"}), "colour"),
        (
            json!({"name": "x", "import_key": "abc"}),
            "only fernet keys",
        ),
        (
            json!({"name": "x", "type": "fernet", "import_key": "not-a-key"}),
            "not a Fernet key",
        ),
        (json!({"type": "fernet"}), "name"),
        (json!(["name"]), "JSON object"),
    ] {
        let reply = app.post("/v1/keys", body.clone()).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, needle);
    }
    let reserved = app.post("/v1/keys", json!({"name": "rampart.cards"})).await;
    assert_problem(&reserved, StatusCode::FORBIDDEN, "Rampart's own");
    let missing = app.get("/v1/keys/nope").await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "no key named 'nope'");
    let missing = app
        .post("/v1/keys/nope/encrypt", json!({"plaintext": b64(b"x")}))
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "no key named 'nope'");
}

#[tokio::test]
async fn aes_keys_encrypt_decrypt_and_rewrap_with_associated_data() {
    let app = App::new().await;
    create(&app, "payments", "aes256-gcm").await;
    let sealed = app
        .post(
            "/v1/keys/payments/encrypt",
            json!({"plaintext": b64(b"card data"), "associated_data": b64(b"order-7")}),
        )
        .await;
    assert_eq!(sealed.status, StatusCode::OK, "{}", sealed.text);
    let ciphertext = sealed.body["ciphertext"].as_str().unwrap().to_owned();
    assert!(ciphertext.starts_with("rampart:v1:"), "{ciphertext}");
    assert_eq!(sealed.body["key_version"], 1);

    let opened = app
        .post(
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": ciphertext, "associated_data": b64(b"order-7")}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    assert_eq!(opened.body["plaintext"], b64(b"card data"));

    let wrong_aad = app
        .post(
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": ciphertext, "associated_data": b64(b"order-8")}),
        )
        .await;
    assert_problem(
        &wrong_aad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "associated data is wrong",
    );
    let no_aad = app
        .post(
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": ciphertext}),
        )
        .await;
    assert_problem(
        &no_aad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "could not be decrypted",
    );

    app.post("/v1/keys/payments/rotate", json!({})).await;
    let rewrapped = app
        .post(
            "/v1/keys/payments/rewrap",
            json!({"ciphertext": ciphertext, "associated_data": b64(b"order-7")}),
        )
        .await;
    assert_eq!(rewrapped.status, StatusCode::OK, "{}", rewrapped.text);
    assert_eq!(rewrapped.body["key_version"], 2);
    let new_ciphertext = rewrapped.body["ciphertext"].as_str().unwrap().to_owned();
    assert!(new_ciphertext.starts_with("rampart:v2:"));

    // Raising min_decryption_version retires the old ciphertext, not the rewrapped one.
    app.call(
        Method::PATCH,
        "/v1/keys/payments",
        Some(&app.admin),
        Some(json!({"min_decryption_version": 2})),
    )
    .await;
    let old = app
        .post(
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": ciphertext, "associated_data": b64(b"order-7")}),
        )
        .await;
    assert_problem(
        &old,
        StatusCode::UNPROCESSABLE_ENTITY,
        "below this key's min_decryption_version",
    );
    let new = app
        .post(
            "/v1/keys/payments/decrypt",
            json!({"ciphertext": new_ciphertext, "associated_data": b64(b"order-7")}),
        )
        .await;
    assert_eq!(new.body["plaintext"], b64(b"card data"));
}

#[tokio::test]
async fn every_kind_of_bad_ciphertext_is_a_422_never_a_500() {
    let app = App::new().await;
    create(&app, "k", "aes256-gcm").await;
    create(&app, "mac", "hmac-sha256").await;
    let sealed = app
        .post("/v1/keys/k/encrypt", json!({"plaintext": b64(b"secret")}))
        .await;
    let ciphertext = sealed.body["ciphertext"].as_str().unwrap().to_owned();
    let body = ciphertext.strip_prefix("rampart:v1:").unwrap();
    let mut tampered = body.as_bytes().to_vec();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = format!("rampart:v1:{}", String::from_utf8(tampered).unwrap());
    let cases = [
        (json!({"ciphertext": tampered}), "could not be decrypted"),
        (
            json!({"ciphertext": format!("rampart:v1:{}", &body[..20])}),
            "truncated",
        ),
        (json!({"ciphertext": "rampart:v1:***"}), "not valid base64"),
        (
            json!({"ciphertext": "vault:v1:abcd"}),
            "does not start with 'rampart:v'",
        ),
        (json!({"ciphertext": "rampart:vX:abcd"}), "version"),
        (
            json!({"ciphertext": format!("rampart:v9:{body}")}),
            "version 9",
        ),
        (json!({"ciphertext": 7}), "must be a string"),
        (json!({}), "is required"),
        (
            json!({"ciphertext": ciphertext, "associated_data": "%%%"}),
            "base64",
        ),
        (
            json!({"ciphertext": ciphertext, "ttl_seconds": 60}),
            "ttl_seconds applies only to fernet",
        ),
    ];
    for (request, needle) in cases {
        let reply = app.post("/v1/keys/k/decrypt", request.clone()).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, needle);
        assert!(!reply.text.contains("secret"));
    }
    let bad_plaintext = app
        .post("/v1/keys/k/encrypt", json!({"plaintext": "not base64!"}))
        .await;
    assert_problem(
        &bad_plaintext,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plaintext",
    );
    assert!(!bad_plaintext.text.contains("not base64!"));
    let wrong_type = app
        .post("/v1/keys/mac/encrypt", json!({"plaintext": b64(b"x")}))
        .await;
    assert_problem(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "does not support encrypt",
    );
    let wrong_type = app
        .post("/v1/keys/k/hmac", json!({"input": b64(b"x")}))
        .await;
    assert_problem(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "does not support hmac",
    );
    let unparseable = app
        .send(
            http::Request::post("/v1/keys/k/decrypt")
                .header("authorization", format!("Bearer {}", app.admin))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"ciphertext\": "))
                .unwrap(),
        )
        .await;
    assert_eq!(unparseable.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_items_fail_independently() {
    let app = App::new().await;
    create(&app, "k", "aes256-gcm").await;
    let sealed = app
        .post(
            "/v1/keys/k/encrypt",
            json!({"batch": [{"plaintext": b64(b"one")}, {"plaintext": "!!"}, {"plaintext": b64(b"three"), "associated_data": b64(b"ctx")}]}),
        )
        .await;
    assert_eq!(sealed.status, StatusCode::OK, "{}", sealed.text);
    let items = sealed.body["batch"].as_array().unwrap();
    assert!(items[0]["ciphertext"].is_string());
    assert!(
        items[1]["error"]
            .as_str()
            .unwrap()
            .contains("batch[1].plaintext")
    );
    assert!(items[2]["ciphertext"].is_string());
    let opened = app
        .post(
            "/v1/keys/k/decrypt",
            json!({"batch": [
                {"ciphertext": items[0]["ciphertext"]},
                {"ciphertext": items[2]["ciphertext"]},
                {"ciphertext": items[2]["ciphertext"], "associated_data": b64(b"ctx")},
            ]}),
        )
        .await;
    let out = opened.body["batch"].as_array().unwrap();
    assert_eq!(out[0]["plaintext"], b64(b"one"));
    assert!(
        out[1]["error"]
            .as_str()
            .unwrap()
            .contains("could not be decrypted")
    );
    assert_eq!(out[2]["plaintext"], b64(b"three"));
    for bad in [
        json!({"batch": []}),
        json!({"batch": {}}),
        json!({"batch": [], "plaintext": "x"}),
    ] {
        let reply = app.post("/v1/keys/k/encrypt", bad).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "batch");
    }
}

#[tokio::test]
async fn fernet_keys_import_python_keys_and_read_spec_tokens() {
    let app = App::new().await;
    // The Fernet specification's key and token (generate.json).
    let imported = app
        .post(
            "/v1/keys",
            json!({"name": "legacy", "type": "fernet", "import_key": "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    let opened = app
        .post("/v1/keys/legacy/decrypt", json!({"ciphertext": token}))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    assert_eq!(opened.body["plaintext"], b64(b"hello"));
    assert_eq!(opened.body["key_version"], 1);
    // That token is from 1985: with a TTL it has expired.
    let expired = app
        .post(
            "/v1/keys/legacy/decrypt",
            json!({"ciphertext": token, "ttl_seconds": 60}),
        )
        .await;
    assert_problem(&expired, StatusCode::UNPROCESSABLE_ENTITY, "Fernet token");

    // After rotation, new tokens come from version 2 and old ones still open (MultiFernet).
    app.post("/v1/keys/legacy/rotate", json!({})).await;
    let sealed = app
        .post("/v1/keys/legacy/encrypt", json!({"plaintext": b64(b"new")}))
        .await;
    assert_eq!(sealed.body["key_version"], 2);
    assert!(
        sealed.body["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("gAAAAA")
    );
    let rewrapped = app
        .post("/v1/keys/legacy/rewrap", json!({"ciphertext": token}))
        .await;
    assert_eq!(rewrapped.body["key_version"], 2, "{}", rewrapped.text);
    let old = app
        .post("/v1/keys/legacy/decrypt", json!({"ciphertext": token}))
        .await;
    assert_eq!(old.body["key_version"], 1);

    for (bad, needle) in [
        (format!("{}AAAA", &token[..40]), "Fernet token"),
        (token[..60].to_owned(), "Fernet token"),
        ("%%%%".to_owned(), "Fernet token"),
    ] {
        let reply = app
            .post("/v1/keys/legacy/decrypt", json!({"ciphertext": bad}))
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, needle);
    }
    let aad = app
        .post(
            "/v1/keys/legacy/encrypt",
            json!({"plaintext": b64(b"x"), "associated_data": b64(b"y")}),
        )
        .await;
    assert_problem(&aad, StatusCode::UNPROCESSABLE_ENTITY, "associated_data");
}

fn python_cryptography() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("RAMPART_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "RAMPART_REQUIRE_PYTHON=1 but python3 cannot import cryptography"
        );
        eprintln!("skipped: python cryptography not installed");
    }
    ok
}

fn python(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn fernet_interoperates_with_python_cryptography_over_http() {
    if !python_cryptography() {
        return;
    }
    let app = App::new().await;
    let made = python(
        "from cryptography.fernet import Fernet\nk = Fernet.generate_key()\nprint(k.decode())\nprint(Fernet(k).encrypt(b'from python \\x00\\xff').decode())",
        &[],
    );
    let (key, token) = made.split_once('\n').unwrap();
    let imported = app
        .post(
            "/v1/keys",
            json!({"name": "py", "type": "fernet", "import_key": key}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let opened = app
        .post(
            "/v1/keys/py/decrypt",
            json!({"ciphertext": token, "ttl_seconds": 300}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    assert_eq!(opened.body["plaintext"], b64(b"from python \x00\xff"));

    let sealed = app
        .post(
            "/v1/keys/py/encrypt",
            json!({"plaintext": b64(b"from rampart")}),
        )
        .await;
    let ours = sealed.body["ciphertext"].as_str().unwrap();
    let read = python(
        "import sys\nfrom cryptography.fernet import Fernet\nprint(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode(), ttl=60).decode())",
        &[key, ours],
    );
    assert_eq!(read, "from rampart");
}

#[tokio::test]
async fn hmac_and_signatures_verify_and_publish_public_keys() {
    let app = App::new().await;
    create(&app, "mac", "hmac-sha256").await;
    let mac = app
        .post("/v1/keys/mac/hmac", json!({"input": b64(b"msg")}))
        .await;
    let tag = mac.body["hmac"].as_str().unwrap().to_owned();
    assert!(tag.starts_with("rampart:v1:"));
    let ok = app
        .post(
            "/v1/keys/mac/verify-hmac",
            json!({"input": b64(b"msg"), "hmac": tag}),
        )
        .await;
    assert_eq!(ok.body["valid"], true);
    let bad = app
        .post(
            "/v1/keys/mac/verify-hmac",
            json!({"input": b64(b"msh"), "hmac": tag}),
        )
        .await;
    assert_eq!(bad.body["valid"], false);
    let malformed = app
        .post(
            "/v1/keys/mac/verify-hmac",
            json!({"input": b64(b"msg"), "hmac": "rampart:v1:@@"}),
        )
        .await;
    assert_problem(&malformed, StatusCode::UNPROCESSABLE_ENTITY, "hmac");

    create(&app, "signer", "ed25519").await;
    let signed = app
        .post("/v1/keys/signer/sign", json!({"input": b64(b"doc")}))
        .await;
    let signature = signed.body["signature"].as_str().unwrap().to_owned();
    let verified = app
        .post(
            "/v1/keys/signer/verify",
            json!({"input": b64(b"doc"), "signature": signature}),
        )
        .await;
    assert_eq!(verified.body["valid"], true);
    // Any Ed25519 library verifies it with the published public key.
    let meta = app.get("/v1/keys/signer").await;
    let public = STANDARD
        .decode(meta.body["versions"][0]["public_key_b64"].as_str().unwrap())
        .unwrap();
    let raw = STANDARD
        .decode(signature.strip_prefix("rampart:v1:").unwrap())
        .unwrap();
    assert!(rampart_crypto::verify_ed25519(&public, b"doc", &raw));
    assert!(!rampart_crypto::verify_ed25519(&public, b"dog", &raw));
}

#[tokio::test]
async fn documents_encrypt_selected_fields_and_decrypt_only_for_the_permitted() {
    let app = App::new().await;
    create(&app, "payments", "aes256-gcm").await;
    let document = json!({
        "card": {"number": "4111111111111111", "holder": "Ann"},
        "patient": {"ssn": "078-05-1120"},
        "items": [{"note": "first"}, {"note": {"nested": [1, 2]}}],
    });
    let encrypted = app
        .post(
            "/v1/documents/encrypt",
            json!({"key": "payments", "fields": ["card.number", "patient.ssn", "items[*].note"], "document": document}),
        )
        .await;
    assert_eq!(encrypted.status, StatusCode::OK, "{}", encrypted.text);
    assert_eq!(encrypted.body["encrypted_fields"], 4);
    let doc = &encrypted.body["document"];
    assert_eq!(doc["card"]["holder"], "Ann");
    assert_eq!(doc["card"]["number"]["__encrypted__"], true);
    assert_eq!(doc["card"]["number"]["key"], "payments");
    assert!(!encrypted.text.contains("4111111111111111"));
    assert!(!encrypted.text.contains("078-05-1120"));

    let decrypted = app
        .post("/v1/documents/decrypt", json!({"document": doc}))
        .await;
    assert_eq!(decrypted.status, StatusCode::OK, "{}", decrypted.text);
    assert_eq!(decrypted.body["document"], document);

    let hidden = app
        .call(
            Method::POST,
            "/v1/documents/decrypt",
            Some(&app.operator),
            Some(json!({"document": doc})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.text);
    assert_eq!(hidden.body["document"]["card"]["number"], "[ENCRYPTED]");
    assert_eq!(hidden.body["document"]["items"][1]["note"], "[ENCRYPTED]");
    assert_eq!(hidden.body["document"]["card"]["holder"], "Ann");

    let mut tampered = doc.clone();
    tampered["patient"]["ssn"]["ciphertext"] = doc["card"]["number"]["ciphertext"].clone();
    let mut broken = tampered["patient"]["ssn"]["ciphertext"]
        .as_str()
        .unwrap()
        .to_owned();
    broken.push('A');
    tampered["patient"]["ssn"]["ciphertext"] = Value::String(broken);
    let refused = app
        .post("/v1/documents/decrypt", json!({"document": tampered}))
        .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "document.patient.ssn",
    );

    for (body, needle) in [
        (
            json!({"key": "payments", "fields": ["a..b"], "document": {}}),
            "fields[0]",
        ),
        (
            json!({"key": "payments", "fields": [], "document": {}}),
            "fields",
        ),
        (
            json!({"key": "payments", "fields": ["a"], "document": "text"}),
            "document",
        ),
        (
            json!({"key": "nope", "fields": ["a"], "document": {}}),
            "no key named",
        ),
    ] {
        let reply = app.post("/v1/documents/encrypt", body).await;
        assert!(reply.status.is_client_error(), "{}", reply.text);
        assert!(reply.text.contains(needle), "{needle}: {}", reply.text);
    }
}

#[tokio::test]
async fn key_operations_are_audited_without_plaintext() {
    let app = App::new().await;
    create(&app, "payments", "aes256-gcm").await;
    let plaintext = b64(b"PLAINTEXT-CANARY-7781");
    let sealed = app
        .post("/v1/keys/payments/encrypt", json!({"plaintext": plaintext}))
        .await;
    app.post(
        "/v1/keys/payments/decrypt",
        json!({"ciphertext": sealed.body["ciphertext"]}),
    )
    .await;
    app.post(
        "/v1/keys/payments/decrypt",
        json!({"ciphertext": "rampart:v1:AAAA"}),
    )
    .await;
    let entries = app.get("/v1/audit/entries?limit=1000").await;
    let actions: Vec<(&str, &str, &str)> = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("keys.create", "payments", "success")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("keys.encrypt", "payments", "success")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("keys.decrypt", "payments", "success")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("keys.decrypt", "payments", "failure")),
        "{actions:?}"
    );
    assert!(!entries.text.contains(&plaintext));
    assert!(!entries.text.contains("PLAINTEXT-CANARY"));
}

#[tokio::test]
async fn due_keys_rotate_by_period_and_by_encryption_count() {
    let app = App::new().await;
    app.post(
        "/v1/keys",
        json!({"name": "monthly", "rotation_period_days": 30}),
    )
    .await;
    create(&app, "never", "aes256-gcm").await;
    let keys = app.state.keys();
    let journal = rampart_server::key_service::SystemJournal::automatic_rotation(app.state.audit());
    let now = time::OffsetDateTime::now_utc();
    assert!(keys.rotate_due(now, &journal).await.unwrap().is_empty());
    let in_31_days = now + time::Duration::days(31);
    assert_eq!(
        keys.rotate_due(in_31_days, &journal).await.unwrap(),
        vec!["monthly"]
    );
    assert_eq!(app.get("/v1/keys/monthly").await.body["latest_version"], 2);
    assert_eq!(app.get("/v1/keys/never").await.body["latest_version"], 1);
    // The new version (made now) restarts the period.
    assert!(
        keys.rotate_due(now + time::Duration::days(29), &journal)
            .await
            .unwrap()
            .is_empty()
    );

    // Encryptions are counted per version and stored by the maintenance task.
    for _ in 0..3 {
        app.post("/v1/keys/never/encrypt", json!({"plaintext": b64(b"x")}))
            .await;
    }
    keys.flush_counts().await.unwrap();
    let record = keys.record("never").await.unwrap();
    assert_eq!(record.versions[0].encryptions, 3);
}

#[tokio::test]
async fn a_multifernet_key_list_is_imported_as_versions_newest_latest() {
    if !python_cryptography() {
        return;
    }
    let app = App::new().await;
    // A Python app's MultiFernet([newest, middle, oldest]) with a token from each key.
    let made = python(
        "from cryptography.fernet import Fernet, MultiFernet\n\
         keys = [Fernet.generate_key() for _ in range(3)]\n\
         for k in keys: print(k.decode())\n\
         for k in keys: print(Fernet(k).encrypt(b'by ' + k[:4]).decode())",
        &[],
    );
    let lines: Vec<&str> = made.lines().collect();
    let (keys, tokens) = lines.split_at(3);
    let imported = app
        .post(
            "/v1/keys",
            json!({"name": "multi", "type": "fernet", "import_keys": keys}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    assert_eq!(imported.body["latest_version"], 3, "{}", imported.text);
    assert_eq!(imported.body["versions"].as_array().unwrap().len(), 3);
    // Every key's token opens; the newest key's is version 3, the oldest's version 1.
    for (token, version) in tokens.iter().zip([3, 2, 1]) {
        let opened = app
            .post("/v1/keys/multi/decrypt", json!({"ciphertext": token}))
            .await;
        assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
        assert_eq!(opened.body["key_version"], version, "{}", opened.text);
    }
    // New tokens are the newest key's: Python's MultiFernet, and Fernet with that key alone, read them.
    let sealed = app
        .post(
            "/v1/keys/multi/encrypt",
            json!({"plaintext": b64(b"from rampart")}),
        )
        .await;
    assert_eq!(sealed.body["key_version"], 3);
    let token = sealed.body["ciphertext"].as_str().unwrap();
    let read = python(
        "import sys\nfrom cryptography.fernet import Fernet\nprint(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())",
        &[keys[0], token],
    );
    assert_eq!(read, "from rampart");
    // Refused, each naming its field: both forms, a repeat, a bad key, an empty or long list,
    // another key type.
    let fernet = keys[0];
    for (body, field) in [
        (
            json!({"name": "m1", "type": "fernet", "import_key": fernet, "import_keys": [fernet]}),
            "import_keys",
        ),
        (
            json!({"name": "m2", "type": "fernet", "import_keys": [fernet, keys[1], fernet]}),
            "import_keys",
        ),
        (
            json!({"name": "m3", "type": "fernet", "import_keys": [fernet, "not-a-key"]}),
            "import_keys[1]",
        ),
        (
            json!({"name": "m4", "type": "fernet", "import_keys": []}),
            "import_keys",
        ),
        (
            json!({"name": "m5", "type": "fernet", "import_keys": vec![fernet; 17]}),
            "import_keys",
        ),
        (
            json!({"name": "m6", "type": "fernet", "import_keys": "x"}),
            "import_keys",
        ),
        (
            json!({"name": "m7", "import_keys": [fernet]}),
            "import_keys",
        ),
    ] {
        let reply = app.post("/v1/keys", body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        assert!(
            reply.text.contains(&format!("\"field\":\"{field}\"")),
            "{field}: {}",
            reply.text
        );
    }
    let listed = app.get("/v1/keys").await;
    assert!(
        !listed.text.contains("\"m1\""),
        "nothing stored: {}",
        listed.text
    );
}
