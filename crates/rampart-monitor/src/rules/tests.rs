use super::*;
use crate::error::{FieldError, Invalid};

fn rule_json(fields: &str) -> String {
    format!(
        r#"{{"rules": [{{"name": "r", "match": {{"action": "auth.login"}}, "threshold": 5, "window_seconds": 300, "severity": "low"{fields}}}]}}"#
    )
}

fn errors_of(text: &str) -> Vec<FieldError> {
    match RuleSet::parse_json(text) {
        Err(Invalid::Fields(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

/// The one field error of a set whose only rule has `fields` added or overridden.
fn error_of(fields: &str) -> FieldError {
    let errors = errors_of(&rule_json(fields));
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_api_example_reads() {
    let set = RuleSet::parse_json(
        r#"{"rules": [{"name": "failed_logins", "match": {"action": "auth.login", "status": "failure"},
        "group_by": ["actor.id"], "threshold": 5, "window_seconds": 300, "severity": "medium",
        "open_incident": false, "enabled": true}]}"#,
    )
    .unwrap();
    let rule = set.rule("failed_logins").unwrap();
    assert_eq!(
        rule.matching().actions,
        vec![ActionPattern::Exact("auth.login".into())]
    );
    assert_eq!(rule.matching().status, Some(Status::Failure));
    assert_eq!(rule.group_by(), &[GroupPath::ActorId]);
    assert_eq!(rule.threshold(), 5);
    assert_eq!(rule.window_seconds(), 300);
    assert_eq!(rule.severity(), Severity::Medium);
    assert!(!rule.open_incident());
    assert!(rule.enabled());
}

#[test]
fn every_match_field_and_group_path_reads() {
    let set = RuleSet::parse_json(
        r#"{"rules": [{"name": "all", "match": {"action": ["keys.*", "cards.detokenize"], "status": "denied",
        "actor_type": "service", "resource_type": "key", "tag": "pci-dss", "team_id": "payments",
        "data_classification": "restricted", "details": {"shared": true, "rule": "x", "n": 3}},
        "group_by": ["actor.id", "actor.ip", "resource.id", "context.team_id", "details.rule"],
        "threshold": 1, "window_seconds": 604800, "severity": "critical"}]}"#,
    )
    .unwrap();
    let rule = &set.rules()[0];
    let m = rule.matching();
    assert_eq!(
        m.actions,
        vec![
            ActionPattern::Prefix("keys.".into()),
            ActionPattern::Exact("cards.detokenize".into())
        ]
    );
    assert_eq!(m.actor_type.as_deref(), Some("service"));
    assert_eq!(m.resource_type.as_deref(), Some("key"));
    assert_eq!(m.tag.as_deref(), Some("pci-dss"));
    assert_eq!(m.team_id.as_deref(), Some("payments"));
    assert_eq!(m.data_classification.as_deref(), Some("restricted"));
    assert_eq!(m.details.len(), 3);
    assert_eq!(rule.group_by().len(), 5);
    assert_eq!(rule.group_by()[4], GroupPath::Details("rule".into()));
    assert!(rule.enabled(), "enabled defaults to true");
}

#[test]
fn yaml_reads_the_same_set() {
    let yaml = "rules:\n  - name: failed_logins\n    match: {action: auth.login, status: failure}\n    group_by: [actor.id]\n    threshold: 5\n    window_seconds: 300\n    severity: medium\n";
    let json = r#"{"rules": [{"name": "failed_logins", "match": {"action": "auth.login", "status": "failure"}, "group_by": ["actor.id"], "threshold": 5, "window_seconds": 300, "severity": "medium"}]}"#;
    assert_eq!(
        RuleSet::parse_yaml(yaml).unwrap(),
        RuleSet::parse_json(json).unwrap()
    );
}

#[test]
fn the_document_round_trips() {
    let set = RuleSet::defaults();
    assert_eq!(RuleSet::parse_json(&set.to_json()).unwrap(), set);
}

