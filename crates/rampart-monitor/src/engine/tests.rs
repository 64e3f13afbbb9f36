use serde_json::json;

use super::*;

pub(super) const T0: i64 = 1_780_000_000_000_000;
pub(super) const SECOND: i64 = 1_000_000;

/// An entry's owned parts, to view.
#[derive(Debug, Clone)]
pub(super) struct Owned {
    pub(super) seq: u64,
    pub(super) at: i64,
    pub(super) action: String,
    pub(super) status: Status,
    pub(super) actor_id: String,
    pub(super) ip: Option<String>,
    pub(super) resource_id: Option<String>,
    pub(super) team: Option<String>,
    pub(super) tags: Vec<String>,
    pub(super) details: Option<Value>,
}

pub(super) fn login(seq: u64, at: i64, actor: &str, status: Status) -> Owned {
    Owned {
        seq,
        at,
        action: "auth.login".into(),
        status,
        actor_id: actor.into(),
        ip: Some("203.0.113.9".into()),
        resource_id: Some("-".into()),
        team: None,
        tags: Vec::new(),
        details: None,
    }
}

impl Owned {
    pub(super) fn view(&self) -> EntryView<'_> {
        EntryView {
            seq: self.seq,
            at_micros: self.at,
            action: &self.action,
            status: self.status,
            actor_type: "user",
            actor_id: &self.actor_id,
            actor_ip: self.ip.as_deref(),
            resource_type: "principal",
            resource_id: self.resource_id.as_deref(),
            team_id: self.team.as_deref(),
            data_classification: None,
            tags: &self.tags,
            details: self.details.as_ref(),
        }
    }
}

fn evaluator(rules: &str) -> Evaluator {
    Evaluator::new(&RuleSet::parse_json(rules).unwrap())
}

pub(super) fn failed_logins(threshold: u32, window: u32) -> Evaluator {
    evaluator(&format!(
        r#"{{"rules": [{{"name": "failed_logins", "match": {{"action": "auth.login", "status": "failure"}},
        "group_by": ["actor.id"], "threshold": {threshold}, "window_seconds": {window}, "severity": "medium"}}]}}"#
    ))
}

pub(super) fn run(evaluator: &Evaluator, state: &mut WindowState, entries: &[Owned]) -> Vec<Fired> {
    evaluator.evaluate_all(state, entries.iter().map(Owned::view))
}

#[test]
fn five_failures_fire_once_then_raise() {
    let evaluator = failed_logins(5, 300);
    let mut state = WindowState::new();
    let entries: Vec<Owned> = (0..7)
        .map(|i| {
            login(
                i,
                T0 + i64::try_from(i).unwrap() * SECOND,
                "lena",
                Status::Failure,
            )
        })
        .collect();
    let fired = run(&evaluator, &mut state, &entries[..4]);
    assert!(fired.is_empty());
    let fired = run(&evaluator, &mut state, &entries[4..]);
    assert_eq!(fired.len(), 3);
    let first = &fired[0];
    assert!(first.crossing);
    assert_eq!(first.rule, "failed_logins");
    assert_eq!(first.count, 5);
    assert_eq!(first.seqs, [0, 1, 2, 3, 4]);
    assert_eq!(
        first.group,
        Group::from([("actor.id".to_owned(), Some("lena".to_owned()))])
    );
    assert_eq!(first.first_seen_at, time_of(T0));
    assert_eq!(first.last_seen_at, time_of(T0 + 4 * SECOND));
    assert!(!first.opens_incident());
    for (later, seq) in fired[1..].iter().zip([5, 6]) {
        assert!(!later.crossing);
        assert_eq!((later.count, later.seqs.as_slice()), (1, &[seq][..]));
    }
}

#[test]
fn groups_are_counted_apart_and_other_entries_ignored() {
    let evaluator = failed_logins(2, 300);
    let mut state = WindowState::new();
    let entries = [
        login(1, T0, "a", Status::Failure),
        login(2, T0, "b", Status::Failure),
        login(3, T0, "a", Status::Success),
        login(4, T0, "b", Status::Failure),
    ];
    let fired = run(&evaluator, &mut state, &entries);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].group["actor.id"].as_deref(), Some("b"));
    assert_eq!(fired[0].seqs, [2, 4]);
    assert_eq!(state.len(), 2);
}

