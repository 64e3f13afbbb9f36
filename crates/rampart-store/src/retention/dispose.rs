//! Disposal of the built-in data types other than audit entries, on both backends: which
//! records are due, and their deletion with the run's progress in one transaction.
//!
//! What "due" means per type: consents recorded before the cutoff; alerts and incidents
//! resolved before it (open ones are never disposed of; an incident goes with its timeline);
//! sessions that ended (expired or were revoked) before it; webhook deliveries delivered or
//! failed, created before it (pending ones never); erasure records completed, requested before
//! it, with their confirmations. Consents and erasures are append-only tables: their deletion
//! is allowed only below the type's disposal window, which the batch raises first and which
//! never moves backwards.

use rampart_retention::{BatchProgress, DataType, Record};
use time::OffsetDateTime;

use super::record_progress;
use crate::codec::{from_micros, micros};
use crate::{Store, StoreError, with_pool};

/// How one data type is stored.
struct Table {
    /// The table.
    name: &'static str,
    /// Its key column, and whether the key is an integer.
    key: &'static str,
    integer_key: bool,
    /// The time retention counts from (an SQL expression).
    at: &'static str,
    /// The condition that makes a record due, besides its time (an SQL expression).
    when: &'static str,
    /// The subject, its SHA-256 and the team (SQL expressions, `NULL` when unknown).
    subject: &'static str,
    subject_sha256: &'static str,
    team: &'static str,
    /// Whether deleting needs the disposal window raised (an append-only table).
    windowed: bool,
    /// Rows of other tables that go with a record, as (table, column holding the record's
    /// key): deleted first, and only with a record that is still due.
    dependents: &'static [(&'static str, &'static str)],
}

const SESSION_END: &str = "CASE WHEN revoked_at IS NOT NULL AND revoked_at < expires_at THEN revoked_at ELSE expires_at END";

fn table(data_type: &DataType) -> Option<Table> {
    Some(match data_type {
        DataType::Consents => Table {
            name: "consents",
            key: "id",
            integer_key: true,
            at: "recorded_at",
            when: "1 = 1",
            subject: "subject_id",
            subject_sha256: "NULL",
            team: "NULL",
            windowed: true,
            dependents: &[],
        },
        DataType::Alerts => Table {
            name: "monitor_alerts",
            key: "id",
            integer_key: false,
            at: "resolved_at",
            when: "status = 'resolved' AND resolved_at IS NOT NULL",
            subject: "NULL",
            subject_sha256: "NULL",
            team: "NULL",
            windowed: false,
            dependents: &[],
        },
        DataType::Incidents => Table {
            name: "monitor_incidents",
            key: "id",
            integer_key: false,
            at: "resolved_at",
            when: "status = 'resolved' AND resolved_at IS NOT NULL",
            subject: "NULL",
            subject_sha256: "NULL",
            team: "NULL",
            windowed: false,
            dependents: &[("monitor_timeline", "incident_id")],
        },
        DataType::Sessions => Table {
            name: "sessions",
            key: "id",
            integer_key: false,
            at: SESSION_END,
            when: "1 = 1",
            subject: "NULL",
            subject_sha256: "NULL",
            team: "NULL",
            windowed: false,
            dependents: &[],
        },
        DataType::WebhookDeliveries => Table {
            name: "monitor_deliveries",
            key: "id",
            integer_key: false,
            at: "created_at",
            when: "status <> 'pending'",
            subject: "NULL",
            subject_sha256: "NULL",
            team: "NULL",
            windowed: false,
            dependents: &[],
        },
        DataType::Erasures => Table {
            name: "erasures",
            key: "id",
            integer_key: false,
            at: "requested_at",
            when: "completed_at IS NOT NULL",
            subject: "NULL",
            subject_sha256: "subject_id_sha256",
            team: "NULL",
            windowed: true,
            dependents: &[("erasure_confirmations", "erasure_id")],
        },
        DataType::AuditEntries | DataType::AuditTag(_) | DataType::App(_) => return None,
    })
}

type DueRow = (String, i64, Option<String>, Option<String>, Option<String>);

