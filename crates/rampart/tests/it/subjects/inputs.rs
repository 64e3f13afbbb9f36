//! Bad input gets a clear 4xx and changes nothing; readers without `gdpr:read` never see
//! personal data in clear.

use reqwest::Method;
use serde_json::json;

use super::{event, rt, start};

#[test]
fn subjects_bad_input_is_refused_and_changes_nothing() {
    let env = start(&[]);
    rt().block_on(async {
        // Refusals are audited, so count the events this test tried to append.
        let appended = || async {
            let answer = env
                .admin(Method::GET, "/v1/audit/entries?action=record.update", None)
                .await;
            answer.body["items"].as_array().unwrap().len()
        };
        // `personal` without `subject_id`, or not an object.
        let mut orphan = event("s-1", json!({"email": "a@example.com"}), 0);
        orphan.as_object_mut().unwrap().remove("subject_id");
        for (body, field) in [
            (orphan, "personal"),
            (event("s-1", json!("a@example.com"), 0), "personal"),
            (event("s-1", json!([1, 2]), 0), "personal"),
        ] {
            let answer = env
                .admin(Method::POST, "/v1/audit/entries", Some(body))
                .await;
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert!(
                answer.fields().contains(&field.to_owned()),
                "{}",
                answer.body
            );
            assert!(!answer.body.to_string().contains("a@example.com"));
        }
        // One bad event in a batch refuses the whole batch.
        let mut bad = event("s-1", json!({}), 1);
        bad.as_object_mut().unwrap().remove("subject_id");
        let answer = env
            .admin(
                Method::POST,
                "/v1/audit/entries",
                Some(json!({"events": [event("s-1", json!({"a": 1}), 0), bad]})),
            )
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert_eq!(answer.fields(), ["events[1].personal"]);
        assert_eq!(appended().await, 0, "nothing was appended");

        // Subject ids, consents and erasure bodies.
        let long = "x".repeat(300);
        for path in [
            format!("/v1/subjects/{long}/consents"),
            "/v1/subjects/a%0Ab/consents".to_owned(),
        ] {
            let answer = env
                .admin(
                    Method::POST,
                    &path,
                    Some(json!({"purpose": "analytics", "given": true})),
                )
                .await;
            assert_eq!(answer.status, 422, "{path}: {}", answer.body);
            assert_eq!(answer.fields(), ["subject_id"]);
        }
        for (body, field) in [
            (json!({"purpose": "Analytics!", "given": true}), "purpose"),
            (json!({"purpose": "analytics"}), "given"),
            (
                json!({"purpose": "analytics", "given": true, "email": "x"}),
                "email",
            ),
            (
                json!({"purpose": "analytics", "given": true, "source": ""}),
                "source",
            ),
        ] {
            let answer = env
                .admin(
                    Method::POST,
                    "/v1/subjects/s-1/consents",
                    Some(body.clone()),
                )
                .await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            assert!(
                answer.fields().iter().any(|f| f.contains(field)),
                "{body}: {}",
                answer.body
            );
        }
        for (body, field) in [
            (json!({"stores": ["crm"]}), "reason"),
            (
                json!({"reason": "r", "stores": ["rampart.audit"]}),
                "stores[0]",
            ),
            (
                json!({"reason": "r", "stores": ["crm", "crm"]}),
                "stores[1]",
            ),
            (json!({"reason": "r", "stores": ["a b"]}), "stores[0]"),
        ] {
            let answer = env
                .admin(Method::POST, "/v1/subjects/s-1/erasure", Some(body.clone()))
                .await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            assert!(
                answer.fields().iter().any(|f| f == field),
                "{body}: {}",
                answer.body
            );
        }
        let erasures = env.admin(Method::GET, "/v1/erasures", None).await;
        assert_eq!(erasures.body["items"], json!([]), "no erasure was made");
        let consents = env
            .admin(Method::GET, "/v1/subjects/s-1/consents", None)
            .await;
        assert_eq!(
            consents.body["history"],
            json!([]),
            "no consent was recorded"
        );

        // Erasures and confirmations that do not exist or do not fit.
        for id in ["era_0123456789abcdef0123456789abcdef", "nope"] {
            let answer = env
                .admin(Method::GET, &format!("/v1/erasures/{id}"), None)
                .await;
            assert_eq!(answer.status, 404, "{}", answer.body);
            let answer = env
                .admin(
                    Method::POST,
                    &format!("/v1/erasures/{id}/confirmations"),
                    Some(json!({"store": "crm", "records_deleted": 1})),
                )
                .await;
            assert_eq!(answer.status, 404, "{}", answer.body);
        }
        let answer = env
            .admin(
                Method::POST,
                "/v1/subjects/s-2/erasure",
                Some(json!({"reason": "Art. 17", "stores": ["crm", "scans-db"]})),
            )
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        let id = answer.body["id"].as_str().unwrap().to_owned();
        let confirm = |store: &'static str, records: i64| {
            let (env, id) = (&env, id.clone());
            async move {
                env.admin(
                    Method::POST,
                    &format!("/v1/erasures/{id}/confirmations"),
                    Some(json!({"store": store, "records_deleted": records})),
                )
                .await
            }
        };
        let unknown = confirm("billing", 1).await;
        assert_eq!(unknown.status, 422, "{}", unknown.body);
        assert_eq!(unknown.fields(), ["store"]);
        let negative = confirm("crm", -1).await;
        assert_eq!(negative.status, 422, "{}", negative.body);
        let first = confirm("crm", 4).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["status"], "pending");
        assert_eq!(first.body["pending_stores"], json!(["scans-db"]));
        let twice = confirm("crm", 5).await;
        assert_eq!(twice.status, 409, "{}", twice.body);
        let now = env
            .admin(Method::GET, &format!("/v1/erasures/{id}"), None)
            .await;
        assert_eq!(
            now.body["actions"][4]["records_deleted"], 4,
            "the first stands"
        );
    });
}

