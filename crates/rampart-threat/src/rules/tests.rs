use super::*;
use crate::error::{FieldError, Invalid};

pub(super) fn facts<'a>(method: &'a str, path: &'a str) -> RequestFacts<'a> {
    RequestFacts {
        method,
        path,
        permission: None,
        authenticated: false,
        address: "203.0.113.9".parse().unwrap(),
        principal: None,
        credential: None,
    }
}

fn rule_json(fields: &str) -> String {
    format!(
        r#"{{"rules": [{{"name": "r", "key": "ip", "match": ["*"], "limit": 10, "window_seconds": 60{fields}}}]}}"#
    )
}

/// The one field error of a set whose only rule has `fields` added or overridden.
fn error_of(text: &str) -> FieldError {
    match RuleSet::parse_json(text) {
        Err(Invalid::Fields(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.into_iter().next().unwrap()
        }
        other => panic!("expected one field error, got {other:?}"),
    }
}

pub(super) fn with_rule(rule: &str) -> String {
    format!(r#"{{"rules": [{rule}]}}"#)
}

#[test]
fn the_api_example_reads() {
    let set = RuleSet::parse_json(
        r#"{"rules": [{"name": "api-per-ip", "key": "ip", "match": ["keys:decrypt", "cards:detokenize", "audit:export", "POST /v1/redact"],
            "limit": 100, "window_seconds": 60, "burst": 20, "shared": false, "applies_to": "all"}]}"#,
    )
    .unwrap();
    let rule = set.rule("api-per-ip").unwrap();
    assert_eq!(rule.key(), RuleKey::Ip);
    assert_eq!(rule.limit(), 100);
    assert_eq!(rule.window_seconds(), 60);
    assert_eq!(rule.burst(), Some(20));
    assert!(!rule.shared());
    assert_eq!(rule.applies_to(), AppliesTo::All);
    assert_eq!(rule.matchers().len(), 4);
    assert_eq!(
        rule.matchers()[3],
        Matcher::Route {
            method: "POST".into(),
            prefix: "/v1/redact".into()
        }
    );
}

