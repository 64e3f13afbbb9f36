//! Incidents: escalation on time (and not once acknowledged), the timeline, resolution.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{eventually, rt, start};

/// With `incident_escalation_seconds = 2`, an open incident escalates within a few seconds
/// (level 1, a timeline entry "escalated due to timeout", the next deadline later), again
/// after another period; one acknowledged at once never does.
#[test]
fn monitor_incidents_escalate_on_time_and_not_after_acknowledgement() {
    let env = start(&[("RAMPART_INCIDENT_ESCALATION_SECONDS", "2")]);
    rt().block_on(async {
        let open = |title: &'static str| {
            let env = &env;
            async move {
                let answer = env
                    .admin(
                        Method::POST,
                        "/v1/incidents",
                        Some(json!({"title": title, "severity": "low",
                            "description": "found in the logs", "personal_data_breach": true})),
                    )
                    .await;
                assert_eq!(answer.status, 201, "{}", answer.body);
                answer.body
            }
        };
        let left = open("Left alone").await;
        let acked = open("Acknowledged").await;
        let left_id = left["id"].as_str().unwrap().to_owned();
        let acked_id = acked["id"].as_str().unwrap().to_owned();
        assert!(
            left_id.starts_with("INC-") && left_id.ends_with("-0001"),
            "{left_id}"
        );
        assert!(acked_id.ends_with("-0002"), "{acked_id}");
        assert_eq!(left["escalation_level"], 0);
        assert!(left["notification_deadline_at"].is_string(), "{left}");
        let answer = env
            .admin(
                Method::POST,
                &format!("/v1/incidents/{acked_id}/acknowledge"),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["status"], "acknowledged");
        assert_eq!(answer.body["next_escalation_at"], Value::Null);

        let get = |id: String| {
            let env = &env;
            async move {
                let answer = env
                    .admin(Method::GET, &format!("/v1/incidents/{id}"), None)
                    .await;
                assert_eq!(answer.status, 200, "{}", answer.body);
                answer.body
            }
        };
        assert!(
            eventually(Duration::from_secs(15), || async {
                get(left_id.clone()).await["escalation_level"].as_u64() >= Some(2)
            })
            .await,
            "{}",
            get(left_id.clone()).await
        );
        let escalated = get(left_id.clone()).await;
        let timeline = escalated["timeline"].as_array().unwrap();
        assert!(
            timeline
                .iter()
                .filter(|t| t["kind"] == "escalated")
                .all(|t| t["text"] == "escalated due to timeout" && t["actor"] == "rampart"),
            "{timeline:#?}"
        );
        assert!(timeline.iter().filter(|t| t["kind"] == "escalated").count() >= 2);
        let still = get(acked_id.clone()).await;
        assert_eq!(still["escalation_level"], 0, "{still}");

        // A note, then the resolution: no escalation after it.
        let note = env
            .admin(
                Method::POST,
                &format!("/v1/incidents/{left_id}/timeline"),
                Some(json!({"kind": "note", "text": "looking"})),
            )
            .await;
        assert_eq!(note.status, 201, "{}", note.body);
        let resolved = env
            .admin(
                Method::POST,
                &format!("/v1/incidents/{left_id}/resolve"),
                Some(json!({"resolution": "laptop found"})),
            )
            .await;
        assert_eq!(resolved.status, 200, "{}", resolved.body);
        let level = resolved.body["escalation_level"].as_u64().unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = get(left_id.clone()).await;
        assert_eq!(after["status"], "resolved");
        assert_eq!(after["escalation_level"].as_u64(), Some(level), "{after}");
        let kinds: Vec<&str> = after["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"opened"));
        assert_eq!(kinds.last(), Some(&"resolved"));
        assert!(kinds.contains(&"note"));
        assert_eq!(env.audit_entries("incident.resolve").await.len(), 1);
        let evidence = env
            .admin(
                Method::GET,
                &format!("/v1/incidents/{left_id}/evidence"),
                None,
            )
            .await;
        assert_eq!(evidence.status, 200, "{}", evidence.body);
        assert!(
            evidence.body["checkpoint"]["note"].is_string(),
            "{}",
            evidence.body
        );
    });
}
