//! Alerts and silences: rows to domain values and back, the status transitions as
//! compare-and-set updates.

use rampart_monitor::{Alert, AlertFilter, AlertStatus, Silence};
use time::OffsetDateTime;

use super::{from_json, name_of, parse_name, signed, to_json, unsigned};
use crate::codec::{from_micros, from_micros_opt, micros};
use crate::{Store, StoreError, with_pool};

/// The columns of an alert, in [`AlertTuple`]'s order.
pub(super) const ALERT_COLUMNS: &str = "id, rule, severity, group_key, status, count, \
     first_seen_at, last_seen_at, entry_seqs, incident_id, acknowledged_by, acknowledged_at, \
     resolved_by, resolved_at, note";

/// An alert as read.
pub(super) type AlertTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// A silence as read: id, rule, group, until, reason, created_by, created_at.
type SilenceTuple = (String, String, Option<String>, i64, String, String, i64);

const SILENCE_COLUMNS: &str = "id, rule, group_json, until_at, reason, created_by, created_at";

/// An alert encoded for writing.
pub(super) struct AlertRow {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub group: String,
    pub status: String,
    pub count: i64,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub entry_seqs: String,
    pub incident_id: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub note: Option<String>,
}

impl AlertRow {
    pub(super) fn of(alert: &Alert) -> Result<Self, StoreError> {
        Ok(Self {
            id: alert.id.clone(),
            rule: alert.rule.clone(),
            severity: alert.severity.as_str().to_owned(),
            group: to_json(&alert.group, "group")?,
            status: name_of(&alert.status, "status")?,
            count: signed(alert.count, "count")?,
            first_seen_at: micros(alert.first_seen_at)?,
            last_seen_at: micros(alert.last_seen_at)?,
            entry_seqs: to_json(&alert.entry_seqs, "entry_seqs")?,
            incident_id: alert.incident_id.clone(),
            acknowledged_by: alert.acknowledged.as_ref().map(|(by, _)| by.clone()),
            acknowledged_at: alert
                .acknowledged
                .as_ref()
                .map(|(_, at)| micros(*at))
                .transpose()?,
            resolved_by: alert.resolved.as_ref().map(|(by, _, _)| by.clone()),
            resolved_at: alert
                .resolved
                .as_ref()
                .map(|(_, at, _)| micros(*at))
                .transpose()?,
            note: alert.resolved.as_ref().and_then(|(_, _, n)| n.clone()),
        })
    }
}

/// The alert of a row.
pub(super) fn alert(row: AlertTuple) -> Result<Alert, StoreError> {
    let (
        id,
        rule,
        severity,
        group,
        status,
        count,
        first_seen_at,
        last_seen_at,
        entry_seqs,
        incident_id,
        acknowledged_by,
        acknowledged_at,
        resolved_by,
        resolved_at,
        note,
    ) = row;
    let acknowledged_at = from_micros_opt(acknowledged_at, "monitor_alerts.acknowledged_at")?;
    let resolved_at = from_micros_opt(resolved_at, "monitor_alerts.resolved_at")?;
    Ok(Alert {
        id,
        rule,
        severity: parse_name(&severity, "monitor_alerts.severity")?,
        group: from_json(&group, "monitor_alerts.group_key")?,
        status: parse_name(&status, "monitor_alerts.status")?,
        count: unsigned(count, "monitor_alerts.count")?,
        first_seen_at: from_micros(first_seen_at, "monitor_alerts.first_seen_at")?,
        last_seen_at: from_micros(last_seen_at, "monitor_alerts.last_seen_at")?,
        entry_seqs: from_json(&entry_seqs, "monitor_alerts.entry_seqs")?,
        incident_id,
        acknowledged: acknowledged_by.zip(acknowledged_at),
        resolved: resolved_by.zip(resolved_at).map(|(by, at)| (by, at, note)),
    })
}

fn silence(row: SilenceTuple) -> Result<Silence, StoreError> {
    let (id, rule, group, until, reason, created_by, created_at) = row;
    Ok(Silence {
        id,
        rule,
        group: group
            .map(|g| from_json(&g, "monitor_silences.group_json"))
            .transpose()?,
        until: from_micros(until, "monitor_silences.until_at")?,
        reason,
        created_by,
        created_at: from_micros(created_at, "monitor_silences.created_at")?,
    })
}

impl Store {
    /// Alerts by `filter`, newest first.
    pub(super) async fn alerts_by(&self, filter: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let status = filter.status.map(|s| name_of(&s, "status")).transpose()?;
        let severity = filter.severity.map(|s| s.as_str());
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM monitor_alerts
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR severity = $2)
               AND ($3 IS NULL OR rule = $3)
             ORDER BY first_seen_at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<AlertTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(status.as_deref())
                .bind(severity)
                .bind(filter.rule.as_deref())
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(alert).collect()
    }

    /// One alert.
    pub(super) async fn alert_by_id(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM monitor_alerts WHERE id = $1");
        let row: Option<AlertTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(alert).transpose()
    }

    /// Stores an acknowledgement if the stored alert is still open.
    pub(super) async fn store_acknowledged(&self, alert: &Alert) -> Result<bool, StoreError> {
        let (Some((by, at)), AlertStatus::Acknowledged) = (&alert.acknowledged, alert.status)
        else {
            return Err(StoreError::Refused("the alert is not acknowledged"));
        };
        let at = micros(*at)?;
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE monitor_alerts SET status = 'acknowledged', acknowledged_by = $1,
                     acknowledged_at = $2
                 WHERE id = $3 AND status = 'open'",
            )
            .bind(by)
            .bind(at)
            .bind(&alert.id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Stores a resolution if the stored alert is still active.
    pub(super) async fn store_resolved(&self, alert: &Alert) -> Result<bool, StoreError> {
        let (Some((by, at, note)), AlertStatus::Resolved) = (&alert.resolved, alert.status) else {
            return Err(StoreError::Refused("the alert is not resolved"));
        };
        let at = micros(*at)?;
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE monitor_alerts SET status = 'resolved', resolved_by = $1,
                     resolved_at = $2, note = $3
                 WHERE id = $4 AND status <> 'resolved'",
            )
            .bind(by)
            .bind(at)
            .bind(note.as_deref())
            .bind(&alert.id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Stores a silence.
    pub(super) async fn put_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        let group = silence
            .group
            .as_ref()
            .map(|g| to_json(g, "group"))
            .transpose()?;
        let until = micros(silence.until)?;
        let created_at = micros(silence.created_at)?;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO monitor_silences
                     (id, rule, group_json, until_at, reason, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&silence.id)
            .bind(&silence.rule)
            .bind(group.as_deref())
            .bind(until)
            .bind(&silence.reason)
            .bind(&silence.created_by)
            .bind(created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Silences ending soonest first; with `now`, those in force then.
    pub(super) async fn silences(
        &self,
        now: Option<OffsetDateTime>,
    ) -> Result<Vec<Silence>, StoreError> {
        let now = now.map(micros).transpose()?;
        let sql = format!(
            "SELECT {SILENCE_COLUMNS} FROM monitor_silences
             WHERE ($1 IS NULL OR until_at > $1) ORDER BY until_at, id"
        );
        let rows: Vec<SilenceTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(now)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(silence).collect()
    }

    /// Removes a silence; the one removed.
    pub(super) async fn remove_silence(&self, id: &str) -> Result<Option<Silence>, StoreError> {
        let sql = format!("DELETE FROM monitor_silences WHERE id = $1 RETURNING {SILENCE_COLUMNS}");
        let row: Option<SilenceTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(silence).transpose()
    }
}
