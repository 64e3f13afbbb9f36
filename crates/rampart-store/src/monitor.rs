//! [`MonitorStore`] on both backends: the detection rules document, the evaluator's cursor and
//! windows and the step that commits them with what they found (`monitor/evaluation.rs`),
//! alerts and silences (`monitor/alerts.rs`), webhooks and their outbox (`monitor/webhooks.rs`),
//! incidents, their timelines and numbers (`monitor/incidents.rs`).
//!
//! Every write that depends on what the caller saw is compare-and-set in SQL (the cursor, an
//! alert's status, a delivery's attempts, an incident's status and level), so two nodes, or a
//! node and a person, never both win. One alert of a rule and group is active at a time: a
//! unique partial index holds it, whatever the callers do. Times are microseconds; groups,
//! windows and lists are JSON text; enum values are their wire names.

use rampart_monitor::{
    Alert, AlertFilter, Delivery, EvaluationCommit, Incident, IncidentChange, IncidentFilter,
    IncidentId, MonitorStore, ReplacedRules, RuleSet, Silence, StoredRules, TimelineEntry, Webhook,
    Window, WindowKey,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::{Store, StoreError};

/// Inserts encoded deliveries ([`webhooks::DeliveryRow`]) in the transaction `$tx` (also the
/// erasure's `erasure.requested` deliveries, `subjects/erasure.rs`).
macro_rules! insert_deliveries {
    ($tx:ident, $rows:expr) => {
        for row in $rows {
            sqlx::query(
                "INSERT INTO monitor_deliveries (id, webhook_id, event, body, status, attempts,
                     last_status_code, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&row.id)
            .bind(&row.webhook_id)
            .bind(&row.event)
            .bind(&row.body)
            .bind(&row.status)
            .bind(row.attempts)
            .bind(row.last_status_code)
            .bind(row.next_attempt_at)
            .bind(row.created_at)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use insert_deliveries;

/// Appends an encoded timeline entry ([`incidents::TimelineRow`]) of incident `$id` in `$tx`.
macro_rules! insert_timeline {
    ($tx:ident, $id:expr, $row:expr) => {
        sqlx::query(
            "INSERT INTO monitor_timeline (incident_id, at, actor, kind, text)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($id)
        .bind($row.at)
        .bind(&$row.actor)
        .bind(&$row.kind)
        .bind(&$row.text)
        .execute(&mut *$tx)
        .await?
    };
}

/// Inserts an encoded incident ([`incidents::IncidentRow`]) with its timeline, and links its
/// alerts to it, in `$tx`; `false` (nothing written) when its id is taken.
macro_rules! insert_incident {
    ($tx:ident, $row:expr) => {{
        let row = $row;
        let inserted = sqlx::query(
            "INSERT INTO monitor_incidents (id, title, description, severity, status, created_at,
                 acknowledged_at, resolved_at, escalation_level, next_escalation_at,
                 personal_data_breach, notification_deadline_at, alert_ids, entry_seqs)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.title)
        .bind(&row.description)
        .bind(&row.severity)
        .bind(&row.status)
        .bind(row.created_at)
        .bind(row.acknowledged_at)
        .bind(row.resolved_at)
        .bind(row.escalation_level)
        .bind(row.next_escalation_at)
        .bind(row.personal_data_breach)
        .bind(row.notification_deadline_at)
        .bind(&row.alert_ids)
        .bind(&row.entry_seqs)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for entry in &row.timeline {
                insert_timeline!($tx, &row.id, entry);
            }
            for alert in &row.alert_list {
                sqlx::query("UPDATE monitor_alerts SET incident_id = $1 WHERE id = $2")
                    .bind(&row.id)
                    .bind(alert)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        inserted
    }};
}

/// Opens an encoded alert ([`alerts::AlertRow`]) in `$tx`; `false` (nothing written) when
/// its id is taken or an alert of its rule and group is active.
macro_rules! insert_alert {
    ($tx:ident, $row:expr) => {{
        let row = $row;
        sqlx::query(
            "INSERT INTO monitor_alerts (id, rule, severity, group_key, status, count,
                 first_seen_at, last_seen_at, entry_seqs, incident_id, acknowledged_by,
                 acknowledged_at, resolved_by, resolved_at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.rule)
        .bind(&row.severity)
        .bind(&row.group)
        .bind(&row.status)
        .bind(row.count)
        .bind(row.first_seen_at)
        .bind(row.last_seen_at)
        .bind(&row.entry_seqs)
        .bind(&row.incident_id)
        .bind(&row.acknowledged_by)
        .bind(row.acknowledged_at)
        .bind(&row.resolved_by)
        .bind(row.resolved_at)
        .bind(&row.note)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1
    }};
}

mod alerts;
mod evaluation;
mod incidents;
pub(crate) mod webhooks;

/// An enum's wire name (`open`, `alert.opened`).
fn name_of<T: Serialize>(value: &T, what: &'static str) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => Ok(name),
        _ => Err(StoreError::OutOfRange { what }),
    }
}

/// The enum value of a stored wire name.
fn parse_name<T: DeserializeOwned>(text: &str, what: &'static str) -> Result<T, StoreError> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|_| StoreError::Corrupt { what })
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| StoreError::OutOfRange { what })
}

/// A value from stored JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt { what })
}

/// A count, number or `seq` as a column value.
pub(crate) fn signed(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what })
}

