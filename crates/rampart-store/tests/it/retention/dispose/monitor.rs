//! The disposal of alerts, incidents (with their timelines), sessions and webhook deliveries
//! on both backends, through the checks every type shares (`dispose_and_check`) and what is
//! particular to each: the time that counts, and the records that are never due.

use rampart_retention::{DataType, RetentionStore};
use time::{Duration, OffsetDateTime};

use super::{CUTOFF, Made, before_cutoff, dispose_and_check, plain};
use crate::fixture::Fixture;
use crate::retention::{NOW, micros};

on_both_backends!(
    alerts_resolved_before_the_cutoff_are_disposed,
    incidents_resolved_before_the_cutoff_go_with_their_timelines,
    sessions_that_ended_before_the_cutoff_are_disposed,
    sent_webhook_deliveries_are_disposed,
);

fn sql_time(at: Option<OffsetDateTime>) -> String {
    at.map_or("NULL".to_owned(), |at| micros(at).to_string())
}

/// An alert first seen `seen`, in `status`, resolved at `resolved`.
async fn alert(
    f: &Fixture,
    id: &str,
    status: &str,
    seen: OffsetDateTime,
    resolved: Option<OffsetDateTime>,
) {
    f.exec_raw(&format!(
        "INSERT INTO monitor_alerts (id, rule, severity, group_key, status, count, first_seen_at,
             last_seen_at, entry_seqs, resolved_by, resolved_at)
         VALUES ('{id}', 'failed_logins', 'high', 'group-{id}', '{status}', 1, {seen}, {seen},
             '[1]', 'admin-1', {resolved})",
        seen = micros(seen),
        resolved = sql_time(resolved),
    ))
    .await;
}

async fn alerts_resolved_before_the_cutoff_are_disposed(f: Fixture) {
    f.store.migrate().await.unwrap();
    let old = before_cutoff(40);
    alert(&f, "alert-1", "resolved", old, Some(before_cutoff(5))).await;
    alert(&f, "alert-2", "resolved", old, Some(before_cutoff(4))).await;
    alert(&f, "alert-3", "resolved", old, Some(before_cutoff(6))).await;
    // Resolved at or after the cutoff (first seen long before: the resolution counts).
    alert(&f, "alert-4", "resolved", old, Some(CUTOFF)).await;
    alert(&f, "alert-5", "resolved", old, Some(NOW)).await;
    // Open or acknowledged: never due, whatever their times say.
    alert(&f, "alert-6", "open", old, None).await;
    alert(&f, "alert-7", "acknowledged", old, None).await;
    alert(&f, "alert-8", "open", old, Some(before_cutoff(5))).await;
    let made = Made {
        due: vec![
            plain("alert-1", before_cutoff(5)),
            plain("alert-2", before_cutoff(4)),
            plain("alert-3", before_cutoff(6)),
        ],
        not_due: ["alert-4", "alert-5", "alert-6", "alert-7", "alert-8"]
            .map(str::to_owned)
            .to_vec(),
        missing: "alert-0".into(),
        count_sql: "SELECT COUNT(*) FROM monitor_alerts",
    };
    dispose_and_check(&f, DataType::Alerts, &made).await;
    assert_eq!(f.scalar("SELECT COUNT(*) FROM monitor_alerts").await, 6);
}

/// An incident in `status` (resolved at `resolved`) with a timeline of `entries` lines.
async fn incident(
    f: &Fixture,
    id: &str,
    status: &str,
    resolved: Option<OffsetDateTime>,
    entries: usize,
) {
    let created = micros(before_cutoff(60));
    let mut sql = format!(
        "INSERT INTO monitor_incidents (id, title, description, severity, status, created_at,
             resolved_at, escalation_level, personal_data_breach, alert_ids, entry_seqs)
         VALUES ('{id}', 'Brute force', 'Failed logins', 'high', '{status}', {created},
             {resolved}, 0, FALSE, '[]', '[]');",
        resolved = sql_time(resolved),
    );
    for (n, kind) in ["opened", "note", "resolved"]
        .into_iter()
        .take(entries)
        .enumerate()
    {
        sql.push_str(&format!(
            "INSERT INTO monitor_timeline (incident_id, at, actor, kind, text)
             VALUES ('{id}', {at}, 'admin-1', '{kind}', 'line {n}');",
            at = created + i64::try_from(n).unwrap(),
        ));
    }
    f.exec_raw(&sql).await;
}

async fn timeline_of(f: &Fixture, id: &str) -> i64 {
    f.scalar(&format!(
        "SELECT COUNT(*) FROM monitor_timeline WHERE incident_id = '{id}'"
    ))
    .await
}

