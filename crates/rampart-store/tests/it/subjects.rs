//! Data subjects' storage on both backends: subject keys (one live key per subject whatever
//! the race, resealed by compare-and-set, destroyed for good), the consent ledger and the
//! subjects holding a consent, and the triggers that keep both append-only. Erasures are in
//! `subjects/erasure.rs`.

use rampart_crypto::SealedSecret;
use rampart_store::Backend;
use rampart_subjects::{
    ConsentFilter, ConsentHolder, ErasureId, NewConsent, StoredSubjectKey, SubjectKeyId,
    SubjectLookup, SubjectStore,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixture::Fixture;

mod erasure;

on_both_backends!(
    subject_keys_are_stored_found_and_kept_first,
    two_nodes_inserting_one_subjects_key_share_the_winner,
    resealing_is_compare_and_set,
    destroyed_keys_stay_destroyed,
    consents_are_a_ledger_in_order,
    consent_holders_are_the_latest_records,
    subject_tables_refuse_changes_behind_the_store,
);

pub(crate) const T0: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

pub(crate) async fn migrated(f: &Fixture) {
    f.store.migrate().await.expect("migrates");
}

pub(crate) fn lookup(n: u8) -> SubjectLookup {
    let mut bytes = [n; 32];
    bytes[31] = 0xa5;
    SubjectLookup(bytes)
}

/// A new key as the app layer makes it: the sealed form is opaque bytes (zeros included).
pub(crate) fn new_key(lookup: SubjectLookup, sealed: &[u8], minutes: i64) -> StoredSubjectKey {
    StoredSubjectKey {
        id: SubjectKeyId::generate(),
        lookup: Some(lookup),
        sealed: Some(SealedSecret::from_bytes(sealed.to_vec())),
        created_at: T0 + Duration::minutes(minutes),
        destroyed_at: None,
        erasure_id: None,
    }
}

pub(crate) fn consent(purpose: &str, given: bool, source: Option<&str>) -> NewConsent {
    NewConsent {
        purpose: purpose.to_owned(),
        given,
        source: source.map(str::to_owned),
        policy_version: Some("2026-05".to_owned()),
    }
}

async fn subject_keys_are_stored_found_and_kept_first(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let a = new_key(lookup(1), &[0, 1, 0xff, 0], 0);
    let b = new_key(lookup(2), b"sealed-b", 1);
    s.insert_subject_keys(&[a.clone(), b.clone()])
        .await
        .expect("stores");
    s.insert_subject_keys(&[]).await.expect("nothing to store");
    let mut live = s
        .live_subject_keys(&[lookup(1), lookup(2), lookup(3)])
        .await
        .expect("reads");
    live.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(live, vec![a.clone(), b.clone()]);
    assert_eq!(s.subject_key(&a.id).await.expect("reads"), Some(a.clone()));
    assert_eq!(
        s.subject_key(&SubjectKeyId::generate())
            .await
            .expect("reads"),
        None
    );
    // A second key for subject 1 is not stored: the first stays.
    let late = new_key(lookup(1), b"late", 2);
    s.insert_subject_keys(std::slice::from_ref(&late))
        .await
        .expect("ok");
    assert_eq!(
        s.live_subject_keys(&[lookup(1)]).await.expect("reads"),
        vec![a.clone()]
    );
    assert_eq!(s.subject_key(&late.id).await.expect("reads"), None);
    assert_eq!(
        s.sealed_subject_keys().await.expect("reads"),
        vec![
            (a.id.clone(), a.sealed.clone().expect("sealed")),
            (b.id.clone(), b.sealed.clone().expect("sealed")),
        ]
    );
    // A key without its lookup or sealed form is not a new key.
    let mut broken = new_key(lookup(4), b"x", 3);
    broken.sealed = None;
    assert!(s.insert_subject_keys(&[broken]).await.is_err());
    // Many subjects at once (more than one IN list).
    let many: Vec<_> = (0..600u16)
        .map(|n| {
            let mut l = [7u8; 32];
            l[..2].copy_from_slice(&n.to_be_bytes());
            new_key(SubjectLookup(l), b"m", 4)
        })
        .collect();
    s.insert_subject_keys(&many).await.expect("stores");
    let lookups: Vec<_> = many.iter().map(|k| k.lookup.expect("set")).collect();
    assert_eq!(
        s.live_subject_keys(&lookups).await.expect("reads").len(),
        600
    );
}

async fn two_nodes_inserting_one_subjects_key_share_the_winner(f: Fixture) {
    migrated(&f).await;
    let other = f.another_node().await;
    for round in 0..5u8 {
        let (a, b) = (
            new_key(lookup(round), b"node-a", 0),
            new_key(lookup(round), b"node-b", 0),
        );
        let (ra, rb) = tokio::join!(
            f.store.insert_subject_keys(std::slice::from_ref(&a)),
            other.insert_subject_keys(std::slice::from_ref(&b)),
        );
        ra.expect("node a");
        rb.expect("node b");
        let seen_a = f
            .store
            .live_subject_keys(&[lookup(round)])
            .await
            .expect("reads");
        let seen_b = other
            .live_subject_keys(&[lookup(round)])
            .await
            .expect("reads");
        assert_eq!(seen_a.len(), 1, "one live key per subject");
        assert_eq!(seen_a, seen_b, "both callers read the winner");
        assert!(seen_a[0] == a || seen_a[0] == b);
    }
}

async fn resealing_is_compare_and_set(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let key = new_key(lookup(1), b"under-kek-1", 0);
    s.insert_subject_keys(std::slice::from_ref(&key))
        .await
        .expect("stores");
    let first = key.sealed.clone().expect("sealed");
    let second = SealedSecret::from_bytes(b"under-kek-2".to_vec());
    let third = SealedSecret::from_bytes(b"under-kek-3".to_vec());
    assert!(
        s.reseal_subject_key(&key.id, &first, &second)
            .await
            .expect("reseals")
    );
    // A rotation that read the key before loses.
    assert!(
        !s.reseal_subject_key(&key.id, &first, &third)
            .await
            .expect("refused")
    );
    let stored = s.subject_key(&key.id).await.expect("reads").expect("found");
    assert_eq!(stored.sealed, Some(second.clone()));
    assert_eq!(stored.lookup, Some(lookup(1)));
    assert!(
        !s.reseal_subject_key(&SubjectKeyId::generate(), &second, &third)
            .await
            .expect("unknown key")
    );
}

async fn destroyed_keys_stay_destroyed(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let (a, b, c) = (
        new_key(lookup(1), b"a", 0),
        new_key(lookup(2), b"b", 0),
        new_key(lookup(3), b"c", 0),
    );
    s.insert_subject_keys(&[a.clone(), b.clone(), c.clone()])
        .await
        .expect("stores");
    let erasure = ErasureId::generate();
    let at = T0 + Duration::hours(1);
    let unknown = SubjectKeyId::generate();
    assert_eq!(
        s.destroy_subject_keys(&[a.id.clone(), b.id.clone(), unknown], &erasure, at)
            .await
            .expect("destroys"),
        2
    );
    // Again (a second restore): nothing left to destroy.
    assert_eq!(
        s.destroy_subject_keys(std::slice::from_ref(&a.id), &erasure, at)
            .await
            .expect("destroys"),
        0
    );
    let gone = s.subject_key(&a.id).await.expect("reads").expect("kept");
    assert_eq!(
        gone,
        StoredSubjectKey {
            id: a.id.clone(),
            lookup: None,
            sealed: None,
            created_at: a.created_at,
            destroyed_at: Some(at),
            erasure_id: Some(erasure.clone()),
        }
    );
    assert!(
        s.live_subject_keys(&[lookup(1), lookup(2)])
            .await
            .expect("reads")
            .is_empty()
    );
    assert_eq!(
        s.sealed_subject_keys().await.expect("reads"),
        vec![(c.id.clone(), c.sealed.clone().expect("sealed"))]
    );
    assert!(
        !s.reseal_subject_key(
            &a.id,
            a.sealed.as_ref().expect("sealed"),
            &SealedSecret::from_bytes(b"x".to_vec())
        )
        .await
        .expect("refused")
    );
    // The subject gets a new key after its erasure.
    let fresh = new_key(lookup(1), b"fresh", 5);
    s.insert_subject_keys(std::slice::from_ref(&fresh))
        .await
        .expect("stores");
    assert_eq!(
        s.live_subject_keys(&[lookup(1)]).await.expect("reads"),
        vec![fresh]
    );
}

async fn consents_are_a_ledger_in_order(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let by = "principal-1";
    let first = s
        .record_consent(
            &lookup(1),
            "user-1",
            &consent("analytics", true, Some("signup-form")),
            by,
            T0,
        )
        .await
        .expect("records");
    s.record_consent(
        &lookup(2),
        "user-2",
        &consent("analytics", true, None),
        by,
        T0,
    )
    .await
    .expect("records");
    let second = s
        .record_consent(
            &lookup(1),
            "user-1",
            &consent("marketing", true, None),
            by,
            T0 + Duration::minutes(1),
        )
        .await
        .expect("records");
    let third = s
        .record_consent(
            &lookup(1),
            "user-1",
            &consent("analytics", false, Some("settings")),
            by,
            T0 + Duration::minutes(2),
        )
        .await
        .expect("records");
    assert!(first.id < second.id && second.id < third.id);
    assert_eq!(first.subject_id.as_deref(), Some("user-1"));
    assert_eq!(first.source.as_deref(), Some("signup-form"));
    assert_eq!(first.policy_version.as_deref(), Some("2026-05"));
    assert_eq!(first.recorded_at, T0);
    assert_eq!(first.recorded_by, by);
    assert_eq!(first.erased_at, None);
    let history = s.consents(&lookup(1)).await.expect("reads");
    assert_eq!(history, vec![first, second, third]);
    let now = rampart_subjects::current(&history);
    assert!(!now["analytics"].given);
    assert!(now["marketing"].given);
    assert!(s.consents(&lookup(9)).await.expect("reads").is_empty());
}

async fn consent_holders_are_the_latest_records(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let at = |m: i64| T0 + Duration::minutes(m);
    // user-a: given; user-b: given then withdrawn; user-c: withdrawn then given;
    // user-d: only marketing; user-e: given (erased below); user-f: given.
    for (subject, n, given, m) in [
        ("user-b", 2, true, 0),
        ("user-a", 1, true, 1),
        ("user-c", 3, false, 2),
        ("user-b", 2, false, 3),
        ("user-c", 3, true, 4),
        ("user-e", 5, true, 5),
        ("user-f", 6, true, 6),
    ] {
        s.record_consent(
            &lookup(n),
            subject,
            &consent("analytics", given, None),
            "p",
            at(m),
        )
        .await
        .expect("records");
    }
    s.record_consent(
        &lookup(4),
        "user-d",
        &consent("marketing", true, None),
        "p",
        at(7),
    )
    .await
    .expect("records");
    s.record_consent(
        &lookup(1),
        "user-a",
        &consent("marketing", false, None),
        "p",
        at(8),
    )
    .await
    .expect("records");
    // user-e's records are erased: it is no longer listed.
    erasure::erase_plain(&f, lookup(5), "user-e", None).await;

    let holders = |given: Option<bool>, after: Option<&str>, limit: u32| ConsentFilter {
        purpose: "analytics".to_owned(),
        given,
        after: after.map(str::to_owned),
        limit,
    };
    let h = |subject: &str, given: bool, m: i64| ConsentHolder {
        subject_id: subject.to_owned(),
        given,
        at: at(m),
    };
    assert_eq!(
        s.consent_holders(&holders(Some(true), None, 10))
            .await
            .expect("reads"),
        vec![
            h("user-a", true, 1),
            h("user-c", true, 4),
            h("user-f", true, 6)
        ]
    );
    assert_eq!(
        s.consent_holders(&holders(Some(false), None, 10))
            .await
            .expect("reads"),
        vec![h("user-b", false, 3)]
    );
    assert_eq!(
        s.consent_holders(&holders(None, None, 10))
            .await
            .expect("reads"),
        vec![
            h("user-a", true, 1),
            h("user-b", false, 3),
            h("user-c", true, 4),
            h("user-f", true, 6),
        ]
    );
    // Pages: after a subject id, at most `limit`.
    assert_eq!(
        s.consent_holders(&holders(None, Some("user-a"), 2))
            .await
            .expect("reads"),
        vec![h("user-b", false, 3), h("user-c", true, 4)]
    );
    assert_eq!(
        s.consent_holders(&holders(None, Some("user-c"), 2))
            .await
            .expect("reads"),
        vec![h("user-f", true, 6)]
    );
    assert_eq!(
        s.consent_holders(&ConsentFilter {
            purpose: "marketing".to_owned(),
            given: Some(true),
            after: None,
            limit: 10,
        })
        .await
        .expect("reads"),
        vec![h("user-d", true, 7)]
    );
}

async fn subject_tables_refuse_changes_behind_the_store(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let key = new_key(lookup(1), b"k", 0);
    s.insert_subject_keys(std::slice::from_ref(&key))
        .await
        .expect("stores");
    s.record_consent(
        &lookup(1),
        "user-1",
        &consent("analytics", true, Some("form")),
        "p",
        T0,
    )
    .await
    .expect("records");
    let id = key.id.as_str();
    for (sql, message) in [
        (
            format!("DELETE FROM subject_keys WHERE id = '{id}'"),
            "never deleted",
        ),
        (
            format!("UPDATE subject_keys SET created_at = 1 WHERE id = '{id}'"),
            "only resealed or destroyed",
        ),
        (
            format!("UPDATE subject_keys SET erasure_id = 'era_x' WHERE id = '{id}'"),
            "only resealed or destroyed",
        ),
        ("DELETE FROM consents".to_owned(), "append-only"),
        (
            "UPDATE consents SET given = FALSE".to_owned(),
            "append-only",
        ),
        (
            "UPDATE consents SET source = 'other'".to_owned(),
            "append-only",
        ),
        // Erasing without removing every personal field is refused too.
        (
            "UPDATE consents SET erased_at = 1, source = NULL".to_owned(),
            "append-only",
        ),
        (
            "UPDATE consents SET erased_at = 1, lookup = NULL, subject_id = NULL, source = NULL, \
             purpose = 'other'"
                .to_owned(),
            "append-only",
        ),
    ] {
        let error = f.try_exec_raw(&sql).await.expect_err(&sql);
        assert!(error.contains(message), "{sql}: {error}");
    }
    // The one update allowed is erasure's, once.
    f.exec_raw(
        "UPDATE consents SET erased_at = 1, lookup = NULL, subject_id = NULL, source = NULL",
    )
    .await;
    let error = f
        .try_exec_raw("UPDATE consents SET erased_at = 2")
        .await
        .expect_err("erased once");
    assert!(error.contains("append-only"), "{error}");
    // A destroyed key is never changed again.
    f.exec_raw(&format!(
        "UPDATE subject_keys SET lookup = NULL, sealed_key = NULL, destroyed_at = 1, \
         erasure_id = 'era_x' WHERE id = '{id}'"
    ))
    .await;
    let error = f
        .try_exec_raw(&format!(
            "UPDATE subject_keys SET destroyed_at = 2 WHERE id = '{id}'"
        ))
        .await
        .expect_err("destroyed stays");
    assert!(error.contains("only resealed or destroyed"), "{error}");
    if f.store.backend() == Backend::Postgres {
        for table in [
            "subject_keys",
            "consents",
            "erasures",
            "erasure_confirmations",
        ] {
            let error = f
                .try_exec_raw(&format!("TRUNCATE {table} CASCADE"))
                .await
                .expect_err(table);
            assert!(error.contains("append-only"), "{table}: {error}");
        }
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM subject_keys").await, 1);
    assert_eq!(f.scalar("SELECT COUNT(*) FROM consents").await, 1);
}