fn not_disposable(data_type: &DataType) -> StoreError {
    StoreError::OutOfRange {
        what: match data_type {
            DataType::App(_) => "an application's data type (Rampart does not hold its records)",
            _ => "audit entries (they are pruned, not deleted)",
        },
    }
}

impl Store {
    pub(super) async fn due_retention_records(
        &self,
        data_type: &DataType,
        cutoff: OffsetDateTime,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let t = table(data_type).ok_or_else(|| not_disposable(data_type))?;
        let cutoff = micros(cutoff)?;
        let key_text = if t.integer_key {
            format!("CAST({} AS TEXT)", t.key)
        } else {
            t.key.to_owned()
        };
        let sql = format!(
            "SELECT {key_text}, {at}, {subject}, {sha}, {team} FROM {name}
             WHERE {when} AND {at} < $1 AND {key} > $2 ORDER BY {name}.{key} LIMIT $3",
            at = t.at,
            subject = t.subject,
            sha = t.subject_sha256,
            team = t.team,
            name = t.name,
            when = t.when,
            key = t.key,
        );
        let bad_cursor = || StoreError::OutOfRange { what: "cursor" };
        // The SQL is made of this file's constants only (no value is formatted into it). With
        // no cursor, the key bound is below every key. The order is the key column's, named
        // with its table: on PostgreSQL a bare name would sort by the output column, which is
        // the key as text (consents' `10` before `9`) while the cursor compares integers.
        let rows: Vec<DueRow> = with_pool!(self, pool => {
            let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(cutoff);
            let query = if t.integer_key {
                let after = after.map_or(Ok(i64::MIN), |a| a.parse::<i64>().map_err(|_| bad_cursor()))?;
                query.bind(after)
            } else {
                query.bind(after.unwrap_or_default().to_owned())
            };
            query.bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(key, at, subject_id, subject_id_sha256, team_id)| {
                Ok(Record {
                    key,
                    at: from_micros(at, "retention record time")?,
                    subject_id,
                    subject_id_sha256,
                    team_id,
                })
            })
            .collect()
    }

    pub(super) async fn dispose_retention_batch(
        &self,
        progress: &BatchProgress,
        cutoff: OffsetDateTime,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let t = table(&progress.data_type).ok_or_else(|| not_disposable(&progress.data_type))?;
        let cutoff = micros(cutoff)?;
        let due = format!(
            "{key} = $1 AND {when} AND {at} < $2",
            key = t.key,
            when = t.when,
            at = t.at,
        );
        let delete = format!("DELETE FROM {name} WHERE {due}", name = t.name);
        // What goes with a record goes only with a record still due: a key given for an open
        // incident or an incomplete erasure deletes nothing of it.
        let dependents: Vec<String> = t
            .dependents
            .iter()
            .map(|(table, column)| {
                format!(
                    "DELETE FROM {table} WHERE {column} = $1
                     AND EXISTS (SELECT 1 FROM {name} WHERE {due})",
                    name = t.name
                )
            })
            .collect();
        let deleted = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if t.windowed {
                sqlx::query(
                    "INSERT INTO retention_windows (data_type, before) VALUES ($1, $2)
                     ON CONFLICT (data_type) DO UPDATE SET before = excluded.before
                     WHERE retention_windows.before < excluded.before",
                )
                .bind(progress.data_type.to_string())
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            }
            let mut deleted = 0u64;
            for key in keys {
                for dependent in &dependents {
                    sqlx::query(sqlx::AssertSqlSafe(dependent.clone())).bind(key.as_str()).bind(cutoff).execute(&mut *tx).await?;
                }
                deleted += if t.integer_key {
                    let key: i64 = key.parse().map_err(|_| StoreError::OutOfRange { what: "record key" })?;
                    sqlx::query(sqlx::AssertSqlSafe(delete.clone())).bind(key).bind(cutoff).execute(&mut *tx).await?.rows_affected()
                } else {
                    sqlx::query(sqlx::AssertSqlSafe(delete.clone())).bind(key.as_str()).bind(cutoff).execute(&mut *tx).await?.rows_affected()
                };
            }
            record_progress!(tx, progress, deleted, None::<i64>, None::<i64>);
            tx.commit().await?;
            deleted
        });
        Ok(deleted)
    }
}
