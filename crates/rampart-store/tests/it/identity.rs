//! Identity storage on both backends: login state, TOTP steps, sessions, API-key rotation and
//! usage, and the stored policy.

use rampart_access::{AccessStore, ApiKeyPepper, Principal, PrincipalKind};
use rampart_store::{PrincipalUpdate, SessionRecord};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixture::Fixture;

on_both_backends!(
    login_failures_lock_and_clear_atomically,
    totp_steps_are_claimed_once,
    sessions_end_on_revoke_and_on_disable,
    api_keys_rotate_and_count_use,
    the_policy_is_stored_with_a_version,
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
    }
}

async fn login_failures_lock_and_clear_atomically(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("alice");
    assert!(
        f.store
            .create_principal(&p, Some("$argon2id$x"))
            .await
            .expect("creates")
    );
    assert!(
        !f.store
            .create_principal(&principal("alice"), None)
            .await
            .expect("runs")
    );
    let until = OffsetDateTime::now_utc() + Duration::minutes(15);
    for n in 1..=2 {
        let (count, locked) = f
            .store
            .record_login_failure(p.id, 3, OffsetDateTime::now_utc(), until)
            .await
            .expect("counts");
        assert_eq!((count, locked), (n, None));
    }
    let (count, locked) = f
        .store
        .record_login_failure(p.id, 3, OffsetDateTime::now_utc(), until)
        .await
        .expect("counts");
    assert_eq!(count, 3);
    assert!(locked.is_some());
    let record = f
        .store
        .principal_by_name("alice")
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(record.failed_logins, 3);
    assert_eq!(record.password_hash.as_deref(), Some("$argon2id$x"));
    // Once the lock has run out, the next failure counts from one again.
    let later = until + Duration::seconds(1);
    let (count, locked) = f
        .store
        .record_login_failure(p.id, 3, later, later + Duration::minutes(15))
        .await
        .expect("counts");
    assert_eq!((count, locked), (1, None));
    assert!(f.store.clear_login_failures(p.id).await.expect("clears"));
    let record = f
        .store
        .principal(p.id)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!((record.failed_logins, record.locked_until), (0, None));
    assert!(
        !f.store
            .clear_login_failures(Uuid::now_v7())
            .await
            .expect("runs")
    );
}

async fn totp_steps_are_claimed_once(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let p = principal("bob");
    f.store.create_principal(&p, None).await.expect("creates");
    let sealed = rampart_crypto::SealedSecret::from_bytes(vec![1; 40]);
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
