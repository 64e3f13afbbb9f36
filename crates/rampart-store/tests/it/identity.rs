//! Identity storage on both backends: login throttles, TOTP steps, sessions, API-key rotation and
//! usage, and the stored policy.

use rampart_access::{AccessStore, ApiKeyPepper, Principal, PrincipalKind};
use rampart_store::{LoginLimits, LoginReservation, LoginSettle, PrincipalUpdate, SessionRecord};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixture::Fixture;

on_both_backends!(
    login_throttles_count_per_address_and_per_account,
    concurrent_reservations_never_exceed_the_limit,
    locks_in_force_survive_the_upgrade_to_login_throttles,
    totp_steps_are_claimed_once,
    sessions_end_on_revoke_and_on_disable,
    api_keys_rotate_and_count_use,
    the_policy_is_stored_with_a_version,
    changes_checked_against_a_principal_refuse_once_it_changed,
    principals_keep_their_data_subject_link,
);

fn principal(name: &str) -> Principal {
    Principal {
        id: Uuid::now_v7(),
        kind: PrincipalKind::User,
        name: name.to_owned(),
        email: None,
        roles: vec!["viewer".to_owned()],
        teams: vec!["payments".to_owned()],
        disabled: false,
        created_at: OffsetDateTime::now_utc(),
        subject_id: None,
        owner_id: None,
    }
}

