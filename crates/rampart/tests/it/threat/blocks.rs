//! Blocking after failures: the block, its listing and expiry, escalation, a block that
//! survives `kill -9`, manual blocks of networks, lifting and the exemption after a lift,
//! and loopback.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{JUNK, eventually, rt, start};

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

/// How long a listed block lasts, in whole seconds.
fn length(block: &Value) -> i64 {
    (at(&block["expires_at"]) - at(&block["blocked_at"])).whole_seconds()
}

fn listed<'a>(blocks: &'a [Value], address: &str) -> Option<&'a Value> {
    blocks.iter().find(|b| b["address"] == address)
}

/// Five failures block the address for `block_seconds` (5 s): `403 address-blocked` with
/// `Retry-After`, listed; then it passes again; a second block within the day lasts twice as
/// long.
#[test]
fn threat_blocks_after_failures_expire_and_escalate() {
    let env = start(&[
        ("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RAMPART_BLOCK_AFTER_FAILURES", "5"),
        ("RAMPART_BLOCK_SECONDS", "5"),
    ]);
    let bad = "203.0.113.7";
    rt().block_on(async {
        env.fail(bad, 4).await;
        assert!(!env.blocked(bad).await, "four failures do not block");
        env.fail(bad, 1).await;
        let refused = env
            .call(Method::GET, "/v1/auth/whoami", Some(JUNK), Some(bad), None)
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(
            refused.problem(),
            Some("address-blocked"),
            "{}",
            refused.body
        );
        let retry_after = refused.retry_after().expect("Retry-After");
        assert!((1..=5).contains(&retry_after), "{retry_after}");
        // Even the admin's key does not pass from there; other addresses do.
        assert!(env.blocked(bad).await);
        assert!(!env.blocked("203.0.113.8").await);

        let blocks = env.blocks().await;
        let block = listed(&blocks, bad).unwrap_or_else(|| panic!("{blocks:#?}"));
        assert_eq!(block["manual"], false, "{block}");
        assert_eq!(block["failures"], 5, "{block}");
        assert_eq!(length(block), 5, "{block}");
        assert!(!block["reason"].as_str().unwrap().is_empty());
        let audited = env.audit_entries("security.address_blocked").await;
        assert_eq!(audited.len(), 1, "{audited:#?}");

        // It ends by itself.
        assert!(
            eventually(Duration::from_secs(30), || async {
                !env.blocked(bad).await
            })
            .await,
            "the block never ended"
        );
        assert!(listed(&env.blocks().await, bad).is_none());

        // Five more failures: blocked again, for twice as long.
        env.fail(bad, 5).await;
        assert!(env.blocked(bad).await);
        let blocks = env.blocks().await;
        let block = listed(&blocks, bad).unwrap_or_else(|| panic!("{blocks:#?}"));
        assert_eq!(
            length(block),
            10,
            "the second block within a day doubles: {block}"
        );
        assert!(
            eventually(Duration::from_secs(60), || async {
                !env.blocked(bad).await
            })
            .await,
            "the second block never ended"
        );
    });
}

/// A block is in the database: it holds after `kill -9` and a restart.
#[test]
fn threat_block_survives_kill_9_and_restart() {
    let mut env = start(&[
        ("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RAMPART_BLOCK_AFTER_FAILURES", "5"),
    ]);
    let bad = "203.0.113.9";
    let before = rt().block_on(async {
        env.fail(bad, 5).await;
        assert!(env.blocked(bad).await);
        let blocks = env.blocks().await;
        let block = listed(&blocks, bad)
            .unwrap_or_else(|| panic!("{blocks:#?}"))
            .clone();
        assert_eq!(length(&block), 3600, "{block}");
        block
    });
    env.kill_9_and_restart();
    rt().block_on(async {
        assert!(env.blocked(bad).await, "the block did not survive kill -9");
        let refused = env.anonymous("/v1/health", bad).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.retry_after().unwrap() > 3000);
        assert!(!env.blocked("203.0.113.10").await);
        let blocks = env.blocks().await;
        assert_eq!(listed(&blocks, bad), Some(&before), "{blocks:#?}");
    });
}

