//! Unit tests of entry validation and the canonical form.
#![allow(clippy::disallowed_methods, reason = "tests may read the clock")]
use super::*;
use serde_json::json;

fn minimal() -> Value {
    json!({"actor": {"type": "user", "id": "u1"}, "action": "login", "resource": {"type": "session"}, "status": "success"})
}

#[test]
fn minimal_event_gets_nulls_and_empty_arrays() {
    let entry = NewEntry::from_json(&minimal(), "")
        .expect("valid")
        .into_entry(
            0,
            Uuid::nil(),
            time::macros::datetime!(2026-11-22 14:03:07.123456 UTC),
            SubmittedBy::rampart(),
        );
    let value = serde_json::to_value(&entry).expect("serializes");
    assert_eq!(value["timestamp"], "2026-11-22T14:03:07.123456Z");
    assert_eq!(value["details"], Value::Null);
    assert_eq!(value["context"], Value::Null);
    assert_eq!(value["compliance_tags"], json!([]));
    assert_eq!(value["actor"]["email"], Value::Null);
    assert_eq!(
        value["submitted_by"],
        json!({"principal_id": "rampart", "credential_id": null})
    );
    // It reads back into the same entry.
    assert_eq!(
        serde_json::from_value::<Entry>(value).expect("parses"),
        entry
    );
}

#[test]
fn every_kind_of_bad_input_is_named() {
    let cases: Vec<(Value, &str)> = vec![
        (json!("text"), ""),
        (
            json!({"actor": {"type": "user", "id": "u"}, "resource": {"type": "r"}, "status": "success"}),
            "action",
        ),
        (
            json!({"actor": {"type": "robot", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
            "actor.type",
        ),
        (
            json!({"actor": {"type": "user"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
            "actor.id",
        ),
        (
            json!({"actor": {"type": "user", "id": "u", "ip": "999.1.1.1"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
            "actor.ip",
        ),
        (
            json!({"actor": {"type": "user", "id": "u", "role": "x"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
            "actor.role",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {}, "status": "success"}),
            "resource.type",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "ok"}),
            "status",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}}),
            "status",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a b", "resource": {"type": "r"}, "status": "success"}),
            "action",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "seq": 4}),
            "seq",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "colour": 4}),
            "colour",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "data_classification": "secret"}),
            "data_classification",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "compliance_tags": ["ok", ""]}),
            "compliance_tags[1]",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "details": {"n": 9007199254740993u64}}),
            "details",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a".repeat(257), "resource": {"type": "r"}, "status": "success"}),
            "action",
        ),
        (
            json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "error_message": 5}),
            "error_message",
        ),
    ];
    for (value, field) in cases {
        let errors = NewEntry::from_json(&value, "").expect_err(&format!("{value} accepted"));
        assert!(
            errors.iter().any(|e| e.field == field),
            "{value}: expected an error on '{field}', got {errors:?}"
        );
    }
    let errors = NewEntry::from_json(&json!({"actor": 1}), "events[3].").expect_err("invalid");
    assert!(
        errors.iter().all(|e| e.field.starts_with("events[3]")),
        "{errors:?}"
    );
}

#[test]
fn hand_written_canonical_form_matches_the_generic_one() {
    let full = json!({"actor": {"type": "ai_agent", "id": "a\"é\\", "email": "x@y.z", "ip": "::1", "user_agent": "ua"},
        "action": "model.call", "resource": {"type": "model", "id": "m", "name": "n\u{10000}"},
        "context": {"request_id": "r", "session_id": null, "team_id": "t"},
        "details": {"z": 1, "a": [1.5, -0.0, 1e30, "s"], "é": {"\u{e000}": 1, "\u{10000}": 2}},
        "previous_state": [], "new_state": {"k": null}, "status": "denied", "error_message": "line\nnext\ttab",
        "data_classification": "restricted", "compliance_tags": ["gdpr", "hipaa"], "subject_id": "s"});
    for event in [minimal(), full] {
        let entry = NewEntry::from_json(&event, "").expect("valid").into_entry(
            9_007_199_254_740_991,
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
            SubmittedBy {
                principal_id: "p".into(),
                credential_id: Some("c".into()),
            },
        );
        let generic =
            serde_json_canonicalizer::to_vec(&serde_json::to_value(&entry).expect("value"))
                .expect("jcs");
        assert_eq!(
            String::from_utf8(entry.canonical_json().expect("writes")).expect("utf8"),
            String::from_utf8(generic).expect("utf8")
        );
    }
}

/// Hardening #9: 400,000 unknown keys made 400,000 errors (a 43 MB answer).
#[test]
fn validation_stops_after_the_error_cap() {
    let mut event = minimal();
    let object = event.as_object_mut().expect("object");
    for i in 0..10_000 {
        object.insert(format!("unknown_{i}"), json!(1));
    }
    object.insert("x".repeat(10_000), json!(1));
    let errors = NewEntry::from_json(&event, "").expect_err("invalid");
    assert_eq!(errors.len(), MAX_FIELD_ERRORS + 1);
    let mut event = minimal();
    event["actor"]["y".repeat(10_000)] = json!(1);
    let errors = NewEntry::from_json(&event, "").expect_err("invalid");
    assert!(errors[0].field.chars().count() < 100, "{}", errors[0].field);
    for i in 0..500 {
        event["actor"][format!("k{i}")] = json!(1);
    }
    assert_eq!(
        NewEntry::from_json(&event, "").expect_err("invalid").len(),
        MAX_FIELD_ERRORS + 1
    );
}

#[test]
fn deep_documents_are_refused_without_recursion() {
    // serde_json's parser stops at 128 levels, so that is the deepest a request can bring.
    let mut deep = json!(1);
    for _ in 0..120 {
        deep = json!([deep]);
    }
    let mut event = minimal();
    event["details"] = deep;
    let errors = NewEntry::from_json(&event, "").expect_err("too deep");
    assert_eq!(errors[0].field, "details");
}