#[test]
fn subjects_personal_data_is_shown_only_to_gdpr_readers() {
    let env = start(&[]);
    rt().block_on(async {
        let mut private = event("s-9", json!({"email": "private@example.com"}), 0);
        private["context"] = json!({"team_id": "clinic"});
        let answer = env
            .admin(Method::POST, "/v1/audit/entries", Some(private))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let seq = answer.body["entries"][0]["seq"].as_u64().unwrap();
        let created = env
            .admin(
                Method::POST,
                "/v1/principals",
                Some(json!({"type": "user", "name": "vera", "password": "correct horse battery staple 9",
                    "roles": ["viewer"], "teams": ["clinic"]})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let viewer = created.body["id"].as_str().unwrap().to_owned();
        let key = env.api_key(&viewer, "read", &["audit:read"]).await;
        let read = env
            .call(
                Method::GET,
                &format!("/v1/audit/entries/{seq}"),
                Some(&key),
                None,
                None,
            )
            .await;
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(read.body["personal"]["sealed"].is_string());
        assert!(read.body.get("personal_plain").is_none(), "{}", read.body);
        assert!(!read.body.to_string().contains("private@example.com"));
        let consents = env
            .call(
                Method::GET,
                "/v1/subjects/s-9/consents",
                Some(&key),
                None,
                None,
            )
            .await;
        assert_eq!(consents.status, 403, "{}", consents.body);
        let export = env
            .call(
                Method::GET,
                "/v1/subjects/s-9/export",
                Some(&key),
                None,
                None,
            )
            .await;
        assert_eq!(export.status, 403, "{}", export.body);
        let admin = env
            .admin(Method::GET, &format!("/v1/audit/entries/{seq}"), None)
            .await;
        assert_eq!(admin.body["personal_plain"]["email"], "private@example.com");
    });
}
