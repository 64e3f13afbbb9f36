//! Properties of redaction: idempotent, nothing it found survives, and JSON without personal
//! data comes back unchanged.

use proptest::prelude::*;
use rampart_privacy::{HashKey, Policy, Redactor};
use serde_json::Value;

fn redactor() -> Redactor {
    static SHARED: std::sync::LazyLock<Redactor> = std::sync::LazyLock::new(|| {
        Redactor::new(Policy::default_policy(), HashKey::new([3; 32])).unwrap()
    });
    SHARED.clone()
}

fn pii() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}\\.[a-z]{1,8}@example\\.(com|org|io)",
        Just("4111 1111 1111 1111".to_owned()),
        Just("5555-5555-5555-4444".to_owned()),
        Just("378282246310005".to_owned()),
        Just("123-45-6789".to_owned()),
        Just("+44 20 7946 0958".to_owned()),
        Just("(415) 555-2671".to_owned()),
        "(1[0-9]{2}|2[0-4][0-9])\\.[1-9]?[0-9]\\.[1-9]?[0-9]\\.[1-9][0-9]?",
        Just("2001:db8::8a2e:370:7334".to_owned()),
        Just("DE89 3704 0044 0532 0130 00".to_owned()),
        Just("AKIAIOSFODNN7EXAMPLE".to_owned()),
        Just("Bearer abcdefghijklmnopqrstuvwxyz0123456789".to_owned()),
    ]
}

fn filler() -> impl Strategy<Value = String> {
    "[a-z ,:;]{0,20}"
}

fn text_with_pii() -> impl Strategy<Value = (String, Vec<String>)> {
    prop::collection::vec((filler(), pii()), 1..5).prop_map(|parts| {
        let mut text = String::new();
        let mut secrets = Vec::new();
        for (fill, value) in parts {
            text.push_str(&fill);
            text.push(' ');
            text.push_str(&value);
            text.push(' ');
            secrets.push(value);
        }
        (text, secrets)
    })
}

/// JSON with no personal data: words, small numbers, booleans, nesting.
fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..100_000).prop_map(Value::from),
        "[a-z ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("(name|count|status|item|level|note)[0-9]?", inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn redaction_is_idempotent((text, _) in text_with_pii()) {
        let r = redactor();
        let once = r.redact_text(&text).value;
        let twice = r.redact_text(&once);
        prop_assert_eq!(&twice.value, &once);
        prop_assert!(twice.findings.is_empty(), "{:?}", twice.findings);
    }

    #[test]
    fn no_found_value_survives((text, planted) in text_with_pii()) {
        let r = redactor();
        let redacted = r.redact_text(&text);
        for finding in &redacted.findings {
            let found = &text[finding.start..finding.end];
            if finding.action != "keep" && found.len() > 4 {
                prop_assert!(!redacted.value.contains(found), "{} survived in {}", found, redacted.value);
            }
        }
        // Every planted value was found (the corpus test measures this per type).
        for value in planted {
            prop_assert!(!redacted.value.contains(&value) || value.len() <= 4, "{} not redacted in {}", value, redacted.value);
        }
    }

    #[test]
    fn json_without_personal_data_is_unchanged(document in plain_json()) {
        let redacted = redactor().redact_json(&document);
        prop_assert!(redacted.findings.is_empty(), "{:?}", redacted.findings);
        prop_assert_eq!(serde_json::to_string(&redacted.value).unwrap(), serde_json::to_string(&document).unwrap());
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = redactor().detector().detect(&text);
        let _ = redactor().redact_text(&text);
    }
}

