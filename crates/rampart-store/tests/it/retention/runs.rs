//! Disposal runs, their certificates and the application's confirmations on both backends:
//! a run comes back as stored (its steps in the order they run, the policies in force when it
//! started), unfinished and recent runs are listed in their orders, progress without disposal
//! is recorded, a run finishes once; a certificate is stored once and listed by id; an
//! application confirms a run's data type once.

use rampart_retention::{
    AppConfirmation, BatchProgress, CertificateId, DataType, Mode, RetentionStore, Run, RunId,
    StepState, StoredCertificate,
};
use serde_json::json;
use time::Duration;

use super::{NOW, assert_refused, new_run, policy, step, stored_step};
use crate::fixture::Fixture;

on_both_backends!(
    runs_round_trip_with_their_steps_and_policies,
    progress_without_disposal_is_recorded,
    certificates_are_stored_once_and_listed_by_id,
    an_application_confirms_a_data_type_once,
);

const DAY: u64 = 86_400;

fn started_at(mut run: Run, hours: i64) -> Run {
    run.started_at = NOW + Duration::hours(hours);
    run
}

async fn runs_round_trip_with_their_steps_and_policies(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let policies = vec![
        policy(
            DataType::App("scan_data".into()),
            365 * DAY,
            Mode::Governance,
        ),
        policy(DataType::AuditEntries, 2555 * DAY, Mode::Governance),
        policy(
            DataType::AuditTag("mifid2".into()),
            1825 * DAY,
            Mode::Compliance,
        ),
        policy(DataType::Consents, 0, Mode::Governance),
    ];
    let cutoff = NOW - Duration::days(365);
    // Stored out of order: read back in the order a run takes them.
    let mut first = new_run(
        policies.clone(),
        vec![
            step(DataType::App("scan_data".into()), cutoff, 0),
            step(DataType::Consents, NOW, 0),
            step(DataType::AuditEntries, NOW - Duration::days(1825), 1200),
            step(DataType::Sessions, cutoff, 0),
        ],
    );
    s.insert_run(&first).await.unwrap();
    first.steps.sort_by(|a, b| a.data_type.cmp(&b.data_type));
    let names: Vec<String> = first
        .steps
        .iter()
        .map(|s| s.data_type.to_string())
        .collect();
    assert_eq!(
        names,
        ["audit_entries", "consents", "sessions", "app:scan_data"]
    );
    assert_eq!(s.run(&first.id).await.unwrap(), Some(first.clone()));

    let mut dry = started_at(
        new_run(Vec::new(), vec![step(DataType::Alerts, cutoff, 0)]),
        1,
    );
    dry.dry_run = true;
    dry.requested_by = "admin-1".into();
    let last = started_at(new_run(policies, Vec::new()), 2);
    s.insert_run(&dry).await.unwrap();
    s.insert_run(&last).await.unwrap();
    assert_eq!(s.run(&dry.id).await.unwrap(), Some(dry.clone()));
    assert_eq!(s.run(&last.id).await.unwrap(), Some(last.clone()));
    assert_eq!(s.run(&RunId::generate()).await.unwrap(), None);
    assert!(
        s.insert_run(&first).await.is_err(),
        "a run id is stored once"
    );

    assert_eq!(
        s.unfinished_runs().await.unwrap(),
        vec![first.clone(), dry.clone(), last.clone()]
    );
    let finished_at = NOW + Duration::minutes(90);
    s.finish_run(&dry.id, finished_at).await.unwrap();
    // Finishing again changes nothing; an unknown run is no error.
    s.finish_run(&dry.id, NOW + Duration::hours(5))
        .await
        .unwrap();
    s.finish_run(&RunId::generate(), NOW).await.unwrap();
    let finished = Run {
        finished_at: Some(finished_at),
        ..dry.clone()
    };
    assert_eq!(s.run(&dry.id).await.unwrap(), Some(finished.clone()));
    assert_eq!(
        s.unfinished_runs().await.unwrap(),
        vec![first.clone(), last.clone()]
    );
    assert_eq!(
        s.recent_runs(10).await.unwrap(),
        vec![last.clone(), finished.clone(), first.clone()]
    );
    assert_eq!(s.recent_runs(2).await.unwrap(), vec![last, finished]);
    assert_eq!(s.recent_runs(0).await.unwrap(), Vec::new());
}

