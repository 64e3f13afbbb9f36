//! The detection rules document and the evaluator's state: the cursor, the windows, and
//! [`Store::commit_step`], which moves the cursor by compare-and-set and writes the windows,
//! alerts, incidents and deliveries of one step in the same transaction.

use rampart_monitor::{
    AlertWrite, EvaluationCommit, MAX_ALERT_SEQS, ReplacedRules, StoredRules, Window, WindowKey,
};
use time::OffsetDateTime;

use super::alerts::{ALERT_COLUMNS, AlertRow, alert};
use super::incidents::IncidentRow;
use super::webhooks::DeliveryRow;
use super::{from_json, signed, to_json, unsigned};
use crate::codec::micros;
use crate::threat::begin_write;
use crate::{Store, StoreError, with_pool};

/// The `kind` of the detection rules in `monitor_documents`.
const DETECTION_RULES: &str = "detection_rules";

/// An alert write, encoded.
enum AlertWriteRow {
    Open(Box<AlertRow>),
    Raise {
        id: String,
        count: i64,
        seqs: Vec<u64>,
        last_seen_at: i64,
    },
}

fn stored_rules(json: String, version: i64) -> Result<StoredRules, StoreError> {
    Ok(StoredRules {
        json,
        version: unsigned(version, "monitor_documents.version")?,
    })
}

