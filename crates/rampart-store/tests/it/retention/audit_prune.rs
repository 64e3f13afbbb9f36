//! Audit pruning on both backends: a batch blanks its entries (seq, id, time and leaf hash
//! kept, so the head and every proof still verify), drops their postings and records the run's
//! progress in the same transaction; repeated, it prunes and counts nothing. The database
//! refuses every other change to the log: deletes, updates at or above the prune horizon,
//! updates below it that are not exactly the pruned form, a horizon moved backwards or past
//! the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rampart_audit::AuditLog;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::store::{AuditStore, StoredEntry};
use rampart_audit::tree::verify_inclusion;
use rampart_retention::{
    AuditRecord, BatchProgress, CertificateId, DataType, RetentionStore, StepState,
};
use rampart_store::Store;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{NOW, assert_refused, micros, new_run, step, stored_step};
use crate::fixture::Fixture;

on_both_backends!(
    a_batch_prunes_entries_keeps_their_hashes_and_records_progress,
    audit_seq_at_finds_the_first_entry_appended_at_or_after,
    the_database_refuses_every_other_change_to_the_log,
);

fn tags(i: u64) -> Vec<String> {
    match i % 3 {
        0 => vec!["mifid2".into()],
        1 => vec!["mifid2".into(), "gdpr".into()],
        _ => Vec::new(),
    }
}

fn team(i: u64) -> Option<String> {
    (!i.is_multiple_of(4))
        .then(|| ["payments", "care"][usize::from(i.is_multiple_of(2))].to_owned())
}

fn subject(i: u64) -> Option<String> {
    (i % 5 == 1).then(|| format!("customer-{}", i % 7))
}

fn event(i: u64) -> NewEntry {
    let action = if i.is_multiple_of(2) {
        "record.read"
    } else {
        "payment.authorize"
    };
    let mut event = json!({
        "actor": {"type": "user", "id": format!("u{}", i % 3)},
        "action": action,
        "resource": {"type": "payment", "id": format!("pay-{i}")},
        "status": if i % 3 == 2 { "denied" } else { "success" },
        "compliance_tags": tags(i),
        "details": {"i": i},
    });
    if let Some(team) = team(i) {
        event["context"] = json!({"team_id": team});
    }
    if let Some(subject) = subject(i) {
        event["subject_id"] = json!(subject);
    }
    NewEntry::from_json(&event, "").unwrap()
}

/// A log whose clock reads `clock` (microseconds), with `n` entries appended at `NOW` and
/// indexed.
async fn filled(f: &Fixture, n: u64, clock: &Arc<AtomicI64>) -> AuditLog<Store> {
    f.store.migrate().await.unwrap();
    clock.store(micros(NOW), Ordering::SeqCst);
    let read = Arc::clone(clock);
    let log = AuditLog::open(
        f.store.clone(),
        LogSigner::from_seed("rampart.test/log", &[5; 32]).unwrap(),
        Arc::new(move || {
            let at = i128::from(read.load(Ordering::SeqCst)) * 1_000;
            OffsetDateTime::from_unix_timestamp_nanos(at).unwrap()
        }),
    )
    .await
    .unwrap();
    if n > 0 {
        log.append((0..n).map(event).collect(), by()).await.unwrap();
    }
    let indexed = f.store.index_audit_entries(u64::MAX).await.unwrap();
    assert_eq!(indexed.indexed_size, n);
    log
}

fn by() -> SubmittedBy {
    SubmittedBy {
        principal_id: "p1".into(),
        credential_id: None,
    }
}

fn assert_pruned(before: &StoredEntry, after: &StoredEntry) {
    let kept = (&before.id, before.timestamp_micros, before.leaf_hash);
    assert_eq!((&after.id, after.timestamp_micros, after.leaf_hash), kept);
    let blank = StoredEntry {
        seq: before.seq,
        id: before.id.clone(),
        timestamp_micros: before.timestamp_micros,
        actor_type: String::new(),
        actor_id: String::new(),
        action: String::new(),
        resource_type: String::new(),
        resource_id: None,
        team_id: None,
        status: String::new(),
        subject_id: None,
        tags: Vec::new(),
        body: String::new(),
        leaf_hash: before.leaf_hash,
        pruned: after.pruned.clone(),
    };
    assert!(
        after.pruned.is_some(),
        "seq {} is marked pruned",
        before.seq
    );
    assert_eq!(after, &blank, "seq {} is blank", before.seq);
}