#[test]
fn entries_outside_the_window_do_not_count() {
    let evaluator = failed_logins(3, 60);
    let mut state = WindowState::new();
    let entries = [
        login(1, T0, "a", Status::Failure),
        login(2, T0 + 30 * SECOND, "a", Status::Failure),
        login(3, T0 + 61 * SECOND, "a", Status::Failure),
        login(4, T0 + 90 * SECOND, "a", Status::Failure),
    ];
    let fired = run(&evaluator, &mut state, &entries);
    assert_eq!(
        fired.len(),
        1,
        "the first falls out before the third arrives"
    );
    assert_eq!(fired[0].seqs, [2, 3, 4]);
}

#[test]
fn a_window_is_inclusive_of_its_edge() {
    let evaluator = failed_logins(2, 60);
    let mut state = WindowState::new();
    let entries = [
        login(1, T0, "a", Status::Failure),
        login(2, T0 + 60 * SECOND, "a", Status::Failure),
    ];
    assert_eq!(run(&evaluator, &mut state, &entries).len(), 1);
}

#[test]
fn a_replayed_entry_changes_nothing() {
    let evaluator = failed_logins(2, 60);
    let mut state = WindowState::new();
    let entry = login(1, T0, "a", Status::Failure);
    assert!(run(&evaluator, &mut state, &[entry.clone(), entry]).is_empty());
    assert_eq!(
        state
            .window(
                "failed_logins",
                &Group::from([("actor.id".to_owned(), Some("a".to_owned()))])
            )
            .unwrap()
            .hits
            .len(),
        1
    );
}

#[test]
fn match_conditions_each_filter() {
    let evaluator = evaluator(
        r#"{"rules": [{"name": "r", "match": {"action": ["keys.*", "cards.detokenize"], "status": "denied",
        "team_id": "payments", "tag": "pci-dss", "details": {"shared": true}},
        "group_by": ["details.rule", "context.team_id"], "threshold": 1, "window_seconds": 60, "severity": "critical"}]}"#,
    );
    let base = Owned {
        action: "keys.decrypt".into(),
        status: Status::Denied,
        team: Some("payments".into()),
        tags: vec!["gdpr".into(), "pci-dss".into()],
        details: Some(json!({"shared": true, "rule": "bulk"})),
        ..login(1, T0, "a", Status::Denied)
    };
    let check = |e: Owned| !run(&evaluator, &mut WindowState::new(), &[e]).is_empty();
    assert!(check(base.clone()));
    assert!(check(Owned {
        action: "cards.detokenize".into(),
        ..base.clone()
    }));
    assert!(!check(Owned {
        action: "keys".into(),
        ..base.clone()
    }));
    assert!(!check(Owned {
        action: "cards.tokenize".into(),
        ..base.clone()
    }));
    assert!(!check(Owned {
        status: Status::Failure,
        ..base.clone()
    }));
    assert!(!check(Owned {
        team: None,
        ..base.clone()
    }));
    assert!(!check(Owned {
        tags: vec![],
        ..base.clone()
    }));
    assert!(!check(Owned {
        details: Some(json!({"shared": "true"})),
        ..base.clone()
    }));
    assert!(!check(Owned {
        details: None,
        ..base.clone()
    }));
    let fired = run(&evaluator, &mut WindowState::new(), &[base]);
    assert_eq!(
        fired[0].group,
        Group::from([
            ("context.team_id".to_owned(), Some("payments".to_owned())),
            ("details.rule".to_owned(), Some("bulk".to_owned()))
        ])
    );
    assert!(fired[0].opens_incident(), "critical alerts open incidents");
}

#[test]
fn a_rule_naming_an_action_twice_counts_an_entry_once() {
    let evaluator = evaluator(
        r#"{"rules": [{"name": "r", "match": {"action": ["auth.login", "auth.*"]}, "threshold": 2, "window_seconds": 60, "severity": "low"}]}"#,
    );
    let fired = run(
        &evaluator,
        &mut WindowState::new(),
        &[login(1, T0, "a", Status::Success)],
    );
    assert!(fired.is_empty(), "one entry is one match, not two");
}