const LIMITS: LoginLimits = LoginLimits {
    per_source: 3,
    per_account: 5,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// Reserves and fails one attempt; returns (granted, locked afterwards).
async fn fail_once(f: &Fixture, name: &str, source: &str, now: OffsetDateTime) -> (bool, bool) {
    let reservation = f
        .store
        .reserve_login_attempt(name, source, &LIMITS, now)
        .await
        .expect("reserves");
    if !reservation.granted() {
        f.store
            .settle_login_attempt(
                name,
                source,
                LoginSettle::Release {
                    source: !reservation.source_locked,
                    account: !reservation.account_locked,
                },
                &LIMITS,
                now,
            )
            .await
            .expect("releases");
        return (false, true);
    }
    let locked = f
        .store
        .settle_login_attempt(name, source, LoginSettle::Failed, &LIMITS, now)
        .await
        .expect("settles");
    (true, locked)
}

async fn login_throttles_count_per_address_and_per_account(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("Alice");
    assert!(
        f.store
            .create_principal(&p, Some("$argon2id$x"))
            .await
            .expect("creates")
    );
    assert!(
        !f.store
            .create_principal(&principal("Alice"), None)
            .await
            .expect("runs")
    );
    let now = OffsetDateTime::now_utc();
    // Three failures from one address lock that address only (names compare case-blind).
    assert_eq!(
        fail_once(&f, "alice", "192.0.2.1", now).await,
        (true, false)
    );
    assert_eq!(
        fail_once(&f, "ALICE", "192.0.2.1", now).await,
        (true, false)
    );
    assert_eq!(fail_once(&f, "Alice", "192.0.2.1", now).await, (true, true));
    assert_eq!(
        fail_once(&f, "Alice", "192.0.2.1", now).await,
        (false, true)
    );
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert!(record.locked_until.is_some_and(|u| u > now));
    // Another address still verifies; a success clears its own count and is not counted
    // against the account.
    let other = f
        .store
        .reserve_login_attempt("Alice", "2001:db8::/64", &LIMITS, now)
        .await
        .expect("reserves");
    assert!(other.granted());
    f.store
        .settle_login_attempt(
            "Alice",
            "2001:db8::/64",
            LoginSettle::Succeeded,
            &LIMITS,
            now,
        )
        .await
        .expect("settles");
    // Account: 3 failures so far, refused attempts were given back; 2 more from elsewhere lock it.
    assert_eq!(
        fail_once(&f, "Alice", "198.51.100.1", now).await,
        (true, false)
    );
    assert_eq!(
        fail_once(&f, "Alice", "198.51.100.2", now).await,
        (true, true)
    );
    let fresh = f
        .store
        .reserve_login_attempt("Alice", "198.51.100.3", &LIMITS, now)
        .await
        .expect("reserves");
    assert_eq!(
        fresh,
        LoginReservation {
            source_locked: false,
            account_locked: true
        }
    );
    // An unknown name behaves the same: same counts, same locks.
    for n in 1..=3 {
        assert_eq!(
            fail_once(&f, "nobody", "192.0.2.1", now).await,
            (true, n == 3)
        );
    }
    // Unlock lifts every lock of the name.
    f.store
        .clear_login_throttles("alice")
        .await
        .expect("clears");
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(record.locked_until, None);
    assert!(
        f.store
            .reserve_login_attempt("Alice", "192.0.2.1", &LIMITS, now)
            .await
            .expect("reserves")
            .granted()
    );
    // Failures count as long as each comes within the window of the one before.
    for (minutes, locked) in [(0, false), (10, false), (20, true)] {
        let at = now + Duration::minutes(minutes);
        assert_eq!(fail_once(&f, "erin", "192.0.2.9", at).await, (true, locked));
    }
    // After a window without attempts, counting starts again.
    let quiet = now + Duration::minutes(100);
    assert_eq!(
        fail_once(&f, "erin", "192.0.2.10", now).await,
        (true, false)
    );
    assert_eq!(
        fail_once(&f, "erin", "192.0.2.10", quiet).await,
        (true, false)
    );
    assert_eq!(
        fail_once(&f, "erin", "192.0.2.10", quiet).await,
        (true, false)
    );
    // Once a lock has run out, counting starts again from one.
    let later = now + Duration::minutes(16);
    assert_eq!(
        fail_once(&f, "nobody", "192.0.2.1", later).await,
        (true, false)
    );
    // Rows with nothing left to hold are purged; the lock of a name stays.
    let lock_time = later;
    for _ in 0..2 {
        fail_once(&f, "nobody", "192.0.2.1", lock_time).await;
    }
    let purged = f
        .store
        .purge_login_throttles(Duration::minutes(15), later + Duration::minutes(14))
        .await
        .expect("purges");
    assert!(purged >= 2, "{purged}");
    assert_eq!(
        fail_once(&f, "nobody", "192.0.2.1", later + Duration::minutes(14)).await,
        (false, true)
    );
}

async fn concurrent_reservations_never_exceed_the_limit(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let now = OffsetDateTime::now_utc();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .reserve_login_attempt("carol", "203.0.113.7", &LIMITS, now)
                .await
                .expect("reserves")
                .granted()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.expect("joins") {
            granted += 1;
        }
    }
    assert_eq!(granted, LIMITS.per_source);
}

async fn locks_in_force_survive_the_upgrade_to_login_throttles(f: Fixture) {
    // The schema as of version 5, with per-principal lock columns.
    let sql = |m: &rampart_store::Migration| match f.store.backend() {
        rampart_store::Backend::Sqlite => m.sqlite,
        rampart_store::Backend::Postgres => m.postgres,
    };
    let (before, upgrade) = rampart_store::MIGRATIONS.split_at(5);
    assert_eq!(upgrade[0].name, "login_throttle");
    for m in before {
        f.exec_raw(sql(m)).await;
    }
    let until = OffsetDateTime::now_utc() + Duration::minutes(10);
    let until = i64::try_from(until.unix_timestamp_nanos() / 1_000).expect("fits");
    f.exec_raw(&format!(
        "INSERT INTO principals (id, kind, name, email, roles, teams, disabled, created_at, failed_logins, locked_until)
         VALUES ('{}', 'user', 'Alice', NULL, '[]', '[]', FALSE, 0, 5, {until}),
                ('{}', 'user', 'alice', NULL, '[]', '[]', FALSE, 0, 5, {until}),
                ('{}', 'user', 'bob', NULL, '[]', '[]', FALSE, 0, 2, NULL)",
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7()
    ))
    .await;
    // The upgrade, and every migration after it (today's readers need today's columns).
    for m in upgrade {
        f.exec_raw(sql(m)).await;
    }
    let alice = f
        .store
        .principal_by_name("Alice")
        .await
        .expect("reads")
        .expect("exists");
    assert!(alice.locked_until.is_some());
    let now = OffsetDateTime::now_utc();
    let reservation = f
        .store
        .reserve_login_attempt("ALICE", "192.0.2.1", &LIMITS, now)
        .await
        .expect("reserves");
    assert!(reservation.account_locked);
    assert!(
        f.store
            .reserve_login_attempt("bob", "192.0.2.1", &LIMITS, now)
            .await
            .expect("reserves")
            .granted()
    );
}

