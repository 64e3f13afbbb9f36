//! Retention policies on both backends: the defaults a migration leaves, put, list, replace and
//! remove through the store, and the database itself keeping a compliance policy from being
//! shortened, weakened to governance, renamed or removed, whoever asks.

use rampart_retention::{DataType, Mode, Policy, RetentionStore};
use time::OffsetDateTime;

use super::{NOW, assert_refused, policy};
use crate::fixture::Fixture;

on_both_backends!(
    defaults_are_there_after_migration,
    policies_are_put_listed_replaced_and_removed,
    the_database_keeps_compliance_policies,
);

const DAY: u64 = 86_400;

async fn defaults_are_there_after_migration(f: Fixture) {
    f.store.migrate().await.unwrap();
    let default = |data_type, retain_seconds| Policy {
        data_type,
        retain_seconds,
        mode: Mode::Governance,
        updated_at: OffsetDateTime::UNIX_EPOCH,
        updated_by: "default".into(),
    };
    assert_eq!(
        f.store.policies().await.unwrap(),
        vec![
            default(DataType::Sessions, 30 * DAY),
            default(DataType::WebhookDeliveries, 90 * DAY),
        ]
    );
}

async fn policies_are_put_listed_replaced_and_removed(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let audit = policy(DataType::AuditEntries, 2555 * DAY, Mode::Governance);
    let mifid = policy(
        DataType::AuditTag("mifid2".into()),
        1825 * DAY,
        Mode::Compliance,
    );
    let scan = policy(
        DataType::App("scan_data".into()),
        365 * DAY,
        Mode::Governance,
    );
    let consents = policy(DataType::Consents, 0, Mode::Governance);
    for p in [&consents, &mifid, &scan, &audit] {
        s.put_policy(p).await.unwrap();
    }
    let listed = s.policies().await.unwrap();
    let names: Vec<String> = listed.iter().map(|p| p.data_type.to_string()).collect();
    assert_eq!(
        names,
        [
            "app:scan_data",
            "audit_entries",
            "audit_entries:mifid2",
            "consents",
            "sessions",
            "webhook_deliveries"
        ]
    );
    assert_eq!(
        &listed[..4],
        &[scan.clone(), audit.clone(), mifid.clone(), consents.clone()]
    );

    // Replaced in place: a governance policy shortened (the caller checked the override), a
    // compliance one lengthened, a default replaced.
    let later = NOW + time::Duration::days(1);
    let shorter = Policy {
        retain_seconds: 30 * DAY,
        updated_at: later,
        updated_by: "admin-2".into(),
        ..audit.clone()
    };
    let longer = Policy {
        retain_seconds: 3650 * DAY,
        updated_at: later,
        ..mifid.clone()
    };
    let sessions = policy(DataType::Sessions, 7 * DAY, Mode::Compliance);
    for p in [&shorter, &longer, &sessions] {
        s.put_policy(p).await.unwrap();
    }
    let listed = s.policies().await.unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.contains(&shorter) && listed.contains(&longer) && listed.contains(&sessions));
    assert!(!listed.contains(&audit) && !listed.contains(&mifid));

    // The store cannot shorten, weaken or remove a compliance policy either.
    let shortened = Policy {
        retain_seconds: DAY,
        ..longer.clone()
    };
    assert!(s.put_policy(&shortened).await.is_err());
    let weakened = Policy {
        mode: Mode::Governance,
        ..longer.clone()
    };
    assert!(s.put_policy(&weakened).await.is_err());
    assert!(s.remove_policy(&longer.data_type).await.is_err());
    assert!(s.policies().await.unwrap().contains(&longer));

    assert!(s.remove_policy(&DataType::AuditEntries).await.unwrap());
    assert!(!s.remove_policy(&DataType::AuditEntries).await.unwrap());
    assert!(
        !s.remove_policy(&DataType::App("never_set".into()))
            .await
            .unwrap()
    );
    let names: Vec<String> = s
        .policies()
        .await
        .unwrap()
        .iter()
        .map(|p| p.data_type.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "app:scan_data",
            "audit_entries:mifid2",
            "consents",
            "sessions",
            "webhook_deliveries"
        ]
    );
}

async fn retain_seconds(f: &Fixture, data_type: &str) -> i64 {
    f.scalar(&format!(
        "SELECT retain_seconds FROM retention_policies WHERE data_type = '{data_type}'"
    ))
    .await
}

async fn the_database_keeps_compliance_policies(f: Fixture) {
    f.store.migrate().await.unwrap();
    let year = 365 * DAY;
    f.store
        .put_policy(&policy(
            DataType::AuditTag("mifid2".into()),
            5 * year,
            Mode::Compliance,
        ))
        .await
        .unwrap();
    f.store
        .put_policy(&policy(DataType::Consents, 2 * year, Mode::Governance))
        .await
        .unwrap();
    let five_years = i64::try_from(5 * year).unwrap();

    // Behind the store's back, as an operator with a shell would: refused by the database.
    for sql in [
        "UPDATE retention_policies SET retain_seconds = 86400 WHERE data_type = 'audit_entries:mifid2'",
        "UPDATE retention_policies SET mode = 'governance' WHERE data_type = 'audit_entries:mifid2'",
        "UPDATE retention_policies SET data_type = 'audit_entries:other' WHERE data_type = 'audit_entries:mifid2'",
        "DELETE FROM retention_policies WHERE data_type = 'audit_entries:mifid2'",
        "DELETE FROM retention_policies",
    ] {
        assert_refused(&f, sql, "compliance retention policy").await;
    }
    assert_eq!(retain_seconds(&f, "audit_entries:mifid2").await, five_years);
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM retention_policies").await,
        4,
        "nothing was deleted"
    );
    assert_eq!(
        f.text("SELECT mode FROM retention_policies WHERE data_type = 'audit_entries:mifid2'")
            .await
            .as_deref(),
        Some("compliance")
    );

    // Lengthening is allowed, and so is the same period with a new author.
    f.exec_raw(&format!(
        "UPDATE retention_policies SET retain_seconds = {}, updated_by = 'dpo'
         WHERE data_type = 'audit_entries:mifid2'",
        10 * year
    ))
    .await;
    assert_eq!(
        retain_seconds(&f, "audit_entries:mifid2").await,
        i64::try_from(10 * year).unwrap()
    );

    // A governance policy can be shortened, made compliance, or removed at the SQL level.
    f.exec_raw("UPDATE retention_policies SET retain_seconds = 60 WHERE data_type = 'consents'")
        .await;
    assert_eq!(retain_seconds(&f, "consents").await, 60);
    f.exec_raw("DELETE FROM retention_policies WHERE data_type = 'sessions'")
        .await;
    f.exec_raw(
        "UPDATE retention_policies SET mode = 'compliance' WHERE data_type = 'webhook_deliveries'",
    )
    .await;
    // Now compliance: kept.
    assert_refused(
        &f,
        "DELETE FROM retention_policies WHERE data_type = 'webhook_deliveries'",
        "compliance retention policy",
    )
    .await;
    let names: Vec<String> = f
        .store
        .policies()
        .await
        .unwrap()
        .iter()
        .map(|p| p.data_type.to_string())
        .collect();
    assert_eq!(
        names,
        ["audit_entries:mifid2", "consents", "webhook_deliveries"]
    );
}
