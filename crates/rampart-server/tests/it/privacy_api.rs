//! `POST /v1/redact` and `POST /v1/detect`.

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::App;

#[tokio::test]
async fn documents_and_texts_are_redacted_with_findings() {
    let app = App::new().await;
    let reply = app
        .post("/v1/redact", json!({"document": {"user": {"email": "ann@example.com", "cvv": "123"}, "note": "call (415) 555-2671"}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let document = &reply.body["document"];
    assert!(
        document["user"]["email"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    assert_eq!(document["user"]["cvv"], "[REDACTED:SENSITIVE_KEY]");
    assert_eq!(document["note"], "call **********2671");
    let findings = reply.body["findings"].as_array().unwrap();
    assert_eq!(
        findings[0],
        json!({"path": "user.email", "type": "email", "action": "hash", "start": 0, "end": 15})
    );
    assert_eq!(findings[2]["path"], "note");
    assert!(!reply.text.contains("ann@example.com") && !reply.text.contains("555-2671"));

    let text = app
        .post(
            "/v1/redact",
            json!({"text": "ssn 123-45-6789", "policy": {"us_ssn": "mask"}}),
        )
        .await;
    assert_eq!(text.body["text"], "ssn *******6789");
    assert_eq!(
        text.body["findings"][0],
        json!({"type": "us_ssn", "action": "mask", "start": 4, "end": 15})
    );

    let detect = app
        .post("/v1/detect", json!({"text": "mail ann@example.com"}))
        .await;
    assert_eq!(detect.status, StatusCode::OK);
    assert_eq!(
        detect.body,
        json!({"findings": [{"type": "email", "action": "hash", "start": 5, "end": 20}]})
    );
}

#[tokio::test]
async fn bad_requests_are_named_and_permissions_apply() {
    let app = App::new().await;
    for (body, field) in [
        (json!({}), "body"),
        (json!({"text": 5}), "text"),
        (json!({"text": "a", "document": {}}), "body"),
        (json!({"text": "a", "extra": 1}), "extra"),
        (json!({"text": "a", "policy": {"mail": "hash"}}), "policy"),
        (json!({"text": "a", "policy": {"email": "shred"}}), "policy"),
        (
            json!({"text": "a", "policy": {"email": {"action": "encrypt", "key": "pii"}}}),
            "policy.email",
        ),
        (json!(["text"]), "body"),
    ] {
        let reply = app.post("/v1/redact", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["errors"][0]["field"], field, "{body}");
    }
    // A viewer lacks privacy:redact (developer and up hold it).
    let denied = app
        .call(
            Method::POST,
            "/v1/redact",
            Some(&app.viewer),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    // Redaction is not a state change: no api.post trail entry.
    app.post("/v1/redact", json!({"text": "x"})).await;
    let trail = app
        .get("/v1/audit/entries?action=api.post&resource_id=/v1/redact")
        .await;
    assert_eq!(trail.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn encrypt_and_tokenize_actions_use_named_keys_and_the_card_vault() {
    let app = App::new().await;
    app.post("/v1/keys", json!({"name": "pii"})).await;
    let policy = json!({"email": {"action": "encrypt", "key": "pii"}, "credit_card": "tokenize"});
    let reply = app
        .post(
            "/v1/redact",
            json!({"document": {"user": {"email": "ann@example.com", "card": "4111 1111 1111 1111"}, "note": "paid with 5555555555554444"}, "policy": policy}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let doc = &reply.body["document"];
    let email = doc["user"]["email"].as_str().unwrap();
    assert!(email.starts_with("rampart:v1:"), "{email}");
    let card = doc["user"]["card"].as_str().unwrap();
    assert!(card.starts_with("tok_"), "{card}");
    let note = doc["note"].as_str().unwrap();
    assert!(note.starts_with("paid with tok_"), "{note}");
    assert!(!reply.text.contains("4111") && !reply.text.contains("ann@example.com"));
    let actions: Vec<&str> = reply.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"encrypt") && actions.contains(&"tokenize"),
        "{actions:?}"
    );

    // Both are reversible by those allowed to: decrypt with the key, detokenize with the vault.
    let opened = app
        .post("/v1/keys/pii/decrypt", json!({"ciphertext": email}))
        .await;
    assert_eq!(opened.body["plaintext"], "YW5uQGV4YW1wbGUuY29t");
    let pan = app
        .post("/v1/cards/detokenize", json!({"token": card}))
        .await;
    assert_eq!(pan.body["pan"], "4111111111111111");

    // Tokenizing stored cards, so the redaction is audited (counts only).
    let entries = app.get("/v1/audit/entries?limit=1000").await;
    let entry = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "privacy.redact")
        .expect("audited");
    assert_eq!(entry["details"]["tokenized"], 2);
    assert_eq!(entry["details"]["encrypted"], 1);

    // Detection reports the actions without carrying them out.
    let detected = app
        .post(
            "/v1/detect",
            json!({"text": "card 4111111111111111", "policy": policy}),
        )
        .await;
    assert_eq!(detected.body["findings"][0]["action"], "tokenize");
    let after = app.get("/v1/audit/entries?limit=1000").await;
    let redactions = after.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "privacy.redact")
        .count();
    assert_eq!(redactions, 1);

    // A key that cannot encrypt, or Rampart's own, is refused by name.
    app.post("/v1/keys", json!({"name": "mac", "type": "hmac-sha256"}))
        .await;
    for (key, needle) in [
        ("mac", "hmac-sha256"),
        ("rampart.cards", "Rampart's own"),
        ("nope", "no key named"),
    ] {
        let reply = app
            .post(
                "/v1/redact",
                json!({"text": "ann@example.com", "policy": {"email": {"action": "encrypt", "key": key}}}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        assert_eq!(reply.body["errors"][0]["field"], "policy.email");
        assert!(reply.text.contains(needle), "{}", reply.text);
    }
    // Tokenizing needs cards:tokenize as well as privacy:redact.
    let scoped = app
        .call(
            http::Method::POST,
            "/v1/redact",
            Some(&app.operator),
            Some(json!({"text": "4111111111111111", "policy": {"credit_card": "tokenize"}})),
        )
        .await;
    assert_eq!(scoped.status, StatusCode::OK, "{}", scoped.text);
}