/// A stored count, number or `seq`.
pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

/// A stored `u32` (an attempt count, an escalation level).
fn unsigned32(value: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

impl MonitorStore for Store {
    type Error = StoreError;

    async fn detection_rules(&self) -> Result<Option<StoredRules>, StoreError> {
        self.rules_document().await
    }

    async fn replace_detection_rules(
        &self,
        rules: &RuleSet,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Option<ReplacedRules>, StoreError> {
        self.replace_rules_document(&rules.to_json(), expected, now)
            .await
    }

    async fn evaluation_cursor(&self) -> Result<u64, StoreError> {
        self.cursor().await
    }

    async fn windows(&self) -> Result<Vec<(WindowKey, Window)>, StoreError> {
        self.stored_windows().await
    }

    async fn active_alerts(&self, keys: &[WindowKey]) -> Result<Vec<Alert>, StoreError> {
        self.active_alerts_of(keys).await
    }

    async fn commit_evaluation(&self, commit: &EvaluationCommit) -> Result<bool, StoreError> {
        self.commit_step(commit).await
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        self.alerts_by(filter).await
    }

    async fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        self.alert_by_id(id).await
    }

    async fn acknowledge_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.store_acknowledged(alert).await
    }

    async fn resolve_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.store_resolved(alert).await
    }

    async fn insert_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        self.put_silence(silence).await
    }

    async fn list_silences(&self, now: Option<OffsetDateTime>) -> Result<Vec<Silence>, StoreError> {
        self.silences(now).await
    }

    async fn delete_silence(&self, id: &str) -> Result<Option<Silence>, StoreError> {
        self.remove_silence(id).await
    }

    async fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        self.put_webhook(webhook).await
    }

    async fn reseal_webhook_secrets(&self, sealed: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.put_webhook_secrets(sealed).await
    }

    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.webhooks().await
    }

    async fn webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        self.webhook_by_id(id).await
    }

    async fn delete_webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        self.remove_webhook(id).await
    }

    async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.deliveries_due(now, limit).await
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        expected_attempts: u32,
    ) -> Result<bool, StoreError> {
        self.store_attempt(delivery, expected_attempts).await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.deliveries_of(webhook_id, limit).await
    }

    async fn delivery(&self, webhook_id: &str, id: &str) -> Result<Option<Delivery>, StoreError> {
        self.delivery_by_id(webhook_id, id).await
    }

    async fn retry_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.store_retry(delivery).await
    }

    async fn next_incident_number(&self, date: Date) -> Result<u32, StoreError> {
        self.take_incident_number(date).await
    }

    async fn insert_incident(
        &self,
        incident: &Incident,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        self.put_incident(incident, deliveries).await
    }

    async fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        self.incident_by_id(id).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        self.incidents_by(filter).await
    }

    async fn due_escalations(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        self.escalations_due(now, limit).await
    }

    async fn change_incident(&self, change: &IncidentChange) -> Result<bool, StoreError> {
        self.store_incident_change(change).await
    }

    async fn append_timeline(
        &self,
        id: IncidentId,
        entry: &TimelineEntry,
    ) -> Result<bool, StoreError> {
        self.append_to_timeline(id, entry).await
    }
}
