//! The detector's unit tests: gates, whole-value shortcuts, each type in text, hard negatives.
use super::*;
use proptest::prelude::*;

static DETECTOR: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(Detector::new);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// The gates and search windows only save work: on any text the detector finds what
    /// every pattern searched over the whole text finds.
    #[test]
    fn gates_never_change_what_is_found(
        parts in proptest::collection::vec(
            prop_oneof![
                3 => "[0-9]{1,5}",
                3 => "[ .()+:@/_-]",
                2 => "[a-fA-F]{1,3}",
                2 => "[g-zG-Z]{1,4}",
                1 => Just("é".to_owned()),
                // Values of every type, which the noise around them may or may not spoil.
                2 => prop::sample::select(vec![
                    "(415) 555-2671", "+1 415 555 2671", "+44 (0)20 7946 0958",
                    "203.0.113.7", "4111 1111 1111 1111", "378282246310005",
                    "123-45-6789", "jane@example.com", "DE89 3704 0044 0532 0130 00",
                    "de89370400440532013000", "fe80::1%eth0", "2001:db8::1", "::1",
                    "AKIAIOSFODNN7EXAMPLE", "Bearer abcdefghijklmnopqrstuvwxyz012345",
                    "https://x.io/a?email=jane%40example.com&token=s3cr3t",
                    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln",
                ]).prop_map(str::to_owned),
            ],
            0..16,
        )
    ) {
        let text: String = parts.concat();
        let detector = &*DETECTOR;
        let bytes = text.as_bytes();
        prop_assume!(!is_timestamp(bytes) && !is_machine_id(bytes) && whole_value(&text).is_none());
        let ungated = detector.run_patterns(&text, u64::MAX, |_| 0);
        prop_assert_eq!(detector.spans(&text), ungated, "{}", text);
    }
}

fn kinds(text: &str) -> Vec<(PiiType, &str)> {
    Detector::new()
        .detect(text)
        .into_iter()
        .map(|(k, r)| (k, text.get(r).unwrap_or_default()))
        .collect()
}

#[test]
fn the_gates_never_hide_a_finding() {
    // Every example the other tests find opens a pattern; texts without any feature or
    // marker run none.
    for text in [
        "a@b.io",
        "AKIAIOSFODNN7EXAMPLE",
        "Bearer abcdefghijklmnopqrstuvwxyz",
        "-----BEGIN PRIVATE KEY-----",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "xoxb-abcdefghij",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
    ] {
        let bytes = text.as_bytes();
        let open = Detector::new().open_patterns(bytes, &Features::of(bytes));
        assert_ne!(open, 0, "{text}");
    }
    let quiet = b"login ok for user";
    assert_eq!(
        Detector::new().open_patterns(quiet, &Features::of(quiet)),
        0
    );
    for id in [
        "62886557-0987-4987-a2b1-b64bbea42c13",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    ] {
        assert!(is_machine_id(id.as_bytes()), "{id}");
    }
    for not_an_id in [
        "4111111111111111",
        "de89370400440532013000",
        "62886557-0987-4987-a2b1-b64bbea42c1",
    ] {
        assert!(!is_machine_id(not_an_id.as_bytes()), "{not_an_id}");
    }
    for timestamp in [
        "2026-11-22T14:03:07.123456Z",
        "2026-11-22 14:03:07+01:00",
        "2026-11-22T14:03Z",
        "2026-11-22",
        "2026-11-22T14:03:07-0500",
    ] {
        assert!(is_timestamp(timestamp.as_bytes()), "{timestamp}");
    }
    for not_only_a_timestamp in [
        "2026-11-22T14:03:07Z 123-45-6789",
        "2026-11-22T14:03:07Z+4111111111111111",
        "2026-11-22x",
        "12:30:45",
        "2026-11-22T14:03:07.Z",
    ] {
        assert!(
            !is_timestamp(not_only_a_timestamp.as_bytes()),
            "{not_only_a_timestamp}"
        );
    }
}

#[test]
fn a_whole_url_is_cut_where_the_pattern_would_cut_it() {
    let detector = Detector::new();
    let url_pattern = detector
        .patterns
        .iter()
        .find(|p| matches!(p.check, Check::Url))
        .map(|p| &p.regex)
        .expect("the URL pattern");
    for text in [
        "https://x.io/a?email=jane%40example.com&token=s3cr3t",
        "HTTP://x.io/?a=1#frag&token=x",
        "https://x.io/a?b=c?d=e",
        "https://x.io/a?",
        "https://?a=b",
        "http://x.io/a?b=1 and more",
        "ftp://x.io/a?b=1",
        "https://x.io/#?a=b",
    ] {
        let by_pattern = url_pattern
            .find(text)
            .filter(|m| {
                m.start() == 0
                    && !text[m.end()..].starts_with(|c: char| !c.is_ascii_whitespace() && c != '#')
            })
            .map(|m| m.as_str());
        let whole = whole_url(text);
        if let Some(url) = whole {
            assert_eq!(Some(url), by_pattern, "{text}");
        }
        if by_pattern.is_some_and(|m| m.len() == text.split('#').next().unwrap_or("").len()) {
            assert_eq!(whole, by_pattern, "{text}");
        }
    }
}

