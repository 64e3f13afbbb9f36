//! Incremental verification over real storage, on both backends: the recorded verifications,
//! what an incremental pass re-hashes, and what only `full` catches.

use std::sync::Arc;

use rampart_audit::AuditLog;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::store::AuditStore;
use rampart_store::Backend;
use serde_json::json;

use crate::fixture::Fixture;

on_both_backends!(
    verification_is_recorded_and_continued,
    an_old_edit_is_caught_by_full_verification,
    verifications_are_append_only,
);

async fn open(f: &Fixture) -> AuditLog<rampart_store::Store> {
    f.store.migrate().await.unwrap();
    AuditLog::open(
        f.store.clone(),
        LogSigner::from_seed("rampart.test/log", &[5; 32]).unwrap(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap()
}

async fn fill(log: &AuditLog<rampart_store::Store>, n: usize) {
    let batch: Vec<NewEntry> = (0..n)
        .map(|i| {
            NewEntry::from_json(
                &json!({"actor": {"type": "user", "id": "u1"}, "action": "record.read",
                    "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"}),
                "",
            )
            .unwrap()
        })
        .collect();
    let by = SubmittedBy {
        principal_id: "p1".into(),
        credential_id: Some("k1".into()),
    };
    log.append(batch, by).await.unwrap();
}

async fn verification_is_recorded_and_continued(f: Fixture) {
    let log = open(&f).await;
    assert_eq!(f.store.last_verification().await.unwrap(), None);
    fill(&log, 700).await;
    let first = log.verify_since_last().await.unwrap();
    assert!(first.report.ok, "{:?}", first.report.problems);
    assert_eq!(
        (first.from_tree_size, first.report.checked_entries),
        (0, 700)
    );
    let recorded = f.store.last_verification().await.unwrap().unwrap();
    assert_eq!(
        (recorded.tree_size, recorded.full, recorded.checked_entries),
        (700, true, 700)
    );
    assert_eq!(recorded.root_hash, log.head().await.unwrap().root);

    fill(&log, 30).await;
    let second = log.verify_since_last().await.unwrap();
    assert!(second.report.ok, "{:?}", second.report.problems);
    assert_eq!(
        (second.from_tree_size, second.report.checked_entries),
        (700, 30)
    );
    let recorded = f.store.last_verification().await.unwrap().unwrap();
    assert_eq!((recorded.tree_size, recorded.full), (730, false));
    assert!(log.verify().await.unwrap().ok);
}

async fn an_old_edit_is_caught_by_full_verification(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 300).await;
    assert!(log.verify().await.unwrap().ok);
    match f.store.backend() {
        Backend::Sqlite => {
            f.exec_raw("DROP TRIGGER audit_entries_no_update").await;
        }
        Backend::Postgres => {
            f.exec_raw("ALTER TABLE audit_entries DISABLE TRIGGER USER")
                .await;
        }
    }
    // Below the recorded size, the body edited: its stored leaf hash no longer matches.
    f.exec_raw("UPDATE audit_entries SET body = replace(body, '\"record.read\"', '\"record.wipe\"') WHERE seq = 7").await;
    // The incremental pass does not re-hash entry 7 ...
    assert!(log.verify_since_last().await.unwrap().report.ok);
    // ... a full one does, and names it.
    let full = log.verify().await.unwrap();
    assert!(!full.ok);
    assert!(
        full.problems
            .iter()
            .any(|p| p.seq == Some(7) && p.problem.contains("does not match its leaf hash")),
        "{:?}",
        full.problems
    );
}

async fn verifications_are_append_only(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 3).await;
    assert!(log.verify().await.unwrap().ok);
    for sql in [
        "UPDATE audit_verifications SET tree_size = 1",
        "DELETE FROM audit_verifications",
    ] {
        let error = f.try_exec_raw(sql).await.expect_err(sql);
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
}
