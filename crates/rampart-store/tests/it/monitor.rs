//! Monitoring's storage on both backends: the detection rules document, the evaluator's
//! compare-and-set step, one active alert per rule and group, alert transitions, silences,
//! webhooks (sealed secrets) and their outbox. Incidents are in `monitor/incidents.rs`.

use rampart_monitor::{
    Alert, AlertFilter, AlertStatus, AlertWrite, AttemptOutcome, DEFAULT_RULES_JSON, Delivery,
    DeliveryStatus, EvaluationCommit, EventType, Group, Hit, MonitorStore, RetrySchedule, RuleSet,
    Severity, Silence, StoredRules, Webhook, Window, WindowChange, WindowKey,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixture::Fixture;

mod incidents;

on_both_backends!(
    detection_rules_are_compare_and_set,
    a_stale_cursor_changes_nothing,
    one_active_alert_per_rule_and_group,
    alerts_are_acknowledged_and_resolved_once,
    silences_are_stored_listed_and_deleted,
    webhooks_keep_their_sealed_secret,
    deliveries_are_due_attempted_failed_and_retried,
);

pub(crate) const T0: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

pub(crate) async fn migrated(f: &Fixture) {
    f.store.migrate().await.expect("migrates");
}

pub(crate) fn group(actor: &str) -> Group {
    [("actor.id".to_owned(), Some(actor.to_owned()))]
        .into_iter()
        .collect()
}

pub(crate) fn open_alert(id: &str, rule: &str, actor: &str, seqs: &[u64]) -> Alert {
    Alert {
        id: id.to_owned(),
        rule: rule.to_owned(),
        severity: Severity::Medium,
        group: group(actor),
        status: AlertStatus::Open,
        count: seqs.len() as u64,
        first_seen_at: T0,
        last_seen_at: T0 + Duration::seconds(4),
        entry_seqs: seqs.to_vec(),
        incident_id: None,
        acknowledged: None,
        resolved: None,
    }
}

pub(crate) fn delivery(id: &str, webhook: &str, at: OffsetDateTime) -> Delivery {
    Delivery::new(
        id.to_owned(),
        webhook.to_owned(),
        EventType::AlertOpened,
        format!(r#"{{"type":"alert.opened","id":"{id}"}}"#),
        at,
    )
}

/// A step from `from` to `to` carrying `alerts` and `deliveries`.
pub(crate) fn step(from: u64, to: u64) -> EvaluationCommit {
    EvaluationCommit {
        expected_cursor: from,
        cursor: to,
        ..EvaluationCommit::default()
    }
}

fn window(seqs: &[u64]) -> Window {
    Window {
        hits: seqs
            .iter()
            .map(|&seq| Hit {
                seq,
                at_micros: 1_000_000 * i64::try_from(seq).expect("small"),
            })
            .collect(),
    }
}

fn failed_logins(actor: &str) -> WindowKey {
    WindowKey {
        rule: "failed_logins".to_owned(),
        group: group(actor),
    }
}

fn all_alerts() -> AlertFilter {
    AlertFilter {
        limit: 100,
        ..AlertFilter::default()
    }
}

async fn detection_rules_are_compare_and_set(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert_eq!(s.detection_rules().await.expect("reads"), None);
    let defaults = RuleSet::parse_json(DEFAULT_RULES_JSON).expect("valid");
    let made = s
        .replace_detection_rules(&defaults, None, T0)
        .await
        .expect("writes")
        .expect("nothing stored before");
    assert_eq!((made.before, made.version), (None, 1));
    let v1 = StoredRules {
        json: defaults.to_json(),
        version: 1,
    };
    assert_eq!(s.detection_rules().await.expect("reads"), Some(v1.clone()));
    let empty = RuleSet::default();
    for stale in [None, Some(2)] {
        assert_eq!(
            s.replace_detection_rules(&empty, stale, T0)
                .await
                .expect("runs"),
            None
        );
    }
    let replaced = s
        .replace_detection_rules(&empty, Some(1), T0)
        .await
        .expect("writes")
        .expect("version 1 is current");
    assert_eq!((replaced.before, replaced.version), (Some(v1), 2));
    let stored = s.detection_rules().await.expect("reads").expect("stored");
    assert_eq!(
        RuleSet::parse_json(&stored.json).expect("reads back"),
        empty
    );
}

async fn a_stale_cursor_changes_nothing(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    assert_eq!(s.evaluation_cursor().await.expect("reads"), 0);
    assert!(s.windows().await.expect("reads").is_empty());

    let mut first = step(0, 5);
    first.windows = vec![
        WindowChange {
            key: failed_logins("lena"),
            window: Some(window(&[1, 2, 3, 4, 5])),
        },
        WindowChange {
            key: failed_logins("omar"),
            window: Some(window(&[2])),
        },
    ];
    first.alerts = vec![AlertWrite::Open(open_alert(
        "a1",
        "failed_logins",
        "lena",
        &[1, 2, 3, 4, 5],
    ))];
    first.deliveries = vec![delivery("d1", "w1", T0)];
    assert!(s.commit_evaluation(&first).await.expect("commits"));
    assert_eq!(s.evaluation_cursor().await.expect("reads"), 5);

    // Another evaluator that also read 0 is refused and writes none of its step.
    let mut stale = step(0, 9);
    stale.windows = vec![WindowChange {
        key: failed_logins("lena"),
        window: None,
    }];
    stale.alerts = vec![AlertWrite::Open(open_alert("a2", "other", "zoe", &[7]))];
    stale.deliveries = vec![delivery("d2", "w1", T0)];
    assert!(!s.commit_evaluation(&stale).await.expect("runs"));
    // A cursor ahead of the stored one is no better.
    assert!(!s.commit_evaluation(&step(6, 9)).await.expect("runs"));
    assert_eq!(s.evaluation_cursor().await.expect("reads"), 5);
    let windows = s.windows().await.expect("reads");
    assert_eq!(
        windows,
        vec![
            (failed_logins("lena"), window(&[1, 2, 3, 4, 5])),
            (failed_logins("omar"), window(&[2])),
        ]
    );
    let alerts = s.list_alerts(&all_alerts()).await.expect("reads");
    assert_eq!(
        alerts,
        vec![open_alert("a1", "failed_logins", "lena", &[1, 2, 3, 4, 5])]
    );
    let due = s
        .due_deliveries(T0 + Duration::hours(1), 10)
        .await
        .expect("reads");
    assert_eq!(due, vec![delivery("d1", "w1", T0)]);

    // The next step from 5 deletes a window and writes another.
    let mut next = step(5, 9);
    next.windows = vec![
        WindowChange {
            key: failed_logins("omar"),
            window: None,
        },
        WindowChange {
            key: failed_logins("lena"),
            window: Some(window(&[5, 6, 7, 8, 9])),
        },
    ];
    assert!(s.commit_evaluation(&next).await.expect("commits"));
    assert_eq!(
        f.another_node().await.windows().await.expect("reads"),
        vec![(failed_logins("lena"), window(&[5, 6, 7, 8, 9]))]
    );
    assert_eq!(s.evaluation_cursor().await.expect("reads"), 9);
}

async fn one_active_alert_per_rule_and_group(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut open = step(0, 5);
    open.alerts = vec![AlertWrite::Open(open_alert(
        "a1",
        "failed_logins",
        "lena",
        &[1, 2, 3, 4, 5],
    ))];
    assert!(s.commit_evaluation(&open).await.expect("commits"));

    // A second open alert of the same rule and group is refused, with the whole step.
    let mut duplicate = step(5, 6);
    duplicate.alerts = vec![
        AlertWrite::Open(open_alert("a9", "failed_logins", "omar", &[6])),
        AlertWrite::Open(open_alert("a2", "failed_logins", "lena", &[6])),
    ];
    assert!(!s.commit_evaluation(&duplicate).await.expect("runs"));
    assert_eq!(s.evaluation_cursor().await.expect("reads"), 5);
    assert_eq!(s.alert("a9").await.expect("reads"), None);

    // Raising it instead adds to its count and seqs, and keeps the latest time.
    let mut raise = step(5, 7);
    raise.alerts = vec![
        AlertWrite::Raise {
            id: "a1".to_owned(),
            count: 2,
            seqs: vec![6, 7],
            last_seen_at: T0 + Duration::seconds(30),
        },
        AlertWrite::Open(open_alert("a3", "failed_logins", "omar", &[7])),
    ];
    assert!(s.commit_evaluation(&raise).await.expect("commits"));
    let mut expected = open_alert("a1", "failed_logins", "lena", &[1, 2, 3, 4, 5]);
    expected.raise(2, &[6, 7], T0 + Duration::seconds(30));
    assert_eq!(expected.count, 7);
    assert_eq!(s.alert("a1").await.expect("reads"), Some(expected.clone()));
    let mut older = step(7, 8);
    older.alerts = vec![AlertWrite::Raise {
        id: "a1".to_owned(),
        count: 1,
        seqs: vec![8],
        last_seen_at: T0,
    }];
    assert!(s.commit_evaluation(&older).await.expect("commits"));
    expected.raise(1, &[8], T0);
    assert_eq!(s.alert("a1").await.expect("reads"), Some(expected.clone()));

    let active = s
        .active_alerts(&[
            failed_logins("lena"),
            failed_logins("omar"),
            failed_logins("zoe"),
        ])
        .await
        .expect("reads");
    assert_eq!(
        active.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a1", "a3"]
    );

    // Once resolved, a raise is refused and a new alert of the group may open.
    let mut resolved = expected.clone();
    resolved.resolve("lena", None, T0).expect("active");
    assert!(s.resolve_alert(&resolved).await.expect("writes"));
    let mut late = step(8, 9);
    late.alerts = vec![AlertWrite::Raise {
        id: "a1".to_owned(),
        count: 1,
        seqs: vec![9],
        last_seen_at: T0,
    }];
    assert!(!s.commit_evaluation(&late).await.expect("runs"));
    let mut reopen = step(8, 9);
    reopen.alerts = vec![AlertWrite::Open(open_alert(
        "a4",
        "failed_logins",
        "lena",
        &[9],
    ))];
    assert!(s.commit_evaluation(&reopen).await.expect("commits"));
    let active = s
        .active_alerts(&[failed_logins("lena")])
        .await
        .expect("reads");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, "a4");

    // The index holds even against a writer behind the store's back.
    let raw = f
        .try_exec_raw(
            "INSERT INTO monitor_alerts (id, rule, severity, group_key, status, count,
                 first_seen_at, last_seen_at, entry_seqs)
             SELECT 'a5', rule, severity, group_key, 'acknowledged', 1, 0, 0, '[]'
             FROM monitor_alerts WHERE id = 'a4'",
        )
        .await;
    assert!(raw.is_err(), "{raw:?}");
}

