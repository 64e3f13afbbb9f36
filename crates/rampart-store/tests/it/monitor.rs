//! Monitoring's storage on both backends: the detection rules document, the evaluator's
//! compare-and-set step, one active alert per rule and group, alert transitions, silences.
//! Webhooks and deliveries are in `monitor/webhooks.rs`, incidents in `monitor/incidents.rs`.

use rampart_monitor::{
    Alert, AlertFilter, AlertStatus, AlertWrite, DEFAULT_RULES_JSON, Delivery, EvaluationCommit,
    EventType, Group, Hit, MonitorStore, RuleSet, Severity, Silence, StoredRules, Window,
    WindowChange, WindowKey,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use rampart_store::StoreError;

use crate::fixture::Fixture;

mod incidents;
mod webhooks;

on_both_backends!(
    detection_rules_are_compare_and_set,
    a_stale_cursor_changes_nothing,
    one_active_alert_per_rule_and_group,
    alerts_are_acknowledged_and_resolved_once,
    silences_are_stored_listed_and_deleted,
    two_nodes_stepping_together_have_one_winner,
    corrupt_rows_are_errors_not_panics,
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

async fn two_nodes_stepping_together_have_one_winner(f: Fixture) {
    migrated(&f).await;
    let node_b = f.another_node().await;
    let mut steps = tokio::task::JoinSet::new();
    for node in 0..8u64 {
        let store = if node % 2 == 0 {
            f.store.clone()
        } else {
            node_b.clone()
        };
        steps.spawn(async move {
            let mut commit = step(0, 10 + node);
            commit.alerts = vec![AlertWrite::Open(open_alert(
                &format!("a{node}"),
                "failed_logins",
                &format!("actor{node}"),
                &[1],
            ))];
            commit.deliveries = vec![delivery(&format!("d{node}"), "w1", T0)];
            (node, store.commit_evaluation(&commit).await.expect("runs"))
        });
    }
    let winners: Vec<u64> = steps
        .join_all()
        .await
        .into_iter()
        .filter_map(|(node, won)| won.then_some(node))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = winners[0];
    assert_eq!(
        node_b.evaluation_cursor().await.expect("reads"),
        10 + winner
    );
    let alerts = f.store.list_alerts(&all_alerts()).await.expect("reads");
    assert_eq!(
        alerts.into_iter().map(|a| a.id).collect::<Vec<_>>(),
        [format!("a{winner}")]
    );
    let due = f.store.due_deliveries(T0, 10).await.expect("reads");
    assert_eq!(
        due.into_iter().map(|d| d.id).collect::<Vec<_>>(),
        [format!("d{winner}")]
    );
}

async fn corrupt_rows_are_errors_not_panics(f: Fixture) {
    migrated(&f).await;
    let s = &f.store;
    let mut commit = step(0, 1);
    commit.alerts = vec![AlertWrite::Open(open_alert(
        "a1",
        "failed_logins",
        "lena",
        &[1],
    ))];
    commit.windows = vec![WindowChange {
        key: failed_logins("lena"),
        window: Some(window(&[1])),
    }];
    assert!(s.commit_evaluation(&commit).await.expect("commits"));
    f.exec_raw("UPDATE monitor_alerts SET entry_seqs = '[1, -2]'")
        .await;
    f.exec_raw("UPDATE monitor_windows SET hits = 'not json'")
        .await;
    match s.alert("a1").await {
        Err(StoreError::Corrupt {
            what: "monitor_alerts.entry_seqs",
        }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    match s.windows().await {
        Err(StoreError::Corrupt {
            what: "monitor_windows.hits",
        }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // The schema refuses what no domain value could be.
    for sql in [
        "UPDATE monitor_alerts SET status = 'snoozed'",
        "UPDATE monitor_cursor SET next_seq = -1",
        "INSERT INTO monitor_cursor (id, next_seq) VALUES (2, 0)",
    ] {
        assert!(f.try_exec_raw(sql).await.is_err(), "{sql}");
    }
}
