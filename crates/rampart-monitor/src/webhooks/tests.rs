use std::net::IpAddr;

use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-05 10:00 UTC);

/// The Standard Webhooks reference vector: standard-webhooks/standard-webhooks,
/// `libraries/javascript/src/webhook.test.ts` ("sign function works", commit 10d3e46d),
/// the same secret, id, timestamp and payload its other libraries' tests sign.
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TIMESTAMP: i64 = 1_614_265_330;
const SPEC_PAYLOAD: &str = r#"{"test": 2432232314}"#;
const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

#[test]
fn the_signature_matches_the_spec_s_vector() {
    let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
    assert_eq!(
        sign(
            &secret,
            SPEC_MSG_ID,
            SPEC_TIMESTAMP,
            SPEC_PAYLOAD.as_bytes()
        ),
        SPEC_SIGNATURE
    );
    let unprefixed = WebhookSecret::parse(SPEC_SECRET.trim_start_matches("whsec_")).unwrap();
    assert_eq!(
        sign(
            &unprefixed,
            SPEC_MSG_ID,
            SPEC_TIMESTAMP,
            SPEC_PAYLOAD.as_bytes()
        ),
        SPEC_SIGNATURE
    );
    assert_eq!(secret.to_text().as_str(), SPEC_SECRET);
}

#[test]
fn verification_accepts_any_v1_and_refuses_changes() {
    let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
    let body = SPEC_PAYLOAD.as_bytes();
    assert!(verify(
        &secret,
        SPEC_MSG_ID,
        SPEC_TIMESTAMP,
        body,
        SPEC_SIGNATURE
    ));
    let several = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x {SPEC_SIGNATURE}");
    assert!(verify(&secret, SPEC_MSG_ID, SPEC_TIMESTAMP, body, &several));
    assert!(!verify(
        &secret,
        SPEC_MSG_ID,
        SPEC_TIMESTAMP + 1,
        body,
        SPEC_SIGNATURE
    ));
    assert!(!verify(
        &secret,
        "msg_other",
        SPEC_TIMESTAMP,
        body,
        SPEC_SIGNATURE
    ));
    assert!(!verify(
        &secret,
        SPEC_MSG_ID,
        SPEC_TIMESTAMP,
        br#"{"test": 2432232315}"#,
        SPEC_SIGNATURE
    ));
    assert!(!verify(&secret, SPEC_MSG_ID, SPEC_TIMESTAMP, body, "v1,"));
    assert!(!verify(
        &secret,
        SPEC_MSG_ID,
        SPEC_TIMESTAMP,
        body,
        &SPEC_SIGNATURE.replace("v1,", "v2,")
    ));
    let other = WebhookSecret::from_bytes(vec![7; 32]).unwrap();
    assert!(!verify(
        &other,
        SPEC_MSG_ID,
        SPEC_TIMESTAMP,
        body,
        SPEC_SIGNATURE
    ));
}

#[test]
fn secrets_are_24_to_64_bytes_and_never_printed() {
    assert_eq!(
        WebhookSecret::from_bytes(vec![1; 23]).unwrap_err(),
        SecretError::Malformed
    );
    assert!(WebhookSecret::from_bytes(vec![1; 65]).is_err());
    assert!(WebhookSecret::parse("whsec_not base64!").is_err());
    let secret = WebhookSecret::from_bytes(vec![1; 32]).unwrap();
    assert!(secret.to_text().starts_with("whsec_"));
    assert_eq!(
        WebhookSecret::parse(&secret.to_text())
            .unwrap()
            .expose_bytes(),
        &[1; 32]
    );
    assert_eq!(format!("{secret:?}"), "WebhookSecret(..)");
}

#[test]
fn event_types_and_bodies_use_the_wire_names() {
    for event in EventType::ALL {
        assert_eq!(EventType::parse(event.as_str()), Some(event));
        assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
    }
    assert_eq!(EventType::parse("alert.closed"), None);
    let body: serde_json::Value = serde_json::from_str(&event_body(
        EventType::AlertOpened,
        NOW,
        serde_json::json!({"id": "a1"}),
    ))
    .unwrap();
    assert_eq!(
        body,
        serde_json::json!({"type": "alert.opened", "timestamp": "2026-12-05T10:00:00Z", "data": {"id": "a1"}})
    );
}