async fn alerts_are_acknowledged_and_resolved_once(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut high = open_alert("a2", "privileged_actions", "omar", &[3]);
    high.severity = Severity::High;
    high.first_seen_at = T0 + Duration::minutes(1);
    let mut commit = step(0, 4);
    commit.alerts = vec![
        AlertWrite::Open(open_alert("a1", "failed_logins", "lena", &[1, 2])),
        AlertWrite::Open(high),
    ];
    assert!(s.commit_evaluation(&commit).await.expect("commits"));

    let mut a1 = s.alert("a1").await.expect("reads").expect("stored");
    let mut stale = a1.clone();
    a1.acknowledge("lena", T0 + Duration::minutes(5))
        .expect("open");
    assert!(s.acknowledge_alert(&a1).await.expect("writes"));
    assert_eq!(s.alert("a1").await.expect("reads"), Some(a1.clone()));
    // Someone who saw it open acknowledges too late.
    stale
        .acknowledge("omar", T0 + Duration::minutes(6))
        .expect("open in their copy");
    assert!(!s.acknowledge_alert(&stale).await.expect("runs"));
    assert_eq!(s.alert("a1").await.expect("reads"), Some(a1.clone()));
    // An alert that is not acknowledged cannot be stored as one.
    assert!(
        s.acknowledge_alert(&open_alert("a1", "x", "y", &[]))
            .await
            .is_err()
    );

    a1.resolve("lena", Some("password reset"), T0 + Duration::minutes(9))
        .expect("active");
    assert!(s.resolve_alert(&a1).await.expect("writes"));
    let stored = s.alert("a1").await.expect("reads").expect("stored");
    assert_eq!(stored, a1);
    assert_eq!(stored.status, AlertStatus::Resolved);
    assert!(stored.acknowledged.is_some());
    assert!(!s.resolve_alert(&a1).await.expect("runs"));

    let by = |status, severity, rule: Option<&str>| AlertFilter {
        status,
        severity,
        rule: rule.map(str::to_owned),
        limit: 100,
    };
    let ids = |alerts: Vec<Alert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_alerts(&all_alerts()).await.expect("reads")),
        ["a2", "a1"]
    );
    assert_eq!(
        ids(s
            .list_alerts(&by(Some(AlertStatus::Open), None, None))
            .await
            .expect("reads")),
        ["a2"]
    );
    assert_eq!(
        ids(s
            .list_alerts(&by(Some(AlertStatus::Resolved), None, None))
            .await
            .expect("reads")),
        ["a1"]
    );
    assert_eq!(
        ids(s
            .list_alerts(&by(None, Some(Severity::High), None))
            .await
            .expect("reads")),
        ["a2"]
    );
    assert_eq!(
        ids(s
            .list_alerts(&by(None, None, Some("failed_logins")))
            .await
            .expect("reads")),
        ["a1"]
    );
    assert!(
        s.list_alerts(&by(Some(AlertStatus::Acknowledged), None, None))
            .await
            .expect("reads")
            .is_empty()
    );
    let one = AlertFilter {
        limit: 1,
        ..AlertFilter::default()
    };
    assert_eq!(ids(s.list_alerts(&one).await.expect("reads")), ["a2"]);
    assert_eq!(s.alert("missing").await.expect("reads"), None);
}

