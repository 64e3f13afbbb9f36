//! Which rules a request falls under, and the buckets it counts against.

use std::net::IpAddr;

use super::tests::{facts, with_rule};
use super::*;

fn set(rules: &str) -> RuleSet {
    RuleSet::parse_json(&format!(r#"{{"rules": [{rules}]}}"#)).unwrap()
}

#[test]
fn permission_entries_match_the_route_permission() {
    let set = set(
        r#"{"name": "d", "key": "ip", "match": ["keys:decrypt"], "limit": 1, "window_seconds": 1}"#,
    );
    let decrypt = RequestFacts {
        permission: Some("keys:decrypt"),
        ..facts("POST", "/v1/keys/k/decrypt")
    };
    let encrypt = RequestFacts {
        permission: Some("keys:encrypt"),
        ..facts("POST", "/v1/keys/k/encrypt")
    };
    assert_eq!(set.matching(&decrypt).count(), 1);
    assert_eq!(set.matching(&encrypt).count(), 0);
    assert_eq!(
        set.matching(&facts("POST", "/v1/keys/k/decrypt")).count(),
        0,
        "no permission"
    );
}

#[test]
fn route_entries_match_at_a_segment_boundary() {
    let set = set(
        r#"{"name": "k", "key": "ip", "match": ["GET /v1/keys"], "limit": 1, "window_seconds": 1}"#,
    );
    assert_eq!(set.matching(&facts("GET", "/v1/keys")).count(), 1);
    assert_eq!(set.matching(&facts("GET", "/v1/keys/x")).count(), 1);
    assert_eq!(set.matching(&facts("GET", "/v1/keys/")).count(), 1);
    assert_eq!(set.matching(&facts("GET", "/v1/keysx")).count(), 0);
    assert_eq!(set.matching(&facts("GET", "/v1/key")).count(), 0);
    assert_eq!(set.matching(&facts("POST", "/v1/keys")).count(), 0);
    let root = RuleSet::parse_json(&with_rule(
        r#"{"name": "k", "key": "ip", "match": ["POST /"], "limit": 1, "window_seconds": 1}"#,
    ))
    .unwrap();
    assert_eq!(root.matching(&facts("POST", "/anything")).count(), 1);
}

#[test]
fn applies_to_selects_by_credential() {
    let set = set(
        r#"{"name": "any", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1},
           {"name": "auth", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1, "applies_to": "authenticated"},
           {"name": "anon", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1, "applies_to": "unauthenticated"},
           {"name": "who", "key": "principal", "match": ["*"], "limit": 1, "window_seconds": 1},
           {"name": "cred", "key": "credential", "match": ["*"], "limit": 1, "window_seconds": 1},
           {"name": "all", "key": "global", "match": ["*"], "limit": 1, "window_seconds": 1}"#,
    );
    let names = |f: &RequestFacts<'_>| set.matching(f).map(Rule::name).collect::<Vec<_>>();
    let anonymous = facts("GET", "/");
    assert_eq!(names(&anonymous), ["any", "anon", "all"]);
    let known = RequestFacts {
        authenticated: true,
        principal: Some(Uuid::from_u128(0x0192_f1a2_0000_7000_8000_0000_0000_0001)),
        credential: Some(Uuid::from_u128(0x0192_f1a2_0000_7000_8000_0000_0000_0002)),
        ..anonymous
    };
    assert_eq!(names(&known), ["any", "auth", "who", "cred", "all"]);
    let keys: Vec<String> = set.buckets(&known).map(|(_, k)| k.to_string()).collect();
    assert_eq!(
        keys,
        [
            "ip:203.0.113.9",
            "ip:203.0.113.9",
            "principal:0192f1a2-0000-7000-8000-000000000001",
            "credential:0192f1a2-0000-7000-8000-000000000002",
            "global"
        ]
    );
}

#[test]
fn a_caller_key_needs_an_authenticated_request() {
    let set = set(
        r#"{"name": "who", "key": "principal", "match": ["*"], "limit": 1, "window_seconds": 1}"#,
    );
    let rule = &set.rules()[0];
    let claimed = RequestFacts {
        principal: Some(Uuid::nil()),
        ..facts("GET", "/")
    };
    assert!(!rule.applies(&claimed));
    assert_eq!(rule.bucket_key(&claimed), None);
}

#[test]
fn address_buckets() {
    let key = |a: &str| BucketKey::for_address(a.parse::<IpAddr>().unwrap()).to_string();
    assert_eq!(key("203.0.113.9"), "ip:203.0.113.9");
    assert_eq!(key("::ffff:203.0.113.9"), "ip:203.0.113.9");
    assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
    assert_eq!(key("2001:db8:1:2::ffff"), key("2001:db8:1:2:aaaa::1"));
    assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    // `::/64` and IPv4 addresses never share a bucket.
    assert_eq!(key("::5"), "ip:::/64");
    assert_ne!(key("::5"), key("0.0.0.5"));
}

#[test]
fn subjects_name_the_same_buckets_as_their_text() {
    let addresses = [
        "203.0.113.9",
        "::ffff:203.0.113.9",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8:1:2:3:4:5:6",
        "2001:db8:1:2::ffff",
        "::1",
        "::",
        "ffff:ffff::1",
    ];
    for a in addresses {
        let address = a.parse::<IpAddr>().unwrap();
        for b in addresses {
            let other = b.parse::<IpAddr>().unwrap();
            assert_eq!(
                Subject::address(address) == Subject::address(other),
                BucketKey::for_address(address) == BucketKey::for_address(other),
                "{a} and {b}"
            );
        }
    }
    let facts = RequestFacts {
        authenticated: true,
        principal: Some(Uuid::from_u128(7)),
        credential: Some(Uuid::from_u128(7)),
        ..facts("GET", "/")
    };
    let principal = Subject::of(RuleKey::Principal, &facts).unwrap();
    let credential = Subject::of(RuleKey::Credential, &facts).unwrap();
    assert_ne!(
        principal, credential,
        "the same id under two kinds is two subjects"
    );
    assert_eq!(
        principal.bucket_key().as_str(),
        "principal:00000000-0000-0000-0000-000000000007"
    );
    assert_eq!(
        Subject::of(RuleKey::Global, &facts)
            .unwrap()
            .bucket_key()
            .as_str(),
        "global"
    );
}
