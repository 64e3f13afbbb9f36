//! Webhooks and their outbox on both backends: sealed secrets round-trip, deleting a webhook
//! drops its pending deliveries only, deliveries are due in order, an attempt is stored once
//! (compare-and-set on the attempts), a spent schedule fails, a replay makes it due again.

use rampart_monitor::{
    AttemptOutcome, Delivery, DeliveryStatus, EventType, MonitorStore, RetrySchedule, Webhook,
};
use time::Duration;

use super::{T0, delivery, migrated, step};
use crate::fixture::Fixture;

on_both_backends!(
    webhooks_keep_their_sealed_secret,
    deliveries_are_due_attempted_failed_and_retried,
);

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

    // The master key's rotation re-seals secrets: listed ones change, a gone one is skipped.
    s.reseal_webhook_secrets(&[
        ("w2".to_owned(), vec![9, 8, 7]),
        ("gone".to_owned(), vec![1]),
    ])
    .await
    .expect("re-seals");
    let resealed = s.webhook("w2").await.expect("reads").expect("kept");
    assert_eq!(resealed.sealed_secret, vec![9, 8, 7]);
    assert_eq!(s.webhook("w1").await.expect("reads"), Some(w1.clone()));
    s.reseal_webhook_secrets(&[("w2".to_owned(), w2.sealed_secret.clone())])
        .await
        .expect("re-seals");
    assert_eq!(s.webhook("gone").await.expect("reads"), None);

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
