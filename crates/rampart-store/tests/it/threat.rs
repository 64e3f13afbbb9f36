//! Threat protection's storage on both backends: rule documents (compare-and-set), shared
//! windows counted across two nodes and compared with `shared_window_hit`, failures. Blocks,
//! exemptions and purging are in `threat/blocks.rs`.

use std::net::IpAddr;

use rampart_threat::{
    AddressRules, BucketKey, RuleSet, SharedDecision, StoredDocument, ThreatStore, WindowState,
    shared_window_hit,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixture::Fixture;

mod blocks;

on_both_backends!(
    rule_documents_are_compare_and_set,
    concurrent_replacements_have_one_winner,
    shared_hits_of_two_nodes_never_pass_the_limit_together,
    shared_windows_match_the_reference,
    shared_buckets_are_independent,
    failures_count_within_the_window_only,
);

pub(crate) const T0: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

pub(crate) fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

pub(crate) async fn migrated(f: &Fixture) {
    f.store.migrate().await.expect("migrates");
}

fn rules(json: &str) -> RuleSet {
    RuleSet::parse_json(json).expect("valid rules")
}

const DECRYPT_RULES: &str = r#"{"rules": [{"name": "decrypt", "key": "principal",
    "match": ["keys:decrypt"], "limit": 100, "window_seconds": 60, "shared": true}]}"#;

