//! Erasures on both backends: one transaction does every part of Rampart's share (keys
//! destroyed, consents' personal fields removed, linked principals disabled with their
//! sessions and API keys revoked, linked card tokens deleted, the erasure and its deliveries
//! recorded), or nothing when another erasure was recorded meanwhile; confirmations are
//! recorded once; erasures list in id order. On SQLite, the erased bytes are gone from every
//! file of the data directory.

use rampart_monitor::{Delivery, EventType, MonitorStore};
use rampart_subjects::{
    Confirmation, Erasure, ErasureEffects, ErasureId, ErasureWrite, LinkedPrincipal,
    StoredSubjectKey, SubjectLookup, SubjectStore, subject_id_sha256,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{T0, consent, lookup, migrated, new_key};
use crate::fixture::Fixture;

on_both_backends!(
    an_erasure_does_every_part_in_one_transaction,
    a_stale_expected_latest_writes_nothing,
    confirmations_are_recorded_once,
    erasures_are_listed_in_id_order,
    two_nodes_erasing_one_subject_have_one_winner,
);

pub(crate) fn new_erasure(subject: &str, stores: &[&str], at: OffsetDateTime) -> Erasure {
    Erasure {
        id: ErasureId::generate(),
        subject_id_sha256: subject_id_sha256(subject),
        reason: "Art. 17 request of 2026-12-01".to_owned(),
        stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        requested_at: at,
        requested_by: "admin-1".to_owned(),
        completed_at: stores.is_empty().then_some(at),
        effects: ErasureEffects::default(),
        subject_keys: Vec::new(),
        confirmations: Vec::new(),
        checkpoint: json!({"tree_size": 7, "root_hash": "q83vEjRWeJA=", "note": "rampart\n7\n"}),
    }
}

pub(crate) fn write_of(
    erasure: Erasure,
    lookup: SubjectLookup,
    subject: &str,
    expected: Option<ErasureId>,
) -> ErasureWrite {
    ErasureWrite {
        erasure,
        lookup,
        subject_id: subject.to_owned(),
        expected_latest: expected,
        audit_entries: 0,
        deliveries: Vec::new(),
    }
}

/// Erases `subject` with no stores to wait for; the recorded erasure, if written.
pub(crate) async fn erase_plain(
    f: &Fixture,
    lookup: SubjectLookup,
    subject: &str,
    expected: Option<ErasureId>,
) -> Option<Erasure> {
    let write = write_of(new_erasure(subject, &[], T0), lookup, subject, expected);
    f.store.erase(&write).await.expect("erases")
}

/// A principal, its session and API key, linked to `subject` (as the identity helper will).
async fn linked_principal(f: &Fixture, id: &str, subject: &str, disabled: bool) {
    let disabled = if disabled { "TRUE" } else { "FALSE" };
    f.exec_raw(&format!(
        "INSERT INTO principals (id, kind, name, email, disabled, created_at, subject_id)
         VALUES ('{id}', 'user', 'name-{id}', '{id}@example.com', {disabled}, 1000, '{subject}');
         INSERT INTO sessions (id, principal_id, created_at, last_seen_at, expires_at)
         VALUES ('session-{id}', '{id}', 1000, 1000, 9999999999999999);
         INSERT INTO api_keys (id, principal_id, name, key_hash, created_at)
         VALUES ('key-{id}', '{id}', 'k', 'hash-{id}', 1000);"
    ))
    .await;
}

async fn linked_card(f: &Fixture, token: &str, subject: &str, secret: &str) {
    f.exec_raw(&format!(
        "INSERT INTO card_tokens (token, fingerprint, brand, last_four, pan_ciphertext,
             key_version, created_at, subject_id)
         VALUES ('{token}', 'fp-{secret}', 'visa', '4242', 'pan-{secret}', 1, 2000, '{subject}')"
    ))
    .await;
}