#[test]
fn omitted_fields_take_their_defaults() {
    let set = RuleSet::parse_json(&rule_json("")).unwrap();
    let rule = &set.rules()[0];
    assert_eq!(rule.burst(), Some(10), "burst defaults to limit");
    assert!(!rule.shared());
    assert_eq!(rule.applies_to(), AppliesTo::All);
    let shared = RuleSet::parse_json(&rule_json(r#", "shared": true"#)).unwrap();
    assert_eq!(shared.rules()[0].burst(), None);
}

#[test]
fn yaml_reads_the_same_set() {
    let yaml = "rules:\n  - name: decrypt-per-principal\n    key: principal\n    match: ['keys:decrypt']\n    limit: 1000\n    window_seconds: 3600\n    shared: true\n    applies_to: authenticated\n";
    let set = RuleSet::parse_yaml(yaml).unwrap();
    let json = RuleSet::parse_json(&set.to_json()).unwrap();
    assert_eq!(set, json);
    assert_eq!(set.rules()[0].key(), RuleKey::Principal);
    assert!(set.rules()[0].shared());
}

#[test]
fn a_set_survives_its_document() {
    let set = RuleSet::parse_json(&with_rule(
        r#"{"name": "a", "key": "credential", "match": ["GET /v1/keys/", "PUT /"], "limit": 5, "window_seconds": 1, "burst": 2, "applies_to": "authenticated"}"#,
    ))
    .unwrap();
    assert_eq!(
        set.to_document().rules[0].matches,
        ["GET /v1/keys", "PUT /"]
    );
    assert_eq!(RuleSet::parse_json(&set.to_json()).unwrap(), set);
    assert_eq!(
        RuleSet::from_document(&RuleSet::defaults().to_document()).unwrap(),
        RuleSet::defaults()
    );
}

#[test]
fn defaults_limit_unauthenticated_requests_per_address() {
    let set = RuleSet::defaults();
    let rule = set.rule("unauthenticated-per-address").unwrap();
    assert_eq!(
        (rule.limit(), rule.window_seconds(), rule.burst()),
        (100, 60, Some(20))
    );
    assert_eq!(rule.key(), RuleKey::Ip);
    assert_eq!(rule.applies_to(), AppliesTo::Unauthenticated);
    let anonymous = facts("GET", "/v1/health");
    assert_eq!(set.matching(&anonymous).count(), 1);
    let known = RequestFacts {
        authenticated: true,
        principal: Some(uuid::Uuid::nil()),
        ..anonymous
    };
    assert_eq!(
        set.matching(&known).count(),
        0,
        "none on authenticated traffic"
    );
}

#[test]
fn each_bad_field_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#", "limit": 0"#,
            "rules[0].limit",
            "must be 1..=1000000000",
        ),
        (
            r#", "limit": -1"#,
            "rules[0].limit",
            "must be 1..=1000000000",
        ),
        (
            r#", "limit": 1000000001"#,
            "rules[0].limit",
            "must be 1..=1000000000",
        ),
        (
            r#", "window_seconds": 0"#,
            "rules[0].window_seconds",
            "must be 1..=86400",
        ),
        (
            r#", "window_seconds": 86401"#,
            "rules[0].window_seconds",
            "must be 1..=86400",
        ),
        (r#", "burst": 0"#, "rules[0].burst", "must be 1..=1000000"),
        (r#", "burst": -5"#, "rules[0].burst", "must be 1..=1000000"),
        (
            r#", "burst": 2, "shared": true"#,
            "rules[0].burst",
            "a shared rule counts a fixed window and has no burst",
        ),
    ];
    for (fields, path, message) in cases {
        let mut rule = serde_json::json!({"name": "r", "key": "ip", "match": ["*"], "limit": 10, "window_seconds": 60});
        let extra: serde_json::Value =
            serde_json::from_str(&format!("{{{}}}", &fields[1..])).unwrap();
        for (k, v) in extra.as_object().unwrap() {
            rule[k] = v.clone();
        }
        let error = error_of(&with_rule(&rule.to_string()));
        assert_eq!(
            (error.path.as_str(), error.message.as_str()),
            (*path, *message),
            "{fields}"
        );
    }
}

#[test]
fn bad_names_and_duplicates() {
    let error = error_of(&with_rule(
        r#"{"name": "", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}"#,
    ));
    assert_eq!(error.path, "rules[0].name");
    let error = error_of(&with_rule(
        r#"{"name": "a b", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}"#,
    ));
    assert_eq!(
        error.to_string(),
        "rules[0].name: must be 1 to 64 of A-Z a-z 0-9 . _ -"
    );
    let long = "x".repeat(65);
    let error = error_of(&with_rule(&format!(
        r#"{{"name": "{long}", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}}"#
    )));
    assert_eq!(error.path, "rules[0].name");
    let one = r#"{"name": "a", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}"#;
    let error = error_of(&format!(r#"{{"rules": [{one}, {one}]}}"#));
    assert_eq!(
        error.to_string(),
        "rules[1].name: duplicate of rules[0].name"
    );
}

#[test]
fn bad_match_entries() {
    let rule = |entries: &str| {
        with_rule(&format!(
            r#"{{"name": "r", "key": "ip", "match": {entries}, "limit": 1, "window_seconds": 1}}"#
        ))
    };
    let cases: &[(&str, &str, &str)] = &[
        ("[]", "rules[0].match", "must not be empty"),
        (
            r#"["*", "keys:decrypt"]"#,
            "rules[0].match[0]",
            "\"*\" must be the only entry",
        ),
        (
            r#"["keys:decrypt", "keys:decrypt"]"#,
            "rules[0].match[1]",
            "duplicate of match[0]",
        ),
        (
            r#"["GET /v1/keys", "GET /v1/keys/"]"#,
            "rules[0].match[1]",
            "duplicate of match[0]",
        ),
        (
            r#"["FETCH /v1/keys"]"#,
            "rules[0].match[0]",
            "not an HTTP method (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
        ),
        (
            r#"["get /v1/keys"]"#,
            "rules[0].match[0]",
            "not an HTTP method (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
        ),
        (
            r#"["GET v1/keys"]"#,
            "rules[0].match[0]",
            "the path must start with / and be at most 256 characters without spaces, ? or #",
        ),
        (
            r#"["GET /v1/keys?x=1"]"#,
            "rules[0].match[0]",
            "the path must start with / and be at most 256 characters without spaces, ? or #",
        ),
        (
            r#"["GET /a b"]"#,
            "rules[0].match[0]",
            "the path must start with / and be at most 256 characters without spaces, ? or #",
        ),
        (
            r#"["keys"]"#,
            "rules[0].match[0]",
            "not \"*\", a permission (resource:action) or \"METHOD /path\"",
        ),
        (
            r#"["keys:*"]"#,
            "rules[0].match[0]",
            "not \"*\", a permission (resource:action) or \"METHOD /path\"",
        ),
    ];
    for (entries, path, message) in cases {
        let error = error_of(&rule(entries));
        assert_eq!(
            (error.path.as_str(), error.message.as_str()),
            (*path, *message),
            "{entries}"
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("\"r:a{i}\"")).collect();
    let error = error_of(&rule(&format!("[{}]", many.join(","))));
    assert_eq!(error.to_string(), "rules[0].match: at most 64 entries");
}

#[test]
fn a_caller_key_with_unauthenticated_requests_is_refused() {
    for key in ["principal", "credential"] {
        let error = error_of(&with_rule(&format!(
            r#"{{"name": "r", "key": "{key}", "match": ["*"], "limit": 1, "window_seconds": 1, "applies_to": "unauthenticated"}}"#
        )));
        assert_eq!(error.path, "rules[0].applies_to");
    }
}

#[test]
fn every_error_is_listed_in_order() {
    let text = r#"{"rules": [
        {"name": "ok", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1},
        {"name": "bad", "key": "ip", "match": [], "limit": 0, "window_seconds": 0}
    ]}"#;
    let Err(Invalid::Fields(errors)) = RuleSet::parse_json(text) else {
        panic!("refused")
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rules[1].match",
            "rules[1].limit",
            "rules[1].window_seconds"
        ]
    );
}

#[test]
fn too_many_rules() {
    let rules: Vec<String> = (0..=MAX_RULES)
        .map(|i| format!(r#"{{"name": "r{i}", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}}"#))
        .collect();
    let error = error_of(&format!(r#"{{"rules": [{}]}}"#, rules.join(",")));
    assert_eq!(error.to_string(), "rules: at most 256 rules");
}

#[test]
fn unreadable_documents_say_where() {
    let unknown = RuleSet::parse_json(&rule_json(r#", "burts": 3"#)).unwrap_err();
    let Invalid::Unreadable { path, message } = &unknown else {
        panic!("{unknown:?}")
    };
    assert_eq!(path, "rules[0].burts");
    assert!(message.contains("unknown field `burts`"), "{message}");
    let key = RuleSet::parse_json(&with_rule(
        r#"{"name": "r", "key": "address", "match": ["*"], "limit": 1, "window_seconds": 1}"#,
    ))
    .unwrap_err();
    assert!(
        matches!(&key, Invalid::Unreadable { path, .. } if path == "rules[0].key"),
        "{key:?}"
    );
    let applies = RuleSet::parse_yaml("rules:\n  - {name: r, key: ip, match: ['*'], limit: 1, window_seconds: 1, applies_to: everyone}\n").unwrap_err();
    assert!(
        matches!(&applies, Invalid::Unreadable { path, .. } if path == "rules[0].applies_to"),
        "{applies:?}"
    );
    assert!(matches!(
        RuleSet::parse_json("{\"rules\": []} x"),
        Err(Invalid::Unreadable { .. })
    ));
    assert!(matches!(
        RuleSet::parse_json("{}"),
        Err(Invalid::Unreadable { .. })
    ));
    assert!(RuleSet::parse_json(r#"{"rules": []}"#).unwrap().is_empty());
}
