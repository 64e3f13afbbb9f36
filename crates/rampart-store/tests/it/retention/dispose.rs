//! The disposal of the built-in data types other than audit entries, on both backends: which
//! records are due (before the cutoff, and never an open alert or incident, a pending
//! delivery, a live session or an incomplete erasure), paged by their key; a batch deletes
//! only the records it is given that are still due, with what goes with them (an incident's
//! timeline, an erasure's confirmations), and records its progress; the database refuses to
//! delete consents and erasures that are not below their disposal window. The records are
//! made behind the store's back where that is simpler, the consents through the store.

use rampart_retention::{DataType, Record, RetentionStore, StepState};
use rampart_store::Backend;
use rampart_subjects::{SubjectStore, subject_id_sha256};
use time::{Duration, OffsetDateTime};

use super::{NOW, assert_refused, micros, progress, started, stored_step};
use crate::fixture::Fixture;
use crate::subjects::{consent, lookup};

mod monitor;

on_both_backends!(
    consents_recorded_before_the_cutoff_are_disposed,
    completed_erasures_are_disposed_with_their_confirmations,
    audit_entries_and_application_data_are_not_records,
);

/// The cutoff of every run here: records from before it are due.
pub(crate) const CUTOFF: OffsetDateTime = NOW.saturating_sub(Duration::days(30));

/// `days` before the cutoff (negative: after it).
pub(crate) fn before_cutoff(days: i64) -> OffsetDateTime {
    CUTOFF - Duration::days(days)
}

/// A record of a type with neither subject nor team.
pub(crate) fn plain(key: &str, at: OffsetDateTime) -> Record {
    Record {
        key: key.to_owned(),
        at,
        subject_id: None,
        subject_id_sha256: None,
        team_id: None,
    }
}

/// What a type's test made before the cutoff and after it.
pub(crate) struct Made {
    /// The records due before `CUTOFF`, in key order.
    pub due: Vec<Record>,
    /// Keys of records that are not due (recent, open, pending, live, incomplete).
    pub not_due: Vec<String>,
    /// A key no record has.
    pub missing: String,
    /// Counts every record of the type, behind the store's back.
    pub count_sql: &'static str,
}

/// The checks every type shares: the due records listed whole and page by page; a batch
/// given every due key but one (held), every key that is not due and one that does not exist
/// deletes exactly the due ones, records the progress, and deletes nothing when repeated.
/// Returns the held key.
pub(crate) async fn dispose_and_check(f: &Fixture, data_type: DataType, made: &Made) -> String {
    let s = &f.store;
    assert!(made.due.len() >= 3, "enough records to page");
    assert_eq!(
        s.due_records(&data_type, CUTOFF, None, 1000).await.unwrap(),
        made.due
    );
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .due_records(&data_type, CUTOFF, after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        paged.extend(page.iter().cloned());
        match page.last() {
            Some(last) if page.len() == 2 => after = Some(last.key.clone()),
            _ => break,
        }
    }
    assert_eq!(paged, made.due, "pages of 2 make up the whole list");
    let last_key = made.due.last().unwrap().key.clone();
    assert_eq!(
        s.due_records(&data_type, CUTOFF, Some(&last_key), 10)
            .await
            .unwrap(),
        Vec::new()
    );

    let before = f.scalar(made.count_sql).await;
    let run = started(f, data_type.clone(), CUTOFF).await;
    let held = made.due[1].key.clone();
    let mut keys: Vec<String> = made
        .due
        .iter()
        .map(|r| r.key.clone())
        .filter(|k| *k != held)
        .collect();
    keys.extend(made.not_due.iter().cloned());
    keys.push(made.missing.clone());
    let due = u64::try_from(made.due.len()).unwrap();
    let mut batch = progress(&run, 0, Some(&last_key), due);
    batch.held_back = 1;
    let deleted = s.dispose_batch(&batch, CUTOFF, &keys).await.unwrap();
    assert_eq!(deleted, due - 1);
    assert_eq!(
        f.scalar(made.count_sql).await,
        before - i64::try_from(due - 1).unwrap()
    );
    assert_eq!(
        s.due_records(&data_type, CUTOFF, None, 1000).await.unwrap(),
        vec![made.due[1].clone()],
        "only the held record is left due"
    );
    let step = stored_step(f, &run).await;
    assert_eq!(
        (step.state, step.due, step.disposed, step.held_back),
        (StepState::Running, due, due - 1, 1)
    );
    assert_eq!(step.cursor.as_deref(), Some(last_key.as_str()));
    assert_eq!((step.first_seq, step.last_seq), (None, None));

    // The same batch again: nothing left to delete, nothing disposed of twice.
    let again = s.dispose_batch(&batch, CUTOFF, &keys).await.unwrap();
    assert_eq!(again, 0);
    let step = stored_step(f, &run).await;
    assert_eq!(
        (step.state, step.due, step.disposed, step.held_back),
        (StepState::Running, due, due - 1, 1)
    );
    assert_eq!(
        f.scalar(made.count_sql).await,
        before - i64::try_from(due - 1).unwrap()
    );
    held
}