async fn totp_steps_are_claimed_once(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("bob");
    f.store.create_principal(&p, None).await.expect("creates");
    let sealed = rampart_access::SealedBytes::from_bytes(vec![1; 40]);
    f.store
        .set_totp_pending(p.id, &sealed)
        .await
        .expect("stores");
    f.store.set_totp_enabled(p.id, true).await.expect("enables");
    assert!(f.store.claim_totp_step(p.id, 100).await.expect("claims"));
    assert!(
        !f.store.claim_totp_step(p.id, 100).await.expect("runs"),
        "replay"
    );
    assert!(
        !f.store.claim_totp_step(p.id, 99).await.expect("runs"),
        "older step"
    );
    assert!(f.store.claim_totp_step(p.id, 101).await.expect("claims"));
    // The master key's rotation re-seals what is stored, unless it changed meanwhile.
    let stored = f.store.totp_secrets().await.expect("reads");
    assert_eq!(stored.len(), 1);
    let old = stored[0].clone();
    assert_eq!(
        (old.id, old.sealed.is_none()),
        (p.id, true),
        "only one pending"
    );
    let new = rampart_store::SealedTotp {
        pending: Some(vec![2; 40]),
        ..old.clone()
    };
    assert!(f.store.reseal_totp(&old, &new).await.expect("re-seals"));
    assert!(
        !f.store.reseal_totp(&old, &new).await.expect("runs"),
        "a stale view changes nothing"
    );
    assert_eq!(f.store.totp_secrets().await.expect("reads"), vec![new]);
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert!(record.totp_enabled);
    assert_eq!(record.totp_last_step, Some(101));
    f.store
        .set_totp_enabled(p.id, false)
        .await
        .expect("disables");
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert!(!record.totp_enabled && record.totp_sealed.is_none() && record.totp_pending.is_none());
}

async fn sessions_end_on_revoke_and_on_disable(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("carol");
    f.store.create_principal(&p, None).await.expect("creates");
    let now = OffsetDateTime::now_utc();
    let session = |id| SessionRecord {
        id,
        principal_id: p.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(1),
        revoked_at: None,
        enrollment_only: false,
        second_factor: false,
    };
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    f.store
        .insert_session(&session(a), Some("192.0.2.1"), Some("ua"))
        .await
        .expect("stores");
    f.store
        .insert_session(&session(b), None, None)
        .await
        .expect("stores");
    assert!(f.store.revoke_session(a, now).await.expect("revokes"));
    assert!(!f.store.revoke_session(a, now).await.expect("runs"));
    let update = PrincipalUpdate {
        disabled: Some(true),
        ..PrincipalUpdate::default()
    };
    assert!(
        f.store
            .update_principal(p.id, &update, now)
            .await
            .expect("updates")
    );
    let (record, principal) = f.store.session(b).await.expect("reads").expect("exists");
    assert!(
        record.revoked_at.is_some(),
        "disabling revokes every session"
    );
    assert!(principal.disabled);
    f.store
        .touch_session(b, now + Duration::minutes(5))
        .await
        .expect("touches");
    assert!(
        f.store
            .session(Uuid::now_v7())
            .await
            .expect("runs")
            .is_none()
    );
}

