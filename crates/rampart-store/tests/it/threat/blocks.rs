//! Blocks on both backends: listing, expiry, networks covering addresses, removal, lifts with
//! their exemptions, the history of repeats, and purging.

use rampart_threat::{Block, BlockSettings, BlockTarget, BucketKey, ThreatStore};
use time::Duration;

use super::{T0, ip, migrated};
use crate::fixture::Fixture;

on_both_backends!(
    blocks_in_force_are_listed_soonest_to_expire_first,
    active_block_covers_addresses_and_networks,
    delete_removes_exactly_its_target,
    a_lift_clears_failures_and_exempts,
    a_network_lift_clears_the_failures_it_covers,
    blocks_since_counts_automatic_blocks_only,
    purge_deletes_only_what_no_longer_matters,
);

fn target(text: &str) -> BlockTarget {
    text.parse().expect("a target")
}

/// The automatic block of `address` at `at` (one hour: the default).
fn automatic(address: &str, at: time::OffsetDateTime) -> Block {
    Block::automatic(ip(address), 20, 0, &BlockSettings::default(), at)
}

fn manual(text: &str, length: Duration, at: time::OffsetDateTime) -> Block {
    Block::manual(target(text), length, "by hand".to_owned(), at)
}

async fn blocks_in_force_are_listed_soonest_to_expire_first(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let address = automatic("203.0.113.9", T0);
    let network = manual("198.51.100.0/24", Duration::minutes(10), T0);
    let later = manual("192.0.2.1", Duration::hours(2), T0 + Duration::hours(1));
    for block in [&address, &network, &later] {
        s.insert_block(block).await.expect("stores");
    }
    assert_eq!(
        s.list_blocks(T0, 100).await.expect("lists"),
        [network.clone(), address.clone()]
    );
    assert_eq!(s.list_blocks(T0, 1).await.expect("lists"), [network]);
    assert_eq!(
        s.list_blocks(T0 + Duration::minutes(10), 100)
            .await
            .expect("lists"),
        [address]
    );
    assert_eq!(
        s.list_blocks(T0 + Duration::hours(1), 100)
            .await
            .expect("lists"),
        [later]
    );
    assert!(
        s.list_blocks(T0 + Duration::hours(3), 100)
            .await
            .expect("lists")
            .is_empty()
    );

    // A block of the same target replaces the stored one.
    let longer = Block::automatic(
        ip("203.0.113.9"),
        25,
        1,
        &BlockSettings::default(),
        T0 + Duration::minutes(5),
    );
    s.insert_block(&longer).await.expect("stores");
    let listed = s
        .list_blocks(T0 + Duration::minutes(30), 100)
        .await
        .expect("lists");
    assert_eq!(longer.expires_at, T0 + Duration::minutes(125));
    assert_eq!(listed, [longer]);
    assert_eq!(listed[0].failures, 25);
    assert!(!listed[0].manual);
}

async fn active_block_covers_addresses_and_networks(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let own = automatic("203.0.113.9", T0);
    let v4_net = manual("198.51.100.0/24", Duration::minutes(10), T0);
    let v6_net = manual("2001:db8::/32", Duration::hours(2), T0);
    for block in [&own, &v4_net, &v6_net] {
        s.insert_block(block).await.expect("stores");
    }
    let active = |address: &'static str, minutes: i64| async move {
        s.active_block(ip(address), T0 + Duration::minutes(minutes))
            .await
            .expect("reads")
    };
    assert_eq!(active("203.0.113.9", 0).await, Some(own.clone()));
    assert_eq!(active("::ffff:203.0.113.9", 59).await, Some(own.clone()));
    assert_eq!(active("203.0.113.10", 0).await, None);
    assert_eq!(active("198.51.100.7", 9).await, Some(v4_net.clone()));
    assert_eq!(active("::ffff:198.51.100.7", 9).await, Some(v4_net.clone()));
    assert_eq!(active("198.51.101.7", 0).await, None);
    assert_eq!(active("2001:db8:1::5", 0).await, Some(v6_net.clone()));
    assert_eq!(active("2001:db9::5", 0).await, None);
    // Expired: at `expires_at` a block no longer holds; before `blocked_at` not yet.
    assert_eq!(active("198.51.100.7", 10).await, None);
    assert_eq!(active("203.0.113.9", 60).await, None);
    assert_eq!(active("203.0.113.9", -1).await, None);

    // Several cover an address: the one ending last answers.
    let own_in_net = manual("198.51.100.7", Duration::minutes(5), T0);
    s.insert_block(&own_in_net).await.expect("stores");
    assert_eq!(active("198.51.100.7", 1).await, Some(v4_net.clone()));
    let wide = manual("198.51.0.0/16", Duration::minutes(30), T0);
    s.insert_block(&wide).await.expect("stores");
    assert_eq!(active("198.51.100.7", 1).await, Some(wide.clone()));
    assert_eq!(active("198.51.100.7", 20).await, Some(wide));
}