async fn silences_are_stored_listed_and_deleted(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let silence = |id: &str, hours: i64, group: Option<Group>| Silence {
        id: id.to_owned(),
        rule: "failed_logins".to_owned(),
        group,
        until: T0 + Duration::hours(hours),
        reason: "maintenance".to_owned(),
        created_by: "lena".to_owned(),
        created_at: T0,
    };
    let long = silence("s1", 48, None);
    let short = silence("s2", 1, Some(group("omar")));
    let none_valued = silence(
        "s3",
        2,
        Some([("actor.ip".to_owned(), None)].into_iter().collect()),
    );
    for one in [&long, &short, &none_valued] {
        s.insert_silence(one).await.expect("stores");
    }
    assert_eq!(
        s.list_silences(None).await.expect("reads"),
        vec![short.clone(), none_valued.clone(), long.clone()]
    );
    assert_eq!(
        s.list_silences(Some(T0 + Duration::hours(1)))
            .await
            .expect("reads"),
        vec![none_valued.clone(), long.clone()]
    );
    assert!(
        s.list_silences(Some(T0 + Duration::hours(48)))
            .await
            .expect("reads")
            .is_empty()
    );
    assert_eq!(s.delete_silence("s2").await.expect("deletes"), Some(short));
    assert_eq!(s.delete_silence("s2").await.expect("runs"), None);
    assert_eq!(
        s.list_silences(None).await.expect("reads"),
        vec![none_valued, long]
    );
}

