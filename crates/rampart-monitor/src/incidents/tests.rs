use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;
use crate::error::Invalid;

const NOW: OffsetDateTime = datetime!(2026-12-05 10:00 UTC);

fn new_incident(severity: Severity, breach: bool) -> NewIncident {
    NewIncident {
        title: "Brute force on lena".into(),
        description: String::new(),
        severity,
        personal_data_breach: breach,
        alert_ids: vec!["a1".into()],
        entry_seqs: vec![1, 2],
    }
}

fn id() -> IncidentId {
    IncidentId {
        date: date!(2026 - 12 - 05),
        number: 7,
    }
}

#[test]
fn ids_have_seed_001_s_format() {
    assert_eq!(id().to_text(), "INC-20261205-0007");
    assert_eq!(IncidentId::parse("INC-20261205-0007"), Some(id()));
    let big = IncidentId {
        number: 12_345,
        ..id()
    };
    assert_eq!(big.to_text(), "INC-20261205-12345");
    assert_eq!(IncidentId::parse(&big.to_text()), Some(big));
    for bad in [
        "INC-20261205-7",
        "INC-20261305-0001",
        "INC-20261205-0000",
        "inc-20261205-0001",
        "INC-2026125-0001",
        "INC-20261205-01234",
        "INC-20261205-00a1",
    ] {
        assert_eq!(IncidentId::parse(bad), None, "{bad}");
    }
}

#[test]
fn periods_follow_seed_001_or_the_setting() {
    let periods = EscalationPeriods::default();
    assert_eq!(periods.of(Severity::Low), Duration::hours(24));
    assert_eq!(periods.of(Severity::Medium), Duration::hours(8));
    assert_eq!(periods.of(Severity::High), Duration::hours(2));
    assert_eq!(periods.of(Severity::Critical), Duration::minutes(30));
    let short = EscalationPeriods::from_setting(Some(5));
    assert!(
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical
        ]
        .iter()
        .all(|s| short.of(*s) == Duration::seconds(5))
    );
    assert_eq!(EscalationPeriods::from_setting(None), periods);
    assert_eq!(
        EscalationPeriods::uniform(0).of(Severity::Low),
        Duration::SECOND
    );
}

#[test]
fn opening_sets_deadlines_and_the_timeline() {
    let periods = EscalationPeriods::default();
    let incident = Incident::open(
        id(),
        new_incident(Severity::High, true),
        "ops",
        NOW,
        &periods,
    );
    assert_eq!(incident.status, IncidentStatus::Open);
    assert_eq!(incident.escalation_level, 0);
    assert_eq!(incident.next_escalation_at, Some(NOW + Duration::hours(2)));
    assert_eq!(
        incident.notification_deadline_at,
        Some(NOW + Duration::hours(72))
    );
    assert_eq!(incident.timeline.len(), 1);
    assert_eq!(incident.timeline[0].kind, TimelineKind::Opened);
    let no_breach = Incident::open(
        id(),
        new_incident(Severity::Low, false),
        "ops",
        NOW,
        &periods,
    );
    assert_eq!(no_breach.notification_deadline_at, None);
}

#[test]
fn escalation_happens_on_time_and_steps_one_period() {
    let periods = EscalationPeriods::default();
    let mut incident = Incident::open(
        id(),
        new_incident(Severity::Critical, false),
        "ops",
        NOW,
        &periods,
    );
    let due = NOW + Duration::minutes(30);
    assert!(!incident.escalation_due(due - Duration::SECOND));
    assert_eq!(incident.escalate(due - Duration::SECOND, &periods), None);
    let entry = incident.escalate(due, &periods).unwrap();
    assert_eq!(
        (entry.kind, entry.text.as_str(), entry.at),
        (TimelineKind::Escalated, ESCALATED_TEXT, due)
    );
    assert_eq!(incident.escalation_level, 1);
    assert_eq!(
        incident.next_escalation_at,
        Some(due + Duration::minutes(30))
    );
    assert_eq!(
        incident.escalate(due + Duration::minutes(1), &periods),
        None,
        "not twice for one deadline"
    );
}

#[test]
fn a_restart_after_missed_periods_escalates_once() {
    let periods = EscalationPeriods::uniform(60);
    let mut incident = Incident::open(
        id(),
        new_incident(Severity::Low, false),
        "ops",
        NOW,
        &periods,
    );
    let back = NOW + Duration::seconds(60 * 5 + 10);
    assert!(incident.escalate(back, &periods).is_some());
    assert_eq!(incident.escalation_level, 1);
    assert_eq!(
        incident.next_escalation_at,
        Some(NOW + Duration::seconds(60 * 6))
    );
    assert!(incident.escalate(back, &periods).is_none());
}

