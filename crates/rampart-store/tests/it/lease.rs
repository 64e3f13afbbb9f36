//! Leases of background jobs, on both backends. Time is passed in, so expiry is tested without
//! sleeping.

use rampart_store::StoreError;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixture::Fixture;

on_both_backends!(
    contenders_for_a_free_lease_get_exactly_one_holder,
    the_holder_renews_and_keeps_the_lease,
    another_node_takes_over_only_after_expiry,
    release_lets_another_node_in_at_once,
    a_lease_needs_a_positive_ttl,
);

const JOB: &str = "key-rotation";
const TTL: Duration = Duration::seconds(10);
const T0: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

async fn migrated(f: &Fixture) {
    f.store.migrate().await.expect("migrates");
}

async fn contenders_for_a_free_lease_get_exactly_one_holder(f: Fixture) {
    migrated(&f).await;
    let mut attempts = tokio::task::JoinSet::new();
    for node in 0..8 {
        let store = f.store.clone();
        attempts.spawn(async move {
            let holder = format!("node-{node}");
            let won = store
                .try_acquire_lease(JOB, &holder, T0, TTL)
                .await
                .expect("acquire runs");
            (holder, won)
        });
    }
    let winners: Vec<String> = attempts
        .join_all()
        .await
        .into_iter()
        .filter_map(|(holder, won)| won.then_some(holder))
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    // The winner holds it: every other node is still refused, the winner renews.
    for node in 0..8 {
        let holder = format!("node-{node}");
        let holds = f
            .store
            .try_acquire_lease(JOB, &holder, T0 + Duration::seconds(1), TTL)
            .await
            .expect("acquire runs");
        assert_eq!(holds, winners.contains(&holder), "{holder}");
    }
    // Another job's lease is independent.
    assert!(
        f.store
            .try_acquire_lease("login-throttle-purge", "node-other", T0, TTL)
            .await
            .expect("acquire runs")
    );
}

async fn the_holder_renews_and_keeps_the_lease(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert!(s.try_acquire_lease(JOB, "a", T0, TTL).await.expect("runs"));
    // Renewed at T0+5s: now held until T0+15s.
    assert!(
        s.try_acquire_lease(JOB, "a", T0 + Duration::seconds(5), TTL)
            .await
            .expect("runs")
    );
    // Past the first deadline, within the renewed one: still a's.
    assert!(
        !s.try_acquire_lease(JOB, "b", T0 + Duration::seconds(12), TTL)
            .await
            .expect("runs")
    );
    assert!(
        s.try_acquire_lease(JOB, "a", T0 + Duration::seconds(14), TTL)
            .await
            .expect("runs")
    );
    assert!(
        !s.try_acquire_lease(JOB, "b", T0 + Duration::seconds(23), TTL)
            .await
            .expect("runs")
    );
}

async fn another_node_takes_over_only_after_expiry(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert!(s.try_acquire_lease(JOB, "a", T0, TTL).await.expect("runs"));
    let just_before = T0 + TTL - Duration::microseconds(1);
    assert!(
        !s.try_acquire_lease(JOB, "b", just_before, TTL)
            .await
            .expect("runs")
    );
    // At the deadline the lease has lapsed: b takes it over.
    assert!(
        s.try_acquire_lease(JOB, "b", T0 + TTL, TTL)
            .await
            .expect("runs")
    );
    // a, back late, does not get it back until b's lapses in turn.
    assert!(
        !s.try_acquire_lease(JOB, "a", T0 + TTL + Duration::seconds(1), TTL)
            .await
            .expect("runs")
    );
    assert!(
        s.try_acquire_lease(JOB, "a", T0 + TTL + TTL, TTL)
            .await
            .expect("runs")
    );
}

async fn release_lets_another_node_in_at_once(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert!(s.try_acquire_lease(JOB, "a", T0, TTL).await.expect("runs"));
    // Only the holder can release it.
    assert!(!s.release_lease(JOB, "b").await.expect("runs"));
    assert!(!s.try_acquire_lease(JOB, "b", T0, TTL).await.expect("runs"));
    assert!(s.release_lease(JOB, "a").await.expect("runs"));
    assert!(!s.release_lease(JOB, "a").await.expect("runs"));
    assert!(s.try_acquire_lease(JOB, "b", T0, TTL).await.expect("runs"));
    assert!(!s.try_acquire_lease(JOB, "a", T0, TTL).await.expect("runs"));
}

async fn a_lease_needs_a_positive_ttl(f: Fixture) {
    migrated(&f).await;
    for ttl in [Duration::ZERO, Duration::seconds(-1)] {
        assert!(matches!(
            f.store.try_acquire_lease(JOB, "a", T0, ttl).await,
            Err(StoreError::OutOfRange { what: "lease ttl" })
        ));
    }
    // Nothing was written: another node takes the lease at once.
    assert!(
        f.store
            .try_acquire_lease(JOB, "b", T0, TTL)
            .await
            .expect("runs")
    );
}