async fn api_keys_rotate_and_count_use(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("dave");
    f.store.create_principal(&p, None).await.expect("creates");
    let pepper = ApiKeyPepper::new([5; 32]);
    let now = OffsetDateTime::now_utc();
    let (_, mut old) = pepper
        .issue(p.id, "ci", Some(vec!["audit:read".into()]), None, now)
        .expect("issues");
    old.allowed_ips = Some(vec!["10.0.0.0/8".parse().expect("cidr")]);
    f.store.insert_api_key(&old).await.expect("stores");
    let (_, mut new) = pepper
        .issue(p.id, "ci", old.scopes.clone(), None, now)
        .expect("issues");
    new.rotated_from = Some(old.id);
    let grace_end = now + Duration::seconds(30);
    assert!(
        f.store
            .rotate_api_key(old.id, &new, grace_end)
            .await
            .expect("rotates")
    );
    let (stored_old, _) = f
        .store
        .api_key(old.id)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(stored_old.allowed_ips, old.allowed_ips);
    assert!(
        stored_old
            .expires_at
            .is_some_and(|at| (at - grace_end).abs() < Duration::milliseconds(1))
    );
    f.store
        .add_api_key_usage(&[(new.id, 3, now), (new.id, 2, now + Duration::seconds(1))])
        .await
        .expect("counts");
    let (stored_new, _) = f
        .store
        .api_key(new.id)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(stored_new.usage_count, 5);
    assert_eq!(stored_new.rotated_from, Some(old.id));
    let (_, third) = pepper.issue(p.id, "ci", None, None, now).expect("issues");
    assert!(
        !f.store
            .rotate_api_key(old.id, &third, now)
            .await
            .expect("runs"),
        "a key has one successor"
    );
    assert!(f.store.revoke_api_key(old.id, now).await.expect("revokes"));
    assert!(
        !f.store
            .rotate_api_key(old.id, &new, now)
            .await
            .expect("runs"),
        "revoked keys do not rotate"
    );
    let listed = f
        .store
        .list_api_keys(Some(p.id), None, 10)
        .await
        .expect("lists");
    assert_eq!(listed.len(), 2);
    assert!(
        f.store
            .list_api_keys(Some(Uuid::now_v7()), None, 10)
            .await
            .expect("lists")
            .is_empty()
    );
}

async fn the_policy_is_stored_with_a_version(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    assert_eq!(f.store.access_policy().await.expect("reads"), None);
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        f.store
            .store_access_policy("{\"roles\":{}}", now)
            .await
            .expect("stores"),
        1
    );
    assert_eq!(
        f.store
            .store_access_policy("{\"roles\":{\"a\":{}}}", now)
            .await
            .expect("stores"),
        2
    );
    assert_eq!(
        f.store.access_policy().await.expect("reads"),
        Some(("{\"roles\":{\"a\":{}}}".to_owned(), 2))
    );
}

