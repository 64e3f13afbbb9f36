//! A shared rule holds across two servers on one PostgreSQL: each alone would allow what it
//! sees, together they must not.

use std::time::Duration;

use rampart_test_support::TestPostgres;
use reqwest::Method;
use serde_json::json;

use super::{call, eventually, rt, rule};
use crate::support::{Server, client, master_key};

#[test]
fn threat_shared_rule_holds_across_two_servers_on_one_postgres() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
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
                &[("RAMPART_MASTER_KEY", &key)],
            )
        })
        .collect();
    let admin = servers[0]
        .admin_key
        .clone()
        .expect("first start prints the admin key");
    let (a, b) = (servers[0].base.clone(), servers[1].base.clone());
    rt().block_on(async {
        let http = client(None, None);
        let admin = admin.as_str();
        let created = call(
            &http,
            &a,
            Method::POST,
            "/v1/keys",
            Some(admin),
            None,
            Some(json!({"name": "payments", "type": "aes256-gcm", "rotation_period_days": 90})),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let sealed = call(
            &http,
            &a,
            Method::POST,
            "/v1/keys/payments/encrypt",
            Some(admin),
            None,
            Some(json!({"plaintext": "aGVsbG8="})),
        )
        .await;
        assert_eq!(sealed.status, 200, "{}", sealed.body);
        let ciphertext = sealed.body["ciphertext"].clone();

        // 10 decryptions an hour per principal, counted in the database.
        let mut brake = rule("bulk-decrypt", "principal", &["keys:decrypt"], 10, 3600);
        brake["shared"] = json!(true);
        let set = call(
            &http,
            &a,
            Method::PUT,
            "/v1/rate-limits",
            Some(admin),
            None,
            Some(json!({"rules": [brake]})),
        )
        .await;
        assert_eq!(set.status, 200, "{}", set.body);
        // The other server reads the rules within a refresh.
        let followed = eventually(Duration::from_secs(30), || {
            let http = &http;
            let b = &b;
            async move {
                let shown = call(
                    http,
                    b,
                    Method::GET,
                    "/v1/rate-limits",
                    Some(admin),
                    None,
                    None,
                )
                .await;
                shown.body["rules"][0]["name"] == "bulk-decrypt"
            }
        })
        .await;
        assert!(followed, "server B never saw the rule");

        // Six to each: each alone would allow six; together exactly ten pass.
        let mut allowed = 0;
        let mut refused = 0;
        for round in 0..6 {
            for base in [&a, &b] {
                let answer = call(
                    &http,
                    base,
                    Method::POST,
                    "/v1/keys/payments/decrypt",
                    Some(admin),
                    None,
                    Some(json!({"ciphertext": ciphertext})),
                )
                .await;
                match answer.status {
                    200 => allowed += 1,
                    429 => {
                        refused += 1;
                        assert_eq!(answer.problem(), Some("rate-limited"));
                        assert!(answer.retry_after().unwrap() >= 1);
                        assert!(
                            answer
                                .header("ratelimit")
                                .unwrap()
                                .starts_with(r#""bulk-decrypt";r=0;"#)
                        );
                    }
                    other => panic!("round {round}: {other} {}", answer.body),
                }
            }
        }
        assert_eq!((allowed, refused), (10, 2));
        // Still held on both.
        for base in [&a, &b] {
            let answer = call(
                &http,
                base,
                Method::POST,
                "/v1/keys/payments/decrypt",
                Some(admin),
                None,
                Some(json!({"ciphertext": ciphertext})),
            )
            .await;
            assert_eq!(answer.status, 429, "{}", answer.body);
        }
        // One window, one key, one rule: one audit entry for four refusals on two servers.
        let entries = call(
            &http,
            &b,
            Method::GET,
            "/v1/audit/entries?action=security.rate_limited",
            Some(admin),
            None,
            None,
        )
        .await;
        assert_eq!(
            entries.body["items"].as_array().unwrap().len(),
            1,
            "{}",
            entries.body
        );
    });
}
