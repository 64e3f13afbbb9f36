//! What bad webhook URLs, incident bodies and detection rules get: `422` naming the field,
//! nothing stored.

use reqwest::Method;
use serde_json::json;

use super::{rt, start};

/// Webhook URLs that reach loopback, private or link-local addresses (as literals or through
/// a name), or are not http(s), are refused; nothing is stored.
#[test]
fn monitor_refuses_bad_webhook_urls() {
    let env = start(&[]);
    rt().block_on(async {
        for url in [
            "http://127.0.0.1:9/hook",
            "https://10.0.0.7/hook",
            "https://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "http://localhost:9/hook",
            "ftp://example.com/hook",
            "not a url",
        ] {
            let answer = env
                .admin(
                    Method::POST,
                    "/v1/webhooks",
                    Some(json!({"url": url, "events": ["alert.opened"]})),
                )
                .await;
            assert_eq!(answer.status, 422, "{url}: {}", answer.body);
            assert_eq!(answer.fields(), vec!["url"], "{url}: {}", answer.body);
        }
        let answer = env
            .admin(
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": "https://example.com/hook", "events": ["alert.closed"]})),
            )
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert_eq!(answer.fields(), vec!["events[0]"], "{}", answer.body);
        let listed = env.admin(Method::GET, "/v1/webhooks", None).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.body["items"], json!([]), "nothing stored");
    });
}

/// Incident bodies with a missing or bad field are refused naming it; nothing is stored.
#[test]
fn monitor_refuses_bad_incident_bodies() {
    let env = start(&[]);
    rt().block_on(async {
        let long = "x".repeat(201);
        let cases = [
            (json!({"severity": "high"}), "title"),
            (json!({"title": "t", "severity": "urgent"}), "severity"),
            (json!({"title": long, "severity": "low"}), "title"),
            (json!({"title": "  ", "severity": "low"}), "title"),
            (
                json!({"title": "t", "severity": "low", "colour": "red"}),
                "colour",
            ),
            (
                json!({"title": "t", "severity": "low", "alert_ids": ["nope"]}),
                "alert_ids[0]",
            ),
        ];
        for (body, field) in cases {
            let answer = env
                .admin(Method::POST, "/v1/incidents", Some(body.clone()))
                .await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            assert_eq!(answer.fields(), vec![field], "{body}: {}", answer.body);
        }
        let listed = env.admin(Method::GET, "/v1/incidents", None).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.body["items"], json!([]), "nothing stored");
        let missing = env
            .admin(Method::GET, "/v1/incidents/INC-20260101-0001", None)
            .await;
        assert_eq!(missing.status, 404, "{}", missing.body);
    });
}

/// A bad detection rule is refused naming its field; the defaults stay in force.
#[test]
fn monitor_refuses_bad_detection_rules() {
    let env = start(&[]);
    rt().block_on(async {
        let answer = env
            .admin(
                Method::PUT,
                "/v1/detection-rules",
                Some(
                    json!({"rules": [{"name": "r", "match": {"action": "auth.login"},
                    "group_by": ["actor.id"], "threshold": 0, "window_seconds": 60,
                    "severity": "low"}]}),
                ),
            )
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert_eq!(
            answer.fields(),
            vec!["rules[0].threshold"],
            "{}",
            answer.body
        );
        let rules = env.admin(Method::GET, "/v1/detection-rules", None).await;
        assert_eq!(rules.status, 200, "{}", rules.body);
        assert_eq!(rules.body["source"], "default", "{}", rules.body);
    });
}
