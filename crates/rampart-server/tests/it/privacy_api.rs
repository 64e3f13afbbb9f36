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
