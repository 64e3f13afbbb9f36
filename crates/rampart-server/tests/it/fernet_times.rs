//! Fernet `at_time` over the API, as Python's `encrypt_at_time`/`decrypt_at_time`: a token
//! carries the time it was stamped with, and a TTL is checked against the time given.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use http::StatusCode;
use serde_json::json;

use crate::harness::App;

/// The timestamp a Fernet token carries (bytes 1..9, big-endian).
fn stamped_at(token: &str) -> u64 {
    let raw = URL_SAFE.decode(token).unwrap();
    u64::from_be_bytes(raw[1..9].try_into().unwrap())
}

#[tokio::test]
async fn fernet_tokens_are_stamped_and_checked_at_the_time_given() {
    let app = App::new().await;
    for (name, key_type) in [("f", "fernet"), ("a", "aes256-gcm")] {
        let made = app
            .post("/v1/keys", json!({"name": name, "type": key_type}))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    }
    let plaintext = STANDARD.encode(b"at a time");
    let sealed = app
        .post(
            "/v1/keys/f/encrypt",
            json!({"plaintext": plaintext, "at_time": 1_000_000_000}),
        )
        .await;
    assert_eq!(sealed.status, StatusCode::OK, "{}", sealed.text);
    let token = sealed.body["ciphertext"].as_str().unwrap().to_owned();
    assert_eq!(stamped_at(&token), 1_000_000_000);

    let within = app
        .post(
            "/v1/keys/f/decrypt",
            json!({"ciphertext": token, "ttl_seconds": 60, "at_time": 1_000_000_030}),
        )
        .await;
    assert_eq!(within.status, StatusCode::OK, "{}", within.text);
    assert_eq!(within.body["plaintext"], plaintext);
    let late = app
        .post(
            "/v1/keys/f/decrypt",
            json!({"ciphertext": token, "ttl_seconds": 60, "at_time": 1_000_000_061}),
        )
        .await;
    assert_eq!(
        late.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        late.text
    );
    // Against the clock, the 2001 token has long expired.
    let now = app
        .post(
            "/v1/keys/f/decrypt",
            json!({"ciphertext": token, "ttl_seconds": 60}),
        )
        .await;
    assert_eq!(now.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", now.text);
    // The batch form takes it per item.
    let batch = app
        .post(
            "/v1/keys/f/decrypt",
            json!({"batch": [
                {"ciphertext": token, "ttl_seconds": 60, "at_time": 1_000_000_001},
                {"ciphertext": token, "ttl_seconds": 60, "at_time": 2_000_000_000},
            ]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
    assert_eq!(batch.body["batch"][0]["plaintext"], plaintext);
    assert!(
        batch.body["batch"][1]["error"].is_string(),
        "{}",
        batch.text
    );
}

#[tokio::test]
async fn a_bad_at_time_is_refused_and_names_the_field() {
    let app = App::new().await;
    for (name, key_type) in [("f", "fernet"), ("a", "aes256-gcm")] {
        app.post("/v1/keys", json!({"name": name, "type": key_type}))
            .await;
    }
    let plaintext = STANDARD.encode(b"x");
    let cases = [
        (
            "/v1/keys/f/encrypt",
            json!({"plaintext": plaintext, "at_time": -1}),
        ),
        (
            "/v1/keys/f/encrypt",
            json!({"plaintext": plaintext, "at_time": "now"}),
        ),
        (
            "/v1/keys/f/encrypt",
            json!({"plaintext": plaintext, "at_time": 1.5}),
        ),
        (
            "/v1/keys/f/encrypt",
            json!({"plaintext": plaintext, "at_time": u64::MAX}),
        ),
        (
            "/v1/keys/a/encrypt",
            json!({"plaintext": plaintext, "at_time": 1}),
        ),
        (
            "/v1/keys/a/decrypt",
            json!({"ciphertext": "rampart:v1:AAAA", "at_time": 1}),
        ),
    ];
    for (path, body) in cases {
        let reply = app.post(path, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert!(reply.text.contains("at_time"), "{body}: {}", reply.text);
    }
}