fn webhook(id: &str, minutes: i64) -> Webhook {
    Webhook {
        id: id.to_owned(),
        url: format!("https://hooks.example.com/{id}"),
        events: vec![EventType::AlertOpened, EventType::IncidentEscalated],
        description: "on call".to_owned(),
        // Sealed bytes as the app layer makes them: opaque, with zeros and high bytes.
        sealed_secret: vec![0, 1, 2, 0xfe, 0xff, 0, 42],
        created_by: "lena".to_owned(),
        created_at: T0 + Duration::minutes(minutes),
    }
}

async fn webhooks_keep_their_sealed_secret(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let (w1, w2) = (webhook("w1", 0), webhook("w2", 1));
    s.insert_webhook(&w2).await.expect("stores");
    s.insert_webhook(&w1).await.expect("stores");
    assert!(s.insert_webhook(&w1).await.is_err(), "ids are unique");
    assert_eq!(
        s.list_webhooks().await.expect("reads"),
        vec![w1.clone(), w2.clone()]
    );
    assert_eq!(s.webhook("w1").await.expect("reads"), Some(w1.clone()));
    assert_eq!(s.webhook("nope").await.expect("reads"), None);

    // Deleting a webhook drops its pending deliveries; sent ones stay as history.
    let mut commit = step(0, 1);
    commit.deliveries = vec![
        delivery("d1", "w1", T0),
        delivery("d2", "w1", T0),
        delivery("d3", "w2", T0),
    ];
    assert!(s.commit_evaluation(&commit).await.expect("commits"));
    let mut sent = delivery("d1", "w1", T0);
    sent.record_attempt(
        AttemptOutcome::Answered(204),
        T0,
        &RetrySchedule::default(),
        0,
    );
    assert!(s.record_attempt(&sent, 0).await.expect("writes"));
    assert_eq!(s.delete_webhook("w1").await.expect("deletes"), Some(w1));
    assert_eq!(s.delete_webhook("w1").await.expect("runs"), None);
    assert_eq!(s.list_webhooks().await.expect("reads"), vec![w2]);
    assert_eq!(
        s.list_deliveries("w1", 10).await.expect("reads"),
        vec![sent]
    );
    assert_eq!(
        s.due_deliveries(T0, 10).await.expect("reads"),
        vec![delivery("d3", "w2", T0)]
    );
}

