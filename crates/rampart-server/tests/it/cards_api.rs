//! The card vault over the API: brands and lengths, fingerprints, refusals of security codes,
//! permission-gated and audited detokenization.

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::App;

#[tokio::test]
async fn cards_tokenize_with_brand_and_stable_fingerprint_and_detokenize() {
    let app = App::new().await;
    let first = app
        .post(
            "/v1/cards/tokenize",
            json!({"pan": "4111111111111111", "expiry": "12/29"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["brand"], "visa");
    assert_eq!(first.body["last_four"], "1111");
    let token = first.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tok_") && token.len() == 28, "{token}");
    let fingerprint = first.body["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 64);

    let second = app
        .post("/v1/cards/tokenize", json!({"pan": "4111 1111 1111 1111"}))
        .await;
    assert_eq!(second.body["fingerprint"], fingerprint.as_str());
    assert_ne!(second.body["token"], token.as_str());
    let other = app
        .post("/v1/cards/tokenize", json!({"pan": "5555555555554444"}))
        .await;
    assert_eq!(other.body["brand"], "mastercard");
    assert_ne!(other.body["fingerprint"], fingerprint.as_str());

    for (pan, brand) in [
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
    ] {
        let reply = app.post("/v1/cards/tokenize", json!({"pan": pan})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{pan}: {}", reply.text);
        assert_eq!(reply.body["brand"], brand, "{pan}");
    }

    let card = app
        .post("/v1/cards/detokenize", json!({"token": token}))
        .await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.text);
    assert_eq!(card.body["pan"], "4111111111111111");
    assert_eq!(card.body["expiry"], "12/29");

    // An operator tokenizes but may not see PANs.
    let tokenized = app
        .call(
            Method::POST,
            "/v1/cards/tokenize",
            Some(&app.operator),
            Some(json!({"pan": "4012888888881881"})),
        )
        .await;
    assert_eq!(tokenized.status, StatusCode::CREATED);
    let denied = app
        .call(
            Method::POST,
            "/v1/cards/detokenize",
            Some(&app.operator),
            Some(json!({"token": tokenized.body["token"]})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.text.contains("cards:detokenize"));

    for unknown in ["tok_AAAAAAAAAAAAAAAAAAAAAAAA", "tok_x", "card_1"] {
        let missing = app
            .post("/v1/cards/detokenize", json!({"token": unknown}))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    }

    // Detokenization is audited with the token, never the PAN.
    let entries = app.get("/v1/audit/entries?limit=1000").await;
    let detokenized = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "cards.detokenize" && e["status"] == "success")
        .expect("detokenize audited");
    assert_eq!(detokenized["resource"]["id"], token.as_str());
    assert_eq!(detokenized["details"]["last_four"], "1111");
    assert!(!entries.text.contains("4111111111111111"));
    assert!(
        entries.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "cards.detokenize" && e["status"] == "denied")
    );
}

#[tokio::test]
async fn bad_cards_and_security_codes_are_refused_without_echoing_them() {
    let app = App::new().await;
    for (body, field, needle) in [
        (json!({"pan": "4111111111111112"}), "pan", "Luhn"),
        (json!({"pan": "41111111"}), "pan", "12 to 19"),
        (json!({"pan": "3782822463100005"}), "pan", "amex"),
        (json!({"pan": "4111-1111-1111-111x"}), "pan", "only digits"),
        (
            json!({"pan": 4111111111111111u64}),
            "pan",
            "must be a string",
        ),
        (json!({}), "pan", "is required"),
        (
            json!({"pan": "4111111111111111", "expiry": "13/29"}),
            "expiry",
            "MM/YY",
        ),
        (
            json!({"pan": "4111111111111111", "cvv": "737"}),
            "cvv",
            "security codes",
        ),
        (
            json!({"pan": "4111111111111111", "card_cvc": "737"}),
            "card_cvc",
            "security codes",
        ),
        (
            json!({"pan": "4111111111111111", "PIN": "1234"}),
            "PIN",
            "security codes",
        ),
        (
            json!({"pan": "4111111111111111", "nickname": "x"}),
            "nickname",
            "not a field",
        ),
    ] {
        let reply = app.post("/v1/cards/tokenize", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
        assert!(reply.text.contains(needle), "{needle}: {}", reply.text);
        for secret in [
            "4111111111111112",
            "4111111111111111",
            "3782822463100005",
            "737",
            "1234",
            "41111111",
        ] {
            assert!(
                !reply.text.contains(secret),
                "{secret} echoed in {}",
                reply.text
            );
        }
    }
    // None of the refused cards was stored.
    let entries = app.get("/v1/audit/entries?limit=1000").await;
    assert!(
        !entries.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "cards.tokenize" && e["status"] == "success")
    );
    // (Ids and hashes may contain any digits, so look for the value itself, and the field.)
    fn holds(value: &serde_json::Value, needle: &str) -> bool {
        match value {
            serde_json::Value::String(s) => s == needle || s.contains("cvv"),
            serde_json::Value::Array(items) => items.iter().any(|v| holds(v, needle)),
            serde_json::Value::Object(map) => {
                map.keys().any(|k| k.contains("cvv")) || map.values().any(|v| holds(v, needle))
            }
            _ => false,
        }
    }
    assert!(!holds(&entries.body, "737"));
}

#[tokio::test]
async fn the_cards_key_is_reserved_but_rotatable_and_old_cards_still_open() {
    let app = App::new().await;
    let card = app
        .post("/v1/cards/tokenize", json!({"pan": "4111111111111111"}))
        .await;
    let token = card.body["token"].as_str().unwrap().to_owned();
    let reserved = app
        .post(
            "/v1/keys/rampart.cards/decrypt",
            json!({"ciphertext": "rampart:v1:AAAA"}),
        )
        .await;
    assert_eq!(reserved.status, StatusCode::FORBIDDEN, "{}", reserved.text);
    let rotated = app.post("/v1/keys/rampart.cards/rotate", json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(rotated.body["latest_version"], 2);
    let again = app
        .post("/v1/cards/detokenize", json!({"token": token}))
        .await;
    assert_eq!(again.body["pan"], "4111111111111111");
    // After rewrapping every card, version 1 can be retired.
    let progress = app.state.vault().rewrap_all(1, |_| {}).await.unwrap();
    assert_eq!(progress.done, 1);
    let patched = app
        .call(
            Method::PATCH,
            "/v1/keys/rampart.cards",
            Some(&app.admin),
            Some(json!({"min_decryption_version": 2})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let after = app
        .post("/v1/cards/detokenize", json!({"token": token}))
        .await;
    assert_eq!(after.body["pan"], "4111111111111111", "{}", after.text);
}

/// Issue 17: a card tokenized for a data subject keeps its `subject_id` in the store (the same
/// PAN for the same subject twice: two tokens, one fingerprint, as without a subject); a bad
/// subject id is refused by name and stores nothing; the entries name the subject in their own
/// `subject_id`, never in `details`, and never hold the PAN.
#[tokio::test]
async fn cards_are_linked_to_data_subjects() {
    use rampart_crypto::CardStore as _;
    let app = App::new().await;
    let tokenize = |body: serde_json::Value| app.post("/v1/cards/tokenize", body);
    let first = tokenize(json!({"pan": "4111111111111111", "subject_id": "cust-7"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = tokenize(json!({"pan": "4111111111111111", "subject_id": "cust-7"})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(first.body["fingerprint"], second.body["fingerprint"]);
    assert_ne!(first.body["token"], second.body["token"]);
    let unlinked = tokenize(json!({"pan": "5555555555554444", "subject_id": null})).await;
    assert_eq!(unlinked.status, StatusCode::CREATED, "{}", unlinked.text);
    let store = app.state.store();
    for (reply, subject) in [
        (&first, Some("cust-7")),
        (&second, Some("cust-7")),
        (&unlinked, None),
    ] {
        let card = store
            .find_card(reply.body["token"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(card.subject_id.as_deref(), subject);
    }
    let stored = store.count_cards_below(u32::MAX).await.unwrap();
    assert_eq!(stored, 3);

    for bad in [
        json!(""),
        json!("x".repeat(257)),
        json!("cust\u{0}7"),
        json!(["cust-7"]),
    ] {
        let refused = tokenize(json!({"pan": "4111111111111111", "subject_id": bad.clone()})).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            refused.text
        );
        assert_eq!(refused.body["errors"][0]["field"], "subject_id");
        assert!(!refused.text.contains("4111111111111111"));
    }
    assert_eq!(store.count_cards_below(u32::MAX).await.unwrap(), stored);

    let entries = app
        .get("/v1/audit/entries?subject_id=cust-7&limit=100")
        .await;
    let entries = entries.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for (entry, reply) in entries.iter().zip([&first, &second]) {
        assert_eq!(entry["action"], "cards.tokenize");
        assert_eq!(entry["resource"]["id"], reply.body["token"]);
        assert!(!entry["details"].to_string().contains("cust-7"), "{entry}");
        assert!(!entry.to_string().contains("4111111111111111"), "{entry}");
    }
    // Detokenizing is unchanged.
    let card = app
        .post(
            "/v1/cards/detokenize",
            json!({"token": first.body["token"]}),
        )
        .await;
    assert_eq!(card.body["pan"], "4111111111111111", "{}", card.text);
}
