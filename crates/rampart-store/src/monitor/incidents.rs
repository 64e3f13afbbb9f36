//! Incidents, their append-only timelines and their numbers. A day's numbers come from one
//! counter row raised by an atomic upsert, so two nodes never take the same number; an
//! incident whose id is taken anyway is refused, not overwritten.

use rampart_monitor::{
    Delivery, Incident, IncidentChange, IncidentFilter, IncidentId, TimelineEntry,
};
use time::{Date, OffsetDateTime};

use super::webhooks::DeliveryRow;
use super::{from_json, name_of, parse_name, signed, to_json, unsigned32};
use crate::codec::{from_micros, from_micros_opt, micros};
use crate::threat::begin_write;
use crate::{Store, StoreError, with_pool};

const INCIDENT_COLUMNS: &str = "id, title, description, severity, status, created_at, \
     acknowledged_at, resolved_at, escalation_level, next_escalation_at, personal_data_breach, \
     notification_deadline_at, alert_ids, entry_seqs";

/// An incident as read (without its timeline).
type IncidentTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    bool,
    Option<i64>,
    String,
    String,
);

/// A timeline entry encoded for writing.
pub(super) struct TimelineRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub text: String,
}

impl TimelineRow {
    fn of(entry: &TimelineEntry) -> Result<Self, StoreError> {
        Ok(Self {
            at: micros(entry.at)?,
            actor: entry.actor.clone(),
            kind: name_of(&entry.kind, "kind")?,
            text: entry.text.clone(),
        })
    }
}

/// An incident encoded for writing, with its timeline and the alerts to link to it.
pub(super) struct IncidentRow {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub status: String,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub escalation_level: i64,
    pub next_escalation_at: Option<i64>,
    pub personal_data_breach: bool,
    pub notification_deadline_at: Option<i64>,
    pub alert_ids: String,
    pub entry_seqs: String,
    pub alert_list: Vec<String>,
    pub timeline: Vec<TimelineRow>,
}