async fn delete_removes_exactly_its_target(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let network = manual("198.51.100.0/24", Duration::minutes(10), T0);
    s.insert_block(&network).await.expect("stores");
    assert_eq!(
        s.delete_block(&target("198.51.100.7"))
            .await
            .expect("deletes"),
        None
    );
    assert_eq!(
        s.active_block(ip("198.51.100.7"), T0).await.expect("reads"),
        Some(network.clone())
    );
    assert_eq!(
        s.delete_block(&target("198.51.100.0/24"))
            .await
            .expect("deletes"),
        Some(network)
    );
    assert_eq!(
        s.active_block(ip("198.51.100.7"), T0).await.expect("reads"),
        None
    );
    assert_eq!(
        s.delete_block(&target("198.51.100.0/24"))
            .await
            .expect("deletes"),
        None
    );
    // An expired block is still removed (and returned); a delete records no exemption.
    let old = automatic("203.0.113.9", T0 - Duration::hours(5));
    s.insert_block(&old).await.expect("stores");
    assert_eq!(
        s.delete_block(&target("203.0.113.9"))
            .await
            .expect("deletes"),
        Some(old)
    );
    assert_eq!(
        s.exempt_until(ip("203.0.113.9")).await.expect("reads"),
        None
    );
}

async fn a_lift_clears_failures_and_exempts(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let address = ip("203.0.113.9");
    let window = Duration::seconds(300);
    for i in 0..5 {
        s.record_failure(address, window, T0 + Duration::seconds(i))
            .await
            .expect("records");
    }
    let block = automatic("203.0.113.9", T0 + Duration::seconds(5));
    s.insert_block(&block).await.expect("stores");
    assert_eq!(s.exempt_until(address).await.expect("reads"), None);

    let until = T0 + Duration::minutes(10);
    let lifted = s
        .lift_block(&target("203.0.113.9"), until)
        .await
        .expect("lifts");
    assert_eq!(lifted, Some(block));
    let now = T0 + Duration::seconds(6);
    assert_eq!(s.active_block(address, now).await.expect("reads"), None);
    assert_eq!(s.exempt_until(address).await.expect("reads"), Some(until));
    assert_eq!(
        s.exempt_until(ip("::ffff:203.0.113.9"))
            .await
            .expect("reads"),
        Some(until)
    );
    assert_eq!(
        s.exempt_until(ip("203.0.113.10")).await.expect("reads"),
        None
    );
    // The failures before the lift are forgotten.
    assert_eq!(
        s.record_failure(address, window, now)
            .await
            .expect("records"),
        1
    );

    // Lifting what is not blocked still records the exemption; a later lift replaces it.
    let other = ip("192.0.2.1");
    let first = T0 + Duration::minutes(3);
    assert_eq!(
        s.lift_block(&target("192.0.2.1"), first)
            .await
            .expect("lifts"),
        None
    );
    assert_eq!(s.exempt_until(other).await.expect("reads"), Some(first));
    let second = T0 + Duration::minutes(20);
    s.lift_block(&target("192.0.2.1"), second)
        .await
        .expect("lifts");
    assert_eq!(s.exempt_until(other).await.expect("reads"), Some(second));
}

async fn a_network_lift_clears_the_failures_it_covers(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let window = Duration::seconds(300);
    let inside = ip("198.51.100.7");
    let outside = ip("198.51.101.7");
    for address in [inside, outside, inside] {
        s.record_failure(address, window, T0)
            .await
            .expect("records");
    }
    let network = manual("198.51.100.0/24", Duration::hours(1), T0);
    s.insert_block(&network).await.expect("stores");
    let until = T0 + Duration::minutes(10);
    assert_eq!(
        s.lift_block(&network.target, until).await.expect("lifts"),
        Some(network)
    );
    assert_eq!(s.active_block(inside, T0).await.expect("reads"), None);
    // The network's exemption covers its addresses, and only those.
    assert_eq!(s.exempt_until(inside).await.expect("reads"), Some(until));
    assert_eq!(s.exempt_until(outside).await.expect("reads"), None);
    // Both spellings of a covered address are exempt, and the later exemption answers.
    let later = T0 + Duration::minutes(30);
    s.lift_block(&target("198.51.100.7"), later)
        .await
        .expect("lifts");
    assert_eq!(
        s.exempt_until(ip("::ffff:198.51.100.7"))
            .await
            .expect("reads"),
        Some(later)
    );
    assert_eq!(
        s.exempt_until(ip("198.51.100.8")).await.expect("reads"),
        Some(until)
    );
    let now = T0 + Duration::seconds(1);
    assert_eq!(
        s.record_failure(inside, window, now)
            .await
            .expect("records"),
        1
    );
    assert_eq!(
        s.record_failure(outside, window, now)
            .await
            .expect("records"),
        2
    );
}