async fn an_erasure_does_every_part_in_one_transaction(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let (mine, theirs) = (lookup(1), lookup(2));
    let key = new_key(mine, b"sealed-1", 0);
    let other_key = new_key(theirs, b"sealed-2", 0);
    s.insert_subject_keys(&[key.clone(), other_key.clone()])
        .await
        .expect("stores");
    for (l, subject, purpose) in [
        (mine, "user-1", "analytics"),
        (theirs, "user-2", "analytics"),
        (mine, "user-1", "marketing"),
    ] {
        s.record_consent(&l, subject, &consent(purpose, true, Some("form")), "p", T0)
            .await
            .expect("records");
    }
    linked_principal(&f, "p1", "user-1", false).await;
    linked_principal(&f, "p2", "user-1", true).await;
    linked_principal(&f, "p3", "user-2", false).await;
    linked_card(&f, "tok_1", "user-1", "a").await;
    linked_card(&f, "tok_2", "user-1", "b").await;
    linked_card(&f, "tok_3", "user-2", "c").await;
    let (principals, cards) = s.linked_records("user-1").await.expect("reads");
    assert_eq!(principals.len(), 2);
    assert_eq!(cards.len(), 2);
    assert_eq!(
        principals[0],
        LinkedPrincipal {
            id: "p1".to_owned(),
            kind: "user".to_owned(),
            name: "name-p1".to_owned(),
            email: Some("p1@example.com".to_owned()),
            disabled: false,
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_000_000).expect("time"),
        }
    );
    assert_eq!(
        (
            cards[0].token.as_str(),
            cards[0].brand.as_str(),
            cards[0].last_four.as_str()
        ),
        ("tok_1", "visa", "4242")
    );
    assert_eq!(cards[0].fingerprint, "fp-a");

    let at = T0 + Duration::hours(1);
    let erasure = new_erasure("user-1", &["crm"], at);
    let delivery = Delivery::new(
        "msg_1".to_owned(),
        "w1".to_owned(),
        EventType::ErasureRequested,
        erasure.requested_event("user-1").to_string(),
        at,
    );
    let mut write = write_of(erasure.clone(), mine, "user-1", None);
    write.audit_entries = 42;
    write.deliveries = vec![delivery.clone()];
    let recorded = s.erase(&write).await.expect("erases").expect("written");

    let mut expected = erasure.clone();
    expected.effects = ErasureEffects {
        audit_entries: 42,
        keys_destroyed: 1,
        consents: 2,
        principals: 1,
        card_tokens: 2,
    };
    expected.subject_keys = vec![key.id.clone()];
    assert_eq!(recorded, expected);
    assert_eq!(recorded.completed_at, None, "a store must still confirm");
    assert_eq!(
        s.erasure(&erasure.id).await.expect("reads"),
        Some(expected.clone())
    );
    assert_eq!(
        s.latest_erasure(&mine).await.expect("reads"),
        Some(expected.clone())
    );
    assert_eq!(s.latest_erasure(&theirs).await.expect("reads"), None);

    // The key: destroyed by this erasure; the other subject's lives.
    assert_eq!(
        s.subject_key(&key.id).await.expect("reads"),
        Some(StoredSubjectKey {
            lookup: None,
            sealed: None,
            destroyed_at: Some(at),
            erasure_id: Some(erasure.id.clone()),
            ..key.clone()
        })
    );
    assert_eq!(
        s.live_subject_keys(&[mine, theirs]).await.expect("reads"),
        vec![other_key]
    );
    // Consents: personal fields gone, the rest kept; the other subject's untouched.
    assert!(s.consents(&mine).await.expect("reads").is_empty());
    assert_eq!(s.consents(&theirs).await.expect("reads").len(), 1);
    let at_micros = at.unix_timestamp() * 1_000_000;
    assert_eq!(
        f.scalar(&format!(
            "SELECT COUNT(*) FROM consents WHERE lookup IS NULL AND subject_id IS NULL
             AND source IS NULL AND erased_at = {at_micros} AND given AND recorded_by = 'p'
             AND policy_version = '2026-05'"
        ))
        .await,
        2
    );
    // Principals disabled, their sessions and API keys revoked; cards deleted.
    let (principals, cards) = s.linked_records("user-1").await.expect("reads");
    assert!(principals.iter().all(|p| p.disabled));
    assert!(cards.is_empty());
    for (table, column, live) in [("sessions", "revoked_at", 1), ("api_keys", "revoked_at", 1)] {
        assert_eq!(
            f.scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} IS NULL"
            ))
            .await,
            live,
            "{table}: only the other subject's is live"
        );
        assert_eq!(
            f.scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE principal_id = 'p3' AND {column} IS NULL"
            ))
            .await,
            1
        );
    }
    let (others, other_cards) = s.linked_records("user-2").await.expect("reads");
    assert!(!others[0].disabled);
    assert_eq!(other_cards.len(), 1);
    // The delivery is in the outbox.
    assert_eq!(
        s.list_deliveries("w1", 10).await.expect("reads"),
        vec![delivery]
    );

    // A later erasure of the same subject (when the caller saw the first) finds nothing left.
    let again = erase_plain(&f, mine, "user-1", Some(erasure.id.clone()))
        .await
        .expect("written");
    assert_eq!(
        again.effects,
        ErasureEffects {
            audit_entries: 0,
            ..ErasureEffects::default()
        }
    );
    assert!(again.subject_keys.is_empty());
    assert_eq!(again.completed_at, Some(T0));
    assert_eq!(
        s.latest_erasure(&mine).await.expect("reads").map(|e| e.id),
        Some(again.id)
    );
}