impl IncidentRow {
    pub(super) fn of(incident: &Incident) -> Result<Self, StoreError> {
        Ok(Self {
            id: incident.id.to_text(),
            title: incident.title.clone(),
            description: incident.description.clone(),
            severity: incident.severity.as_str().to_owned(),
            status: name_of(&incident.status, "status")?,
            created_at: micros(incident.created_at)?,
            acknowledged_at: incident.acknowledged_at.map(micros).transpose()?,
            resolved_at: incident.resolved_at.map(micros).transpose()?,
            escalation_level: i64::from(incident.escalation_level),
            next_escalation_at: incident.next_escalation_at.map(micros).transpose()?,
            personal_data_breach: incident.personal_data_breach,
            notification_deadline_at: incident.notification_deadline_at.map(micros).transpose()?,
            alert_ids: to_json(&incident.alert_ids, "alert_ids")?,
            entry_seqs: to_json(&incident.entry_seqs, "entry_seqs")?,
            alert_list: incident.alert_ids.clone(),
            timeline: incident
                .timeline
                .iter()
                .map(TimelineRow::of)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `YYYYMMDD`, the counter's key.
fn day(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

impl Store {
    /// The incident of a row, with its timeline.
    async fn incident_of(&self, row: IncidentTuple) -> Result<Incident, StoreError> {
        let (
            id,
            title,
            description,
            severity,
            status,
            created_at,
            acknowledged_at,
            resolved_at,
            level,
            next_escalation_at,
            personal_data_breach,
            notification_deadline_at,
            alert_ids,
            entry_seqs,
        ) = row;
        let rows: Vec<(i64, String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT at, actor, kind, text FROM monitor_timeline
                 WHERE incident_id = $1 ORDER BY position",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?
        });
        let timeline = rows
            .into_iter()
            .map(|(at, actor, kind, text)| {
                Ok(TimelineEntry {
                    at: from_micros(at, "monitor_timeline.at")?,
                    actor,
                    kind: parse_name(&kind, "monitor_timeline.kind")?,
                    text,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Incident {
            id: IncidentId::parse(&id).ok_or(StoreError::Corrupt {
                what: "monitor_incidents.id",
            })?,
            title,
            description,
            severity: parse_name(&severity, "monitor_incidents.severity")?,
            status: parse_name(&status, "monitor_incidents.status")?,
            created_at: from_micros(created_at, "monitor_incidents.created_at")?,
            acknowledged_at: from_micros_opt(acknowledged_at, "monitor_incidents.acknowledged_at")?,
            resolved_at: from_micros_opt(resolved_at, "monitor_incidents.resolved_at")?,
            escalation_level: unsigned32(level, "monitor_incidents.escalation_level")?,
            next_escalation_at: from_micros_opt(
                next_escalation_at,
                "monitor_incidents.next_escalation_at",
            )?,
            personal_data_breach,
            notification_deadline_at: from_micros_opt(
                notification_deadline_at,
                "monitor_incidents.notification_deadline_at",
            )?,
            alert_ids: from_json(&alert_ids, "monitor_incidents.alert_ids")?,
            entry_seqs: from_json(&entry_seqs, "monitor_incidents.entry_seqs")?,
            timeline,
        })
    }

    async fn incidents_of(&self, rows: Vec<IncidentTuple>) -> Result<Vec<Incident>, StoreError> {
        let mut incidents = Vec::with_capacity(rows.len());
        for row in rows {
            incidents.push(self.incident_of(row).await?);
        }
        Ok(incidents)
    }

    /// Takes the next number of `date`: one upsert raises the day's counter and returns it.
    pub(super) async fn take_incident_number(&self, date: Date) -> Result<u32, StoreError> {
        let (number,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO monitor_incident_numbers (day, last_number) VALUES ($1, 1)
                 ON CONFLICT (day) DO UPDATE
                 SET last_number = monitor_incident_numbers.last_number + 1
                 RETURNING last_number",
            )
            .bind(day(date))
            .fetch_one(pool)
            .await?
        });
        u32::try_from(number).map_err(|_| StoreError::OutOfRange {
            what: "incident number",
        })
    }

    /// Stores an incident with its deliveries; `false` when its id is taken.
    pub(super) async fn put_incident(
        &self,
        incident: &Incident,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        let row = IncidentRow::of(incident)?;
        let deliveries = deliveries
            .iter()
            .map(DeliveryRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            if !insert_incident!(tx, &row) {
                return Ok(false);
            }
            insert_deliveries!(tx, &deliveries);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// One incident with its timeline.
    pub(super) async fn incident_by_id(
        &self,
        id: IncidentId,
    ) -> Result<Option<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM monitor_incidents WHERE id = $1");
        let row: Option<IncidentTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.to_text())
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(row) => Ok(Some(self.incident_of(row).await?)),
            None => Ok(None),
        }
    }

    /// Incidents by `filter`, newest first.
    pub(super) async fn incidents_by(
        &self,
        filter: &IncidentFilter,
    ) -> Result<Vec<Incident>, StoreError> {
        let status = filter.status.map(|s| name_of(&s, "status")).transpose()?;
        let severity = filter.severity.map(|s| s.as_str());
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM monitor_incidents
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR severity = $2)
             ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<IncidentTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(status.as_deref())
                .bind(severity)
                .bind(i64::from(filter.limit))
                .fetch_all(pool)
                .await?
        });
        self.incidents_of(rows).await
    }

    /// Open incidents due to escalate at `now`, soonest first.
    pub(super) async fn escalations_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM monitor_incidents
             WHERE status = 'open' AND next_escalation_at <= $1
             ORDER BY next_escalation_at, id LIMIT $2"
        );
        let at = micros(now)?;
        let rows: Vec<IncidentTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(at)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        self.incidents_of(rows).await
    }

    /// Commits a change if the stored incident still has the status and level it was made
    /// from: the row, its timeline entry and its deliveries, in one transaction.
    pub(super) async fn store_incident_change(
        &self,
        change: &IncidentChange,
    ) -> Result<bool, StoreError> {
        let row = IncidentRow::of(&change.incident)?;
        let entry = TimelineRow::of(&change.entry)?;
        let expected_status = name_of(&change.expected_status, "status")?;
        let expected_level = signed(u64::from(change.expected_level), "escalation_level")?;
        let deliveries = change
            .deliveries
            .iter()
            .map(DeliveryRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let changed = sqlx::query(
                "UPDATE monitor_incidents SET title = $1, description = $2, severity = $3,
                     status = $4, acknowledged_at = $5, resolved_at = $6, escalation_level = $7,
                     next_escalation_at = $8, personal_data_breach = $9,
                     notification_deadline_at = $10, alert_ids = $11, entry_seqs = $12
                 WHERE id = $13 AND status = $14 AND escalation_level = $15",
            )
            .bind(&row.title)
            .bind(&row.description)
            .bind(&row.severity)
            .bind(&row.status)
            .bind(row.acknowledged_at)
            .bind(row.resolved_at)
            .bind(row.escalation_level)
            .bind(row.next_escalation_at)
            .bind(row.personal_data_breach)
            .bind(row.notification_deadline_at)
            .bind(&row.alert_ids)
            .bind(&row.entry_seqs)
            .bind(&row.id)
            .bind(&expected_status)
            .bind(expected_level)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Ok(false);
            }
            insert_timeline!(tx, &row.id, entry);
            insert_deliveries!(tx, &deliveries);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Appends a timeline entry to an existing incident.
    pub(super) async fn append_to_timeline(
        &self,
        id: IncidentId,
        entry: &TimelineEntry,
    ) -> Result<bool, StoreError> {
        let row = TimelineRow::of(entry)?;
        let appended = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO monitor_timeline (incident_id, at, actor, kind, text)
                 SELECT id, $2, $3, $4, $5 FROM monitor_incidents WHERE id = $1",
            )
            .bind(id.to_text())
            .bind(row.at)
            .bind(&row.actor)
            .bind(&row.kind)
            .bind(&row.text)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(appended == 1)
    }
}
