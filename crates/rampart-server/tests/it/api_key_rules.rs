//! The rules of making an API key that keep a key from being a way around policy: `scopes` is
//! required (`["*"]` stands for everything the principal holds, stated on purpose), and a key
//! for a principal whose roles require a second factor is made only in a session that passed it.

use http::{Method, StatusCode};
use rampart_access::totp::{Totp, TotpSecret};
use serde_json::{Value, json};

use crate::harness::{App, Reply};

const PASSWORD: &str = "correct-Horse-battery-9";

async fn principal(app: &App, name: &str, roles: &[&str]) -> String {
    let reply = app
        .post(
            "/v1/principals",
            json!({"type": "user", "name": name, "password": PASSWORD, "roles": roles}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn login(app: &App, name: &str, totp: Option<&str>) -> Reply {
    let mut body = json!({"name": name, "password": PASSWORD});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    app.call_from(
        "192.0.2.20",
        Method::POST,
        "/v1/auth/login",
        None,
        Some(body),
    )
    .await
}

async fn key_count(app: &App) -> usize {
    app.get("/v1/api-keys?limit=1000").await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

fn field_errors(reply: &Reply) -> Vec<String> {
    reply.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn scopes_are_required_and_a_star_stands_alone_for_everything_held() {
    let app = App::new().await;
    let dev = principal(&app, "dana", &["developer"]).await;
    let before = key_count(&app).await;
    for body in [
        json!({"principal_id": dev, "name": "forgot-scopes"}),
        json!({"principal_id": dev, "name": "null-scopes", "scopes": null}),
        json!({"principal_id": dev, "name": "empty", "scopes": []}),
        json!({"principal_id": dev, "name": "mixed", "scopes": ["*", "keys:encrypt"]}),
        json!({"principal_id": dev, "name": "text", "scopes": "*"}),
    ] {
        let refused = app.post("/v1/api-keys", body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.text
        );
        assert_eq!(field_errors(&refused), ["scopes"], "{}", refused.text);
    }
    let missing = app
        .post("/v1/api-keys", json!({"principal_id": dev, "name": "x"}))
        .await;
    assert!(missing.text.contains("[\\\"*\\\"]"), "{}", missing.text);
    assert_eq!(key_count(&app).await, before, "no key was made");

    // ["*"]: all of the principal's permissions, no more.
    let all = app
        .post(
            "/v1/api-keys",
            json!({"principal_id": dev, "name": "everything", "scopes": ["*"]}),
        )
        .await;
    assert_eq!(all.status, StatusCode::CREATED, "{}", all.text);
    assert_eq!(all.body["scopes"], Value::Null, "{}", all.text);
    let key = all.body["key"].as_str().unwrap().to_owned();
    let encrypt = app
        .call(
            Method::POST,
            "/v1/authorize",
            Some(&app.admin),
            Some(json!({"principal_id": dev, "action": "keys:encrypt"})),
        )
        .await;
    assert_eq!(encrypt.body["allowed"], true, "{}", encrypt.text);
    let beyond = app
        .call(Method::GET, "/v1/principals", Some(&key), None)
        .await;
    assert_eq!(beyond.status, StatusCode::FORBIDDEN, "{}", beyond.text);
}

#[tokio::test]
async fn keys_of_mfa_roles_come_only_from_a_session_that_passed_the_second_factor() {
    let app = App::new().await;
    let id = principal(&app, "frida", &["admin"]).await;
    let before = key_count(&app).await;
    // The bootstrap admin key is one factor: it makes no key for an admin, not even itself.
    let admin_id = app.get("/v1/auth/whoami").await.body["principal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for target in [&id, &admin_id] {
        let refused = app
            .post(
                "/v1/api-keys",
                json!({"principal_id": target, "name": "one-factor", "scopes": ["audit:read"]}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        assert!(refused.text.contains("second factor"), "{}", refused.text);
    }
    assert_eq!(key_count(&app).await, before, "no key was made");

    // Enrol TOTP with the enrollment session the password earns, then log in with a code.
    let enrollment = login(&app, "frida", None).await.body["enrollment_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolled = app
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp"),
            Some(&enrollment),
            Some(json!({})),
        )
        .await;
    let secret = TotpSecret::from_base32(enrolled.body["secret_b32"].as_str().unwrap()).unwrap();
    let now = || u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let confirmed = app
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp/confirm"),
            Some(&enrollment),
            Some(json!({"code": Totp::DEFAULT.code_at(&secret, now())})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let session = login(
        &app,
        "frida",
        Some(&Totp::DEFAULT.code_at(&secret, now() + 30)),
    )
    .await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    let token = session.body["token"].as_str().unwrap().to_owned();

    // That session makes the admin's keys.
    let made = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&token),
            Some(json!({"name": "ops", "scopes": ["audit:read", "api_keys:manage"]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let key = made.body["key"].as_str().unwrap().to_owned();
    // A key it made does not make more: a key is one factor, however it was made.
    let by_key = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&key),
            Some(json!({"name": "again", "scopes": ["audit:read"]})),
        )
        .await;
    assert_eq!(by_key.status, StatusCode::FORBIDDEN, "{}", by_key.text);
}