async fn deliveries_are_due_attempted_failed_and_retried(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut commit = step(0, 1);
    commit.deliveries = vec![
        delivery("d-late", "w1", T0 + Duration::seconds(30)),
        delivery("d-first", "w1", T0),
        delivery("d-other", "w2", T0 + Duration::seconds(10)),
    ];
    assert!(s.commit_evaluation(&commit).await.expect("commits"));
    let due_ids = |due: Vec<Delivery>| due.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        due_ids(
            s.due_deliveries(T0 + Duration::seconds(10), 10)
                .await
                .expect("reads")
        ),
        ["d-first", "d-other"]
    );
    assert_eq!(
        due_ids(
            s.due_deliveries(T0 + Duration::minutes(1), 2)
                .await
                .expect("reads")
        ),
        ["d-first", "d-other"]
    );
    assert!(
        s.due_deliveries(T0 - Duration::seconds(1), 10)
            .await
            .expect("reads")
            .is_empty()
    );

    // A 500: pending again after the first delay (one retry in this schedule).
    let schedule = RetrySchedule::from_seconds(&[5]).expect("valid");
    let mut d = s
        .delivery("w1", "d-first")
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!(s.delivery("w2", "d-first").await.expect("reads"), None);
    d.record_attempt(AttemptOutcome::Answered(500), T0, &schedule, 10);
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert!(s.record_attempt(&d, 0).await.expect("writes"));
    // A second sender with the same view is refused.
    assert!(!s.record_attempt(&d, 0).await.expect("runs"));
    assert_eq!(
        s.delivery("w1", "d-first").await.expect("reads"),
        Some(d.clone())
    );
    assert_eq!(
        due_ids(
            s.due_deliveries(T0 + Duration::seconds(4), 10)
                .await
                .expect("reads")
        ),
        Vec::<String>::new()
    );
    // Random 10 of 0..=20 is the middle of the jitter: exactly the 5 s delay.
    let retry_at = d.next_attempt_at.expect("pending");
    assert_eq!(retry_at, T0 + Duration::seconds(5));
    assert_eq!(
        due_ids(s.due_deliveries(retry_at, 10).await.expect("reads")),
        ["d-first"]
    );

    // No answer on the last try: failed, never due again.
    d.record_attempt(AttemptOutcome::NoAnswer, retry_at, &schedule, 0);
    assert_eq!(
        (d.status, d.attempts, d.last_status_code),
        (DeliveryStatus::Failed, 2, None)
    );
    assert!(s.record_attempt(&d, 1).await.expect("writes"));
    assert_eq!(
        s.delivery("w1", "d-first").await.expect("reads"),
        Some(d.clone())
    );
    assert_eq!(
        due_ids(
            s.due_deliveries(T0 + Duration::days(1), 10)
                .await
                .expect("reads")
        ),
        ["d-other", "d-late"]
    );
    // A failed delivery takes no attempt.
    assert!(!s.record_attempt(&d, 2).await.expect("runs"));

    // A replay on demand: pending from now, attempts from zero, the same id.
    let now = T0 + Duration::hours(2);
    d.retry(now);
    s.retry_delivery(&d).await.expect("writes");
    let stored = s
        .delivery("w1", "d-first")
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!(stored, d);
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Pending, 0)
    );
    assert_eq!(
        due_ids(s.due_deliveries(now, 10).await.expect("reads")),
        ["d-other", "d-late", "d-first"]
    );
    d.record_attempt(AttemptOutcome::Answered(200), now, &schedule, 0);
    assert!(s.record_attempt(&d, 0).await.expect("writes"));
    assert_eq!(
        due_ids(s.due_deliveries(now, 10).await.expect("reads")),
        ["d-other", "d-late"]
    );

    // A webhook's deliveries, newest first.
    assert_eq!(
        due_ids(s.list_deliveries("w1", 10).await.expect("reads")),
        ["d-late", "d-first"]
    );
    assert_eq!(
        due_ids(s.list_deliveries("w1", 1).await.expect("reads")),
        ["d-late"]
    );
    assert!(s.list_deliveries("w3", 10).await.expect("reads").is_empty());
}