async fn postings_of(f: &Fixture, condition: &str) -> i64 {
    f.index_scalar(&format!(
        "SELECT COUNT(*) FROM audit_postings WHERE {condition}"
    ))
    .await
}

async fn a_batch_prunes_entries_keeps_their_hashes_and_records_progress(f: Fixture) {
    let clock = Arc::new(AtomicI64::new(0));
    let log = filled(&f, 30, &clock).await;
    let s = &f.store;
    let head = s.head().await.unwrap();
    let before = AuditStore::entries(s, 0..30).await.unwrap();
    let postings_above = postings_of(&f, "seq >= 20").await;
    assert!(postings_of(&f, "seq < 20").await > 0);

    let run = new_run(Vec::new(), vec![step(DataType::AuditEntries, NOW, 30)]);
    s.insert_run(&run).await.unwrap();
    let certificate = run.steps[0].certificate_id.clone();
    // Entry 7 is held: the batch covers 0..20 and prunes the other 19.
    let seqs: Vec<u64> = (0..20).filter(|&s| s != 7).collect();
    let batch = BatchProgress {
        run_id: run.id.clone(),
        data_type: DataType::AuditEntries,
        next_seq: 20,
        cursor: None,
        due: 20,
        held_back: 1,
        done: false,
    };
    let at = NOW + Duration::hours(1);
    let pruned = s
        .prune_audit_batch(&batch, 20, &seqs, at, &certificate)
        .await
        .unwrap();
    assert_eq!(pruned, 19);

    let step = stored_step(&f, &run).await;
    assert_eq!(
        (step.state, step.due, step.disposed, step.held_back),
        (StepState::Running, 20, 19, 1)
    );
    assert_eq!(
        (step.next_seq, step.end_seq, step.first_seq, step.last_seq),
        (20, 30, Some(0), Some(19))
    );
    assert_eq!(step.cursor, None);
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 20);

    let after = AuditStore::entries(s, 0..30).await.unwrap();
    for (old, new) in before.iter().zip(&after) {
        if seqs.contains(&old.seq) {
            assert_pruned(old, new);
        } else {
            assert_eq!(old, new, "seq {} is untouched", old.seq);
        }
    }
    let marked = format!(
        "SELECT COUNT(*) FROM audit_entries WHERE pruned_at = {} AND certificate_id = '{}'",
        micros(at),
        certificate.as_str()
    );
    assert_eq!(f.scalar(&marked).await, 19);
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM audit_entries WHERE pruned_at IS NOT NULL OR certificate_id IS NOT NULL")
            .await,
        19
    );
    // The pruned entries' postings are gone; the held entry's and the later ones' stay.
    assert_eq!(postings_of(&f, "seq < 20 AND seq <> 7").await, 0);
    assert!(postings_of(&f, "seq = 7").await >= 2);
    assert_eq!(postings_of(&f, "seq >= 20").await, postings_above);

    // The head and every proof are what they were.
    assert_eq!(s.head().await.unwrap(), head);
    for seq in [0u64, 7, 19, 29] {
        let (leaf, path) = log.inclusion_proof(seq, 30).await.unwrap().unwrap();
        assert!(
            verify_inclusion(&leaf, seq, 30, &path, &head.root),
            "seq {seq}"
        );
    }

    // The same batch again (a retry after a lost reply): nothing pruned, nothing counted.
    let again = s
        .prune_audit_batch(&batch, 20, &seqs, at + Duration::hours(1), &certificate)
        .await
        .unwrap();
    assert_eq!(again, 0);
    let step = stored_step(&f, &run).await;
    assert_eq!(
        (step.state, step.due, step.disposed, step.held_back),
        (StepState::Running, 20, 19, 1)
    );
    assert_eq!(
        (step.next_seq, step.first_seq, step.last_seq),
        (20, Some(0), Some(19))
    );
    assert_eq!(
        f.scalar(&marked).await,
        19,
        "the first pruning's marks stay"
    );

    // A run reads only what is left.
    let record = |seq: u64| AuditRecord {
        seq,
        at: NOW,
        team_id: team(seq),
        subject_id: subject(seq),
        tags: tags(seq),
    };
    let left: Vec<AuditRecord> = [7].into_iter().chain(20..30).map(record).collect();
    assert_eq!(s.audit_records(0, 30, 100).await.unwrap(), left);
    assert_eq!(s.audit_records(0, 30, 3).await.unwrap(), left[..3].to_vec());
    assert_eq!(
        s.audit_records(8, 22, 100).await.unwrap(),
        left[1..3].to_vec()
    );
    assert_eq!(s.audit_records(0, 7, 100).await.unwrap(), Vec::new());

    // The last batch finishes the step: the lowest seq stays the first batch's.
    let last = BatchProgress {
        next_seq: 25,
        due: 5,
        held_back: 0,
        done: true,
        ..batch
    };
    let seqs: Vec<u64> = (20..25).collect();
    let pruned = s
        .prune_audit_batch(&last, 25, &seqs, at, &certificate)
        .await
        .unwrap();
    assert_eq!(pruned, 5);
    let step = stored_step(&f, &run).await;
    assert_eq!(
        (step.state, step.due, step.disposed, step.held_back),
        (StepState::Done, 25, 24, 1)
    );
    assert_eq!(
        (step.next_seq, step.first_seq, step.last_seq),
        (25, Some(0), Some(24))
    );
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 25);
    assert_eq!(postings_of(&f, "seq < 25 AND seq <> 7").await, 0);
}