#[test]
fn json_paths_and_sensitive_keys() {
    let document: Value = serde_json::from_str(
        r#"{"user": {"email": "a.b@example.com", "password": "hunter2", "api-key": 12345},
            "items": [{"note": "x"}, {"note": "card 4111111111111111"}], "passenger": "Ann"}"#,
    )
    .unwrap();
    let redacted = redactor().redact_json(&document);
    let paths: Vec<(&str, &str)> = redacted
        .findings
        .iter()
        .map(|f| (f.path.as_deref().unwrap(), f.kind.as_str()))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("user.email", "email"),
            ("user.password", "sensitive_key"),
            ("user[\"api-key\"]", "sensitive_key"),
            ("items[1].note", "credit_card")
        ]
    );
    let out = &redacted.value;
    assert!(
        out["user"]["email"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    assert_eq!(out["user"]["password"], "[REDACTED:SENSITIVE_KEY]");
    assert_eq!(out["user"]["api-key"], "[REDACTED:SENSITIVE_KEY]");
    assert_eq!(out["items"][1]["note"], "card [REDACTED:CREDIT_CARD]");
    assert_eq!(out["passenger"], "Ann");
    // Key order is kept.
    assert!(
        serde_json::to_string(out)
            .unwrap()
            .starts_with(r#"{"user":{"email""#)
    );
    // Equal values hash equally, under the same key only.
    let again = redactor().redact_json(&document);
    assert_eq!(again.value["user"]["email"], out["user"]["email"]);
    let other = Redactor::new(Policy::default_policy(), HashKey::new([4; 32]))
        .unwrap()
        .redact_json(&document);
    assert_ne!(other.value["user"]["email"], out["user"]["email"]);
}

#[test]
fn actions_follow_the_policy() {
    let policy = Policy::default_policy()
        .with_overrides(
            &serde_json::json!({"phone": "redact", "email": "keep", "credit_card": "mask"}),
        )
        .unwrap();
    let r = Redactor::new(policy, HashKey::new([3; 32])).unwrap();
    let out = r.redact_text("a@b.io (415) 555-2671 4111111111111111");
    assert_eq!(out.value, "a@b.io [REDACTED:PHONE] ************1111");
    assert_eq!(
        out.findings.iter().map(|f| f.action).collect::<Vec<_>>(),
        vec!["keep", "redact", "mask"]
    );
    let unsupported = Policy::default_policy()
        .with_overrides(&serde_json::json!({"email": {"action": "encrypt", "key": "pii"}}))
        .unwrap();
    assert!(Redactor::new(unsupported, HashKey::new([3; 32])).is_err());
}

#[test]
fn streams_redact_every_line_and_count() {
    let input = "{\"email\":\"x@y.io\"}\nnot json 123-45-6789\n\n{\"ok\":1}";
    let mut out = Vec::new();
    let mut stats = rampart_privacy::Stats::default();
    redactor()
        .redact_stream(input.as_bytes(), &mut out, &mut stats)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("{\"email\":\"hmac-sha256:"), "{text}");
    assert_eq!(lines[1], "not json [REDACTED:US_SSN]");
    assert_eq!(lines[3], "{\"ok\":1}");
    assert_eq!(stats.lines, 4);
    assert_eq!(stats.json_lines, 2);
    assert_eq!(stats.text_lines, 2);
    assert_eq!(stats.findings.get("us_ssn"), Some(&1));
}

fn json_with_pii() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..100_000).prop_map(Value::from),
        Just(Value::from(4_111_111_111_111_111u64)),
        "[a-z ]{0,12}".prop_map(Value::String),
        (filler(), pii()).prop_map(|(a, b)| Value::String(format!("{a} {b}"))),
        Just(Value::String(
            "tab\there \"quoted\" \\ 123-45-6789 \u{e9}".to_owned()
        )),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    "(name|note|password|api_key|card|a-b|x y|email)[0-9]?",
                    inner
                ),
                0..5
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The streaming scanner and the tree walker agree on every document.
    #[test]
    fn streaming_and_tree_redaction_agree(document in json_with_pii(), pretty in any::<bool>()) {
        let r = redactor();
        let text = if pretty { serde_json::to_string_pretty(&document).unwrap() } else { serde_json::to_string(&document).unwrap() };
        let line = text.replace('\n', " ");
        let mut out = Vec::new();
        let mut stats = rampart_privacy::Stats::default();
        r.redact_stream(format!("{line}\n").as_bytes(), &mut out, &mut stats).unwrap();
        prop_assert_eq!(stats.json_lines, 1);
        let streamed: Value = serde_json::from_slice(&out).unwrap();
        let tree = r.redact_json(&document);
        prop_assert_eq!(&streamed, &tree.value);
        let found: u64 = stats.findings.values().sum();
        prop_assert_eq!(found, tree.findings.len() as u64);
    }

    /// JSON without personal data passes through the stream byte for byte, whitespace included.
    #[test]
    fn plain_json_streams_through_unchanged(document in plain_json()) {
        let line = serde_json::to_string_pretty(&document).unwrap().replace('\n', " ");
        let mut out = Vec::new();
        redactor().redact_stream(format!("{line}\n").as_bytes(), &mut out, &mut rampart_privacy::Stats::default()).unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{line}\n"));
    }
}

#[test]
fn invalid_json_lines_are_redacted_as_text() {
    for line in [
        "{\"a\": 4111111111111111 x}",
        "{\"a\": 1,}",
        "[1 2]",
        "{\"a\" 1}",
        "\"unterminated 123-45-6789",
        "{\"a\": 01}",
        "nul",
    ] {
        let mut out = Vec::new();
        let mut stats = rampart_privacy::Stats::default();
        redactor()
            .redact_stream(format!("{line}\n").as_bytes(), &mut out, &mut stats)
            .unwrap();
        assert_eq!(stats.text_lines, 1, "{line}");
        let out = String::from_utf8(out).unwrap();
        assert!(
            !out.contains("4111111111111111") && !out.contains("123-45-6789"),
            "{out}"
        );
    }
}