async fn a_stale_expected_latest_writes_nothing(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let key = new_key(lookup(1), b"sealed", 0);
    s.insert_subject_keys(std::slice::from_ref(&key))
        .await
        .expect("stores");
    // The caller saw an erasure that is not the latest (none is recorded).
    let mut write = write_of(
        new_erasure("user-1", &[], T0),
        lookup(1),
        "user-1",
        Some(ErasureId::generate()),
    );
    write.deliveries = vec![Delivery::new(
        "msg_1".to_owned(),
        "w1".to_owned(),
        EventType::ErasureRequested,
        "{}".to_owned(),
        T0,
    )];
    assert_eq!(s.erase(&write).await.expect("answers"), None);
    assert_eq!(
        s.live_subject_keys(&[lookup(1)]).await.expect("reads"),
        vec![key.clone()]
    );
    assert!(s.list_deliveries("w1", 10).await.expect("reads").is_empty());
    // Another erasure is recorded; a caller that saw none is refused, and changes nothing.
    let first = erase_plain(&f, lookup(1), "user-1", None)
        .await
        .expect("written");
    s.record_consent(
        &lookup(1),
        "user-1",
        &consent("analytics", true, None),
        "p",
        T0,
    )
    .await
    .expect("records");
    let fresh = new_key(lookup(1), b"fresh", 1);
    s.insert_subject_keys(std::slice::from_ref(&fresh))
        .await
        .expect("stores");
    write.expected_latest = None;
    write.erasure.id = ErasureId::generate();
    assert_eq!(s.erase(&write).await.expect("answers"), None);
    assert_eq!(
        s.live_subject_keys(&[lookup(1)]).await.expect("reads"),
        vec![fresh]
    );
    assert_eq!(s.consents(&lookup(1)).await.expect("reads").len(), 1);
    assert_eq!(
        s.latest_erasure(&lookup(1)).await.expect("reads"),
        Some(first)
    );
    assert_eq!(f.scalar("SELECT COUNT(*) FROM erasures").await, 1);
    assert!(s.list_deliveries("w1", 10).await.expect("reads").is_empty());
}

async fn confirmations_are_recorded_once(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let erasure = new_erasure("user-1", &["crm", "scans-db"], T0);
    s.erase(&write_of(erasure.clone(), lookup(1), "user-1", None))
        .await
        .expect("erases")
        .expect("written");
    let confirm = |store: &str, n: u64, m: i64| Confirmation {
        store: store.to_owned(),
        records_deleted: n,
        confirmed_at: T0 + Duration::minutes(m),
        confirmed_by: "svc-crm".to_owned(),
    };
    assert!(
        s.confirm_erasure(&erasure.id, &confirm("crm", 12, 1), None)
            .await
            .expect("records")
    );
    assert!(
        !s.confirm_erasure(&erasure.id, &confirm("crm", 99, 2), None)
            .await
            .expect("a duplicate is no error"),
    );
    let pending = s.erasure(&erasure.id).await.expect("reads").expect("found");
    assert_eq!(pending.confirmations, vec![confirm("crm", 12, 1)]);
    assert_eq!(pending.completed_at, None);
    let done_at = T0 + Duration::minutes(3);
    assert!(
        s.confirm_erasure(&erasure.id, &confirm("scans-db", 0, 3), Some(done_at))
            .await
            .expect("records")
    );
    let done = s.erasure(&erasure.id).await.expect("reads").expect("found");
    assert_eq!(done.completed_at, Some(done_at));
    assert_eq!(
        done.confirmations,
        vec![confirm("crm", 12, 1), confirm("scans-db", 0, 3)]
    );
    assert_eq!(done.pending_stores(), Vec::<&str>::new());
    // A confirmation of an erasure that does not exist is an error, and stores nothing.
    assert!(
        s.confirm_erasure(&ErasureId::generate(), &confirm("crm", 1, 4), None)
            .await
            .is_err()
    );
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM erasure_confirmations").await,
        2
    );
    // Confirmations are never changed behind the store.
    let error = f
        .try_exec_raw("UPDATE erasure_confirmations SET records_deleted = 0")
        .await
        .expect_err("append-only");
    assert!(error.contains("append-only"), "{error}");
}

