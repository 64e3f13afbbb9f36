//! Incidents on both backends: numbers unique per day across two nodes, the incident and its
//! timeline stored together, escalations due in order, compare-and-set changes.

use std::collections::BTreeSet;

use rampart_monitor::{
    AlertWrite, EscalationPeriods, EventType, Incident, IncidentChange, IncidentFilter, IncidentId,
    IncidentStatus, MonitorStore, NewIncident, Severity, TimelineDocument, TimelineEntry,
    TimelineKind,
};
use time::Duration;
use time::macros::date;

use super::{T0, delivery, migrated, open_alert, step};
use crate::fixture::Fixture;

on_both_backends!(
    incident_numbers_are_unique_across_two_nodes,
    incidents_keep_their_timeline_in_order,
    escalations_are_due_in_order_and_compare_and_set,
    incidents_are_listed_by_status_and_severity,
);

fn incident(number: u32, severity: Severity, minutes: i64) -> Incident {
    Incident::open(
        IncidentId {
            date: date!(2026 - 12 - 01),
            number,
        },
        NewIncident {
            title: format!("incident {number}"),
            description: "brute force".to_owned(),
            severity,
            personal_data_breach: number.is_multiple_of(2),
            alert_ids: vec!["a1".to_owned()],
            entry_seqs: vec![1, 2, 3],
        },
        "rampart",
        T0 + Duration::minutes(minutes),
        &EscalationPeriods::uniform(3600),
    )
}

async fn incident_numbers_are_unique_across_two_nodes(f: Fixture) {
    migrated(&f).await;
    let node_b = f.another_node().await;
    let day = date!(2026 - 12 - 01);
    let mut takers = tokio::task::JoinSet::new();
    for taker in 0..20 {
        let store = if taker % 2 == 0 {
            f.store.clone()
        } else {
            node_b.clone()
        };
        takers.spawn(async move { store.next_incident_number(day).await.expect("takes") });
    }
    let numbers: BTreeSet<u32> = takers.join_all().await.into_iter().collect();
    assert_eq!(numbers, (1..=20).collect());
    assert_eq!(f.store.next_incident_number(day).await.expect("takes"), 21);
    assert_eq!(
        node_b
            .next_incident_number(date!(2026 - 12 - 02))
            .await
            .expect("takes"),
        1
    );

    // An id taken anyway (a number not from the counter) is refused, nothing written.
    let first = incident(1, Severity::High, 0);
    assert!(f.store.insert_incident(&first, &[]).await.expect("stores"));
    let mut again = incident(1, Severity::Low, 5);
    again.title = "another".to_owned();
    let sent = delivery("d1", "w1", T0);
    assert!(!node_b.insert_incident(&again, &[sent]).await.expect("runs"));
    assert_eq!(
        f.store.incident(first.id).await.expect("reads"),
        Some(first.clone())
    );
    assert!(
        f.store
            .due_deliveries(T0, 10)
            .await
            .expect("reads")
            .is_empty()
    );
    // The same goes for an incident an evaluation step would open.
    let mut commit = step(0, 3);
    commit.incidents = vec![again];
    assert!(!f.store.commit_evaluation(&commit).await.expect("runs"));
    assert_eq!(f.store.evaluation_cursor().await.expect("reads"), 0);
}

async fn incidents_keep_their_timeline_in_order(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut commit = step(0, 3);
    commit.alerts = vec![AlertWrite::Open(open_alert(
        "a1",
        "bulk_decryption",
        "lena",
        &[1, 2, 3],
    ))];
    let mut opened = incident(2, Severity::High, 0);
    commit.incidents = vec![opened.clone()];
    let mut sent = delivery("d1", "w1", T0);
    sent.event = EventType::IncidentOpened;
    commit.deliveries = vec![sent.clone()];
    assert!(s.commit_evaluation(&commit).await.expect("commits"));
    assert_eq!(
        s.incident(opened.id).await.expect("reads"),
        Some(opened.clone())
    );
    assert!(opened.personal_data_breach);
    assert_eq!(
        opened.notification_deadline_at,
        Some(T0 + Duration::hours(72))
    );
    // The incident links its alert back.
    let alert = s.alert("a1").await.expect("reads").expect("stored");
    assert_eq!(alert.incident_id.as_deref(), Some("INC-20261201-0002"));
    assert_eq!(s.due_deliveries(T0, 10).await.expect("reads"), vec![sent]);

    for (minutes, kind, text) in [
        (3, TimelineKind::Note, "looking"),
        (1, TimelineKind::Action, "blocked the address"),
        (2, TimelineKind::Note, "same second"),
    ] {
        let document = TimelineDocument {
            kind,
            text: text.to_owned(),
        };
        let entry = opened
            .record("lena", &document, T0 + Duration::minutes(minutes))
            .expect("open");
        assert!(s.append_timeline(opened.id, &entry).await.expect("appends"));
    }
    // Appended order, not time order: the timeline is what was written, as written.
    let stored = s.incident(opened.id).await.expect("reads").expect("stored");
    assert_eq!(stored, opened);
    assert_eq!(
        stored
            .timeline
            .iter()
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>(),
        [
            "incident 2",
            "looking",
            "blocked the address",
            "same second"
        ]
    );
    let missing = IncidentId {
        date: date!(2026 - 12 - 01),
        number: 99,
    };
    let note = TimelineEntry {
        at: T0,
        actor: "lena".to_owned(),
        kind: TimelineKind::Note,
        text: "nobody home".to_owned(),
    };
    assert!(!s.append_timeline(missing, &note).await.expect("runs"));
    assert_eq!(s.incident(missing).await.expect("reads"), None);
}

