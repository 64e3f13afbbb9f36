//! How an [`rampart_agents::AgentChange`] is written: its statements on an open transaction of
//! either backend, inside the audit append that records it (or `Store::apply`). The audit
//! append records a batch's `RecordAction`s all together instead (`agents/record.rs`), with the
//! same outcome as these statements run for each in request order.
//!
//! Each change checks its precondition in SQL, in the statement that writes (a conditional
//! `UPDATE` or `INSERT ... SELECT ... WHERE`, then `rows_affected`), so it holds whatever other
//! nodes do meanwhile:
//! - the hourly cap is counted by the upsert of the action's minute bucket, which returns the
//!   window's count including itself: one statement, and on PostgreSQL the bucket's row lock
//!   makes two concurrent actions of an agent in one minute count one after the other;
//! - an answer first moves the action row (still pending and unexpired), which locks it on
//!   PostgreSQL, and only then inserts the approval if the action still has exactly the answers
//!   the caller saw: that statement runs after the lock is granted, so it sees a concurrent
//!   answer committed before it (a condition on the approvals inside the `UPDATE` would not:
//!   PostgreSQL rechecks a locked row's own columns, not other tables);
//! - token use, results and expiry are conditional updates of the action's status.
//!
//! Every change writes before it reads: a SQLite transaction begun without `IMMEDIATE`
//! (`Store::apply`) that reads first is refused its write ("database is locked") when another
//! connection wrote meanwhile.

use rampart_agents::{Action, ActionId};

use crate::StoreError;
use crate::codec::micros;
use crate::monitor::to_json;

/// An [`Action`] encoded for `agent_actions` (by [`apply_agent_change`]).
pub(crate) struct ActionRow {
    pub id: String,
    pub agent_id: String,
    pub submitted_by: String,
    pub owner_id: Option<String>,
    pub action: String,
    pub target: String,
    pub team_id: Option<String>,
    pub parameters: String,
    pub parameters_sha256: String,
    pub blast_radius: String,
    pub status: &'static str,
    pub reason: String,
    pub approvals_required: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl ActionRow {
    pub(crate) fn of(action: &Action) -> Result<Self, StoreError> {
        Ok(Self {
            id: action.id.as_str().to_owned(),
            agent_id: action.agent_id.to_string(),
            submitted_by: action.submitted_by.to_string(),
            owner_id: action.owner_id.map(|id| id.to_string()),
            action: action.action.clone(),
            target: to_json(&action.target, "agent_actions.target")?,
            team_id: action.target.team_id.clone(),
            parameters: to_json(&action.parameters, "agent_actions.parameters")?,
            parameters_sha256: action.parameters_sha256.clone(),
            blast_radius: to_json(&action.blast_radius, "agent_actions.blast_radius")?,
            status: action.status.as_str(),
            reason: action.reason.clone(),
            approvals_required: i64::from(action.approvals_required),
            created_at: micros(action.created_at)?,
            expires_at: action.expires_at.map(micros).transpose()?,
        })
    }
}

/// A count or version as stored.
pub(crate) fn to_i64(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what })
}