/// An operator blocks a network (CIDR) and lifts it (`%2F`); a lifted address is not blocked
/// again by the same failures within `block_exempt_seconds`, while another address is.
#[test]
fn threat_manual_block_lift_and_exemption() {
    let env = start(&[
        ("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RAMPART_BLOCK_AFTER_FAILURES", "5"),
    ]);
    rt().block_on(async {
        let made = env
            .admin(
                Method::POST,
                "/v1/blocks",
                Some(json!({"address": "198.51.100.0/24", "seconds": 3600, "reason": "scanner"})),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        assert_eq!(made.body["address"], "198.51.100.0/24");
        assert_eq!(made.body["manual"], true);
        assert_eq!(length(&made.body), 3600);
        assert!(env.blocked("198.51.100.77").await);
        assert!(env.blocked("198.51.100.1").await);
        assert!(!env.blocked("198.51.101.1").await);
        let blocks = env.blocks().await;
        let block = listed(&blocks, "198.51.100.0/24").unwrap_or_else(|| panic!("{blocks:#?}"));
        assert_eq!(block["reason"], "scanner");
        assert_eq!(block["manual"], true);
        assert_eq!(block["failures"], 0);

        let lifted = env
            .admin(Method::DELETE, "/v1/blocks/198.51.100.0%2F24", None)
            .await;
        assert_eq!(lifted.status, 204, "{}", lifted.body);
        assert!(
            !env.blocked("198.51.100.77").await,
            "lifted at once on this node"
        );
        assert!(listed(&env.blocks().await, "198.51.100.0/24").is_none());
        let again = env
            .admin(Method::DELETE, "/v1/blocks/198.51.100.0%2F24", None)
            .await;
        assert_eq!(again.status, 404, "{}", again.body);

        // An automatic block, lifted: the same failures do not block it again.
        let lifted_address = "203.0.113.20";
        env.fail(lifted_address, 5).await;
        assert!(env.blocked(lifted_address).await);
        let lifted = env
            .admin(
                Method::DELETE,
                &format!("/v1/blocks/{lifted_address}"),
                None,
            )
            .await;
        assert_eq!(lifted.status, 204, "{}", lifted.body);
        assert!(!env.blocked(lifted_address).await);
        env.fail(lifted_address, 10).await;
        assert!(
            !env.blocked(lifted_address).await,
            "re-blocked within the exemption"
        );
        assert!(listed(&env.blocks().await, lifted_address).is_none());
        // The same failures from another address block it.
        env.fail("203.0.113.21", 5).await;
        assert!(env.blocked("203.0.113.21").await);

        let unblocks = env.audit_entries("security.unblock").await;
        let statuses: Vec<&str> = unblocks
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["success", "failure", "success"], "{unblocks:#?}");
        let manual = env.audit_entries("security.block").await;
        assert_eq!(manual.len(), 1, "{manual:#?}");
    });
}

/// Loopback is never blocked automatically, unless `block_loopback = true`.
#[test]
fn threat_loopback_is_blocked_only_with_block_loopback() {
    for block_loopback in [false, true] {
        let setting = block_loopback.to_string();
        let env = start(&[
            ("RAMPART_BLOCK_AFTER_FAILURES", "5"),
            ("RAMPART_BLOCK_LOOPBACK", setting.as_str()),
        ]);
        rt().block_on(async {
            for _ in 0..5 {
                let answer = env
                    .call(Method::GET, "/v1/auth/whoami", Some(JUNK), None, None)
                    .await;
                assert_eq!(answer.status, 401, "{}", answer.body);
            }
            let after = env.admin(Method::GET, "/v1/auth/whoami", None).await;
            if block_loopback {
                assert_eq!(after.status, 403, "{}", after.body);
                assert_eq!(after.problem(), Some("address-blocked"));
            } else {
                assert_eq!(after.status, 200, "{}", after.body);
                assert!(env.blocks().await.is_empty());
            }
        });
    }
}