#[test]
fn every_pattern_compiles() {
    assert_eq!(Detector::new().patterns.len(), PATTERNS.len());
    // One bit per pattern in `open_patterns`.
    assert!(PATTERNS.len() <= 64);
    // `Gate::from` knows where runs of 8 (any separators) and 9 (grouped) digits begin.
    for (_, _, _, gate) in PATTERNS {
        match gate {
            Gate::Digits(n) => assert!(*n >= 8),
            Gate::GroupedDigits(n) => assert!(*n >= 9),
            _ => {}
        }
    }
}

#[test]
fn finds_each_type_in_text() {
    assert_eq!(
        kinds("mail jane.doe+x@example.co.uk now"),
        vec![(PiiType::Email, "jane.doe+x@example.co.uk")]
    );
    assert_eq!(
        kinds("card 4111 1111 1111 1111."),
        vec![(PiiType::CreditCard, "4111 1111 1111 1111")]
    );
    assert_eq!(
        kinds("ssn 123-45-6789"),
        vec![(PiiType::UsSsn, "123-45-6789")]
    );
    assert_eq!(
        kinds("from 203.0.113.7 and 2001:db8::1"),
        vec![
            (PiiType::IpAddress, "203.0.113.7"),
            (PiiType::IpAddress, "2001:db8::1")
        ]
    );
    assert_eq!(
        kinds("iban DE89 3704 0044 0532 0130 00"),
        vec![(PiiType::Iban, "DE89 3704 0044 0532 0130 00")]
    );
    assert_eq!(
        kinds("call +44 20 7946 0958 or (415) 555-2671"),
        vec![
            (PiiType::Phone, "+44 20 7946 0958"),
            (PiiType::Phone, "(415) 555-2671")
        ]
    );
    assert_eq!(
        kinds("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"),
        vec![(PiiType::Secret, "abcdefghijklmnopqrstuvwxyz012345")]
    );
    assert_eq!(
        kinds("key AKIAIOSFODNN7EXAMPLE"),
        vec![(PiiType::Secret, "AKIAIOSFODNN7EXAMPLE")]
    );
    assert_eq!(
        kinds("loopback ::1, link fe80::1%eth0 and 2001:db8::8a2e:370:7334."),
        vec![
            (PiiType::IpAddress, "::1"),
            (PiiType::IpAddress, "fe80::1%eth0"),
            (PiiType::IpAddress, "2001:db8::8a2e:370:7334")
        ]
    );
    assert_eq!(
        kinds("london +44 (0)20 7946 0958 today"),
        vec![(PiiType::Phone, "+44 (0)20 7946 0958")]
    );
    assert_eq!(
        kinds("iban de89 3704 0044 0532 0130 00 and de89370400440532013000"),
        vec![
            (PiiType::Iban, "de89 3704 0044 0532 0130 00"),
            (PiiType::Iban, "de89370400440532013000")
        ]
    );
    assert_eq!(
        kinds("amex 3782-822463-10005, diners 3622 720627 1667"),
        vec![
            (PiiType::CreditCard, "3782-822463-10005"),
            (PiiType::CreditCard, "3622 720627 1667")
        ]
    );
    assert_eq!(
        kinds("GET https://x.io/reset?email=jane%40example.com&next=/"),
        vec![(PiiType::Email, "jane%40example.com")]
    );
    assert_eq!(
        kinds("GET https://x.io/cb?code=abc&token=s3cr3t&x=1"),
        vec![(PiiType::SensitiveKey, "s3cr3t")]
    );
}

#[test]
fn hard_negatives_stay_quiet() {
    for text in [
        "order 4111111111111112 shipped",
        "version v1.2.3.4 and 1.2.3.4.5",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "at 2026-11-22T14:03:07.123456Z",
        "ssn 000-12-3456 or 666-12-3456 or 912-12-3456",
        "ticket 4155552671 and 999.999.999.999",
        "time 12:30:45",
        "passenger count 3",
        // The request id: its digits 6288655709874987 pass Luhn.
        "request 62886557-0987-4987-a2b1-b64bbea42c13 failed",
        "card 6288-6557-0987-498 in a grouping no card has",
        "blob ab+41555526711/cd",
        "std::Bad and Foo::Cafe and arn:aws:iam::123456789012:role/x",
        "mac 00:1A:2B:3C:4D:5E at 12:30:45",
        "span be63000000000000 and sha 8f3c0e4d1a2b",
    ] {
        assert_eq!(kinds(text), vec![], "{text}");
    }
}
