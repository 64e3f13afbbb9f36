use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-05 10:00 UTC);

fn group(actor: &str) -> Group {
    Group::from([("actor.id".to_owned(), Some(actor.to_owned()))])
}

fn fired(actor: &str, crossing: bool, seqs: Vec<u64>) -> Fired {
    Fired {
        rule: "failed_logins".into(),
        severity: Severity::Medium,
        group: group(actor),
        crossing,
        count: u32::try_from(seqs.len()).unwrap(),
        seqs,
        first_seen_at: NOW,
        last_seen_at: NOW + time::Duration::seconds(4),
        open_incident: false,
    }
}

#[test]
fn a_firing_opens_an_alert_then_raises_it() {
    let first = fired("lena", true, vec![1, 2, 3, 4, 5]);
    let AlertWrite::Open(mut alert) = apply_fired(None, &first, || "a1".into()) else {
        panic!("expected a new alert");
    };
    assert_eq!(alert.id, "a1");
    assert_eq!(alert.status, AlertStatus::Open);
    assert_eq!(alert.count, 5);
    assert_eq!(alert.entry_seqs, [1, 2, 3, 4, 5]);
    assert_eq!(alert.group, group("lena"));
    let more = fired("lena", false, vec![6]);
    let write = apply_fired(Some(&alert), &more, || panic!("no new id"));
    let AlertWrite::Raise {
        id,
        count,
        seqs,
        last_seen_at,
    } = write
    else {
        panic!("expected a raise");
    };
    assert_eq!((id.as_str(), count, seqs.as_slice()), ("a1", 1, &[6][..]));
    alert.raise(count, &seqs, last_seen_at);
    assert_eq!(alert.count, 6);
    assert_eq!(alert.entry_seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(alert.last_seen_at, more.last_seen_at);
}

#[test]
fn an_acknowledged_alert_is_still_raised_a_resolved_one_is_not() {
    let mut alert = Alert::open("a1".into(), &fired("lena", true, vec![1]));
    alert.acknowledge("ops", NOW).unwrap();
    assert!(matches!(
        apply_fired(Some(&alert), &fired("lena", false, vec![2]), || "x".into()),
        AlertWrite::Raise { .. }
    ));
    alert.resolve("ops", Some("false positive"), NOW).unwrap();
    let write = apply_fired(Some(&alert), &fired("lena", false, vec![3]), || "a2".into());
    assert!(matches!(write, AlertWrite::Open(ref a) if a.id == "a2" && a.count == 1));
}

#[test]
fn another_group_s_alert_is_not_raised() {
    let alert = Alert::open("a1".into(), &fired("lena", true, vec![1]));
    let write = apply_fired(Some(&alert), &fired("omar", true, vec![2]), || "a2".into());
    assert!(matches!(write, AlertWrite::Open(ref a) if a.id == "a2"));
}

#[test]
fn seqs_are_bounded_and_count_goes_on() {
    let mut alert = Alert::open("a1".into(), &fired("lena", true, (0..990).collect()));
    alert.raise(20, &(990..1010).collect::<Vec<u64>>(), NOW);
    assert_eq!(alert.entry_seqs.len(), MAX_ALERT_SEQS);
    assert_eq!(alert.entry_seqs.last(), Some(&999));
    assert_eq!(alert.count, 1010);
}

#[test]
fn acknowledge_and_resolve_follow_the_life() {
    let mut alert = Alert::open("a1".into(), &fired("lena", true, vec![1]));
    alert.acknowledge("ops", NOW).unwrap();
    assert_eq!(alert.acknowledged, Some(("ops".to_owned(), NOW)));
    assert_eq!(
        alert.acknowledge("ops", NOW),
        Err(AlertError::NotOpen(AlertStatus::Acknowledged))
    );
    assert_eq!(
        alert.resolve("ops", Some("bad\u{7}"), NOW),
        Err(AlertError::BadNote)
    );
    assert_eq!(
        alert.status,
        AlertStatus::Acknowledged,
        "a refused change changes nothing"
    );
    alert.resolve("ops", None, NOW).unwrap();
    assert_eq!(alert.status, AlertStatus::Resolved);
    assert_eq!(
        alert.resolve("ops", None, NOW),
        Err(AlertError::AlreadyResolved)
    );
    assert_eq!(
        alert.acknowledge("ops", NOW),
        Err(AlertError::NotOpen(AlertStatus::Resolved))
    );
}

fn silence(group: Option<Group>, until: OffsetDateTime) -> Silence {
    Silence {
        id: "s1".into(),
        rule: "failed_logins".into(),
        group,
        until,
        reason: "pen test".into(),
        created_by: "ops".into(),
        created_at: NOW,
    }
}

#[test]
fn silences_match_rule_group_subset_and_time() {
    let alert = Alert::open("a1".into(), &fired("lena", true, vec![1]));
    let later = NOW + time::Duration::hours(1);
    assert!(silence(None, later).matches(&alert, NOW));
    assert!(silence(Some(group("lena")), later).matches(&alert, NOW));
    assert!(silence(Some(Group::new()), later).matches(&alert, NOW));
    assert!(!silence(Some(group("omar")), later).matches(&alert, NOW));
    assert!(
        !silence(None, later).matches(&alert, later),
        "it ends at until"
    );
    assert!(
        !Silence {
            rule: "other".into(),
            ..silence(None, later)
        }
        .matches(&alert, NOW)
    );
    let wider = Group::from([("actor.ip".to_owned(), Some("203.0.113.9".to_owned()))]);
    assert!(
        !silence(Some(wider), later).matches(&alert, NOW),
        "a path the alert lacks"
    );
    assert!(is_silenced(
        &[silence(Some(group("omar")), later), silence(None, later)],
        &alert,
        NOW
    ));
    assert!(!is_silenced(&[], &alert, NOW));
}

fn silence_document(json: serde_json::Value) -> SilenceDocument {
    serde_json::from_value(json).unwrap()
}

#[test]
fn a_silence_document_validates() {
    let document = silence_document(serde_json::json!({"rule": "failed_logins",
        "group": {"actor.id": "lena", "actor.ip": null}, "until": "2026-12-05T12:00:00Z", "reason": "pen test"}));
    let silence = document.validate("s1".into(), "ops", NOW).unwrap();
    assert_eq!(silence.until, datetime!(2026-12-05 12:00 UTC));
    assert_eq!(
        silence.group,
        Some(Group::from([
            ("actor.id".to_owned(), Some("lena".to_owned())),
            ("actor.ip".to_owned(), None)
        ]))
    );
    assert_eq!(
        (silence.created_by.as_str(), silence.created_at),
        ("ops", NOW)
    );
}

#[test]
fn bad_silences_name_every_field() {
    let paths = |json: serde_json::Value| -> Vec<String> {
        match silence_document(json).validate("s1".into(), "ops", NOW) {
            Err(Invalid::Fields(errors)) => errors.into_iter().map(|e| e.path).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    };
    assert_eq!(
        paths(
            serde_json::json!({"rule": "", "group": {"actor.name": "x", "actor.id": 3}, "until": "tomorrow", "reason": ""})
        ),
        ["rule", "group", "group.actor.id", "until", "reason"]
    );
    assert_eq!(
        paths(serde_json::json!({"rule": "r", "until": "2026-12-05T09:00:00Z", "reason": "x"})),
        ["until"]
    );
    assert_eq!(
        paths(serde_json::json!({"rule": "r", "until": "2027-06-01T00:00:00Z", "reason": "x"})),
        ["until"]
    );
    assert!(
        serde_json::from_value::<SilenceDocument>(
            serde_json::json!({"rule": "r", "until": "x", "reason": "x", "extra": 1})
        )
        .is_err()
    );
}

#[test]
fn a_step_writes_once_per_alert() {
    let existing = Alert::open("a0".into(), &fired("omar", true, vec![1]));
    let reports = [
        fired("lena", true, vec![2, 3]),
        fired("omar", false, vec![4]),
        fired("lena", false, vec![5]),
        fired("omar", false, vec![6]),
    ];
    let mut ids = 0;
    let writes = plan_alerts(&reports, std::slice::from_ref(&existing), || {
        ids += 1;
        format!("a{ids}")
    });
    assert_eq!(writes.len(), 2);
    let AlertWrite::Open(opened) = &writes[0] else {
        panic!("expected a new alert")
    };
    assert_eq!((opened.id.as_str(), opened.count), ("a1", 3));
    assert_eq!(opened.entry_seqs, [2, 3, 5]);
    let AlertWrite::Raise {
        id, count, seqs, ..
    } = &writes[1]
    else {
        panic!("expected a raise")
    };
    assert_eq!(
        (id.as_str(), *count, seqs.as_slice()),
        ("a0", 2, &[4, 6][..])
    );
    assert!(plan_alerts(&[], &[existing], || unreachable!()).is_empty());
}
