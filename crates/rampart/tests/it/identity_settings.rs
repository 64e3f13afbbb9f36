//! API.md "Contract additions": the password policy settings (`password_require_upper`,
//! `_lower`, `_digit`, `_symbol`) and `default_roles`, against a running server.

use serde_json::{Value, json};

use crate::support::{Server, client};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// `POST /v1/principals` as the bootstrap admin: status and body.
async fn create(server: &Server, body: Value) -> (u16, Value) {
    let reply = client(None, None)
        .post(format!("{}/v1/principals", server.base))
        .bearer_auth(server.admin_key.as_deref().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[test]
fn required_character_classes_refuse_a_password_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_PASSWORD_REQUIRE_DIGIT", "true")],
    );
    rt().block_on(async {
        // Three classes, long, not common: accepted by default, refused without a digit.
        let (status, body) = create(
            &server,
            json!({"name": "carol", "password": "Correct-horse-battery-staple"}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["field"], "password", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("a digit"),
            "{body}"
        );
        assert!(
            !body.to_string().contains("horse"),
            "never quotes the value"
        );
        let (status, body) = create(
            &server,
            json!({"name": "carol", "password": "Correct-horse-battery-staple-7"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    });
}

#[test]
fn by_default_no_character_class_is_required_beyond_the_rule_of_three() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    rt().block_on(async {
        let (status, body) = create(
            &server,
            json!({"name": "dave", "password": "Correct-horse-battery-staple"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["roles"],
            json!([]),
            "default_roles is empty by default"
        );
    });
}

#[test]
fn default_roles_are_given_when_a_request_names_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_DEFAULT_ROLES", "viewer")],
    );
    rt().block_on(async {
        let (status, body) = create(&server, json!({"name": "erin"})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["roles"], json!(["viewer"]), "{body}");
        let (status, body) = create(&server, json!({"name": "frank", "roles": []})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["roles"], json!([]), "named roles win, even none");
    });
}

#[test]
fn an_undefined_default_role_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = Server::try_start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_DEFAULT_ROLES", "viewer,wizard")],
    )
    .err()
    .expect("refuses to start");
    assert!(stderr.contains("default_roles"), "{stderr}");
    assert!(stderr.contains("'wizard'"), "{stderr}");
}
