use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::rules::{RuleSet, Subject};

fn rule(limit: u32, window: u32, burst: u32) -> RuleSet {
    RuleSet::parse_json(&format!(
        r#"{{"rules": [{{"name": "r", "key": "ip", "match": ["*"], "limit": {limit}, "window_seconds": {window}, "burst": {burst}}}]}}"#
    ))
    .unwrap()
}

fn key(address: &str) -> Subject {
    Subject::address(address.parse::<IpAddr>().unwrap())
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn burst_then_the_sustained_rate() {
    // 60 per minute (one a second), 3 at once.
    let set = rule(60, 60, 3);
    let rule = &set.rules()[0];
    let limiter = Limiter::default();
    let k = key("203.0.113.9");
    let t0 = Duration::from_secs(1_000);
    let remaining: Vec<(bool, u32)> = (0..4)
        .map(|_| limiter.check(rule, k, t0))
        .map(|d| (d.allowed, d.remaining))
        .collect();
    assert_eq!(remaining, [(true, 2), (true, 1), (true, 0), (false, 0)]);
    let refused = limiter.check(rule, k, t0);
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    assert_eq!(refused.reset_after, Duration::from_secs(3));
    assert_eq!(refused.limit, 60);
    // Just before the next second: still refused, 1 ms to wait.
    assert_eq!(
        limiter
            .check(rule, k, t0 + Duration::from_secs(1) - MS)
            .retry_after,
        MS
    );
    let next = limiter.check(rule, k, t0 + Duration::from_secs(1));
    assert!(next.allowed);
    assert_eq!(next.remaining, 0);
    assert_eq!(next.retry_after, Duration::from_secs(1));
    // After the whole bucket's time, it is full again.
    let later = limiter.check(rule, k, t0 + Duration::from_secs(10));
    assert_eq!((later.allowed, later.remaining), (true, 2));
    assert_eq!(later.reset_after, Duration::from_secs(1));
}

#[test]
fn buckets_are_per_key_and_per_rule() {
    let set = RuleSet::parse_json(
        r#"{"rules": [
          {"name": "a", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 60},
          {"name": "b", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 60}]}"#,
    )
    .unwrap();
    let (a, b) = (&set.rules()[0], &set.rules()[1]);
    let limiter = Limiter::default();
    let now = Duration::from_secs(5);
    assert!(limiter.check(a, key("192.0.2.1"), now).allowed);
    assert!(!limiter.check(a, key("192.0.2.1"), now).allowed);
    assert!(limiter.check(a, key("192.0.2.2"), now).allowed);
    assert!(limiter.check(b, key("192.0.2.1"), now).allowed);
    assert_eq!(limiter.len(), 3);
}

#[test]
fn refusals_are_not_counted() {
    let set = rule(1, 10, 1);
    let rule = &set.rules()[0];
    let limiter = Limiter::default();
    let k = key("192.0.2.1");
    assert!(limiter.check(rule, k, Duration::ZERO).allowed);
    for ms in [1, 2_000, 9_999] {
        assert!(!limiter.check(rule, k, Duration::from_millis(ms)).allowed);
    }
    assert!(limiter.check(rule, k, Duration::from_secs(10)).allowed);
}

#[test]
fn the_emission_interval_rounds_up() {
    // 3 per second: 333,333,334 ns apart, never 3 in less than 2/3 s after a full bucket.
    let set = rule(3, 1, 1);
    let rule = &set.rules()[0];
    let limiter = Limiter::default();
    let k = key("192.0.2.1");
    assert!(limiter.check(rule, k, Duration::ZERO).allowed);
    assert!(
        !limiter
            .check(rule, k, Duration::from_nanos(333_333_333))
            .allowed
    );
    assert!(
        limiter
            .check(rule, k, Duration::from_nanos(333_333_334))
            .allowed
    );
}

#[test]
fn full_buckets_are_purged() {
    let set = rule(10, 10, 5);
    let rule = &set.rules()[0];
    let limiter = Limiter::default();
    limiter.check(rule, key("192.0.2.1"), Duration::ZERO);
    limiter.check(rule, key("192.0.2.2"), Duration::from_secs(5));
    assert_eq!(limiter.purge(Duration::from_secs(3)), 1);
    assert_eq!(limiter.len(), 1);
    assert_eq!(limiter.purge(Duration::from_secs(6)), 1);
    assert!(limiter.is_empty());
}

#[test]
fn memory_stays_bounded_under_a_flood_of_keys() {
    let set = rule(1, 3_600, 1);
    let rule = &set.rules()[0];
    let limiter = Limiter::new(160);
    for i in 0..5_000u32 {
        let address = IpAddr::from(i.to_be_bytes());
        assert!(
            limiter
                .check(
                    rule,
                    Subject::address(address),
                    Duration::from_millis(u64::from(i))
                )
                .allowed
        );
        assert!(limiter.len() <= 160, "{} buckets", limiter.len());
    }
}

