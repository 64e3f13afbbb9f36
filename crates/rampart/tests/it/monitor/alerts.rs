//! Alerts from a brute-forced login, and the webhook they notify (signed, retried).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Env, Receiver, eventually, rt, signature_valid, start};

/// Settings of these tests: the receiver is on loopback, logins never lock.
const ENVS: &[(&str, &str)] = &[
    ("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("RAMPART_MAX_LOGIN_ATTEMPTS", "100"),
    ("RAMPART_ACCOUNT_LOCKOUT_FAILURES", "100"),
    ("RAMPART_WEBHOOK_RETRY_SECONDS", "1,1"),
];

async fn failed_login(env: &Env, name: &str) {
    let answer = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            None,
            Some(json!({"name": name, "password": "not-the-password-1"})),
        )
        .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
}

async fn alerts_of(env: &Env, rule: &str) -> Vec<Value> {
    let answer = env
        .admin(Method::GET, &format!("/v1/alerts?rule={rule}"), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"].as_array().unwrap().clone()
}

async fn webhook(env: &Env, url: &str, events: &[&str]) -> (String, String) {
    let answer = env
        .admin(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": url, "events": events, "description": "test receiver"})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let secret = answer.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (answer.body["id"].as_str().unwrap().to_owned(), secret)
}

/// Five failed logins of one name raise ONE `failed_logins` alert (not five), whose
/// `alert.opened` webhook arrives signed (checked here with ring's HMAC); further failures raise
/// its `count` and send nothing more. The secret is never shown again.
#[test]
fn monitor_brute_force_raises_one_alert_and_a_signed_webhook() {
    let env = start(ENVS);
    rt().block_on(async {
        let receiver = Receiver::start(&[]).await;
        let (webhook_id, secret) = webhook(&env, &receiver.url, &["alert.opened"]).await;
        let listed = env.admin(Method::GET, "/v1/webhooks", None).await;
        assert_eq!(listed.status, 200);
        assert!(
            !listed.body.to_string().contains(&secret),
            "the secret is shown once"
        );
        env.user("lena", &["viewer"]).await;

        for _ in 0..5 {
            failed_login(&env, "lena").await;
        }
        assert!(
            eventually(Duration::from_secs(10), || async {
                !alerts_of(&env, "failed_logins").await.is_empty()
            })
            .await,
            "no failed_logins alert"
        );
        let alerts = alerts_of(&env, "failed_logins").await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert["count"], 5, "{alert}");
        assert_eq!(alert["status"], "open", "{alert}");
        assert_eq!(alert["severity"], "medium", "{alert}");
        assert_eq!(alert["entry_seqs"].as_array().unwrap().len(), 5, "{alert}");

        assert!(
            eventually(Duration::from_secs(10), || async {
                !receiver.requests().is_empty()
            })
            .await,
            "no webhook arrived"
        );
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        let request = &requests[0];
        assert!(signature_valid(&secret, request), "{request:#?}");
        assert!(!signature_valid(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            request
        ));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "alert.opened", "{body}");
        assert_eq!(body["data"]["id"], alert["id"], "{body}");
        assert_eq!(body["data"]["rule"], "failed_logins", "{body}");

        // Further failures: the same alert counts them; no second alert, no second webhook.
        failed_login(&env, "lena").await;
        failed_login(&env, "lena").await;
        assert!(
            eventually(Duration::from_secs(10), || async {
                alerts_of(&env, "failed_logins")
                    .await
                    .first()
                    .is_some_and(|a| a["count"] == 7)
            })
            .await,
            "{:#?}",
            alerts_of(&env, "failed_logins").await
        );
        assert_eq!(alerts_of(&env, "failed_logins").await.len(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.requests().len(), 1);

        let deliveries = env
            .admin(
                Method::GET,
                &format!("/v1/webhooks/{webhook_id}/deliveries"),
                None,
            )
            .await;
        assert_eq!(deliveries.status, 200, "{}", deliveries.body);
        let items = deliveries.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{items:#?}");
        assert_eq!(items[0]["status"], "delivered");
        assert_eq!(items[0]["attempts"], 1);
        assert_eq!(items[0]["last_status_code"], 200);

        // Acknowledging is audited.
        let id = alert["id"].as_str().unwrap();
        let acked = env
            .admin(Method::POST, &format!("/v1/alerts/{id}/acknowledge"), None)
            .await;
        assert_eq!(acked.status, 200, "{}", acked.body);
        assert_eq!(acked.body["status"], "acknowledged");
        assert_eq!(env.audit_entries("alert.acknowledge").await.len(), 1);
        let missing = env
            .admin(Method::GET, "/v1/alerts/no-such-alert", None)
            .await;
        assert_eq!(missing.status, 404, "{}", missing.body);
    });
}

/// A receiver that answers 500, 500, then 200: three attempts, one delivery `delivered`.
#[test]
fn monitor_webhook_retries_until_the_receiver_answers() {
    let env = start(ENVS);
    rt().block_on(async {
        let receiver = Receiver::start(&[500, 500]).await;
        let (webhook_id, secret) = webhook(&env, &receiver.url, &["incident.opened"]).await;
        let opened = env
            .admin(
                Method::POST,
                "/v1/incidents",
                Some(json!({"title": "Lost laptop", "severity": "high"})),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.body);
        let path = format!("/v1/webhooks/{webhook_id}/deliveries");
        assert!(
            eventually(Duration::from_secs(20), || async {
                let answer = env.admin(Method::GET, &path, None).await;
                answer.body["items"][0]["status"] == "delivered"
            })
            .await,
            "{}",
            env.admin(Method::GET, &path, None).await.body
        );
        let answer = env.admin(Method::GET, &path, None).await;
        let items = answer.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{items:#?}");
        assert_eq!(items[0]["attempts"], 3, "{items:#?}");
        assert_eq!(items[0]["last_status_code"], 200, "{items:#?}");
        assert_eq!(items[0]["event"], "incident.opened");
        let requests = receiver.requests();
        assert_eq!(requests.len(), 3, "{requests:#?}");
        // Every attempt carries the same message id and a valid signature.
        assert!(requests.iter().all(|r| signature_valid(&secret, r)));
        assert!(
            requests
                .iter()
                .all(|r| r.headers["webhook-id"] == requests[0].headers["webhook-id"])
        );
        let body: Value = serde_json::from_slice(&requests[2].body).unwrap();
        assert_eq!(body["data"]["id"], opened.body["id"]);
    });
}