async fn progress_without_disposal_is_recorded(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let run = new_run(Vec::new(), vec![step(DataType::Incidents, NOW, 0)]);
    s.insert_run(&run).await.unwrap();
    let batch = BatchProgress {
        run_id: run.id.clone(),
        data_type: DataType::Incidents,
        next_seq: 0,
        cursor: Some("INC-20261001-0017".into()),
        due: 5,
        held_back: 5,
        done: false,
    };
    s.record_progress(&batch).await.unwrap();
    let step = stored_step(&f, &run).await;
    assert_eq!(
        (step.state, step.due, step.held_back, step.disposed),
        (StepState::Running, 5, 5, 0)
    );
    assert_eq!(step.cursor.as_deref(), Some("INC-20261001-0017"));
    // The same batch again (a retry): counted once.
    s.record_progress(&batch).await.unwrap();
    assert_eq!(stored_step(&f, &run).await, step);
    // The last batch: nothing more passed, the cursor stays where it was.
    let last = BatchProgress {
        cursor: None,
        due: 2,
        held_back: 1,
        done: true,
        ..batch.clone()
    };
    s.record_progress(&last).await.unwrap();
    let step = stored_step(&f, &run).await;
    assert_eq!(
        (step.state, step.due, step.held_back, step.disposed),
        (StepState::Done, 7, 6, 0)
    );
    assert_eq!(step.cursor.as_deref(), Some("INC-20261001-0017"));
    assert_eq!((step.first_seq, step.last_seq), (None, None));
    // A finished step stays finished and counts nothing more.
    s.record_progress(&batch).await.unwrap();
    assert_eq!(stored_step(&f, &run).await, step);
}

fn certificate(id: &CertificateId, run: &RunId, count: u64) -> StoredCertificate {
    StoredCertificate {
        id: id.clone(),
        run_id: run.clone(),
        data_type: DataType::AuditEntries,
        issued_at: NOW + Duration::hours(1),
        document: json!({"id": id.as_str(), "data_type": "audit_entries", "count": count,
                         "signature_b64": "c2lnbmF0dXJl"})
        .to_string(),
    }
}

async fn certificates_are_stored_once_and_listed_by_id(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let run = RunId::generate();
    let mut ids: Vec<CertificateId> = (0..3).map(|_| CertificateId::generate()).collect();
    ids.sort();
    let a = certificate(&ids[0], &run, 10);
    let b = certificate(&ids[1], &run, 11);
    let c = certificate(&ids[2], &run, 12);
    for cert in [&b, &c, &a] {
        s.insert_certificate(cert).await.unwrap();
    }
    // Issued again (a run resumed after a crash): the first stays.
    s.insert_certificate(&certificate(&a.id, &run, 99))
        .await
        .unwrap();
    assert_eq!(
        f.scalar(&format!(
            "SELECT COUNT(*) FROM retention_certificates WHERE id = '{}'",
            a.id.as_str()
        ))
        .await,
        1
    );
    assert_eq!(
        s.certificates(None, 10).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        s.certificates(None, 2).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        s.certificates(Some(&b.id), 10).await.unwrap(),
        vec![c.clone()]
    );
    assert_eq!(s.certificates(Some(&c.id), 10).await.unwrap(), Vec::new());
    assert_refused(
        &f,
        "UPDATE retention_certificates SET document = '{}'",
        "append-only",
    )
    .await;
    assert_refused(&f, "DELETE FROM retention_certificates", "append-only").await;
}

async fn an_application_confirms_a_data_type_once(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let run = new_run(
        Vec::new(),
        vec![step(DataType::App("scan_data".into()), NOW, 0)],
    );
    let other = new_run(Vec::new(), Vec::new());
    s.insert_run(&run).await.unwrap();
    s.insert_run(&other).await.unwrap();
    let confirmation = |data_type: &str, deleted: u64| AppConfirmation {
        run_id: run.id.clone(),
        data_type: DataType::parse(data_type).unwrap(),
        records_deleted: deleted,
        deleted_before: NOW - Duration::days(365),
        confirmed_at: NOW + Duration::hours(1),
        confirmed_by: "app-1".into(),
    };
    let scan = confirmation("app:scan_data", 1200);
    let preferences = confirmation("app:user_preferences", 0);
    assert!(s.confirm_app(&preferences).await.unwrap());
    assert!(s.confirm_app(&scan).await.unwrap());
    // A second confirmation of the same run and type is not recorded.
    assert!(
        !s.confirm_app(&confirmation("app:scan_data", 5))
            .await
            .unwrap()
    );
    assert_eq!(
        s.app_confirmations(&run.id).await.unwrap(),
        vec![scan.clone(), preferences]
    );
    assert_eq!(s.app_confirmations(&other.id).await.unwrap(), Vec::new());
    let unknown = AppConfirmation {
        run_id: RunId::generate(),
        ..scan
    };
    assert!(
        s.confirm_app(&unknown).await.is_err(),
        "a confirmation names a stored run"
    );
    assert_refused(
        &f,
        "UPDATE retention_confirmations SET records_deleted = 0",
        "append-only",
    )
    .await;
    assert_refused(&f, "DELETE FROM retention_confirmations", "append-only").await;
}