proptest! {
    /// In any stretch of time, a bucket never allows more than `burst` plus the rule's rate
    /// times the stretch's length.
    #[test]
    fn never_more_than_burst_plus_rate(
        limit in 1u32..50,
        window in 1u32..20,
        burst in 1u32..10,
        gaps in proptest::collection::vec(0u64..2_000_000_000, 1..120),
    ) {
        let set = rule(limit, window, burst);
        let rule = &set.rules()[0];
        let limiter = Limiter::default();
        let k = key("192.0.2.1");
        let mut now = 0u64;
        let mut allowed = Vec::new();
        for gap in gaps {
            now += gap;
            if limiter.check(rule, k, Duration::from_nanos(now)).allowed {
                allowed.push(now);
            }
        }
        let window_ns = u128::from(window) * 1_000_000_000;
        for i in 0..allowed.len() {
            for j in i..allowed.len() {
                let count = (j - i + 1) as u128;
                let elapsed = u128::from(allowed[j] - allowed[i]);
                // count <= burst + elapsed * limit / window
                prop_assert!(count * window_ns <= u128::from(burst) * window_ns + elapsed * u128::from(limit),
                    "{count} allowed in {elapsed} ns");
            }
        }
    }

    /// A request that waits the `retry_after` it was told is allowed.
    #[test]
    fn retry_after_is_enough(limit in 1u32..50, window in 1u32..20, burst in 1u32..10, n in 1usize..30) {
        let set = rule(limit, window, burst);
        let rule = &set.rules()[0];
        let limiter = Limiter::default();
        let k = key("192.0.2.1");
        let now = Duration::from_secs(100);
        let mut last = limiter.check(rule, k, now);
        for _ in 0..n {
            last = limiter.check(rule, k, now);
        }
        if !last.allowed {
            prop_assert!(!limiter.check(rule, k, now + last.retry_after - Duration::from_nanos(1)).allowed);
            prop_assert!(limiter.check(rule, k, now + last.retry_after).allowed);
        }
    }
}

#[test]
fn one_call_counts_every_rule_of_a_subject() {
    let set = RuleSet::parse_json(
        r#"{"rules": [
          {"name": "tight", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 60},
          {"name": "loose", "key": "ip", "match": ["*"], "limit": 10, "window_seconds": 60}]}"#,
    )
    .unwrap();
    let limiter = Limiter::default();
    let rules: Vec<_> = set
        .rules()
        .iter()
        .map(|r| (limiter.rule_id(r.name()), Quota::of(r), r))
        .collect();
    let now = Duration::from_secs(1);
    let mut answers = Vec::new();
    for _ in 0..3 {
        limiter.check_all(
            key("192.0.2.1"),
            now,
            rules.iter().map(|(id, q, r)| (*id, q, r.name())),
            |name, d| answers.push((name, d.allowed, d.remaining)),
        );
    }
    // The tight rule refuses the 2nd and 3rd; the loose one counts all three.
    assert_eq!(
        answers,
        [
            ("tight", true, 0),
            ("loose", true, 9),
            ("tight", false, 0),
            ("loose", true, 8),
            ("tight", false, 0),
            ("loose", true, 7)
        ]
    );
    assert_eq!(limiter.len(), 2, "two buckets of one subject");
    // The same name is the same bucket, whatever else changed.
    assert_eq!(limiter.rule_id("tight"), rules[0].0);
    assert!(
        !limiter
            .check(&set.rules()[0], key("192.0.2.1"), now)
            .allowed
    );
    // No rule: nothing held.
    let empty = Limiter::default();
    empty.check_all(
        key("192.0.2.1"),
        now,
        std::iter::empty::<(RuleId, &Quota, ())>(),
        |(), _| {},
    );
    assert!(empty.is_empty());
}

#[test]
fn more_rules_than_one_batch_are_all_counted() {
    let rules: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"name": "r{i}", "key": "ip", "match": ["*"], "limit": {}, "window_seconds": 60}}"#, i % 3 + 1))
        .collect();
    let set = RuleSet::parse_json(&format!(r#"{{"rules": [{}]}}"#, rules.join(","))).unwrap();
    let limiter = Limiter::default();
    let quotas: Vec<_> = set
        .rules()
        .iter()
        .map(|r| (limiter.rule_id(r.name()), Quota::of(r)))
        .collect();
    let now = Duration::from_secs(1);
    for round in 1..=4u32 {
        let mut seen = Vec::new();
        limiter.check_all(
            key("192.0.2.1"),
            now,
            quotas.iter().enumerate().map(|(i, (id, q))| (*id, q, i)),
            |i, d| seen.push((i, d.allowed)),
        );
        let expected: Vec<(usize, bool)> = (0..40)
            .map(|i| (i, round <= u32::try_from(i % 3 + 1).unwrap()))
            .collect();
        assert_eq!(seen, expected, "round {round}");
    }
    assert_eq!(limiter.len(), 40);
}