async fn rule_documents_are_compare_and_set(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert_eq!(s.rate_limits().await.expect("reads"), None);
    assert_eq!(s.address_rules().await.expect("reads"), None);

    let first = RuleSet::defaults();
    let created = s
        .replace_rate_limits(&first, None, T0)
        .await
        .expect("writes")
        .expect("nothing stored before");
    assert_eq!(created.before, None);
    assert_eq!(created.version, 1);
    let v1 = StoredDocument {
        json: first.to_json(),
        version: 1,
    };
    assert_eq!(s.rate_limits().await.expect("reads"), Some(v1.clone()));

    // A second creator lost the race: nothing changes.
    let other = rules(DECRYPT_RULES);
    assert_eq!(
        s.replace_rate_limits(&other, None, T0).await.expect("runs"),
        None
    );
    assert_eq!(s.rate_limits().await.expect("reads"), Some(v1.clone()));

    let replaced = s
        .replace_rate_limits(&other, Some(1), T0 + Duration::seconds(1))
        .await
        .expect("writes")
        .expect("version 1 is current");
    assert_eq!(replaced.before, Some(v1));
    assert_eq!(replaced.version, 2);
    let v2 = StoredDocument {
        json: other.to_json(),
        version: 2,
    };
    assert_eq!(s.rate_limits().await.expect("reads"), Some(v2.clone()));

    // A writer that read version 1 is refused, and so is one naming a future version.
    for stale in [Some(1), Some(3), None] {
        assert_eq!(
            s.replace_rate_limits(&first, stale, T0 + Duration::seconds(2))
                .await
                .expect("runs"),
            None,
            "{stale:?}"
        );
    }
    assert_eq!(s.rate_limits().await.expect("reads"), Some(v2));

    // The address rules are a document of their own.
    assert_eq!(s.address_rules().await.expect("reads"), None);
    let allow = AddressRules::parse_json(r#"{"allow": ["10.0.0.0/8"], "deny": ["10.9.9.9"]}"#)
        .expect("valid");
    let made = s
        .replace_address_rules(&allow, None, T0)
        .await
        .expect("writes")
        .expect("nothing stored before");
    assert_eq!((made.before, made.version), (None, 1));
    let deny = AddressRules::parse_json(r#"{"deny": ["198.51.100.0/24"]}"#).expect("valid");
    assert_eq!(
        s.replace_address_rules(&deny, Some(2), T0)
            .await
            .expect("runs"),
        None
    );
    let changed = s
        .replace_address_rules(&deny, Some(1), T0)
        .await
        .expect("writes")
        .expect("version 1 is current");
    assert_eq!(
        changed.before,
        Some(StoredDocument {
            json: allow.to_json(),
            version: 1
        })
    );
    let stored = s.address_rules().await.expect("reads").expect("stored");
    assert_eq!(stored.version, 2);
    assert_eq!(
        AddressRules::parse_json(&stored.json).expect("stored JSON reads back"),
        deny
    );
    assert_eq!(
        s.rate_limits().await.expect("reads").map(|d| d.version),
        Some(2)
    );
}

async fn concurrent_replacements_have_one_winner(f: Fixture) {
    migrated(&f).await;
    let node_b = f.another_node().await;
    f.store
        .replace_rate_limits(&RuleSet::defaults(), None, T0)
        .await
        .expect("writes")
        .expect("created");
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let store = if writer % 2 == 0 {
            f.store.clone()
        } else {
            node_b.clone()
        };
        writers.spawn(async move {
            let mine = rules(&DECRYPT_RULES.replace("100", &format!("{}", 100 + writer)));
            let result = store
                .replace_rate_limits(&mine, Some(1), T0)
                .await
                .expect("runs");
            (mine, result)
        });
    }
    let winners: Vec<_> = writers
        .join_all()
        .await
        .into_iter()
        .filter_map(|(mine, result)| result.map(|r| (mine, r)))
        .collect();
    assert_eq!(winners.len(), 1);
    let (mine, replaced) = &winners[0];
    assert_eq!(replaced.version, 2);
    assert_eq!(
        replaced.before.as_ref().map(|d| d.json.clone()),
        Some(RuleSet::defaults().to_json())
    );
    let stored = node_b.rate_limits().await.expect("reads").expect("stored");
    assert_eq!(
        (stored.json.as_str(), stored.version),
        (mine.to_json().as_str(), 2)
    );
}

async fn shared_hits_of_two_nodes_never_pass_the_limit_together(f: Fixture) {
    migrated(&f).await;
    let node_b = f.another_node().await;
    let key = BucketKey::for_address(ip("203.0.113.9"));
    const LIMIT: u32 = 10;
    // Each node alone would allow 10 of its 20; together they must allow 10 of 40.
    let mut hits = tokio::task::JoinSet::new();
    for hit in 0..40 {
        let store = if hit % 2 == 0 {
            f.store.clone()
        } else {
            node_b.clone()
        };
        let key = key.clone();
        // One `now` for all: whichever hit comes first opens the window at T0.
        hits.spawn(async move {
            store
                .shared_hit("decrypt", &key, 60, LIMIT, T0)
                .await
                .expect("counts")
        });
    }
    let answers = hits.join_all().await;
    let allowed = answers.iter().filter(|h| h.decision.allowed).count();
    let first_refusals = answers.iter().filter(|h| h.first_refusal).count();
    assert_eq!(allowed, 10);
    assert_eq!(first_refusals, 1);
    assert!(answers.iter().all(|h| h.decision.limit == LIMIT));

    // The same window on either node: refused, and no second first refusal.
    for store in [&f.store, &node_b] {
        let hit = store
            .shared_hit("decrypt", &key, 60, LIMIT, T0 + Duration::seconds(30))
            .await
            .expect("counts");
        assert!(!hit.decision.allowed);
        assert!(!hit.first_refusal);
        assert_eq!(hit.decision.remaining, 0);
        assert_eq!(hit.decision.retry_after, std::time::Duration::from_secs(30));
    }
    // Once the window has passed, the other node allows again.
    let next = node_b
        .shared_hit("decrypt", &key, 60, LIMIT, T0 + Duration::seconds(60))
        .await
        .expect("counts");
    assert!(next.decision.allowed);
    assert_eq!(next.decision.remaining, LIMIT - 1);
}

/// Every answer of the store equals the reference's, fed the states the reference computed:
/// within a window, at its last microsecond, after it, and with a clock gone back.
async fn shared_windows_match_the_reference(f: Fixture) {
    migrated(&f).await;
    let node_b = f.another_node().await;
    let key = BucketKey::for_address(ip("2001:db8::1"));
    let offsets_ms: [i64; 14] = [
        0, 1_000, 2_000, 3_000, 4_000, 59_999, 60_000, 60_001, 75_500, 119_999, 200_000,
        // A clock gone back a little keeps the window; by more than a window, restarts it.
        199_000, 130_000, 130_500,
    ];
    let mut reference: Option<WindowState> = None;
    let mut first_refusals = Vec::new();
    for (i, ms) in offsets_ms.into_iter().enumerate() {
        let at = T0 + Duration::milliseconds(ms);
        let store = if i % 2 == 0 { &f.store } else { &node_b };
        let got = store
            .shared_hit("export", &key, 60, 3, at)
            .await
            .expect("counts");
        let (state, expected): (WindowState, SharedDecision) =
            shared_window_hit(reference, 3, 60, at);
        reference = Some(state);
        assert_eq!(got, expected, "hit {i} at +{ms} ms");
        if got.first_refusal {
            first_refusals.push(ms);
        }
    }
    // Windows began at 0, 60 000, 200 000 and (a window before that one: restarted) 130 000.
    assert_eq!(first_refusals, [3_000, 119_999]);

    // Nanoseconds in `now` change nothing: storage keeps microseconds.
    let other = BucketKey::for_address(ip("192.0.2.1"));
    let at = T0 + Duration::nanoseconds(1_500);
    let got = f
        .store
        .shared_hit("export", &other, 60, 3, at)
        .await
        .expect("counts");
    let (_, expected) = shared_window_hit(None, 3, 60, T0 + Duration::microseconds(1));
    assert_eq!(got, expected);
}

async fn shared_buckets_are_independent(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let a = BucketKey::for_address(ip("203.0.113.9"));
    let b = BucketKey::for_address(ip("203.0.113.10"));
    let hit = |rule: &'static str, key: BucketKey| async move {
        s.shared_hit(rule, &key, 60, 1, T0)
            .await
            .expect("counts")
            .decision
            .allowed
    };
    assert!(hit("decrypt", a.clone()).await);
    assert!(!hit("decrypt", a.clone()).await);
    assert!(hit("decrypt", b.clone()).await);
    assert!(hit("export", a.clone()).await);
    // IPv6 addresses of one /64 share a bucket.
    let v6 = BucketKey::for_address(ip("2001:db8::1"));
    let same_64 = BucketKey::for_address(ip("2001:db8::ffff"));
    assert!(hit("decrypt", v6).await);
    assert!(!hit("decrypt", same_64).await);
}