#[test]
fn the_defaults_are_valid_and_complete() {
    let document: RuleSetDocument = serde_json::from_str(DEFAULT_RULES_JSON).unwrap();
    let set = RuleSet::from_document(&document).unwrap();
    assert_eq!(set, RuleSet::defaults());
    let names: Vec<&str> = set.rules().iter().map(Rule::name).collect();
    assert_eq!(
        names,
        [
            "failed_logins",
            "unauthorized_access",
            "suspicious_requests",
            "privileged_actions",
            "bulk_decryption"
        ]
    );
    let failed = set.rule("failed_logins").unwrap();
    assert_eq!((failed.threshold(), failed.window_seconds()), (5, 300));
    assert_eq!(failed.severity(), Severity::Medium);
    assert_eq!(
        set.rule("unauthorized_access").unwrap().severity(),
        Severity::Low
    );
    let suspicious = set.rule("suspicious_requests").unwrap();
    assert_eq!(suspicious.threshold(), 10);
    assert_eq!(suspicious.group_by(), &[GroupPath::ActorIp]);
    let privileged = set.rule("privileged_actions").unwrap();
    assert_eq!(privileged.matching().actions.len(), 6);
    assert_eq!(privileged.severity(), Severity::High);
    let bulk = set.rule("bulk_decryption").unwrap();
    assert!(bulk.open_incident());
    assert_eq!(bulk.severity(), Severity::High);
    assert_eq!(
        bulk.matching().details,
        vec![("shared".to_owned(), serde_json::Value::Bool(true))]
    );
}