async fn audit_seq_at_finds_the_first_entry_appended_at_or_after(f: Fixture) {
    let clock = Arc::new(AtomicI64::new(0));
    let log = filled(&f, 0, &clock).await;
    let s = &f.store;
    assert_eq!(s.audit_seq_at(NOW).await.unwrap(), 0, "an empty log");
    // Three batches, an hour apart: seqs 0..4 at NOW, 4..10 at +1h, 10..12 at +2h.
    for (hour, range) in [(0, 0..4), (1, 4..10), (2, 10..12)] {
        clock.store(micros(NOW + Duration::hours(hour)), Ordering::SeqCst);
        log.append(range.map(event).collect(), by()).await.unwrap();
    }
    for (at, seq) in [
        (NOW - Duration::days(1), 0),
        (NOW, 0),
        (NOW + Duration::microseconds(1), 4),
        (NOW + Duration::minutes(30), 4),
        (NOW + Duration::hours(1), 4),
        (NOW + Duration::hours(2), 10),
        (NOW + Duration::hours(2) + Duration::microseconds(1), 12),
        (NOW + Duration::days(1), 12),
    ] {
        assert_eq!(s.audit_seq_at(at).await.unwrap(), seq, "at {at}");
    }
    // Pruned entries keep their time: the answer does not change.
    let certificate = CertificateId::generate();
    let seqs: Vec<u64> = (0..10).collect();
    assert_eq!(
        s.prune_audit_entries(10, &seqs, NOW, certificate.as_str())
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        s.audit_seq_at(NOW + Duration::minutes(30)).await.unwrap(),
        4
    );
}

/// The pruned form of entry `seq`, with `changes` (column, SQL value) replacing some of its
/// assignments or added to them, as raw SQL (each column assigned once, as PostgreSQL wants).
fn pruned_form(seq: u64, changes: &[(&str, &str)]) -> String {
    let mut columns: Vec<(&str, &str)> = vec![
        ("body", "''"),
        ("actor_type", "''"),
        ("actor_id", "''"),
        ("action", "''"),
        ("resource_type", "''"),
        ("resource_id", "NULL"),
        ("team_id", "NULL"),
        ("status", "''"),
        ("subject_id", "NULL"),
        ("tags", "'[]'"),
        ("pruned_at", "1"),
        ("certificate_id", "'dcert_raw'"),
    ];
    for &(column, value) in changes {
        match columns.iter_mut().find(|(c, _)| *c == column) {
            Some(assignment) => assignment.1 = value,
            None => columns.push((column, value)),
        }
    }
    let set: Vec<String> = columns.iter().map(|(c, v)| format!("{c} = {v}")).collect();
    format!(
        "UPDATE audit_entries SET {} WHERE seq = {seq}",
        set.join(", ")
    )
}