async fn blocks_since_counts_automatic_blocks_only(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let address = ip("203.0.113.9");
    s.insert_block(&automatic("203.0.113.9", T0))
        .await
        .expect("stores");
    s.insert_block(&automatic("203.0.113.9", T0 + Duration::hours(2)))
        .await
        .expect("stores");
    s.insert_block(&manual(
        "203.0.113.9",
        Duration::hours(1),
        T0 + Duration::hours(3),
    ))
    .await
    .expect("stores");
    s.insert_block(&automatic("203.0.113.10", T0))
        .await
        .expect("stores");
    // Lifted and deleted blocks still count: the history keeps them.
    s.lift_block(&target("203.0.113.9"), T0 + Duration::hours(4))
        .await
        .expect("lifts");
    let since = |at| async move { s.blocks_since(address, at).await.expect("counts") };
    assert_eq!(since(T0 - Duration::hours(1)).await, 2);
    assert_eq!(since(T0).await, 2);
    assert_eq!(since(T0 + Duration::seconds(1)).await, 1);
    assert_eq!(since(T0 + Duration::hours(2)).await, 1);
    assert_eq!(since(T0 + Duration::hours(3)).await, 0);
    assert_eq!(
        s.blocks_since(ip("::ffff:203.0.113.9"), T0)
            .await
            .expect("counts"),
        2
    );
    assert_eq!(
        s.blocks_since(ip("203.0.113.11"), T0)
            .await
            .expect("counts"),
        0
    );
}

async fn purge_deletes_only_what_no_longer_matters(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let address = ip("203.0.113.9");
    let window = Duration::hours(2);
    let recent = T0 + Duration::hours(23);
    let key = BucketKey::for_address(address);
    // Old: a failure, a shared window, a block (with its history) and an exemption.
    s.record_failure(address, window, T0)
        .await
        .expect("records");
    s.shared_hit("decrypt", &key, 60, 1, T0)
        .await
        .expect("counts");
    s.insert_block(&automatic("192.0.2.1", T0))
        .await
        .expect("stores");
    s.lift_block(&target("192.0.2.2"), T0 + Duration::minutes(10))
        .await
        .expect("lifts");
    // Recent: the same kinds, still in use a day after T0.
    s.record_failure(address, window, recent)
        .await
        .expect("records");
    assert!(
        s.shared_hit("export", &key, 60, 1, recent)
            .await
            .expect("counts")
            .decision
            .allowed
    );
    let kept = manual("203.0.113.9", Duration::hours(2), recent);
    s.insert_block(&kept).await.expect("stores");
    s.lift_block(&target("192.0.2.3"), T0 + Duration::hours(25))
        .await
        .expect("lifts");

    let now = T0 + Duration::hours(24) + Duration::seconds(1);
    assert_eq!(s.purge(now).await.expect("purges"), 5);
    assert_eq!(s.purge(now).await.expect("purges"), 0);

    assert_eq!(
        s.record_failure(address, window, now)
            .await
            .expect("records"),
        2
    );
    assert!(
        !s.shared_hit("export", &key, 60, 1, recent + Duration::seconds(30))
            .await
            .expect("counts")
            .decision
            .allowed
    );
    assert_eq!(
        s.active_block(address, now).await.expect("reads"),
        Some(kept)
    );
    assert_eq!(
        s.blocks_since(ip("192.0.2.1"), T0).await.expect("counts"),
        0
    );
    assert_eq!(s.exempt_until(ip("192.0.2.2")).await.expect("reads"), None);
    assert_eq!(
        s.exempt_until(ip("192.0.2.3")).await.expect("reads"),
        Some(T0 + Duration::hours(25))
    );
}
