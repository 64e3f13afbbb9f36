//! What an erasure does beyond the audit log: the `erasure.requested` webhook (signed, naming
//! the stores to clear), linked principals disabled (their keys stop at once), linked card
//! tokens deleted; and after a restore from an older backup, `rampart gdpr replay-erasures`
//! destroys the keys again.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{event, rt, start};
use crate::monitor::{Receiver, eventually, signature_valid};
use crate::support::{Server, rampart, run, text};

#[test]
fn subjects_erasure_notifies_disables_and_deletes_what_is_linked() {
    let env = start(&[("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")]);
    rt().block_on(async {
        let receiver = Receiver::start(&[]).await;
        let hook = env
            .admin(
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": receiver.url, "events": ["erasure.requested"]})),
            )
            .await;
        assert_eq!(hook.status, 201, "{}", hook.body);
        let secret = hook.body["secret"].as_str().unwrap().to_owned();
        let person = env
            .admin(
                Method::POST,
                "/v1/principals",
                Some(json!({"type": "user", "name": "linked-lena", "password": "correct horse battery staple 9",
                    "roles": ["viewer"], "subject_id": "customer-77"})),
            )
            .await;
        assert_eq!(person.status, 201, "{}", person.body);
        let person_id = person.body["id"].as_str().unwrap().to_owned();
        let key = env.api_key(&person_id, "app", &["audit:read"]).await;
        let me = env.call(Method::GET, "/v1/auth/whoami", Some(&key), None, None).await;
        assert_eq!(me.status, 200, "{}", me.body);
        let card = env
            .admin(
                Method::POST,
                "/v1/cards/tokenize",
                Some(json!({"pan": "4111111111111111", "subject_id": "customer-77"})),
            )
            .await;
        assert_eq!(card.status, 201, "{}", card.body);
        let token = card.body["token"].as_str().unwrap().to_owned();
        let export = env
            .admin(Method::GET, "/v1/subjects/customer-77/export", None)
            .await;
        assert_eq!(export.body["principals"][0]["id"], person_id.as_str());
        assert_eq!(export.body["card_tokens"][0]["token"], token.as_str());
        assert!(!export.body.to_string().contains("4111111111111111"));

        let erased = env
            .admin(
                Method::POST,
                "/v1/subjects/customer-77/erasure",
                Some(json!({"reason": "Art. 17", "stores": ["crm", "scans-db"]})),
            )
            .await;
        assert_eq!(erased.status, 202, "{}", erased.body);
        let id = erased.body["id"].as_str().unwrap().to_owned();

        // The linked principal's key stops at once; the card token is gone.
        let me = env.call(Method::GET, "/v1/auth/whoami", Some(&key), None, None).await;
        assert_eq!(me.status, 401, "{}", me.body);
        let detokenized = env
            .admin(Method::POST, "/v1/cards/detokenize", Some(json!({"token": token})))
            .await;
        assert_eq!(detokenized.status, 404, "{}", detokenized.body);
        let certificate = env.admin(Method::GET, &format!("/v1/erasures/{id}"), None).await;
        assert_eq!(certificate.body["actions"][2]["records"], 1, "{}", certificate.body);
        assert_eq!(certificate.body["actions"][3]["records"], 1, "{}", certificate.body);

        // The application hears which stores to clear, signed as every webhook.
        let delivered =
            eventually(Duration::from_secs(10), || async { !receiver.requests().is_empty() }).await;
        assert!(delivered, "no erasure.requested delivery");
        let request = receiver.requests().remove(0);
        assert!(signature_valid(&secret, &request));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "erasure.requested");
        assert_eq!(body["data"]["erasure_id"], id.as_str());
        assert_eq!(body["data"]["subject_id"], "customer-77");
        assert_eq!(body["data"]["stores"], json!(["crm", "scans-db"]));
    });
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn subjects_replay_erasures_after_a_restore_destroys_the_keys_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backup = dir.path().join("backup");
    let data_arg = data.to_str().unwrap().to_owned();
    let server = Server::start(&["--data-dir", &data_arg], &[]);
    let admin = server.admin_key.clone().unwrap();
    let http = crate::support::client(None, None);
    let base = server.base.clone();
    let call = |method: Method, path: String, body: Option<Value>, base: String| {
        let (http, admin) = (http.clone(), admin.clone());
        async move {
            let mut request = http
                .request(method, format!("{base}{path}"))
                .bearer_auth(admin);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let rt = rt();
    rt.block_on(async {
        let (status, body) = call(
            Method::POST,
            "/v1/audit/entries".into(),
            Some(event("restored-1", json!({"email": "ada@example.com"}), 0)),
            base.clone(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    });
    server.terminate();
    copy_dir(&data, &backup);

    // The erasure happens after the backup; an audit export made after it is kept off-site.
    let server = Server::start(&["--data-dir", &data_arg], &[]);
    let base = server.base.clone();
    let export = dir.path().join("audit.ndjson");
    rt.block_on(async {
        let (status, body) = call(
            Method::POST,
            "/v1/subjects/restored-1/erasure".into(),
            Some(json!({"reason": "Art. 17"})),
            base.clone(),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        let (status, ndjson) =
            call(Method::GET, "/v1/audit/export".into(), None, base.clone()).await;
        assert_eq!(status, 200);
        std::fs::write(&export, ndjson).unwrap();
    });
    server.terminate();

    // Restore the older backup: the subject's key is back, and so is the personal data.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let read_back = |base: String| {
        let call = &call;
        async move {
            let (status, body) = call(
                Method::GET,
                "/v1/audit/entries?subject_id=restored-1".into(),
                None,
                base,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let body: Value = serde_json::from_str(&body).unwrap();
            body["items"][0]["personal_plain"].clone()
        }
    };
    let server = Server::start(&["--data-dir", &data_arg], &[]);
    let plain = rt.block_on(read_back(server.base.clone()));
    assert_eq!(
        plain["email"], "ada@example.com",
        "the restore brought it back"
    );
    server.terminate();

    let replayed = run(rampart()
        .args([
            "gdpr",
            "replay-erasures",
            "--data-dir",
            &data_arg,
            "--from-export",
        ])
        .arg(&export));
    let (stdout, stderr) = text(&replayed);
    assert!(replayed.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 subject key(s)"), "{stdout}");
    let server = Server::start(&["--data-dir", &data_arg], &[]);
    let plain = rt.block_on(read_back(server.base.clone()));
    assert_eq!(plain, "[ERASED]");
    server.terminate();
}
