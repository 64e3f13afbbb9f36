//! Issue 18: retention's storage on both backends. Legal holds here; policies, audit pruning,
//! the disposal of the other built-in data types, and runs with their certificates and
//! confirmations in `retention/`.

use rampart_retention::{
    BatchProgress, CertificateId, DataType, HoldId, HoldScope, LegalHold, Mode, Policy,
    RetentionStore, Run, RunId, Step, StepState,
};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::fixture::Fixture;

mod audit_prune;
mod dispose;
mod policies;
mod runs;

on_both_backends!(holds_are_placed_listed_released_and_never_deleted);

/// "Now" for the runs of these tests (whole seconds: storage keeps microseconds).
pub(crate) const NOW: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

/// Microseconds since the epoch, as the tables store times.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap()
}

pub(crate) fn policy(data_type: DataType, retain_seconds: u64, mode: Mode) -> Policy {
    Policy {
        data_type,
        retain_seconds,
        mode,
        updated_at: NOW,
        updated_by: "admin-1".into(),
    }
}

/// A new step, as a run starts it.
pub(crate) fn step(data_type: DataType, cutoff: OffsetDateTime, end_seq: u64) -> Step {
    Step {
        data_type,
        cutoff,
        state: StepState::Pending,
        due: 0,
        disposed: 0,
        held_back: 0,
        next_seq: 0,
        end_seq,
        cursor: None,
        first_seq: None,
        last_seq: None,
        certificate_id: CertificateId::generate(),
    }
}

/// A new run of `steps`, started at `NOW` under `policies`.
pub(crate) fn new_run(policies: Vec<Policy>, steps: Vec<Step>) -> Run {
    Run {
        id: RunId::generate(),
        dry_run: false,
        requested_by: "retention-job".into(),
        started_at: NOW,
        finished_at: None,
        policies,
        steps,
    }
}

/// Stores a run of one step of `data_type` and returns it.
pub(crate) async fn started(f: &Fixture, data_type: DataType, cutoff: OffsetDateTime) -> Run {
    let run = new_run(Vec::new(), vec![step(data_type, cutoff, 0)]);
    f.store.insert_run(&run).await.unwrap();
    run
}

/// A batch's progress on `run`'s only step.
pub(crate) fn progress(run: &Run, next_seq: u64, cursor: Option<&str>, due: u64) -> BatchProgress {
    BatchProgress {
        run_id: run.id.clone(),
        data_type: run.steps[0].data_type.clone(),
        next_seq,
        cursor: cursor.map(str::to_owned),
        due,
        held_back: 0,
        done: false,
    }
}

/// `run`'s only step as stored now.
pub(crate) async fn stored_step(f: &Fixture, run: &Run) -> Step {
    let stored = f
        .store
        .run(&run.id)
        .await
        .unwrap()
        .expect("the run is stored");
    assert_eq!(stored.steps.len(), 1);
    stored.steps.into_iter().next().unwrap()
}

fn hold(name: &str, subject: Option<&str>, at: i64) -> LegalHold {
    LegalHold {
        id: HoldId::generate(),
        name: name.into(),
        reason: "court order".into(),
        scope: HoldScope {
            subject_id: subject.map(str::to_owned),
            tag: Some("mifid2".into()),
            from: Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()),
            ..HoldScope::default()
        },
        created_at: OffsetDateTime::from_unix_timestamp(at).unwrap(),
        created_by: "p".into(),
    }
}

async fn holds_are_placed_listed_released_and_never_deleted(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let first = hold("Litigation 14", Some("s-1"), 1_800_000_000);
    let second = hold("Audit 2027", None, 1_800_000_100);
    s.insert_hold(&first).await.unwrap();
    s.insert_hold(&second).await.unwrap();
    assert_eq!(
        s.holds().await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert!(
        s.release_hold(&first.id, "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert!(
        !s.release_hold(&first.id, "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert!(
        !s.release_hold(&HoldId::generate(), "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert_eq!(s.holds().await.unwrap(), vec![second]);
    let refused = f.try_exec_raw("DELETE FROM legal_holds").await;
    assert!(refused.is_err(), "a hold is released, never deleted");
    assert_eq!(f.scalar("SELECT COUNT(*) FROM legal_holds").await, 2);
}

/// Runs `sql` behind the store's back and asserts the database refused it with a message
/// holding `because` (so a typo cannot pass for a refusal).
pub(crate) async fn assert_refused(f: &Fixture, sql: &str, because: &str) {
    match f.try_exec_raw(sql).await {
        Ok(()) => panic!("not refused: {sql}"),
        Err(error) => assert!(
            error.contains(because),
            "refused for another reason: {sql}: {error}"
        ),
    }
}
