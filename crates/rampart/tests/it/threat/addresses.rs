//! Address rules: deny wins over allow, a non-empty allow refuses every other address before
//! authentication, the built-in rule leaves loopback alone, and a forged `X-Forwarded-For`
//! from an untrusted peer changes nothing.

use reqwest::Method;

use super::{Answer, rt, start};

fn denied(answer: &Answer) {
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.problem(), Some("address-denied"), "{}", answer.body);
}

#[test]
fn threat_address_rules_deny_wins_and_allow_refuses_others_before_authentication() {
    let env = start(&[("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32")]);
    rt().block_on(async {
        let admin = env.admin.clone();
        let whoami = |key: Option<&str>, from: &str| {
            let key = key.map(str::to_owned);
            let from = from.to_owned();
            let env = &env;
            async move {
                env.call(
                    Method::GET,
                    "/v1/auth/whoami",
                    key.as_deref(),
                    Some(&from),
                    None,
                )
                .await
            }
        };
        // Deny alone: only the denied address is refused, even with the admin's key.
        env.put_ip_rules(&[], &["198.51.100.7"]).await;
        denied(&whoami(Some(&admin), "198.51.100.7").await);
        denied(&whoami(None, "198.51.100.7").await);
        assert_eq!(whoami(Some(&admin), "198.51.100.8").await.status, 200);

        // Allow a network (and loopback, the admin's own address); deny one address inside it.
        env.put_ip_rules(&["203.0.113.0/24", "127.0.0.1"], &["203.0.113.66"])
            .await;
        assert_eq!(whoami(Some(&admin), "203.0.113.5").await.status, 200);
        denied(&whoami(Some(&admin), "203.0.113.66").await);
        // Outside the allow list: refused before authentication, with or without a valid key
        // (a 403 address-denied, never the 401 of a missing credential).
        denied(&whoami(Some(&admin), "192.0.2.1").await);
        denied(&whoami(None, "192.0.2.1").await);
        denied(&whoami(Some("rk_junk"), "192.0.2.1").await);
        denied(&env.anonymous("/v1/health", "192.0.2.1").await);
        // No XFF: the admin's loopback address is allowed.
        let shown = env.admin(Method::GET, "/v1/ip-rules", None).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert_eq!(shown.body["allow"][0], "203.0.113.0/24", "{}", shown.body);
        assert_eq!(shown.body["deny"][0], "203.0.113.66", "{}", shown.body);

        // Deny wins even over an exact allow entry.
        env.put_ip_rules(&["203.0.113.66", "127.0.0.1"], &["203.0.113.0/24"])
            .await;
        denied(&whoami(Some(&admin), "203.0.113.66").await);

        // Refused addresses are not counted as failures toward a block.
        assert!(env.blocks().await.is_empty());

        // Empty rules: every address again.
        env.put_ip_rules(&[], &[]).await;
        assert_eq!(whoami(Some(&admin), "192.0.2.1").await.status, 200);
        assert_eq!(whoami(None, "192.0.2.1").await.status, 401);
        let changes = env.audit_entries("security.ip_rules.update").await;
        assert_eq!(changes.len(), 4, "{changes:#?}");
    });
}

/// The built-in rule (100 a minute per address, burst 20, unauthenticated) counts clients from
/// elsewhere and leaves the host itself alone.
#[test]
fn threat_default_rule_counts_other_addresses_not_loopback() {
    let env = start(&[("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32")]);
    rt().block_on(async {
        let rules = env.admin(Method::GET, "/v1/rate-limits", None).await;
        assert_eq!(rules.body["source"], "default", "{}", rules.body);
        assert_eq!(rules.body["rules"][0]["limit"], 100, "{}", rules.body);
        assert_eq!(rules.body["rules"][0]["burst"], 20, "{}", rules.body);
        for i in 0..60 {
            let answer = env.call(Method::GET, "/v1/health", None, None, None).await;
            assert_eq!(answer.status, 200, "loopback request {i}: {}", answer.body);
        }
        // From elsewhere: the burst of 20 passes, and 60 at once cannot all pass (refilling
        // one every 0.6 s, they would take 24 s).
        let mut statuses = Vec::new();
        for _ in 0..60 {
            statuses.push(env.anonymous("/v1/health", "203.0.113.30").await.status);
        }
        assert!(statuses[..20].iter().all(|s| *s == 200), "{statuses:?}");
        assert!(statuses.contains(&429), "{statuses:?}");
        // A token the route never reads (or that is refused) does not take a request out of
        // the rule.
        let mut statuses = Vec::new();
        for _ in 0..60 {
            let answer = env
                .call(
                    Method::GET,
                    "/v1/health",
                    Some("rk_junk"),
                    Some("203.0.113.31"),
                    None,
                )
                .await;
            statuses.push(answer.status);
        }
        assert!(statuses[..20].iter().all(|s| *s == 200), "{statuses:?}");
        assert!(statuses.contains(&429), "{statuses:?}");
        assert!(env.rate_limited_metric("unauthenticated-per-address").await >= 2.0);
    });
}

/// Without `trusted_proxies`, `X-Forwarded-For` names no client: a deny on the address it names
/// does not apply, and an allow list cannot be passed with it.
#[test]
fn threat_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let env = start(&[]);
    rt().block_on(async {
        env.put_ip_rules(&[], &["198.51.100.7"]).await;
        let answer = env.anonymous("/v1/health", "198.51.100.7").await;
        assert_eq!(
            answer.status, 200,
            "the forged header chose the address: {}",
            answer.body
        );
        let answer = env
            .call(
                Method::GET,
                "/v1/auth/whoami",
                Some(&env.admin),
                Some("198.51.100.7"),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);

        // Allow only 198.51.100.0/24: the peer (loopback) is refused whatever the header says.
        env.put_ip_rules(&["198.51.100.0/24"], &[]).await;
        for from in ["198.51.100.7", "198.51.100.7, 198.51.100.8"] {
            denied(&env.anonymous("/v1/health", from).await);
            denied(
                &env.call(
                    Method::GET,
                    "/v1/auth/whoami",
                    Some(&env.admin),
                    Some(from),
                    None,
                )
                .await,
            );
        }
        denied(&env.admin(Method::GET, "/v1/ip-rules", None).await);
    });
}