async fn failures_count_within_the_window_only(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let window = Duration::seconds(300);
    let address = ip("203.0.113.9");
    for (i, seconds) in [0, 100, 200, 299].into_iter().enumerate() {
        let count = s
            .record_failure(address, window, T0 + Duration::seconds(seconds))
            .await
            .expect("records");
        assert_eq!(count, i as u64 + 1, "at +{seconds} s");
    }
    // At +300 s the failure at 0 is a window old and no longer counts.
    assert_eq!(
        s.record_failure(address, window, T0 + Duration::seconds(300))
            .await
            .expect("records"),
        4
    );
    // Failures after `now` (another node's clock ahead) are not within the window yet.
    assert_eq!(
        s.record_failure(address, window, T0 + Duration::seconds(150))
            .await
            .expect("records"),
        3
    );
    // The IPv4-mapped spelling is the same address; another address counts apart.
    assert_eq!(
        s.record_failure(
            ip("::ffff:203.0.113.9"),
            window,
            T0 + Duration::seconds(301)
        )
        .await
        .expect("records"),
        6
    );
    assert_eq!(
        s.record_failure(ip("203.0.113.10"), window, T0 + Duration::seconds(301))
            .await
            .expect("records"),
        1
    );
    s.clear_failures(address).await.expect("clears");
    assert_eq!(
        s.record_failure(address, window, T0 + Duration::seconds(302))
            .await
            .expect("records"),
        1
    );
    assert_eq!(
        s.record_failure(ip("203.0.113.10"), window, T0 + Duration::seconds(302))
            .await
            .expect("records"),
        2
    );
}