#[test]
fn disabled_rules_do_not_run_and_missing_values_group_as_none() {
    let evaluator = evaluator(
        r#"{"rules": [{"name": "off", "match": {"status": "failure"}, "threshold": 1, "window_seconds": 60, "severity": "low", "enabled": false},
        {"name": "on", "match": {"status": "failure"}, "group_by": ["actor.ip", "details.x"], "threshold": 1, "window_seconds": 60, "severity": "low"}]}"#,
    );
    let fired = run(
        &evaluator,
        &mut WindowState::new(),
        &[Owned {
            ip: None,
            ..login(1, T0, "a", Status::Failure)
        }],
    );
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].rule, "on");
    assert_eq!(
        fired[0].group,
        Group::from([
            ("actor.ip".to_owned(), None),
            ("details.x".to_owned(), None)
        ])
    );
}

#[test]
fn the_defaults_see_rampart_s_own_entries() {
    let evaluator = Evaluator::new(&RuleSet::defaults());
    let refusal = Owned {
        action: "security.rate_limited".into(),
        status: Status::Denied,
        resource_id: Some("decrypt-shared".into()),
        details: Some(json!({"limit": 10, "window_seconds": 60, "shared": true})),
        ..login(1, T0, "svc", Status::Denied)
    };
    let rules: Vec<String> = run(&evaluator, &mut WindowState::new(), &[refusal])
        .into_iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(rules, ["bulk_decryption", "unauthorized_access"]);
    let policy = Owned {
        action: "policy.update".into(),
        ..login(2, T0, "admin", Status::Success)
    };
    let fired = run(&evaluator, &mut WindowState::new(), &[policy]);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].rule.as_str(), fired[0].severity),
        ("privileged_actions", Severity::High)
    );
}

#[test]
fn changes_are_taken_once_and_expiry_deletes_windows() {
    let evaluator = failed_logins(5, 60);
    let mut state = WindowState::new();
    run(
        &evaluator,
        &mut state,
        &[
            login(1, T0, "a", Status::Failure),
            login(2, T0, "b", Status::Failure),
        ],
    );
    let changes = state.take_changes();
    assert_eq!(changes.len(), 2);
    assert!(
        changes
            .iter()
            .all(|c| c.window.as_ref().is_some_and(|w| w.hits.len() == 1))
    );
    assert!(state.take_changes().is_empty());
    assert_eq!(state.expire(&evaluator, T0 + 60 * SECOND), 0);
    assert_eq!(state.expire(&evaluator, T0 + 61 * SECOND), 2);
    assert!(state.is_empty());
    let deleted = state.take_changes();
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|c| c.window.is_none()));
}

#[test]
fn the_state_serializes_and_restores() {
    let evaluator = failed_logins(3, 60);
    let mut state = WindowState::new();
    run(
        &evaluator,
        &mut state,
        &[
            login(1, T0, "a", Status::Failure),
            login(2, T0, "a", Status::Failure),
        ],
    );
    let json = serde_json::to_string(&state).unwrap();
    let mut restored: WindowState = serde_json::from_str(&json).unwrap();
    let fired = run(
        &evaluator,
        &mut restored,
        &[login(3, T0, "a", Status::Failure)],
    );
    assert_eq!(fired.len(), 1, "the restart lost nothing");
    assert_eq!(fired[0].seqs, [1, 2, 3]);
}

#[test]
fn a_view_of_a_stored_entry_reads_its_fields() {
    let entry: rampart_audit::Entry = serde_json::from_value(json!({
        "seq": 7, "id": "0190", "timestamp": "2026-11-22T14:03:07.123456Z",
        "actor": {"type": "user", "id": "lena", "email": null, "ip": "203.0.113.9", "user_agent": null},
        "action": "auth.login", "resource": {"type": "principal", "id": "p1", "name": null},
        "context": {"request_id": null, "session_id": null, "team_id": "t"}, "details": {"n": 2},
        "previous_state": null, "new_state": null, "status": "failure", "error_message": null,
        "data_classification": "internal", "compliance_tags": ["soc2"], "subject_id": null,
        "submitted_by": {"principal_id": "rampart", "credential_id": null}}))
    .unwrap();
    let view = EntryView::of(&entry).unwrap();
    assert_eq!(view.seq, 7);
    assert_eq!(
        time_of(view.at_micros),
        time::macros::datetime!(2026-11-22 14:03:07.123456 UTC)
    );
    assert_eq!(
        (view.actor_ip, view.resource_id, view.team_id),
        (Some("203.0.113.9"), Some("p1"), Some("t"))
    );
    assert_eq!(
        view.value_at(&GroupPath::Details("n".into())).as_deref(),
        Some("2")
    );
    assert_eq!(view.tags, ["soc2".to_owned()]);
}