#[test]
fn acknowledged_or_resolved_incidents_do_not_escalate() {
    let periods = EscalationPeriods::uniform(60);
    let mut incident = Incident::open(
        id(),
        new_incident(Severity::Low, false),
        "ops",
        NOW,
        &periods,
    );
    let entry = incident
        .acknowledge("ops", NOW + Duration::seconds(10))
        .unwrap();
    assert_eq!(entry.kind, TimelineKind::Acknowledged);
    assert_eq!(incident.next_escalation(), None);
    assert_eq!(incident.escalate(NOW + Duration::hours(9), &periods), None);
    assert_eq!(
        incident.acknowledge("ops", NOW),
        Err(IncidentError::NotOpen)
    );
    let entry = incident
        .resolve("ops", "password reset", NOW + Duration::minutes(5))
        .unwrap();
    assert_eq!(
        (entry.kind, entry.text.as_str()),
        (TimelineKind::Resolved, "password reset")
    );
    assert_eq!(incident.resolved_at, Some(NOW + Duration::minutes(5)));
    assert_eq!(
        incident.resolve("ops", "again", NOW),
        Err(IncidentError::Resolved)
    );
    assert_eq!(
        incident.acknowledge("ops", NOW),
        Err(IncidentError::Resolved)
    );
    let action = TimelineDocument {
        kind: TimelineKind::Action,
        text: "x".into(),
    };
    assert_eq!(
        incident.record("ops", &action, NOW),
        Err(IncidentError::Resolved)
    );
    let note = TimelineDocument {
        kind: TimelineKind::Note,
        text: "post-mortem".into(),
    };
    assert!(incident.record("ops", &note, NOW).is_ok());
    assert_eq!(incident.timeline.len(), 4);
}

#[test]
fn incident_bodies_validate() {
    let document: IncidentDocument = serde_json::from_value(serde_json::json!({"title": " Breach ", "severity": "critical",
        "description": "lines\nand tabs\t", "alert_ids": ["a1", "a2"], "personal_data_breach": true})).unwrap();
    let new = document.validate().unwrap();
    assert_eq!(
        (new.title.as_str(), new.severity, new.personal_data_breach),
        ("Breach", Severity::Critical, true)
    );
    assert_eq!(new.alert_ids, ["a1", "a2"]);
}

#[test]
fn bad_incident_bodies_name_each_field() {
    let paths = |json: serde_json::Value| -> Vec<String> {
        let document: IncidentDocument = serde_json::from_value(json).unwrap();
        match document.validate() {
            Err(Invalid::Fields(errors)) => errors.into_iter().map(|e| e.path).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    };
    assert_eq!(
        paths(
            serde_json::json!({"title": " ", "severity": "low", "description": "\u{0}", "alert_ids": ["a1", "a1", ""]})
        ),
        ["title", "description", "alert_ids[1]", "alert_ids[2]"]
    );
    assert_eq!(
        paths(serde_json::json!({"title": "x".repeat(201), "severity": "low"})),
        ["title"]
    );
    assert_eq!(
        paths(serde_json::json!({"title": "a\nb", "severity": "low"})),
        ["title"]
    );
    let many: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    assert_eq!(
        paths(serde_json::json!({"title": "t", "severity": "low", "alert_ids": many})),
        ["alert_ids"]
    );
    for bad in [
        serde_json::json!({"title": "t", "severity": "urgent"}),
        serde_json::json!({"title": "t", "severity": "low", "x": 1}),
        serde_json::json!({"severity": "low"}),
    ] {
        assert!(serde_json::from_value::<IncidentDocument>(bad).is_err());
    }
}

#[test]
fn timeline_bodies_and_resolutions_validate() {
    assert!(
        TimelineDocument {
            kind: TimelineKind::Note,
            text: "called lena".into()
        }
        .validate()
        .is_ok()
    );
    let errors = TimelineDocument {
        kind: TimelineKind::Escalated,
        text: String::new(),
    }
    .validate()
    .unwrap_err()
    .field_errors();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["kind", "text"]);
    assert!(validate_resolution("rotated the key").is_ok());
    assert_eq!(
        validate_resolution("").unwrap_err().field_errors()[0].path,
        "resolution"
    );
    assert_eq!(
        validate_resolution(&"x".repeat(10_001))
            .unwrap_err()
            .field_errors()[0]
            .path,
        "resolution"
    );
}

proptest! {
    /// An open incident's escalations come one per period after creation, never early, and
    /// each deadline is strictly later than the time it escalated.
    #[test]
    fn escalations_never_come_early(seconds in 1u32..5000, checks in prop::collection::vec(0i64..20_000, 1..30)) {
        let periods = EscalationPeriods::uniform(seconds);
        let mut incident = Incident::open(id(), new_incident(Severity::Medium, false), "ops", NOW, &periods);
        let mut checks = checks;
        checks.sort_unstable();
        for offset in checks {
            let now = NOW + Duration::seconds(offset);
            let before = incident.next_escalation_at.unwrap();
            let escalated = incident.escalate(now, &periods).is_some();
            prop_assert_eq!(escalated, before <= now);
            let next = incident.next_escalation_at.unwrap();
            prop_assert!(next > now || !escalated);
            prop_assert_eq!((next - NOW).whole_seconds() % i64::from(seconds), 0);
        }
    }
}