/// The ids an `Expire` names, each once, in order.
pub(crate) fn distinct_ids(action_ids: &[ActionId]) -> Vec<&str> {
    let mut ids: Vec<&str> = action_ids.iter().map(|id| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Applies the agent change `$change` (a `&AgentChange`) on the open transaction `$tx`;
/// evaluates to `Result<bool, StoreError>`: `false` when its precondition does not hold (the
/// caller then rolls back: some statements may have run).
macro_rules! apply_agent_change {
    ($tx:ident, $change:expr) => {
        async {
            use rampart_agents::{AgentChange, ResultStatus, Status};
            use $crate::codec::micros;
            let change: &AgentChange = $change;
            let applied: bool = match change {
                AgentChange::SetGuardrails { agent_id, guardrails, expected_version, by, at } => {
                    let document = guardrails.to_json();
                    if document.is_empty() {
                        return Err($crate::StoreError::OutOfRange { what: "agent_guardrails.document" });
                    }
                    let at = micros(*at)?;
                    if *expected_version == 0 {
                        sqlx::query(
                            "INSERT INTO agent_guardrails (agent_id, document, version, updated_at, updated_by)
                             VALUES ($1, $2, 1, $3, $4) ON CONFLICT (agent_id) DO NOTHING",
                        )
                        .bind(agent_id.to_string())
                        .bind(&document)
                        .bind(at)
                        .bind(by.to_string())
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                            == 1
                    } else {
                        sqlx::query(
                            "UPDATE agent_guardrails SET document = $1, version = version + 1,
                                 updated_at = $2, updated_by = $3
                             WHERE agent_id = $4 AND version = $5",
                        )
                        .bind(&document)
                        .bind(at)
                        .bind(by.to_string())
                        .bind(agent_id.to_string())
                        .bind($crate::agents_change::to_i64(*expected_version, "agent_guardrails.version")?)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                            == 1
                    }
                }
                AgentChange::RecordAction { action, cap, window_start, deliveries } => {
                    let row = $crate::agents_change::ActionRow::of(action)?;
                    let mut counted = true;
                    if action.status != Status::Denied {
                        let minute = rampart_agents::minute_of(action.created_at);
                        match cap {
                            // Counted and checked in one statement: the window's count with
                            // this action (its bucket's new count, or 1 for a bucket before the
                            // window, and the other buckets' sum) is at most the cap.
                            Some(cap) => {
                                let (count,): (i64,) = sqlx::query_as(
                                    "INSERT INTO agent_action_counts (agent_id, minute, count) VALUES ($1, $2, 1)
                                     ON CONFLICT (agent_id, minute) DO UPDATE SET count = agent_action_counts.count + 1
                                     RETURNING CAST((CASE WHEN minute >= $3 THEN count ELSE 1 END)
                                         + (SELECT COALESCE(SUM(c.count), 0) FROM agent_action_counts c
                                            WHERE c.agent_id = $1 AND c.minute >= $3 AND c.minute <> $2) AS BIGINT)",
                                )
                                .bind(&row.agent_id)
                                .bind(minute)
                                .bind(*window_start)
                                .fetch_one(&mut *$tx)
                                .await?;
                                counted = count <= i64::try_from(*cap).unwrap_or(i64::MAX);
                            }
                            None => {
                                sqlx::query(
                                    "INSERT INTO agent_action_counts (agent_id, minute, count) VALUES ($1, $2, 1)
                                     ON CONFLICT (agent_id, minute) DO UPDATE SET count = agent_action_counts.count + 1",
                                )
                                .bind(&row.agent_id)
                                .bind(minute)
                                .execute(&mut *$tx)
                                .await?;
                            }
                        }
                    }
                    if counted {
                        sqlx::query(
                            "INSERT INTO agent_actions (id, agent_id, submitted_by, owner_id, action, target, team_id,
                                 parameters, parameters_sha256, blast_radius, status, reason, approvals_required,
                                 created_at, expires_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14)",
                        )
                        .bind(&row.id)
                        .bind(&row.agent_id)
                        .bind(&row.submitted_by)
                        .bind(row.owner_id.as_deref())
                        .bind(&row.action)
                        .bind(&row.target)
                        .bind(row.team_id.as_deref())
                        .bind(&row.parameters)
                        .bind(&row.parameters_sha256)
                        .bind(&row.blast_radius)
                        .bind(row.status)
                        .bind(&row.reason)
                        .bind(row.approvals_required)
                        .bind(row.created_at)
                        .bind(row.expires_at)
                        .execute(&mut *$tx)
                        .await?;
                        if !deliveries.is_empty() {
                            let rows = deliveries
                                .iter()
                                .map($crate::monitor::webhooks::DeliveryRow::of)
                                .collect::<Result<Vec<_>, _>>()?;
                            $crate::monitor::insert_deliveries!($tx, &rows);
                        }
                    }
                    counted
                }
                AgentChange::Answer { action_id, approval, expected_answers, status } => {
                    let at = micros(approval.at)?;
                    // The action row first: still pending and unexpired (on PostgreSQL this
                    // locks it, so concurrent answers to one action go one at a time).
                    let pending = sqlx::query(
                        "UPDATE agent_actions SET status = $1,
                             updated_at = CASE WHEN status = $1 THEN updated_at ELSE $2 END
                         WHERE id = $3 AND status = 'pending_approval' AND (expires_at IS NULL OR expires_at > $2)",
                    )
                    .bind(status.as_str())
                    .bind(at)
                    .bind(action_id.as_str())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1;
                    // Then the answer, if the action has exactly the answers the caller saw
                    // and none from this approver (the primary key).
                    pending
                        && sqlx::query(
                            "INSERT INTO agent_approvals (action_id, approver_id, verdict, comment, at)
                             SELECT $1, $2, $3, $4, $5
                             WHERE (SELECT COUNT(*) FROM agent_approvals WHERE action_id = $1) = $6
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(action_id.as_str())
                        .bind(approval.approver_id.to_string())
                        .bind(approval.verdict.as_str())
                        .bind(approval.comment.as_deref())
                        .bind(at)
                        .bind(i64::from(*expected_answers))
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                            == 1
                }
                AgentChange::UseToken { action_id, at } => {
                    sqlx::query(
                        "UPDATE agent_actions SET token_used_at = $1, updated_at = $1
                         WHERE id = $2 AND token_used_at IS NULL AND status IN ('allowed', 'approved')",
                    )
                    .bind(micros(*at)?)
                    .bind(action_id.as_str())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                AgentChange::RecordResult { action_id, result } => {
                    let status = match result.status {
                        ResultStatus::Succeeded => Status::Executed,
                        ResultStatus::Failed => Status::Failed,
                    };
                    sqlx::query(
                        "UPDATE agent_actions SET result_status = $1, result_details = $2, result_by = $3,
                             result_at = $4, status = $5, updated_at = $4
                         WHERE id = $6 AND status IN ('allowed', 'approved') AND result_status IS NULL
                           AND ($1 = 'failed' OR token_used_at IS NOT NULL)",
                    )
                    .bind(result.status.as_str())
                    .bind($crate::monitor::to_json(&result.details, "agent_actions.result_details")?)
                    .bind(result.reported_by.to_string())
                    .bind(micros(result.at)?)
                    .bind(status.as_str())
                    .bind(action_id.as_str())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                AgentChange::Expire { action_ids, at } => {
                    // Each once: the count of rows moved must be the count of ids.
                    let ids = $crate::agents_change::distinct_ids(action_ids);
                    if ids.is_empty() {
                        true
                    } else {
                        let at = micros(*at)?;
                        let mut expired = 0_u64;
                        for chunk in ids.chunks(500) {
                            let mut q = sqlx::QueryBuilder::new(
                                "UPDATE agent_actions SET status = 'expired', updated_at = ",
                            );
                            q.push_bind(at);
                            q.push(" WHERE status = 'pending_approval' AND expires_at <= ");
                            q.push_bind(at);
                            q.push(" AND id IN (");
                            let mut list = q.separated(", ");
                            for id in chunk {
                                list.push_bind(*id);
                            }
                            list.push_unseparated(")");
                            expired += q.build().execute(&mut *$tx).await?.rows_affected();
                        }
                        u64::try_from(ids.len()).is_ok_and(|n| n == expired)
                    }
                }
            };
            Ok::<bool, $crate::StoreError>(applied)
        }
        .await
    };
}
pub(crate) use apply_agent_change;