async fn the_database_refuses_every_other_change_to_the_log(f: Fixture) {
    let clock = Arc::new(AtomicI64::new(0));
    let _log = filled(&f, 20, &clock).await;
    let s = &f.store;
    let certificate = CertificateId::generate();
    let seqs: Vec<u64> = (0..5).collect();
    assert_eq!(
        s.prune_audit_entries(10, &seqs, NOW, certificate.as_str())
            .await
            .unwrap(),
        5
    );
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 10);
    // The store cannot prune at or above the horizon either: the batch changes nothing.
    assert!(
        s.prune_audit_entries(5, &[8, 12], NOW, certificate.as_str())
            .await
            .is_err()
    );
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM audit_entries WHERE pruned_at IS NOT NULL")
            .await,
        5
    );

    let rewrites = [
        "DELETE FROM audit_entries".to_owned(),
        "DELETE FROM audit_entries WHERE seq = 0".to_owned(),
        "DELETE FROM audit_entries WHERE seq = 19".to_owned(),
        // At or above the horizon.
        pruned_form(10, &[]),
        pruned_form(12, &[]),
        // Below it, but not exactly the pruned form.
        pruned_form(
            6,
            &[(
                "leaf_hash",
                "(SELECT leaf_hash FROM audit_entries WHERE seq = 1)",
            )],
        ),
        pruned_form(6, &[("body", "'kept'")]),
        pruned_form(6, &[("team_id", "'payments'")]),
        pruned_form(6, &[("tags", "'[\"mifid2\"]'")]),
        pruned_form(6, &[("certificate_id", "NULL")]),
        pruned_form(6, &[("pruned_at", "NULL")]),
        pruned_form(6, &[("ts", "ts + 1")]),
        pruned_form(6, &[("id", "'another'")]),
        pruned_form(6, &[("seq", "25")]),
        // An entry pruned already is not pruned again nor re-marked.
        "UPDATE audit_entries SET certificate_id = 'dcert_other' WHERE seq = 0".to_owned(),
        "UPDATE audit_entries SET pruned_at = pruned_at + 1 WHERE seq = 0".to_owned(),
        pruned_form(0, &[]),
        // An ordinary edit, above or below the horizon.
        "UPDATE audit_entries SET action = 'record.delete' WHERE seq = 15".to_owned(),
        "UPDATE audit_entries SET action = 'record.delete' WHERE seq = 6".to_owned(),
    ];
    for sql in &rewrites {
        assert_refused(&f, sql, "append-only").await;
    }
    // The horizon never moves backwards nor past the log, and is never deleted.
    for sql in [
        "UPDATE audit_prune_horizon SET below_seq = 9",
        "UPDATE audit_prune_horizon SET below_seq = 0",
        "UPDATE audit_prune_horizon SET below_seq = 21",
        "DELETE FROM audit_prune_horizon",
    ] {
        assert_refused(&f, sql, "prune horizon").await;
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM audit_entries").await, 20);
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM audit_entries WHERE pruned_at IS NOT NULL OR body = ''")
            .await,
        5
    );
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 10);

    // What the database allows: exactly the pruned form below the horizon, and the horizon
    // moved up to the log's size (no further).
    f.exec_raw(&pruned_form(6, &[])).await;
    f.exec_raw("UPDATE audit_prune_horizon SET below_seq = 20")
        .await;
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 20);
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM audit_entries WHERE pruned_at IS NOT NULL")
            .await,
        6
    );
    assert!(
        s.prune_audit_entries(21, &[15], NOW, certificate.as_str())
            .await
            .is_err(),
        "the horizon never passes the log"
    );
    assert_eq!(s.audit_prune_horizon().await.unwrap(), 20);
}