#[test]
fn the_schedule_follows_the_spec_with_bounded_jitter() {
    let schedule = RetrySchedule::default();
    let seconds: Vec<i64> = schedule
        .delays()
        .iter()
        .map(|d| d.whole_seconds())
        .collect();
    assert_eq!(seconds, [5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
    assert_eq!(schedule.max_attempts(), 8);
    assert_eq!(schedule.next_attempt(0, NOW, 0), None);
    assert_eq!(schedule.next_attempt(8, NOW, 0), None);
    for random in [0, 10, 20, u64::MAX] {
        let at = schedule.next_attempt(2, NOW, random).unwrap();
        let delay = (at - NOW).whole_milliseconds();
        assert!((270_000..=330_000).contains(&delay), "{delay}");
    }
    assert_eq!(
        schedule.next_attempt(1, NOW, 0).unwrap() - NOW,
        Duration::milliseconds(4500)
    );
    assert_eq!(
        jittered(Duration::milliseconds(10), 0),
        Duration::SECOND,
        "never under a second"
    );
    let custom = RetrySchedule::from_seconds(&[1, 2]).unwrap();
    assert_eq!(custom.max_attempts(), 3);
    assert_eq!(RetrySchedule::from_seconds(&[]).unwrap().max_attempts(), 1);
    assert_eq!(
        RetrySchedule::from_seconds(&[0]).unwrap_err().path,
        "webhook_retry_seconds"
    );
    assert!(RetrySchedule::from_seconds(&[86_401]).is_err());
    assert!(RetrySchedule::from_seconds(&[1; 17]).is_err());
}

#[test]
fn a_delivery_retries_then_fails_or_is_delivered() {
    let schedule = RetrySchedule::from_seconds(&[5, 60]).unwrap();
    let mut delivery = Delivery::new(
        "d1".into(),
        "w1".into(),
        EventType::AlertOpened,
        "{}".into(),
        NOW,
    );
    assert_eq!(
        (delivery.status, delivery.next_attempt_at),
        (DeliveryStatus::Pending, Some(NOW))
    );
    delivery.record_attempt(AttemptOutcome::Answered(500), NOW, &schedule, 10);
    assert_eq!(
        (
            delivery.status,
            delivery.attempts,
            delivery.last_status_code
        ),
        (DeliveryStatus::Pending, 1, Some(500))
    );
    assert_eq!(delivery.next_attempt_at, Some(NOW + Duration::seconds(5)));
    delivery.record_attempt(AttemptOutcome::NoAnswer, NOW, &schedule, 10);
    assert_eq!(
        (delivery.status, delivery.last_status_code),
        (DeliveryStatus::Pending, None)
    );
    delivery.record_attempt(AttemptOutcome::Answered(302), NOW, &schedule, 10);
    assert_eq!(
        (delivery.status, delivery.attempts, delivery.next_attempt_at),
        (DeliveryStatus::Failed, 3, None)
    );
    delivery.retry(NOW);
    assert_eq!(
        (delivery.status, delivery.attempts, delivery.next_attempt_at),
        (DeliveryStatus::Pending, 0, Some(NOW))
    );
    delivery.record_attempt(AttemptOutcome::Answered(204), NOW, &schedule, 10);
    assert_eq!(
        (delivery.status, delivery.next_attempt_at),
        (DeliveryStatus::Delivered, None)
    );
}

#[test]
fn good_urls_are_accepted() {
    let url = validate_url("https://hooks.example.com/rampart?x=1", false).unwrap();
    assert_eq!(
        (url.https, url.host.as_str(), url.port, url.address),
        (true, "hooks.example.com", 443, None)
    );
    let url = validate_url("http://Example.COM:8080", false).unwrap();
    assert_eq!(
        (url.https, url.host.as_str(), url.port),
        (false, "example.com", 8080)
    );
    let url = validate_url("https://[2001:4860::1]:8443/x", false).unwrap();
    assert_eq!((url.host.as_str(), url.port), ("2001:4860::1", 8443));
    assert_eq!(url.address, Some("2001:4860::1".parse().unwrap()));
    assert!(
        validate_url("http://127.0.0.1:9000/hook", true).is_ok(),
        "allowed by the setting"
    );
}

#[test]
fn bad_urls_are_refused_naming_the_field() {
    for bad in [
        "",
        "ftp://example.com",
        "example.com/x",
        "https://",
        "https:///path",
        "https://user:pw@example.com",
        "https://ex ample.com",
        "https://example.com:0",
        "https://example.com:65536",
        "https://example.com:x",
        "https://-bad-.com",
        "https://[::1",
        "https://[zz::1]",
        "https://127.0.0.1/",
        "http://10.1.2.3",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80",
        "http://[::ffff:10.0.0.1]",
        "http://[fd00::1]",
        "http://100.64.0.1",
        "http://0.0.0.0",
        "http://[64:ff9b::a00:1]",
    ] {
        let error = validate_url(bad, false).unwrap_err();
        assert_eq!(error.path, "url", "{bad}");
    }
    assert!(
        validate_url(
            &format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)),
            false
        )
        .is_err()
    );
}

#[test]
fn forbidden_destinations() {
    let forbidden = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "0.1.2.3",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "198.18.0.1",
        "240.0.0.1",
        "192.0.0.8",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12::1",
        "ff02::1",
        "fec0::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:192.168.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "::10.0.0.1",
    ];
    for address in forbidden {
        let ip: IpAddr = address.parse().unwrap();
        assert!(is_forbidden_destination(ip), "{address}");
    }
    for allowed in [
        "8.8.8.8",
        "1.1.1.1",
        "100.128.0.1",
        "172.32.0.1",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ] {
        let ip: IpAddr = allowed.parse().unwrap();
        assert!(!is_forbidden_destination(ip), "{allowed}");
    }
}

#[test]
fn webhook_bodies_validate() {
    let document = WebhookDocument {
        url: "https://hooks.example.com".into(),
        events: vec!["alert.opened".into(), "incident.opened".into()],
        description: "ops".into(),
    };
    let (url, events) = document.validate(false).unwrap();
    assert_eq!(url.host, "hooks.example.com");
    assert_eq!(events, [EventType::AlertOpened, EventType::IncidentOpened]);
    let bad = WebhookDocument {
        url: "http://10.0.0.1".into(),
        events: vec!["alert.opened".into(), "alert.opened".into(), "nope".into()],
        description: "a\nb".into(),
    };
    let paths: Vec<String> = bad
        .validate(false)
        .unwrap_err()
        .field_errors()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(paths, ["url", "events[1]", "events[2]", "description"]);
    let none = WebhookDocument {
        url: "https://a.example".into(),
        events: vec![],
        description: String::new(),
    };
    assert_eq!(
        none.validate(false).unwrap_err().field_errors()[0].path,
        "events"
    );
    let webhook = Webhook {
        id: "w1".into(),
        url: "https://a.example".into(),
        events: vec![EventType::AlertOpened],
        description: String::new(),
        sealed_secret: vec![1],
        created_by: "ops".into(),
        created_at: NOW,
    };
    assert!(webhook.wants(EventType::AlertOpened));
    assert!(!webhook.wants(EventType::RetentionDue));
}
