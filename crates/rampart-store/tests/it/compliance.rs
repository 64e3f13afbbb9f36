//! Issue 20: compliance storage on both backends: reports kept exactly as signed and never
//! changed or deleted, waivers revoked (never deleted), every control's history, and the
//! inventory facts are read from.

use rampart_compliance::{ComplianceStore, FrameworkId, ReportId, Status, StoredReport, Waiver};
use time::Duration;
use time::macros::datetime;

use crate::fixture::Fixture;

on_both_backends!(
    reports_are_kept_as_signed_and_never_changed,
    waivers_are_revoked_never_deleted,
    history_is_kept_per_control_newest_first,
    inventory_counts_what_other_domains_keep,
);

fn report(framework: FrameworkId, at: time::OffsetDateTime, tree_size: u64) -> StoredReport {
    let id = ReportId::generate();
    StoredReport {
        document: format!(r#"{{"id":"{}","signature_b64":"x"}}"#, id.as_str()),
        id,
        framework,
        generated_at: at,
        tree_size,
    }
}

async fn reports_are_kept_as_signed_and_never_changed(f: Fixture) {
    f.store.migrate().await.unwrap();
    let store = &f.store;
    let t0 = datetime!(2026-12-01 12:00 UTC);
    let first = report(FrameworkId::Soc2, t0, 10);
    let second = report(FrameworkId::Soc2, t0 + Duration::hours(1), 20);
    let other = report(FrameworkId::PciDss, t0 + Duration::hours(2), 30);
    for r in [&first, &second, &other] {
        store.insert_report(r).await.unwrap();
    }
    assert_eq!(
        store.report(&first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(
        store
            .latest_report(FrameworkId::Soc2)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(second.id.clone())
    );
    assert_eq!(store.latest_report(FrameworkId::Gdpr).await.unwrap(), None);
    let listed = store.list_reports(None, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![other.id.clone(), second.id.clone(), first.id.clone()]
    );
    assert!(
        listed.iter().all(|r| r.document.is_empty()),
        "lists carry no documents"
    );
    let soc2 = store
        .list_reports(Some(FrameworkId::Soc2), 1)
        .await
        .unwrap();
    assert_eq!(soc2.len(), 1);
    assert_eq!(soc2[0].tree_size, 20);
    assert!(store.report(&ReportId::generate()).await.unwrap().is_none());
    // The database refuses to change or delete a report, whatever the caller.
    let id = first.id.as_str();
    assert!(
        f.try_exec_raw(&format!(
            "UPDATE compliance_reports SET document = '{{}}' WHERE id = '{id}'"
        ))
        .await
        .is_err()
    );
    assert!(
        f.try_exec_raw(&format!("DELETE FROM compliance_reports WHERE id = '{id}'"))
            .await
            .is_err()
    );
    assert_eq!(store.report(&first.id).await.unwrap(), Some(first));
}

async fn waivers_are_revoked_never_deleted(f: Fixture) {
    f.store.migrate().await.unwrap();
    let store = &f.store;
    let now = datetime!(2026-12-01 12:00 UTC);
    let waiver = Waiver {
        id: "wvr_0001".into(),
        framework: FrameworkId::Hipaa,
        control: "hipaa-164.312(e)(1)".into(),
        reason: "TLS terminates at the load balancer (ticket SEC-12)".into(),
        expires_at: now + Duration::days(30),
        created_by: "admin".into(),
        created_at: now,
        revoked: false,
    };
    store.insert_waiver(&waiver).await.unwrap();
    assert_eq!(store.waivers().await.unwrap(), vec![waiver.clone()]);
    assert!(store.revoke_waiver("wvr_0001", "admin", now).await.unwrap());
    assert!(
        !store.revoke_waiver("wvr_0001", "admin", now).await.unwrap(),
        "once"
    );
    assert!(!store.revoke_waiver("wvr_none", "admin", now).await.unwrap());
    assert!(store.waivers().await.unwrap().is_empty());
    assert!(
        f.try_exec_raw("DELETE FROM compliance_waivers WHERE id = 'wvr_0001'")
            .await
            .is_err()
    );
    assert_eq!(f.scalar("SELECT count(*) FROM compliance_waivers").await, 1);
}

async fn history_is_kept_per_control_newest_first(f: Fixture) {
    f.store.migrate().await.unwrap();
    let store = &f.store;
    let t0 = datetime!(2026-12-01 00:00 UTC);
    let id = ReportId::generate();
    for day in 0..3 {
        let at = t0 + Duration::days(day);
        let status = if day == 1 { Status::Fail } else { Status::Pass };
        let report = (day == 2).then_some(&id);
        store
            .record_results(
                FrameworkId::Soc2,
                at,
                report,
                &[("soc2-a".into(), status), ("soc2-b".into(), Status::Manual)],
            )
            .await
            .unwrap();
    }
    let history = store
        .control_history(FrameworkId::Soc2, "soc2-a", None, 10)
        .await
        .unwrap();
    let statuses: Vec<_> = history.iter().map(|h| h.status).collect();
    assert_eq!(statuses, vec![Status::Pass, Status::Fail, Status::Pass]);
    assert_eq!(history[0].report_id.as_ref(), Some(&id));
    assert_eq!(history[1].report_id, None);
    let page = store
        .control_history(
            FrameworkId::Soc2,
            "soc2-a",
            Some(history[0].evaluated_at),
            1,
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].evaluated_at, t0 + Duration::days(1));
    assert!(
        store
            .control_history(FrameworkId::PciDss, "soc2-a", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The daily evaluation's newest run: day 1 (day 2 was a report).
    assert_eq!(
        store.last_evaluation().await.unwrap(),
        Some(t0 + Duration::days(1))
    );
    assert!(
        f.try_exec_raw("UPDATE compliance_control_history SET status = 'pass'")
            .await
            .is_err()
    );
    assert!(
        f.try_exec_raw("DELETE FROM compliance_control_history")
            .await
            .is_err()
    );
}

async fn inventory_counts_what_other_domains_keep(f: Fixture) {
    f.store.migrate().await.unwrap();
    let inventory = f.store.inventory().await.unwrap();
    assert_eq!(inventory.cards_stored, 0);
    assert_eq!(inventory.consents, 0);
    assert_eq!(inventory.erasures_pending, 0);
    assert!(inventory.agents.is_empty());
    assert_eq!(inventory.last_full_verification, None);
}