async fn erasures_are_listed_in_id_order(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut ids = Vec::new();
    for n in 1..=3u8 {
        let e = erase_plain(&f, lookup(n), &format!("user-{n}"), None)
            .await
            .expect("written");
        ids.push(e.id);
    }
    ids.sort();
    let listed: Vec<_> = s
        .erasures(None, 10)
        .await
        .expect("reads")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, ids);
    let page: Vec<_> = s
        .erasures(Some(&ids[0]), 1)
        .await
        .expect("reads")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(page, vec![ids[1].clone()]);
    assert!(
        s.erasures(Some(&ids[2]), 10)
            .await
            .expect("reads")
            .is_empty()
    );
    assert_eq!(
        s.erasure(&ErasureId::generate()).await.expect("reads"),
        None
    );
}

async fn two_nodes_erasing_one_subject_have_one_winner(f: Fixture) {
    migrated(&f).await;
    let other = f.another_node().await;
    for n in 1..=3u8 {
        let l = lookup(n);
        let key = new_key(l, b"sealed", 0);
        f.store
            .insert_subject_keys(std::slice::from_ref(&key))
            .await
            .expect("stores");
        let (a, b) = (
            write_of(new_erasure("user", &[], T0), l, "user", None),
            write_of(new_erasure("user", &[], T0), l, "user", None),
        );
        let (ra, rb) = tokio::join!(f.store.erase(&a), other.erase(&b));
        let (ra, rb) = (ra.expect("node a"), rb.expect("node b"));
        let winner = match (ra, rb) {
            (Some(w), None) | (None, Some(w)) => w,
            other => panic!("one winner expected: {other:?}"),
        };
        assert_eq!(winner.subject_keys, vec![key.id.clone()]);
        assert_eq!(
            f.store.latest_erasure(&l).await.expect("reads"),
            Some(winner)
        );
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM erasures").await, 3);
}

fn files_holding(dir: &std::path::Path, marker: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("lists") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("reads");
            if bytes.windows(marker.len()).any(|w| w == marker) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Issue 17: erased personal data must not survive in the database files (free pages, the
/// WAL's old page images).
#[tokio::test]
async fn erased_bytes_are_gone_from_every_sqlite_file() {
    let f = Fixture::sqlite().await;
    migrated(&f).await;
    let s = &f.store;
    let dir = f.sqlite_dir().expect("sqlite").to_owned();
    let subject = "subject-CANARY-9d2e";
    let l = lookup(1);
    let mut key = new_key(l, b"KEY-CANARY-9d2e-sealed-key-bytes", 0);
    key.sealed = Some(rampart_crypto::SealedSecret::from_bytes(
        b"KEY-CANARY-9d2e-sealed-key-bytes".to_vec(),
    ));
    s.insert_subject_keys(std::slice::from_ref(&key))
        .await
        .expect("stores");
    for n in 0..50 {
        s.record_consent(
            &l,
            subject,
            &consent("analytics", n % 2 == 0, Some("SOURCE-CANARY-9d2e")),
            "p",
            T0,
        )
        .await
        .expect("records");
    }
    linked_card(&f, "tok_1", subject, "CARD-CANARY-9d2e").await;
    // Unrelated rows keep the pages alive.
    s.record_consent(
        &lookup(2),
        "user-2",
        &consent("analytics", true, Some("keep")),
        "p",
        T0,
    )
    .await
    .expect("records");
    let markers: [&[u8]; 4] = [
        b"KEY-CANARY-9d2e",
        b"SOURCE-CANARY-9d2e",
        b"CARD-CANARY-9d2e",
        b"subject-CANARY-9d2e",
    ];
    for marker in markers {
        assert!(
            !files_holding(&dir, marker).is_empty(),
            "the test sees {}",
            String::from_utf8_lossy(marker)
        );
    }
    s.erase(&write_of(new_erasure(subject, &[], T0), l, subject, None))
        .await
        .expect("erases")
        .expect("written");
    s.scrub_erased().await;
    for marker in markers {
        assert_eq!(
            files_holding(&dir, marker),
            Vec::<String>::new(),
            "{} survived",
            String::from_utf8_lossy(marker)
        );
    }
    assert_eq!(s.consents(&lookup(2)).await.expect("reads").len(), 1);
}
