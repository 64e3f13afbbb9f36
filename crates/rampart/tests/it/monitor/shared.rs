//! Two servers on one PostgreSQL: every entry is evaluated once for the deployment (one
//! evaluator holds the lease), so failures spread over both servers raise one alert and one
//! webhook; detection rules replaced on one server are in force on the other.

use std::time::Duration;

use rampart_test_support::TestPostgres;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Receiver, eventually, rt, signature_valid};
use crate::support::{Server, client, master_key};
use crate::threat::call;

#[test]
fn monitor_two_servers_on_one_postgres_raise_one_alert_and_one_webhook() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let envs = [
        ("RAMPART_MASTER_KEY", key.as_str()),
        ("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
        ("RAMPART_MAX_LOGIN_ATTEMPTS", "100"),
        ("RAMPART_ACCOUNT_LOCKOUT_FAILURES", "100"),
    ];
    let servers: Vec<Server> = dirs
        .iter()
        .map(|dir| {
            Server::start(
                &[
                    "--database-url",
                    pg.url(),
                    "--data-dir",
                    dir.path().to_str().unwrap(),
                ],
                &envs,
            )
        })
        .collect();
    let admin = servers[0]
        .admin_key
        .clone()
        .expect("the first start prints the admin key");
    let (a, b) = (servers[0].base.clone(), servers[1].base.clone());
    rt().block_on(async {
        let http = client(None, None);
        let admin = admin.as_str();
        let receiver = Receiver::start(&[]).await;
        let created = call(
            &http,
            &a,
            Method::POST,
            "/v1/webhooks",
            Some(admin),
            None,
            Some(json!({"url": receiver.url, "events": ["alert.opened"]})),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = created.body["secret"].as_str().unwrap().to_owned();

        for base in [&a, &b, &a, &b, &a] {
            let answer = call(
                &http,
                base,
                Method::POST,
                "/v1/auth/login",
                None,
                None,
                Some(json!({"name": "mallory", "password": "wrong-password-123"})),
            )
            .await;
            assert_eq!(answer.status, 401, "{}", answer.body);
        }
        let alerts = |base: String| {
            let http = http.clone();
            async move {
                let answer = call(
                    &http,
                    &base,
                    Method::GET,
                    "/v1/alerts?rule=failed_logins",
                    Some(admin),
                    None,
                    None,
                )
                .await;
                assert_eq!(answer.status, 200, "{}", answer.body);
                answer.body["items"].as_array().unwrap().clone()
            }
        };
        assert!(
            eventually(Duration::from_secs(20), || async {
                !alerts(b.clone()).await.is_empty()
            })
            .await
        );
        assert!(
            eventually(Duration::from_secs(20), || async {
                !receiver.requests().is_empty()
            })
            .await
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        let listed: Vec<Value> = alerts(a.clone()).await;
        assert_eq!(listed.len(), 1, "{listed:#?}");
        assert_eq!(listed[0]["count"], 5, "{listed:#?}");
        let requests = receiver.requests();
        assert_eq!(
            requests.len(),
            1,
            "one webhook for the deployment: {requests:#?}"
        );
        assert!(signature_valid(&secret, &requests[0]));

        // Rules replaced on one server are the rules on the other.
        let rules = json!({"rules": [{"name": "only-this", "match": {"action": "auth.login"},
            "group_by": ["actor.id"], "threshold": 3, "window_seconds": 60, "severity": "low"}]});
        let put = call(
            &http,
            &a,
            Method::PUT,
            "/v1/detection-rules",
            Some(admin),
            None,
            Some(rules),
        )
        .await;
        assert_eq!(put.status, 200, "{}", put.body);
        let got = call(
            &http,
            &b,
            Method::GET,
            "/v1/detection-rules",
            Some(admin),
            None,
            None,
        )
        .await;
        assert_eq!(got.body["source"], "api", "{}", got.body);
        assert_eq!(got.body["version"], put.body["version"], "{}", got.body);
        assert_eq!(got.body["rules"][0]["name"], "only-this", "{}", got.body);
        // A stale version is refused.
        let stale = call(
            &http,
            &b,
            Method::PUT,
            "/v1/detection-rules",
            Some(admin),
            None,
            Some(json!({"rules": [], "version": 0})),
        )
        .await;
        assert_eq!(stale.status, 409, "{}", stale.body);
    });
    drop(servers);
}