#[test]
fn bad_thresholds_and_windows_name_the_field() {
    for bad in ["0", "-1", "1001", "99999999999"] {
        let text = rule_json("").replace(r#""threshold": 5"#, &format!(r#""threshold": {bad}"#));
        assert_eq!(errors_of(&text)[0].path, "rules[0].threshold", "{bad}");
    }
    let text = rule_json("").replace(r#""threshold": 5"#, r#""threshold": 0"#);
    assert_eq!(
        errors_of(&text),
        vec![FieldError::new("rules[0].threshold", "must be 1..=1000")]
    );
    let text = rule_json("").replace(r#""window_seconds": 300"#, r#""window_seconds": 604801"#);
    assert_eq!(
        errors_of(&text),
        vec![FieldError::new(
            "rules[0].window_seconds",
            "must be 1..=604800"
        )]
    );
}

#[test]
fn bad_names_and_duplicates_are_refused() {
    let text = rule_json("").replace(r#""name": "r""#, r#""name": "no spaces""#);
    assert_eq!(errors_of(&text)[0].path, "rules[0].name");
    let one = r#"{"name": "same", "match": {"status": "denied"}, "threshold": 1, "window_seconds": 1, "severity": "low"}"#;
    let errors = errors_of(&format!(r#"{{"rules": [{one}, {one}]}}"#));
    assert_eq!(
        errors,
        vec![FieldError::new(
            "rules[1].name",
            "duplicate of rules[0].name"
        )]
    );
}

#[test]
fn too_many_rules_are_refused() {
    let one = |i: usize| {
        format!(
            r#"{{"name": "r{i}", "match": {{"status": "denied"}}, "threshold": 1, "window_seconds": 1, "severity": "low"}}"#
        )
    };
    let rules: Vec<String> = (0..=MAX_RULES).map(one).collect();
    let errors = errors_of(&format!(r#"{{"rules": [{}]}}"#, rules.join(",")));
    assert_eq!(errors, vec![FieldError::new("rules", "at most 256 rules")]);
}

#[test]
fn bad_group_paths_are_refused() {
    assert_eq!(
        error_of(r#", "group_by": ["actor.name"]"#).path,
        "rules[0].group_by[0]"
    );
    assert_eq!(
        error_of(r#", "group_by": ["details."]"#).path,
        "rules[0].group_by[0]"
    );
    assert_eq!(
        error_of(r#", "group_by": ["actor.id", "actor.id"]"#),
        FieldError::new("rules[0].group_by[1]", "duplicate path")
    );
    let nine = r#", "group_by": ["actor.id","actor.ip","resource.id","context.team_id","details.a","details.b","details.c","details.d","details.e"]"#;
    assert_eq!(error_of(nine).path, "rules[0].group_by");
}

#[test]
fn bad_matches_are_refused() {
    let with_match = |m: &str| {
        errors_of(&format!(
            r#"{{"rules": [{{"name": "r", "match": {m}, "threshold": 1, "window_seconds": 1, "severity": "low"}}]}}"#
        ))
    };
    assert_eq!(with_match("{}")[0].path, "rules[0].match");
    assert_eq!(
        with_match(r#"{"action": "*"}"#)[0].path,
        "rules[0].match.action"
    );
    assert_eq!(
        with_match(r#"{"action": "auth..*"}"#)[0].path,
        "rules[0].match.action"
    );
    assert_eq!(
        with_match(r#"{"action": "a b"}"#)[0].path,
        "rules[0].match.action"
    );
    assert_eq!(
        with_match(r#"{"action": []}"#)[0].path,
        "rules[0].match.action"
    );
    assert_eq!(
        with_match(r#"{"action": ["a.b", "a.b"]}"#)[0],
        FieldError::new("rules[0].match.action[1]", "duplicate of action[0]")
    );
    assert_eq!(with_match(r#"{"tag": ""}"#)[0].path, "rules[0].match.tag");
    assert_eq!(
        with_match(r#"{"team_id": "a\u0007"}"#)[0].path,
        "rules[0].match.team_id"
    );
    assert_eq!(
        with_match(r#"{"details": {"shared": null}}"#)[0].path,
        "rules[0].match.details.shared"
    );
    assert_eq!(
        with_match(r#"{"details": {"shared": [true]}}"#)[0].path,
        "rules[0].match.details.shared"
    );
    assert_eq!(
        with_match(r#"{"details": {}}"#)[0].path,
        "rules[0].match.details"
    );
    assert_eq!(
        with_match(r#"{"details": {"a.b": 1}}"#)[0].path,
        "rules[0].match.details"
    );
}

#[test]
fn unknown_fields_and_wrong_types_are_unreadable() {
    for (text, path) in [
        (rule_json(r#", "colour": "red""#), "rules[0].colour"),
        (
            rule_json("").replace(r#""severity": "low""#, r#""severity": "urgent""#),
            "rules[0].severity",
        ),
        (
            rule_json("").replace(
                r#""action": "auth.login""#,
                r#""action": "auth.login", "actor": "x""#,
            ),
            "rules[0].match.actor",
        ),
        (
            rule_json("").replace(r#""threshold": 5"#, r#""threshold": "5""#),
            "rules[0].threshold",
        ),
    ] {
        match RuleSet::parse_json(&text) {
            Err(Invalid::Unreadable { path: at, .. }) => assert_eq!(at, path, "{text}"),
            other => panic!("expected unreadable for {text}, got {other:?}"),
        }
    }
    assert!(matches!(
        RuleSet::parse_json("{} x"),
        Err(Invalid::Unreadable { .. })
    ));
    assert!(matches!(
        RuleSet::parse_yaml("rules: 3"),
        Err(Invalid::Unreadable { .. })
    ));
}

#[test]
fn every_wrong_field_is_reported_at_once() {
    let text = r#"{"rules": [{"name": "", "match": {}, "group_by": ["x"], "threshold": 0, "window_seconds": 0, "severity": "low"}]}"#;
    let paths: Vec<String> = errors_of(text).into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "rules[0].name",
            "rules[0].match",
            "rules[0].group_by[0]",
            "rules[0].threshold",
            "rules[0].window_seconds"
        ]
    );
}

#[test]
fn prefixes_keep_their_dot() {
    let pattern = ActionPattern::Prefix("keys.".into());
    assert!(pattern.matches("keys.decrypt"));
    assert!(!pattern.matches("keys"));
    assert!(!pattern.matches("keysx.decrypt"));
    assert_eq!(pattern.to_string(), "keys.*");
}
