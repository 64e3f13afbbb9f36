use std::net::IpAddr;

use proptest::prelude::*;

use super::*;

fn rules(text: &str) -> AddressRules {
    AddressRules::parse_json(text).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn no_rules_allow_everyone() {
    let none = rules("{}");
    assert!(none.is_empty());
    assert_eq!(none.verdict(ip("198.51.100.7")), AddressVerdict::Allowed);
}

#[test]
fn deny_wins_over_allow() {
    let r = rules(r#"{"allow": ["10.0.0.0/8"], "deny": ["10.1.0.0/16", "192.0.2.5"]}"#);
    assert_eq!(r.verdict(ip("10.2.3.4")), AddressVerdict::Allowed);
    assert_eq!(r.verdict(ip("10.1.3.4")), AddressVerdict::Denied);
    assert_eq!(r.verdict(ip("192.0.2.5")), AddressVerdict::Denied);
}

#[test]
fn a_non_empty_allow_list_denies_the_rest() {
    let r = rules(r#"{"allow": ["10.0.0.0/8", "2001:db8::/32"]}"#);
    assert_eq!(r.verdict(ip("11.0.0.1")), AddressVerdict::Denied);
    assert_eq!(r.verdict(ip("2001:db8::1")), AddressVerdict::Allowed);
    assert_eq!(r.verdict(ip("2001:db9::1")), AddressVerdict::Denied);
    let deny_only = rules(r#"{"deny": ["198.51.100.0/24"]}"#);
    assert_eq!(
        deny_only.verdict(ip("198.51.101.1")),
        AddressVerdict::Allowed
    );
    assert_eq!(
        deny_only.verdict(ip("198.51.100.1")),
        AddressVerdict::Denied
    );
}

#[test]
fn mapped_addresses_are_their_ipv4_form() {
    let r = rules(r#"{"deny": ["203.0.113.0/24"]}"#);
    assert_eq!(r.verdict(ip("::ffff:203.0.113.9")), AddressVerdict::Denied);
    let mapped = rules(r#"{"deny": ["::ffff:203.0.113.0/120", "::ffff:192.0.2.1"]}"#);
    assert_eq!(
        mapped.deny(),
        rules(r#"{"deny": ["203.0.113.0/24", "192.0.2.1"]}"#).deny()
    );
    assert_eq!(mapped.verdict(ip("203.0.113.200")), AddressVerdict::Denied);
    assert_eq!(mapped.verdict(ip("192.0.2.1")), AddressVerdict::Denied);
}

#[test]
fn the_document_is_canonical_and_reads_back() {
    let r =
        rules(r#"{"allow": ["10.0.0.0/8", "192.0.2.1/32", "::ffff:198.51.100.1"], "deny": []}"#);
    let document = r.to_document();
    assert_eq!(document.allow, ["10.0.0.0/8", "192.0.2.1", "198.51.100.1"]);
    assert_eq!(AddressRules::parse_json(&r.to_json()).unwrap(), r);
}

#[test]
fn each_bad_entry_is_named() {
    let Err(Invalid::Fields(errors)) = AddressRules::parse_json(
        r#"{"allow": ["10.0.0.0/8", "ten", "10.0.0.1/8", "10.0.0.0/33"], "deny": ["", "192.0.2.1", "192.0.2.1/32"]}"#,
    ) else {
        panic!("refused")
    };
    let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let bad = "not an address or CIDR (a network's host bits must be zero)";
    assert_eq!(
        found,
        [
            format!("allow[1]: {bad}"),
            format!("allow[2]: {bad}"),
            format!("allow[3]: {bad}"),
            format!("deny[0]: {bad}"),
            "deny[2]: duplicate of deny[1]".to_owned(),
        ]
    );
}

#[test]
fn lists_are_bounded_and_shapes_checked() {
    let many: Vec<String> = (0..=MAX_ADDRESS_ENTRIES)
        .map(|i| format!("\"10.{}.{}.1\"", i / 256, i % 256))
        .collect();
    let Err(Invalid::Fields(errors)) =
        AddressRules::parse_json(&format!(r#"{{"deny": [{}]}}"#, many.join(",")))
    else {
        panic!("refused")
    };
    assert_eq!(errors[0].to_string(), "deny: at most 10000 entries");
    let unknown = AddressRules::parse_json(r#"{"allow": [], "block": []}"#).unwrap_err();
    assert!(
        matches!(&unknown, Invalid::Unreadable { path, .. } if path == "block"),
        "{unknown:?}"
    );
    let not_list = AddressRules::parse_json(r#"{"allow": "10.0.0.0/8"}"#).unwrap_err();
    assert!(
        matches!(&not_list, Invalid::Unreadable { path, .. } if path == "allow"),
        "{not_list:?}"
    );
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<u32>().prop_map(|n| IpAddr::from(n.to_be_bytes()))
}

fn net() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(n, len)| IpNet::V4(Ipv4Net::new(n.to_be_bytes().into(), len).unwrap().trunc()))
}

proptest! {
    /// An address a `deny` entry holds is denied, whatever `allow` holds; one no `deny` entry
    /// holds is allowed exactly when `allow` is empty or holds it; the IPv4-mapped form gets
    /// the same verdict.
    #[test]
    fn deny_always_wins(
        allow in proptest::collection::vec(net(), 0..6),
        deny in proptest::collection::vec(net(), 0..6),
        address in v4(),
    ) {
        let rules = AddressRules { allow: allow.clone(), deny: deny.clone() };
        let verdict = rules.verdict(address);
        let denied = deny.iter().any(|n| n.contains(&address));
        let allowed = allow.is_empty() || allow.iter().any(|n| n.contains(&address));
        prop_assert_eq!(verdict == AddressVerdict::Denied, denied || !allowed);
        if denied {
            prop_assert_eq!(verdict, AddressVerdict::Denied);
        }
        let IpAddr::V4(v4) = address else { unreachable!() };
        prop_assert_eq!(rules.verdict(IpAddr::V6(v4.to_ipv6_mapped())), verdict);
    }
}
