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
        )
        .expect("no personal data");
    let value = serde_json::to_value(&entry).expect("serializes");
    assert_eq!(value["timestamp"], "2026-11-22T14:03:07.123456Z");
    assert_eq!(value["details"], Value::Null);
    assert_eq!(value["context"], Value::Null);
    assert_eq!(value["compliance_tags"], json!([]));
    // No personal data: no `personal` member at all, so older leaves are unchanged.
    assert!(value.get("personal").is_none());
    assert!(
        !String::from_utf8(entry.canonical_json().expect("writes"))
            .expect("utf8")
            .contains("personal")
    );
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

/// The hand-written canonical form of `entry` against the generic canonicalizer.
fn assert_canonical(entry: &Entry) -> Result<(), String> {
    let generic = serde_json_canonicalizer::to_vec(&serde_json::to_value(entry).expect("value"))
        .expect("jcs");
    let ours = entry.canonical_json().expect("writes");
    if ours == generic {
        Ok(())
    } else {
        Err(format!(
            "{}\n!=\n{}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&generic)
        ))
    }
}

fn sealed_with(sealed: &str, subject_key: &str) -> Personal {
    Personal::Sealed(SealedPersonal {
        sealed: sealed.to_owned(),
        subject_key: subject_key.to_owned(),
    })
}

#[test]
fn hand_written_canonical_form_matches_the_generic_one() {
    let full = json!({"actor": {"type": "ai_agent", "id": "a\"é\\", "email": "x@y.z", "ip": "::1", "user_agent": "ua"},
        "action": "model.call", "resource": {"type": "model", "id": "m", "name": "n\u{10000}"},
        "context": {"request_id": "r", "session_id": null, "team_id": "t"},
        "details": {"z": 1, "a": [1.5, -0.0, 1e30, "s"], "é": {"\u{e000}": 1, "\u{10000}": 2}},
        "previous_state": [], "new_state": {"k": null}, "status": "denied", "error_message": "line\nnext\ttab",
        "data_classification": "restricted", "compliance_tags": ["gdpr", "hipaa"], "subject_id": "s"});
    let mut with_personal = full.clone();
    with_personal["personal"] = json!({"email": "a@example.com"});
    for (event, sealed) in [
        (minimal(), None),
        (full.clone(), None),
        (
            full,
            Some(sealed_with(
                "rampart:v1:AAAA_-",
                "sk_0123456789abcdef0123456789abcdef",
            )),
        ),
        (
            with_personal,
            Some(sealed_with("rampart:v1:\u{e000}\"é", "sk_\u{10000}")),
        ),
    ] {
        let mut new = NewEntry::from_json(&event, "").expect("valid");
        if let Some(sealed) = sealed {
            new.personal = Some(sealed);
        }
        let entry = new
            .into_entry(
                9_007_199_254_740_991,
                Uuid::now_v7(),
                OffsetDateTime::now_utc(),
                SubmittedBy {
                    principal_id: "p".into(),
                    credential_id: Some("c".into()),
                },
            )
            .expect("sealed");
        assert_canonical(&entry)
            .map_err(|e| format!("{event}: {e}"))
            .expect("equal");
    }
}

mod canonical_properties {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        "[\\u{0}-\\u{1f}\"\\\\/a-z\\u{7f}-\\u{ff}\\u{e000}-\\u{ffff}\\u{10000}-\\u{10ffff}]{0,12}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Every field, personal or not, in the order RFC 8785 sorts it.
        #[test]
        fn entries_with_and_without_personal_match_the_generic_form(
            strings in prop::collection::vec(text(), 8),
            personal in proptest::option::of((text(), text())),
            optional in prop::collection::vec(any::<bool>(), 6),
            seq in 0u64..(1 << 53),
        ) {
            let pick = |i: usize| optional[i % 6].then(|| strings[i].clone());
            let entry = Entry {
                seq,
                id: strings[0].clone(),
                timestamp: strings[1].clone(),
                actor: Actor { kind: strings[2].clone(), id: strings[3].clone(), email: pick(4), ip: pick(5), user_agent: pick(6) },
                action: strings[4].clone(),
                resource: Resource { kind: strings[5].clone(), id: pick(1), name: pick(2) },
                context: optional[0].then(|| Context { request_id: pick(3), session_id: None, team_id: pick(7) }),
                details: pick(0).map(Value::from),
                previous_state: pick(1).map(|s| json!({ s: [1, "x"] })),
                new_state: pick(2).map(Value::from),
                status: Status::Denied,
                error_message: pick(3),
                data_classification: pick(4),
                compliance_tags: strings.iter().take(2).cloned().collect(),
                subject_id: pick(5),
                personal: personal.map(|(sealed, subject_key)| SealedPersonal { sealed, subject_key }),
                submitted_by: SubmittedBy { principal_id: strings[6].clone(), credential_id: pick(7) },
            };
            prop_assert!(assert_canonical(&entry).is_ok(), "{:?}", assert_canonical(&entry));
            // The writer's form, from the queued entry without copying it, is the same bytes.
            let queued = NewEntry {
                actor: entry.actor.clone(),
                action: entry.action.clone(),
                resource: entry.resource.clone(),
                context: entry.context.clone(),
                details: entry.details.clone(),
                previous_state: entry.previous_state.clone(),
                new_state: entry.new_state.clone(),
                status: entry.status,
                error_message: entry.error_message.clone(),
                data_classification: entry.data_classification.clone(),
                compliance_tags: entry.compliance_tags.clone(),
                subject_id: entry.subject_id.clone(),
                personal: entry.personal.clone().map(Personal::Sealed),
            };
            let at = queued
                .canonical_json_at(entry.seq, &entry.id, &entry.timestamp, &entry.submitted_by)
                .expect("sealed or none");
            prop_assert_eq!(at, entry.canonical_json().expect("writes"));
        }
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
