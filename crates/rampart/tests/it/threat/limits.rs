//! Rate limits per key type and per rule, burst, `Retry-After`, the headers, `/metrics`, the
//! audit entries, and matchers on permissions and `METHOD /path` prefixes.

use std::collections::BTreeSet;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::{assert_retry_after, rt, rule, start};

const A: &str = "203.0.113.1";
const B: &str = "203.0.113.2";

/// Per address: a burst of 2 of a rule of 4 an hour (one every 900 s), then `429` with
/// `Retry-After: 900`; each matching rule counts, and `RateLimit-Policy` and `RateLimit` name
/// the one closest to its limit; another address has its own bucket; `/metrics` counts every refusal; the
/// audit log holds one entry per address and rule.
#[test]
fn threat_limits_per_address_burst_retry_after_headers_metrics_and_one_audit_entry() {
    let env = start(&[("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32")]);
    rt().block_on(async {
        let mut strict = rule("health-per-ip", "ip", &["GET /v1/health"], 4, 3600);
        strict["burst"] = json!(2);
        let loose = rule("health-loose", "ip", &["GET /v1/health"], 1000, 3600);
        let shown = env.put_rules(json!([strict, loose])).await;
        assert_eq!(shown["rules"][0]["burst"], 2, "{shown}");
        let policy = r#""health-per-ip";q=4;w=3600"#;

        let began = Instant::now();
        let first = env.anonymous("/v1/health", A).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.header("ratelimit-policy").as_deref(), Some(policy));
        // First request of fresh buckets: exact. 900 s and 3.6 s per request.
        assert_eq!(
            first.header("ratelimit").as_deref(),
            Some(r#""health-per-ip";r=1;t=900"#)
        );
        let second = env.anonymous("/v1/health", A).await;
        assert_eq!(second.status, 200, "{}", second.body);
        let current = second.header("ratelimit").unwrap();
        let t: u64 = current
            .strip_prefix(r#""health-per-ip";r=0;t="#)
            .and_then(|rest| rest.split(',').next())
            .map(str::trim)
            .unwrap_or_else(|| panic!("{current}"))
            .parse()
            .unwrap();
        assert_retry_after(t, 900, began.elapsed());

        let refused = env.anonymous("/v1/health", A).await;
        let elapsed = began.elapsed();
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert_eq!(refused.problem(), Some("rate-limited"), "{}", refused.body);
        assert_eq!(
            refused.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let retry_after = refused.retry_after().expect("Retry-After");
        assert_retry_after(retry_after, 900, elapsed);
        assert_eq!(refused.header("ratelimit-policy").as_deref(), Some(policy));
        let current = refused.header("ratelimit").unwrap();
        assert_eq!(
            current,
            format!(r#""health-per-ip";r=0;t={retry_after}"#),
            "{current}"
        );

        // Another address has its own bucket.
        let other = env.anonymous("/v1/health", B).await;
        assert_eq!(other.status, 200, "{}", other.body);
        assert!(
            other
                .header("ratelimit")
                .unwrap()
                .starts_with(r#""health-per-ip";r=1;t=900"#),
            "{:?}",
            other.header("ratelimit")
        );
        // A keeps being refused; B uses its burst and is refused once.
        for _ in 0..3 {
            assert_eq!(env.anonymous("/v1/health", A).await.status, 429);
        }
        assert_eq!(env.anonymous("/v1/health", B).await.status, 200);
        let b_refused = env.anonymous("/v1/health", B).await;
        assert_eq!(b_refused.status, 429, "{}", b_refused.body);

        // Loopback (the admin's address) is counted by rules set through the API, in its own
        // bucket; the admin's other requests match no rule and carry no headers.
        let mine = env.admin(Method::GET, "/v1/health", None).await;
        assert_eq!(mine.status, 200);
        assert!(
            mine.header("ratelimit")
                .unwrap()
                .starts_with(r#""health-per-ip";r=1;"#)
        );
        let rules = env.admin(Method::GET, "/v1/rate-limits", None).await;
        assert_eq!(rules.header("ratelimit-policy"), None);

        assert_eq!(env.rate_limited_metric("health-per-ip").await, 5.0);
        assert_eq!(env.rate_limited_metric("health-loose").await, 0.0);

        // Five refusals, two buckets: two entries.
        let entries = env.audit_entries("security.rate_limited").await;
        assert_eq!(entries.len(), 2, "{entries:#?}");
        let addresses: BTreeSet<&str> = entries
            .iter()
            .map(|e| e["actor"]["ip"].as_str().unwrap())
            .collect();
        assert_eq!(addresses, BTreeSet::from([A, B]), "{entries:#?}");
        for entry in &entries {
            assert_eq!(entry["status"], "denied", "{entry}");
            assert_eq!(entry["resource"]["id"], "health-per-ip", "{entry}");
        }
    });
}

/// Per principal (two keys of one user share a bucket), per credential (they do not), global
/// (every address shares one), and `applies_to`.
#[test]
fn threat_limits_per_principal_credential_global_and_applies_to() {
    let env = start(&[("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32")]);
    rt().block_on(async {
        let alice = env.user("alice", &["viewer"]).await;
        let a1 = env.api_key(&alice, "a1", &["audit:read"]).await;
        let a2 = env.api_key(&alice, "a2", &["audit:read"]).await;
        let bob = env.user("bob", &["viewer"]).await;
        let b1 = env.api_key(&bob, "b1", &["audit:read"]).await;
        let whoami = |key: &str, from: &str| {
            let key = key.to_owned();
            let from = from.to_owned();
            let env = &env;
            async move {
                env.call(
                    Method::GET,
                    "/v1/auth/whoami",
                    Some(&key),
                    Some(&from),
                    None,
                )
                .await
            }
        };

        // Principal: 2 an hour, one every 1800 s.
        env.put_rules(json!([rule(
            "per-principal",
            "principal",
            &["GET /v1/auth/whoami"],
            2,
            3600
        )]))
        .await;
        let began = Instant::now();
        assert_eq!(whoami(&a1, A).await.status, 200);
        assert_eq!(whoami(&a2, B).await.status, 200);
        let refused = whoami(&a1, "203.0.113.3").await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert_retry_after(refused.retry_after().unwrap(), 1800, began.elapsed());
        assert_eq!(whoami(&a2, A).await.status, 429);
        assert_eq!(whoami(&b1, A).await.status, 200, "bob has his own bucket");

        // Credential: each key its own bucket.
        env.put_rules(json!([rule(
            "per-credential",
            "credential",
            &["GET /v1/auth/whoami"],
            2,
            3600
        )]))
        .await;
        assert_eq!(whoami(&a1, A).await.status, 200);
        assert_eq!(whoami(&a1, B).await.status, 200);
        let refused = whoami(&a1, A).await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(
            refused
                .header("ratelimit")
                .unwrap()
                .starts_with(r#""per-credential";r=0;"#)
        );
        assert_eq!(whoami(&a2, A).await.status, 200, "another key of alice");

        // Global: one bucket for every address, loopback included.
        env.put_rules(json!([rule(
            "health-global",
            "global",
            &["GET /v1/health"],
            3,
            3600
        )]))
        .await;
        for from in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            assert_eq!(env.anonymous("/v1/health", from).await.status, 200);
        }
        let refused = env.anonymous("/v1/health", "198.51.100.4").await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert_retry_after(refused.retry_after().unwrap(), 1200, began.elapsed());
        assert_eq!(env.admin(Method::GET, "/v1/health", None).await.status, 429);

        // applies_to: an unauthenticated-only rule leaves callers with a credential alone.
        let mut anonymous = rule("whoami-anonymous", "ip", &["GET /v1/auth/whoami"], 1, 3600);
        anonymous["applies_to"] = json!("unauthenticated");
        env.put_rules(json!([anonymous])).await;
        let anon = env
            .call(Method::GET, "/v1/auth/whoami", None, Some(A), None)
            .await;
        assert_eq!(anon.status, 401, "{}", anon.body);
        let anon = env
            .call(Method::GET, "/v1/auth/whoami", None, Some(A), None)
            .await;
        assert_eq!(anon.status, 429, "{}", anon.body);
        for _ in 0..3 {
            let answer = whoami(&b1, A).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(answer.header("ratelimit"), None);
        }

        // Every rule's refusals are counted under its name.
        for (name, count) in [
            ("per-principal", 2.0),
            ("per-credential", 1.0),
            ("health-global", 2.0),
            ("whoami-anonymous", 1.0),
        ] {
            assert_eq!(env.rate_limited_metric(name).await, count, "{name}");
        }
    });
}

/// A rule on `keys:decrypt` brakes decryption and leaves encryption alone; a `METHOD /path`
/// rule matches its method and whole path segments only.
#[test]
fn threat_permission_and_route_matchers() {
    let env = start(&[]);
    rt().block_on(async {
        for name in ["payments", "other", "otherwise"] {
            let created = env
                .admin(
                    Method::POST,
                    "/v1/keys",
                    Some(json!({"name": name, "type": "aes256-gcm", "rotation_period_days": 90})),
                )
                .await;
            assert_eq!(created.status, 201, "{}", created.body);
        }
        let env = &env;
        let encrypt = |key: &'static str| async move {
            env.admin(
                Method::POST,
                &format!("/v1/keys/{key}/encrypt"),
                Some(json!({"plaintext": "aGVsbG8="})),
            )
            .await
        };
        let sealed = encrypt("payments").await;
        assert_eq!(sealed.status, 200, "{}", sealed.body);
        let ciphertext = sealed.body["ciphertext"].as_str().unwrap().to_owned();
        let ciphertext = &ciphertext;
        let decrypt = || {
            let body = json!({"ciphertext": ciphertext});
            async move {
                env.admin(Method::POST, "/v1/keys/payments/decrypt", Some(body))
                    .await
            }
        };

        env.put_rules(json!([
            rule("decrypt-brake", "principal", &["keys:decrypt"], 2, 3600),
            rule("other-key", "credential", &["POST /v1/keys/other"], 1, 3600),
        ]))
        .await;
        for _ in 0..2 {
            let opened = decrypt().await;
            assert_eq!(opened.status, 200, "{}", opened.body);
            assert_eq!(opened.body["plaintext"], "aGVsbG8=");
        }
        let braked = decrypt().await;
        assert_eq!(braked.status, 429, "{}", braked.body);
        assert!(
            braked
                .header("ratelimit")
                .unwrap()
                .starts_with(r#""decrypt-brake";r=0;"#)
        );
        for _ in 0..5 {
            let sealed = encrypt("payments").await;
            assert_eq!(
                sealed.status, 200,
                "encrypting is not braked: {}",
                sealed.body
            );
            assert_eq!(sealed.header("ratelimit-policy"), None);
        }

        // `POST /v1/keys/other`: POSTs under it, not GETs, not `/v1/keys/otherwise`.
        assert_eq!(encrypt("other").await.status, 200);
        assert_eq!(encrypt("other").await.status, 429);
        assert_eq!(
            env.admin(Method::GET, "/v1/keys/other", None).await.status,
            200
        );
        for _ in 0..3 {
            let answer = encrypt("otherwise").await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        assert_eq!(env.rate_limited_metric("decrypt-brake").await, 1.0);
        assert_eq!(env.rate_limited_metric("other-key").await, 1.0);
        let entries = env.audit_entries("security.rate_limited").await;
        let rules: BTreeSet<&str> = entries
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            BTreeSet::from(["decrypt-brake", "other-key"]),
            "{entries:#?}"
        );
    });
}
