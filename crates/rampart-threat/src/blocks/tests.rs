use std::net::IpAddr;

use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn defaults_are_api_md() {
    let s = BlockSettings::default();
    assert_eq!(
        (
            s.block_after_failures,
            s.block_window_seconds,
            s.block_seconds,
            s.block_exempt_seconds,
            s.block_loopback
        ),
        (20, 300, 3_600, 600, false)
    );
    assert_eq!(s.window(), Duration::minutes(5));
    assert_eq!(s.exemption(), Duration::minutes(10));
}

#[test]
fn blocks_at_the_threshold() {
    let s = BlockSettings::default();
    assert!(!should_block(19, &s));
    assert!(should_block(20, &s));
    assert!(should_block(21, &s));
    let off = BlockSettings {
        block_after_failures: 0,
        ..s
    };
    assert!(!should_block(1_000, &off));
}

#[test]
fn durations_double_up_to_a_day() {
    let s = BlockSettings::default();
    let hours: Vec<i64> = (0..7)
        .map(|n| block_duration(n, &s).whole_hours())
        .collect();
    assert_eq!(hours, [1, 2, 4, 8, 16, 24, 24]);
    assert_eq!(block_duration(u32::MAX, &s), MAX_BLOCK);
    let long = BlockSettings {
        block_seconds: 200_000,
        ..s
    };
    assert_eq!(block_duration(0, &long), MAX_BLOCK);
    let short = BlockSettings {
        block_seconds: 90,
        ..BlockSettings::default()
    };
    assert_eq!(block_duration(2, &short), Duration::seconds(360));
}

#[test]
fn loopback_proxies_and_exempt_addresses_are_not_auto_blocked() {
    let s = BlockSettings {
        trusted_proxies: vec!["10.0.0.0/24".parse().unwrap()],
        ..BlockSettings::default()
    };
    assert!(auto_block_allowed(ip("203.0.113.9"), &s, None, NOW));
    assert!(!auto_block_allowed(ip("127.0.0.1"), &s, None, NOW));
    assert!(!auto_block_allowed(ip("::1"), &s, None, NOW));
    assert!(!auto_block_allowed(ip("::ffff:127.0.0.2"), &s, None, NOW));
    assert!(!auto_block_allowed(ip("10.0.0.7"), &s, None, NOW));
    assert!(!auto_block_allowed(ip("::ffff:10.0.0.7"), &s, None, NOW));
    let loopback = BlockSettings {
        block_loopback: true,
        ..s.clone()
    };
    assert!(auto_block_allowed(ip("127.0.0.1"), &loopback, None, NOW));
    let until = NOW + Duration::minutes(10);
    assert!(!auto_block_allowed(ip("203.0.113.9"), &s, Some(until), NOW));
    assert!(auto_block_allowed(
        ip("203.0.113.9"),
        &s,
        Some(until),
        until
    ));
    assert!(auto_block_allowed(
        ip("203.0.113.9"),
        &s,
        Some(NOW - Duration::SECOND),
        NOW
    ));
}

#[test]
fn targets_read_addresses_and_networks() {
    let one: BlockTarget = "203.0.113.9".parse().unwrap();
    assert_eq!(one.to_string(), "203.0.113.9");
    assert_eq!(one, BlockTarget::address(ip("::ffff:203.0.113.9")));
    assert!(one.covers(ip("::ffff:203.0.113.9")));
    let net: BlockTarget = "198.51.100.0/24".parse().unwrap();
    assert_eq!(net.to_string(), "198.51.100.0/24");
    assert!(net.covers(ip("198.51.100.200")));
    assert!(!net.covers(ip("198.51.101.1")));
    assert_eq!(
        "2001:db8::/32".parse::<BlockTarget>().unwrap().to_string(),
        "2001:db8::/32"
    );
    for bad in [
        "",
        "x",
        "198.51.100.1/24",
        "198.51.100.0/33",
        "203.0.113.9 ",
    ] {
        assert_eq!(bad.parse::<BlockTarget>(), Err(BlockTargetError), "{bad:?}");
    }
}

#[test]
fn automatic_and_manual_blocks() {
    let s = BlockSettings::default();
    let block = Block::automatic(ip("203.0.113.9"), 20, 1, &s, NOW);
    assert_eq!(block.target.to_string(), "203.0.113.9");
    assert_eq!(block.expires_at, NOW + Duration::hours(2));
    assert_eq!((block.failures, block.manual), (20, false));
    assert_eq!(block.reason, "20 failures within 300 s");
    assert!(block.in_force(NOW));
    assert!(block.in_force(NOW + Duration::hours(2) - Duration::SECOND));
    assert!(!block.in_force(NOW + Duration::hours(2)));
    assert!(!block.in_force(NOW - Duration::SECOND));
    let manual = Block::manual(
        "10.0.0.0/8".parse().unwrap(),
        Duration::days(7),
        "abuse".into(),
        NOW,
    );
    assert!(manual.manual);
    assert_eq!(manual.failures, 0);
    assert_eq!(manual.expires_at, NOW + Duration::days(7));
}