async fn incidents_resolved_before_the_cutoff_go_with_their_timelines(f: Fixture) {
    f.store.migrate().await.unwrap();
    incident(
        &f,
        "INC-20261001-0001",
        "resolved",
        Some(before_cutoff(3)),
        3,
    )
    .await;
    incident(
        &f,
        "INC-20261001-0002",
        "resolved",
        Some(before_cutoff(2)),
        3,
    )
    .await;
    incident(
        &f,
        "INC-20261001-0003",
        "resolved",
        Some(before_cutoff(1)),
        0,
    )
    .await;
    incident(&f, "INC-20261001-0004", "resolved", Some(NOW), 3).await;
    // Open or acknowledged, however old: never due, and their timelines stay.
    incident(&f, "INC-20261001-0005", "open", None, 2).await;
    incident(&f, "INC-20261001-0006", "acknowledged", None, 2).await;
    incident(&f, "INC-20261001-0007", "open", Some(before_cutoff(3)), 2).await;
    let made = Made {
        due: vec![
            plain("INC-20261001-0001", before_cutoff(3)),
            plain("INC-20261001-0002", before_cutoff(2)),
            plain("INC-20261001-0003", before_cutoff(1)),
        ],
        not_due: [
            "INC-20261001-0004",
            "INC-20261001-0005",
            "INC-20261001-0006",
            "INC-20261001-0007",
        ]
        .map(str::to_owned)
        .to_vec(),
        missing: "INC-20261001-0000".into(),
        count_sql: "SELECT COUNT(*) FROM monitor_incidents",
    };
    let held = dispose_and_check(&f, DataType::Incidents, &made).await;
    for (id, left) in [
        ("INC-20261001-0001", 0),
        (held.as_str(), 3),
        ("INC-20261001-0004", 3),
        ("INC-20261001-0005", 2),
        ("INC-20261001-0006", 2),
        ("INC-20261001-0007", 2),
    ] {
        assert_eq!(timeline_of(&f, id).await, left, "{id}'s timeline");
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM monitor_timeline").await, 12);
}

/// A session created long ago that expires at `expires` and was revoked at `revoked`.
async fn session(f: &Fixture, id: &str, expires: OffsetDateTime, revoked: Option<OffsetDateTime>) {
    let created = micros(before_cutoff(90));
    f.exec_raw(&format!(
        "INSERT INTO sessions (id, principal_id, created_at, last_seen_at, expires_at, revoked_at)
         VALUES ('{id}', 'user-1', {created}, {created}, {expires}, {revoked})",
        expires = micros(expires),
        revoked = sql_time(revoked),
    ))
    .await;
}

async fn sessions_that_ended_before_the_cutoff_are_disposed(f: Fixture) {
    f.store.migrate().await.unwrap();
    f.exec_raw(
        "INSERT INTO principals (id, kind, name, email, disabled, created_at)
         VALUES ('user-1', 'user', 'Lena', 'lena@example.com', FALSE, 0)",
    )
    .await;
    let later = NOW + Duration::days(1);
    // Expired before the cutoff; revoked before it (its expiry later: the revocation ends it).
    session(&f, "session-1", before_cutoff(10), None).await;
    session(&f, "session-2", later, Some(before_cutoff(3))).await;
    session(&f, "session-3", before_cutoff(1), Some(before_cutoff(2))).await;
    session(&f, "session-4", before_cutoff(5), Some(NOW)).await;
    // Ended at or after the cutoff, or still live.
    session(&f, "session-5", CUTOFF, None).await;
    session(&f, "session-6", NOW - Duration::days(1), None).await;
    session(&f, "session-7", later, Some(NOW - Duration::hours(1))).await;
    session(&f, "session-8", later, None).await;
    let made = Made {
        due: vec![
            plain("session-1", before_cutoff(10)),
            plain("session-2", before_cutoff(3)),
            plain("session-3", before_cutoff(2)),
            plain("session-4", before_cutoff(5)),
        ],
        not_due: ["session-5", "session-6", "session-7", "session-8"]
            .map(str::to_owned)
            .to_vec(),
        missing: "session-0".into(),
        count_sql: "SELECT COUNT(*) FROM sessions",
    };
    dispose_and_check(&f, DataType::Sessions, &made).await;
    assert_eq!(f.scalar("SELECT COUNT(*) FROM sessions").await, 5);
    // A live session is never due, even for a cutoff of now.
    let now = f
        .store
        .due_records(&DataType::Sessions, NOW, None, 100)
        .await
        .unwrap();
    let keys: Vec<&str> = now.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["session-2", "session-5", "session-6", "session-7"]);
}

/// A delivery created at `created` in `status` (pending ones are due again at `created`).
async fn delivery(f: &Fixture, id: &str, status: &str, created: OffsetDateTime) {
    let next = if status == "pending" {
        micros(created).to_string()
    } else {
        "NULL".to_owned()
    };
    f.exec_raw(&format!(
        "INSERT INTO monitor_deliveries (id, webhook_id, event, body, status, attempts,
             last_status_code, next_attempt_at, created_at)
         VALUES ('{id}', 'wh-1', 'alert.created', '{{}}', '{status}', 1, 200, {next}, {created})",
        created = micros(created),
    ))
    .await;
}

async fn sent_webhook_deliveries_are_disposed(f: Fixture) {
    f.store.migrate().await.unwrap();
    delivery(&f, "delivery-1", "delivered", before_cutoff(3)).await;
    delivery(&f, "delivery-2", "failed", before_cutoff(2)).await;
    delivery(&f, "delivery-3", "delivered", before_cutoff(1)).await;
    // Pending (still being retried), however old: never due.
    delivery(&f, "delivery-4", "pending", before_cutoff(30)).await;
    delivery(&f, "delivery-5", "delivered", CUTOFF).await;
    delivery(&f, "delivery-6", "failed", NOW).await;
    let made = Made {
        due: vec![
            plain("delivery-1", before_cutoff(3)),
            plain("delivery-2", before_cutoff(2)),
            plain("delivery-3", before_cutoff(1)),
        ],
        not_due: ["delivery-4", "delivery-5", "delivery-6"]
            .map(str::to_owned)
            .to_vec(),
        missing: "delivery-0".into(),
        count_sql: "SELECT COUNT(*) FROM monitor_deliveries",
    };
    dispose_and_check(&f, DataType::WebhookDeliveries, &made).await;
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM monitor_deliveries WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(f.scalar("SELECT COUNT(*) FROM monitor_deliveries").await, 4);
}