impl Store {
    /// The stored detection rules.
    pub(super) async fn rules_document(&self) -> Result<Option<StoredRules>, StoreError> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT json, version FROM monitor_documents WHERE kind = $1")
                .bind(DETECTION_RULES)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(json, version)| stored_rules(json, version))
            .transpose()
    }

    /// Replaces the detection rules if their version is still `expected`, as
    /// `replace_threat_document` does: the document before is read, then one conditional
    /// INSERT or UPDATE writes the next version, in one transaction.
    pub(super) async fn replace_rules_document(
        &self,
        json: &str,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Option<ReplacedRules>, StoreError> {
        let at = micros(now)?;
        let expected = expected.map(|v| signed(v, "version")).transpose()?;
        let next = expected.map_or(Ok(1), |v| {
            v.checked_add(1)
                .ok_or(StoreError::OutOfRange { what: "version" })
        })?;
        let before: Option<(String, i64)> = with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let before: Option<(String, i64)> =
                sqlx::query_as("SELECT json, version FROM monitor_documents WHERE kind = $1")
                    .bind(DETECTION_RULES)
                    .fetch_optional(&mut *tx)
                    .await?;
            if before.as_ref().map(|(_, v)| *v) != expected {
                return Ok(None);
            }
            let written = match expected {
                None => sqlx::query(
                    "INSERT INTO monitor_documents (kind, json, version, updated_at)
                     VALUES ($1, $2, 1, $3) ON CONFLICT (kind) DO NOTHING",
                )
                .bind(DETECTION_RULES)
                .bind(json)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(version) => sqlx::query(
                    "UPDATE monitor_documents SET json = $1, version = $2, updated_at = $3
                     WHERE kind = $4 AND version = $5",
                )
                .bind(json)
                .bind(next)
                .bind(at)
                .bind(DETECTION_RULES)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if written != 1 {
                return Ok(None);
            }
            tx.commit().await?;
            before
        });
        Ok(Some(ReplacedRules {
            before: before
                .map(|(json, version)| stored_rules(json, version))
                .transpose()?,
            version: unsigned(next, "monitor_documents.version")?,
        }))
    }

    /// The next `seq` to evaluate.
    pub(super) async fn cursor(&self) -> Result<u64, StoreError> {
        let (next,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT next_seq FROM monitor_cursor WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        unsigned(next, "monitor_cursor.next_seq")
    }

    /// Every stored window.
    pub(super) async fn stored_windows(&self) -> Result<Vec<(WindowKey, Window)>, StoreError> {
        let rows: Vec<(String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT rule, group_key, hits FROM monitor_windows ORDER BY rule, group_key",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(rule, group, hits)| {
                let key = WindowKey {
                    rule,
                    group: from_json(&group, "monitor_windows.group_key")?,
                };
                Ok((key, from_json(&hits, "monitor_windows.hits")?))
            })
            .collect()
    }

    /// The active alert of each rule and group, where there is one.
    pub(super) async fn active_alerts_of(
        &self,
        keys: &[WindowKey],
    ) -> Result<Vec<rampart_monitor::Alert>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM monitor_alerts
             WHERE rule = $1 AND group_key = $2 AND status <> 'resolved'"
        );
        let mut found = Vec::new();
        for key in keys {
            let group = to_json(&key.group, "group")?;
            let row: Option<super::alerts::AlertTuple> = with_pool!(self, pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&key.rule)
                    .bind(&group)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(row) = row {
                found.push(alert(row)?);
            }
        }
        Ok(found)
    }

    /// Commits one evaluation step: the cursor moves from `expected_cursor` (else nothing is
    /// written), then windows, alerts, incidents and deliveries, all in one transaction. On
    /// PostgreSQL the cursor's row lock orders concurrent steps; on SQLite the write lock
    /// taken at `BEGIN IMMEDIATE` does.
    pub(super) async fn commit_step(&self, commit: &EvaluationCommit) -> Result<bool, StoreError> {
        let expected = signed(commit.expected_cursor, "cursor")?;
        let next = signed(commit.cursor, "cursor")?;
        let windows = commit
            .windows
            .iter()
            .map(|change| {
                Ok((
                    change.key.rule.clone(),
                    to_json(&change.key.group, "group")?,
                    change
                        .window
                        .as_ref()
                        .map(|w| to_json(w, "window"))
                        .transpose()?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let alerts = commit
            .alerts
            .iter()
            .map(|write| {
                Ok(match write {
                    AlertWrite::Open(alert) => AlertWriteRow::Open(Box::new(AlertRow::of(alert)?)),
                    AlertWrite::Raise {
                        id,
                        count,
                        seqs,
                        last_seen_at,
                    } => AlertWriteRow::Raise {
                        id: id.clone(),
                        count: signed(*count, "count")?,
                        seqs: seqs.clone(),
                        last_seen_at: micros(*last_seen_at)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let incidents = commit
            .incidents
            .iter()
            .map(IncidentRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        let deliveries = commit
            .deliveries
            .iter()
            .map(DeliveryRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let moved = sqlx::query(
                "UPDATE monitor_cursor SET next_seq = $1 WHERE id = 1 AND next_seq = $2",
            )
            .bind(next)
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                != 1;
            if moved {
                return Ok(false);
            }
            for (rule, group, hits) in &windows {
                match hits {
                    Some(hits) => sqlx::query(
                        "INSERT INTO monitor_windows (rule, group_key, hits) VALUES ($1, $2, $3)
                         ON CONFLICT (rule, group_key) DO UPDATE SET hits = excluded.hits",
                    )
                    .bind(rule)
                    .bind(group)
                    .bind(hits)
                    .execute(&mut *tx)
                    .await?,
                    None => sqlx::query(
                        "DELETE FROM monitor_windows WHERE rule = $1 AND group_key = $2",
                    )
                    .bind(rule)
                    .bind(group)
                    .execute(&mut *tx)
                    .await?,
                };
            }
            for write in &alerts {
                let written = match write {
                    AlertWriteRow::Open(row) => insert_alert!(tx, row),
                    AlertWriteRow::Raise { id, count, seqs, last_seen_at } => {
                        let stored: Option<(String,)> = sqlx::query_as(
                            "SELECT entry_seqs FROM monitor_alerts
                             WHERE id = $1 AND status <> 'resolved'",
                        )
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((kept,)) = stored else {
                            return Ok(false);
                        };
                        let mut kept: Vec<u64> = from_json(&kept, "monitor_alerts.entry_seqs")?;
                        let room = MAX_ALERT_SEQS.saturating_sub(kept.len());
                        kept.extend(seqs.iter().take(room));
                        sqlx::query(
                            "UPDATE monitor_alerts SET count = count + $1,
                                 last_seen_at = CASE WHEN last_seen_at < $2 THEN $2
                                     ELSE last_seen_at END,
                                 entry_seqs = $3
                             WHERE id = $4 AND status <> 'resolved'",
                        )
                        .bind(count)
                        .bind(last_seen_at)
                        .bind(to_json(&kept, "entry_seqs")?)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1
                    }
                };
                if !written {
                    return Ok(false);
                }
            }
            for row in &incidents {
                if !insert_incident!(tx, row) {
                    return Ok(false);
                }
            }
            insert_deliveries!(tx, &deliveries);
            tx.commit().await?;
            Ok(true)
        })
    }
}
