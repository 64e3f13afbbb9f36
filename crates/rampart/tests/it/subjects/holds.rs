//! A subject under a legal hold is not erased (409 naming the hold) until the hold is released;
//! holds are placed, listed and released by `retention:configure`, and bad ones are refused.

use reqwest::Method;
use serde_json::json;

use super::{event, rt, start};

#[test]
fn subjects_under_legal_hold_are_not_erased_until_released() {
    let env = start(&[]);
    rt().block_on(async {
        let answer = env
            .admin(
                Method::POST,
                "/v1/audit/entries",
                Some(event("held-1", json!({"email": "held@example.com"}), 0)),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let hold = env
            .admin(
                Method::POST,
                "/v1/legal-holds",
                Some(
                    json!({"name": "Litigation 14", "reason": "court order 2026-77",
                    "scope": {"subject_id": "held-1"}}),
                ),
            )
            .await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let id = hold.body["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("hold_"));
        // A hold on a tag does not hold a subject's erasure; one on the subject does.
        let tag = env
            .admin(
                Method::POST,
                "/v1/legal-holds",
                Some(json!({"name": "MiFID", "reason": "r", "scope": {"tag": "mifid2"}})),
            )
            .await;
        assert_eq!(tag.status, 201, "{}", tag.body);
        let listed = env.admin(Method::GET, "/v1/legal-holds", None).await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);

        let refused = env
            .admin(
                Method::POST,
                "/v1/subjects/held-1/erasure",
                Some(json!({"reason": "Art. 17"})),
            )
            .await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("Litigation 14")
        );
        assert!(refused.body["detail"].as_str().unwrap().contains(&id));
        let other = env
            .admin(
                Method::POST,
                "/v1/subjects/free-2/erasure",
                Some(json!({"reason": "Art. 17"})),
            )
            .await;
        assert_eq!(other.status, 202, "{}", other.body);
        // The held subject's data is untouched.
        let entries = env
            .admin(Method::GET, "/v1/audit/entries?subject_id=held-1", None)
            .await;
        assert_eq!(
            entries.body["items"][0]["personal_plain"]["email"],
            "held@example.com"
        );

        let released = env
            .admin(Method::DELETE, &format!("/v1/legal-holds/{id}"), None)
            .await;
        assert_eq!(released.status, 204, "{}", released.body);
        let again = env
            .admin(Method::DELETE, &format!("/v1/legal-holds/{id}"), None)
            .await;
        assert_eq!(again.status, 404, "{}", again.body);
        let erased = env
            .admin(
                Method::POST,
                "/v1/subjects/held-1/erasure",
                Some(json!({"reason": "Art. 17"})),
            )
            .await;
        assert_eq!(erased.status, 202, "{}", erased.body);

        // Bad holds: each field named, nothing placed.
        for (body, field) in [
            (json!({"reason": "r"}), "name"),
            (
                json!({"name": "n", "reason": "r", "scope": {"data_type": "everything"}}),
                "scope.data_type",
            ),
            (
                json!({"name": "n", "reason": "r", "scope": {"from": "yesterday"}}),
                "scope.from",
            ),
            (
                json!({"name": "n", "reason": "r",
                "scope": {"from": "2026-12-05T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}),
                "scope.until",
            ),
        ] {
            let answer = env
                .admin(Method::POST, "/v1/legal-holds", Some(body.clone()))
                .await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            assert!(
                answer.fields().iter().any(|f| f == field),
                "{body}: {}",
                answer.body
            );
        }
        let listed = env.admin(Method::GET, "/v1/legal-holds", None).await;
        assert_eq!(
            listed.body["items"].as_array().unwrap().len(),
            1,
            "the tag's hold"
        );
    });
}