async fn escalations_are_due_in_order_and_compare_and_set(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let periods = EscalationPeriods::uniform(3600);
    let (first, second) = (
        incident(1, Severity::Low, 10),
        incident(2, Severity::Critical, 0),
    );
    for one in [&first, &second] {
        assert!(s.insert_incident(one, &[]).await.expect("stores"));
    }
    let due = |at| async move {
        s.due_escalations(at, 10)
            .await
            .expect("reads")
            .into_iter()
            .map(|i| i.id.number)
            .collect::<Vec<_>>()
    };
    assert!(due(T0 + Duration::minutes(59)).await.is_empty());
    assert_eq!(due(T0 + Duration::minutes(60)).await, [2]);
    assert_eq!(due(T0 + Duration::minutes(70)).await, [2, 1]);
    assert_eq!(
        s.due_escalations(T0 + Duration::minutes(70), 1)
            .await
            .expect("reads")
            .len(),
        1
    );

    // Escalate the second one; its next deadline moves on.
    let now = T0 + Duration::minutes(65);
    let mut escalated = second.clone();
    let entry = escalated.escalate(now, &periods).expect("due");
    let mut sent = delivery("d1", "w1", now);
    sent.event = EventType::IncidentEscalated;
    let change = IncidentChange {
        incident: escalated.clone(),
        entry,
        expected_status: IncidentStatus::Open,
        expected_level: 0,
        deliveries: vec![sent.clone()],
    };
    assert!(s.change_incident(&change).await.expect("writes"));
    assert_eq!(
        s.incident(second.id).await.expect("reads"),
        Some(escalated.clone())
    );
    assert_eq!(s.due_deliveries(now, 10).await.expect("reads"), vec![sent]);
    assert_eq!(due(now).await, Vec::<u32>::new());
    // The same escalation again (another node saw level 0) is refused, nothing written.
    assert!(!s.change_incident(&change).await.expect("runs"));
    let stored = s.incident(second.id).await.expect("reads").expect("stored");
    assert_eq!((stored.escalation_level, stored.timeline.len()), (1, 2));
    assert_eq!(s.due_deliveries(now, 10).await.expect("reads").len(), 1);

    // Acknowledged: never due again.
    let mut acked = first.clone();
    let entry = acked
        .acknowledge("lena", T0 + Duration::minutes(69))
        .expect("open");
    let ack = IncidentChange {
        incident: acked.clone(),
        entry,
        expected_status: IncidentStatus::Open,
        expected_level: 0,
        deliveries: Vec::new(),
    };
    assert!(s.change_incident(&ack).await.expect("writes"));
    assert_eq!(
        s.incident(first.id).await.expect("reads"),
        Some(acked.clone())
    );
    assert_eq!(due(T0 + Duration::days(3)).await, [2]);
    // An escalation racing the acknowledgement loses.
    let mut late = first.clone();
    let entry = late
        .escalate(T0 + Duration::minutes(70), &periods)
        .expect("due in its copy");
    let lost = IncidentChange {
        incident: late,
        entry,
        expected_status: IncidentStatus::Open,
        expected_level: 0,
        deliveries: Vec::new(),
    };
    assert!(!s.change_incident(&lost).await.expect("runs"));
    assert_eq!(s.incident(first.id).await.expect("reads"), Some(acked));
}

async fn incidents_are_listed_by_status_and_severity(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let incidents = [
        incident(1, Severity::Low, 0),
        incident(2, Severity::High, 1),
        incident(3, Severity::High, 2),
    ];
    for one in &incidents {
        assert!(s.insert_incident(one, &[]).await.expect("stores"));
    }
    let mut resolved = incidents[1].clone();
    let entry = resolved
        .resolve("lena", "false positive", T0 + Duration::minutes(5))
        .expect("open");
    let change = IncidentChange {
        incident: resolved.clone(),
        entry,
        expected_status: IncidentStatus::Open,
        expected_level: 0,
        deliveries: Vec::new(),
    };
    assert!(s.change_incident(&change).await.expect("writes"));
    let numbers = |filter: IncidentFilter| async move {
        s.list_incidents(&filter)
            .await
            .expect("reads")
            .into_iter()
            .map(|i| i.id.number)
            .collect::<Vec<_>>()
    };
    let filter = |status, severity, limit| IncidentFilter {
        status,
        severity,
        limit,
    };
    assert_eq!(numbers(filter(None, None, 10)).await, [3, 2, 1]);
    assert_eq!(numbers(filter(None, None, 2)).await, [3, 2]);
    assert_eq!(
        numbers(filter(Some(IncidentStatus::Open), None, 10)).await,
        [3, 1]
    );
    assert_eq!(
        numbers(filter(Some(IncidentStatus::Resolved), None, 10)).await,
        [2]
    );
    assert_eq!(
        numbers(filter(None, Some(Severity::High), 10)).await,
        [3, 2]
    );
    assert_eq!(
        numbers(filter(Some(IncidentStatus::Acknowledged), None, 10)).await,
        Vec::<u32>::new()
    );
    let listed = s
        .list_incidents(&filter(Some(IncidentStatus::Resolved), None, 10))
        .await
        .expect("reads");
    assert_eq!(listed, vec![resolved]);
}