async fn consents_recorded_before_the_cutoff_are_disposed(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    // Twelve due (ids past 9: the cursor is numeric, not text), two not: one at the cutoff
    // itself, one recent.
    let mut due = Vec::new();
    for i in 0..12u8 {
        let subject = format!("s-{i}");
        let at = before_cutoff(i64::from(12 - i));
        let record = s
            .record_consent(
                &lookup(i),
                &subject,
                &consent("marketing", true, None),
                "admin-1",
                at,
            )
            .await
            .unwrap();
        due.push(Record {
            key: record.id.to_string(),
            at,
            subject_id: Some(subject),
            subject_id_sha256: None,
            team_id: None,
        });
    }
    let mut not_due = Vec::new();
    for (i, at) in [(20u8, CUTOFF), (21, NOW)] {
        let record = s
            .record_consent(
                &lookup(i),
                "s-late",
                &consent("marketing", false, None),
                "admin-1",
                at,
            )
            .await
            .unwrap();
        not_due.push(record.id.to_string());
    }
    assert_refused(&f, "DELETE FROM consents", "append-only").await;
    let made = Made {
        due,
        not_due: not_due.clone(),
        missing: "999999".into(),
        count_sql: "SELECT COUNT(*) FROM consents",
    };
    dispose_and_check(&f, DataType::Consents, &made).await;
    assert!(
        s.due_records(&DataType::Consents, CUTOFF, Some("not-a-number"), 10)
            .await
            .is_err()
    );

    // The batch raised the disposal window to its cutoff; below it is what was disposed of.
    let window = "SELECT before FROM retention_windows WHERE data_type = 'consents'";
    assert_eq!(f.scalar(window).await, micros(CUTOFF));
    for id in &not_due {
        assert_refused(
            &f,
            &format!("DELETE FROM consents WHERE id = {id}"),
            "append-only",
        )
        .await;
    }
    assert_refused(&f, "DELETE FROM consents", "append-only").await;
    assert_eq!(f.scalar("SELECT COUNT(*) FROM consents").await, 3);
    assert_refused(
        &f,
        "UPDATE retention_windows SET before = 0",
        "disposal window",
    )
    .await;
    assert_refused(&f, "DELETE FROM retention_windows", "disposal window").await;
    // A batch with an earlier cutoff does not lower it.
    let run = started(&f, DataType::Consents, CUTOFF - Duration::days(100)).await;
    let batch = progress(&run, 0, None, 0);
    let deleted = s
        .dispose_batch(&batch, CUTOFF - Duration::days(100), &[])
        .await
        .unwrap();
    assert_eq!(deleted, 0);
    assert_eq!(f.scalar(window).await, micros(CUTOFF));
}

/// Inserts an erasure behind the store's back (`completed`: when it completed, if it did)
/// with a confirmation from each of `stores`.
async fn erasure(
    f: &Fixture,
    id: &str,
    requested: OffsetDateTime,
    completed: Option<OffsetDateTime>,
    stores: &[&str],
) {
    let blob = match f.store.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    let completed = completed.map_or("NULL".to_owned(), |at| micros(at).to_string());
    let mut sql = format!(
        "INSERT INTO erasures (id, lookup, subject_id_sha256, reason, stores, requested_at,
             requested_by, completed_at, effects, subject_keys, checkpoint)
         VALUES ('{id}', CAST('lookup-{id}' AS {blob}), '{sha}', 'Art. 17', '[]', {requested},
             'admin-1', {completed}, '{{}}', '[]', '{{}}');",
        sha = subject_id_sha256(id),
        requested = micros(requested),
    );
    for store in stores {
        sql.push_str(&format!(
            "INSERT INTO erasure_confirmations (erasure_id, store, records_deleted, confirmed_at,
                 confirmed_by)
             VALUES ('{id}', '{store}', 3, {at}, 'app-1');",
            at = micros(requested + Duration::hours(1)),
        ));
    }
    f.exec_raw(&sql).await;
}

