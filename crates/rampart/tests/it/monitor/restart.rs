//! What survives `kill -9`: a pending delivery arrives after the restart (once), and an
//! incident killed in the middle of its escalation period still escalates on time.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{Receiver, eventually, rt, start};

/// A delivery whose receiver is down when the server is killed arrives once after the
/// restart; the incident opened before the kill escalates after it.
#[test]
fn monitor_delivery_and_escalation_survive_kill_9() {
    let mut env = start(&[
        ("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RAMPART_WEBHOOK_RETRY_SECONDS", "2,2,2,2,2,2,2,2"),
        ("RAMPART_INCIDENT_ESCALATION_SECONDS", "6"),
    ]);
    let runtime = rt();
    // A port with nothing listening: attempts get no answer until the receiver starts there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (webhook_id, incident_id) = runtime.block_on(async {
        let answer = env
            .admin(
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": format!("http://127.0.0.1:{port}/hook"),
                    "events": ["incident.opened"]})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let webhook_id = answer.body["id"].as_str().unwrap().to_owned();
        let opened = env
            .admin(
                Method::POST,
                "/v1/incidents",
                Some(json!({"title": "Before the crash", "severity": "medium"})),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.body);
        let path = format!("/v1/webhooks/{webhook_id}/deliveries");
        assert!(
            eventually(Duration::from_secs(10), || async {
                env.admin(Method::GET, &path, None).await.body["items"][0]["attempts"].as_u64()
                    >= Some(1)
            })
            .await
        );
        let answer = env.admin(Method::GET, &path, None).await;
        assert_eq!(
            answer.body["items"][0]["status"], "pending",
            "{}",
            answer.body
        );
        assert_eq!(
            answer.body["items"][0]["last_status_code"],
            serde_json::Value::Null
        );
        assert_eq!(opened.body["escalation_level"], 0);
        (webhook_id, opened.body["id"].as_str().unwrap().to_owned())
    });
    env.kill_9_and_restart();
    runtime.block_on(async {
        let receiver = Receiver::start_at(port, &[]).await;
        let path = format!("/v1/webhooks/{webhook_id}/deliveries");
        assert!(
            eventually(Duration::from_secs(45), || async {
                env.admin(Method::GET, &path, None).await.body["items"][0]["status"] == "delivered"
            })
            .await,
            "{}",
            env.admin(Method::GET, &path, None).await.body
        );
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1, "delivered once: {requests:#?}");
        let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(body["data"]["id"], incident_id.as_str());
        let answer = env.admin(Method::GET, &path, None).await;
        assert_eq!(answer.body["items"].as_array().unwrap().len(), 1);
        let incident_path = format!("/v1/incidents/{incident_id}");
        assert!(
            eventually(Duration::from_secs(30), || async {
                env.admin(Method::GET, &incident_path, None).await.body["escalation_level"].as_u64()
                    >= Some(1)
            })
            .await,
            "{}",
            env.admin(Method::GET, &incident_path, None).await.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.requests().len(), 1, "nothing sent twice");
    });
}