/// A change authorized against a principal's roles and teams is refused once they changed (a
/// concurrent promotion), and no key is made for a principal disabled meanwhile.
async fn changes_checked_against_a_principal_refuse_once_it_changed(f: Fixture) {
    use rampart_store::{StoreChange, StoreError};
    f.store.migrate().await.expect("migrates");
    let p = principal("dora");
    f.store.create_principal(&p, None).await.expect("creates");
    let now = OffsetDateTime::now_utc();
    let disable = |seen: (Vec<String>, Vec<String>)| {
        StoreChange::from(rampart_access::IdentityChange::UpdatePrincipal {
            id: p.id,
            update: PrincipalUpdate {
                disabled: Some(true),
                ..PrincipalUpdate::default()
            },
            now,
            seen: Some(seen),
        })
    };
    // Promoted meanwhile: the disable checked against "viewer" does not apply.
    let promote = PrincipalUpdate {
        roles: Some(vec!["admin".into()]),
        ..PrincipalUpdate::default()
    };
    assert!(
        f.store
            .update_principal(p.id, &promote, now)
            .await
            .expect("updates")
    );
    let stale = disable((p.roles.clone(), p.teams.clone()));
    assert!(!f.store.apply(&stale).await.expect("runs"));
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert!(!record.principal.disabled);
    let fresh = disable((vec!["admin".into()], p.teams.clone()));
    assert!(f.store.apply(&fresh).await.expect("runs"));
    // Disabled: no key is made for it.
    let pepper = ApiKeyPepper::new([3; 32]);
    let (_, record) = pepper.issue(p.id, "late", None, None, now).expect("issues");
    let refused = f.store.insert_api_key(&record).await;
    assert!(
        matches!(refused, Err(StoreError::Refused(_))),
        "{refused:?}"
    );
}

/// Issue 17: a principal's `subject_id` is stored when it is created, read by every reader (by
/// id, by name, listed, beside an API key), set, left alone and removed by updates.
async fn principals_keep_their_data_subject_link(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let now = OffsetDateTime::now_utc();
    let linked = Principal {
        subject_id: Some("cust-1".to_owned()),
        ..principal("linked")
    };
    f.store.insert_principal(&linked).await.expect("stores");
    let plain = principal("plain");
    f.store.insert_principal(&plain).await.expect("stores");
    let subject_of = |id: Uuid| {
        let store = f.store.clone();
        async move {
            store
                .principal(id)
                .await
                .expect("reads")
                .expect("exists")
                .principal
                .subject_id
        }
    };
    assert_eq!(subject_of(linked.id).await.as_deref(), Some("cust-1"));
    assert_eq!(subject_of(plain.id).await, None);
    let by_name = f.store.principal_by_name("linked").await.expect("reads");
    assert_eq!(
        by_name.expect("exists").principal.subject_id.as_deref(),
        Some("cust-1")
    );
    let listed = f.store.list_principals(None, 10).await.expect("lists");
    let subjects: Vec<_> = listed
        .iter()
        .map(|r| (r.principal.name.as_str(), r.principal.subject_id.as_deref()))
        .collect();
    assert!(
        subjects.contains(&("linked", Some("cust-1"))),
        "{subjects:?}"
    );
    assert!(subjects.contains(&("plain", None)), "{subjects:?}");
    let pepper = ApiKeyPepper::new([7; 32]);
    let (key, record) = pepper
        .issue(linked.id, "ci", None, None, now)
        .expect("issues");
    f.store.insert_api_key(&record).await.expect("stores");
    let (_, holder) = f
        .store
        .find_api_key(&pepper.hash(&key))
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(holder.subject_id.as_deref(), Some("cust-1"));

    let update = |subject_id: Option<Option<&str>>| PrincipalUpdate {
        subject_id: subject_id.map(|s| s.map(str::to_owned)),
        ..PrincipalUpdate::default()
    };
    assert!(
        f.store
            .update_principal(plain.id, &update(Some(Some("cust-2"))), now)
            .await
            .expect("updates")
    );
    assert_eq!(subject_of(plain.id).await.as_deref(), Some("cust-2"));
    // An update that does not name the link leaves it alone.
    let promote = PrincipalUpdate {
        roles: Some(vec!["operator".to_owned()]),
        ..PrincipalUpdate::default()
    };
    assert!(
        f.store
            .update_principal(plain.id, &promote, now)
            .await
            .expect("updates")
    );
    assert_eq!(subject_of(plain.id).await.as_deref(), Some("cust-2"));
    assert!(
        f.store
            .update_principal(plain.id, &update(Some(None)), now)
            .await
            .expect("updates")
    );
    assert_eq!(subject_of(plain.id).await, None);
    assert_eq!(subject_of(linked.id).await.as_deref(), Some("cust-1"));
}