async fn confirmations_of(f: &Fixture, id: &str) -> i64 {
    f.scalar(&format!(
        "SELECT COUNT(*) FROM erasure_confirmations WHERE erasure_id = '{id}'"
    ))
    .await
}

async fn completed_erasures_are_disposed_with_their_confirmations(f: Fixture) {
    f.store.migrate().await.unwrap();
    let done = |days| Some(before_cutoff(days));
    erasure(
        &f,
        "erasure-1",
        before_cutoff(9),
        done(8),
        &["crm", "billing"],
    )
    .await;
    erasure(&f, "erasure-2", before_cutoff(8), done(8), &["crm"]).await;
    erasure(&f, "erasure-3", before_cutoff(7), done(1), &[]).await;
    // Completed after the cutoff: the time that counts is the request's.
    erasure(&f, "erasure-4", before_cutoff(2), Some(NOW), &["crm"]).await;
    // Never completed (a store has not confirmed): never due, however old.
    erasure(&f, "erasure-5", before_cutoff(20), None, &["crm"]).await;
    // Requested after the cutoff.
    erasure(&f, "erasure-6", before_cutoff(-1), done(-1), &["crm"]).await;
    erasure(&f, "erasure-7", CUTOFF, done(-1), &[]).await;
    assert_refused(&f, "DELETE FROM erasures", "erasures are kept").await;
    assert_refused(&f, "DELETE FROM erasure_confirmations", "append-only").await;

    let record = |key: &str, days| Record {
        key: key.to_owned(),
        at: before_cutoff(days),
        subject_id: None,
        subject_id_sha256: Some(subject_id_sha256(key)),
        team_id: None,
    };
    let made = Made {
        due: vec![
            record("erasure-1", 9),
            record("erasure-2", 8),
            record("erasure-3", 7),
            record("erasure-4", 2),
        ],
        not_due: vec!["erasure-5".into(), "erasure-6".into(), "erasure-7".into()],
        missing: "erasure-0".into(),
        count_sql: "SELECT COUNT(*) FROM erasures",
    };
    let held = dispose_and_check(&f, DataType::Erasures, &made).await;
    assert_eq!(held, "erasure-2");
    for (id, left) in [
        ("erasure-1", 0),
        ("erasure-2", 1),
        ("erasure-4", 0),
        ("erasure-5", 1),
        ("erasure-6", 1),
    ] {
        assert_eq!(confirmations_of(&f, id).await, left, "{id}'s confirmations");
    }
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM erasure_confirmations").await,
        3
    );

    assert_eq!(
        f.scalar("SELECT before FROM retention_windows WHERE data_type = 'erasures'")
            .await,
        micros(CUTOFF)
    );
    for sql in [
        "DELETE FROM erasures WHERE id = 'erasure-6'",
        "DELETE FROM erasures WHERE id = 'erasure-7'",
        "DELETE FROM erasures",
    ] {
        assert_refused(&f, sql, "erasures are kept").await;
    }
    assert_refused(
        &f,
        "DELETE FROM erasure_confirmations WHERE erasure_id = 'erasure-6'",
        "append-only",
    )
    .await;
    assert_refused(
        &f,
        "UPDATE erasure_confirmations SET records_deleted = 0 WHERE erasure_id = 'erasure-2'",
        "append-only",
    )
    .await;
    assert_eq!(f.scalar("SELECT COUNT(*) FROM erasures").await, 4);
}

async fn audit_entries_and_application_data_are_not_records(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    for data_type in [
        DataType::AuditEntries,
        DataType::AuditTag("mifid2".into()),
        DataType::App("scan_data".into()),
    ] {
        assert!(
            s.due_records(&data_type, CUTOFF, None, 10).await.is_err(),
            "{data_type}"
        );
        let run = started(&f, data_type.clone(), CUTOFF).await;
        let batch = progress(&run, 0, None, 1);
        assert!(
            s.dispose_batch(&batch, CUTOFF, &["1".to_owned()])
                .await
                .is_err(),
            "{data_type}"
        );
        assert_eq!(stored_step(&f, &run).await.due, 0, "nothing recorded");
    }
}
