//! [`AgentStore`] on both backends: guardrails per agent with their version, decided actions
//! with their approvals and results, the hourly cap's minute buckets. The writes are
//! [`rampart_agents::AgentChange`]s, applied by `agents_change.rs` in the transaction of their
//! audit entry (a batch's decided actions all together, by `agents/record.rs`).
//!
//! Actions are never deleted (a trigger refuses it) and approvals never changed: with their
//! audit entries they are the record of what each agent was allowed to do. Ids are `act_` and a
//! UUIDv7, so they sort by time: pages go by id, newest first. Times are microseconds; targets,
//! parameters, blast radii, guardrails and result details are JSON text.

pub(crate) mod record;
mod rows;

use std::collections::HashMap;

use rampart_agents::{Action, ActionFilter, ActionId, AgentStore, Approval, Guardrails};
use sqlx::QueryBuilder;
use time::OffsetDateTime;
use uuid::Uuid;

use self::rows::{ACTION_COLUMNS, ActionRecord, ApprovalRecord};
use crate::codec::micros;
use crate::{Store, StoreError, with_pool};

/// Most ids bound in one `IN` list.
const IDS_PER_QUERY: usize = 500;

impl AgentStore for Store {
    type Error = StoreError;

    async fn guardrails(&self, agent_id: Uuid) -> Result<Option<(Guardrails, u64)>, StoreError> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT document, version FROM agent_guardrails WHERE agent_id = $1")
                .bind(agent_id.to_string())
                .fetch_optional(pool)
                .await?
        });
        row.map(|(document, version)| {
            let guardrails = Guardrails::from_json(&document).map_err(|_| StoreError::Corrupt {
                what: "agent_guardrails.document",
            })?;
            let version = u64::try_from(version).map_err(|_| StoreError::Corrupt {
                what: "agent_guardrails.version",
            })?;
            Ok((guardrails, version))
        })
        .transpose()
    }

    async fn action(&self, id: &ActionId) -> Result<Option<Action>, StoreError> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM agent_actions WHERE id = $1");
        let row: Option<ActionRecord> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(row) => Ok(self.with_approvals(vec![row]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn actions(&self, filter: &ActionFilter) -> Result<Vec<Action>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<ActionRecord> = with_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!("SELECT {ACTION_COLUMNS} FROM agent_actions WHERE 1 = 1"));
            if let Some(agent_id) = filter.agent_id {
                q.push(" AND agent_id = ").push_bind(agent_id.to_string());
            }
            if let Some(status) = filter.status {
                q.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(before) = &filter.before {
                q.push(" AND id < ").push_bind(before.as_str());
            }
            if let Some(teams) = &filter.teams {
                q.push(" AND (team_id IS NULL");
                if !teams.is_empty() {
                    q.push(" OR team_id IN (");
                    let mut list = q.separated(", ");
                    for team in teams {
                        list.push_bind(team.as_str());
                    }
                    list.push_unseparated(")");
                }
                q.push(")");
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
            q.build_query_as().fetch_all(pool).await?
        });
        self.with_approvals(rows).await
    }

    async fn actions_counted(&self, agent_id: Uuid, window_start: i64) -> Result<u64, StoreError> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM agent_action_counts
                 WHERE agent_id = $1 AND minute >= $2",
            )
            .bind(agent_id.to_string())
            .bind(window_start)
            .fetch_one(pool)
            .await?
        });
        u64::try_from(count).map_err(|_| StoreError::Corrupt {
            what: "agent_action_counts.count",
        })
    }

    async fn expired_pending(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Action>, StoreError> {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM agent_actions
             WHERE status = 'pending_approval' AND expires_at <= $1
             ORDER BY expires_at, id LIMIT $2"
        );
        let now = micros(now)?;
        let rows: Vec<ActionRecord> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        self.with_approvals(rows).await
    }

    async fn forget_counts(&self, minute: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM agent_action_counts WHERE minute < $1")
                .bind(minute)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The actions of `rows`, in their order, each with its approvals (oldest first), loaded
    /// in one query per [`IDS_PER_QUERY`] actions that need approval.
    async fn with_approvals(&self, rows: Vec<ActionRecord>) -> Result<Vec<Action>, StoreError> {
        // An action decided without approval never has any.
        let ids: Vec<&str> = rows
            .iter()
            .filter(|row| row.approvals_required > 0)
            .map(|row| row.id.as_str())
            .collect();
        let mut approvals: HashMap<String, Vec<Approval>> = HashMap::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let found: Vec<ApprovalRecord> = with_pool!(self, pool => {
                let mut q = QueryBuilder::new(
                    "SELECT action_id, approver_id, verdict, comment, at FROM agent_approvals WHERE action_id IN (",
                );
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                list.push_unseparated(") ORDER BY action_id, at, approver_id");
                q.build_query_as().fetch_all(pool).await?
            });
            for record in found {
                let (action_id, approval) = record.decode()?;
                approvals.entry(action_id).or_default().push(approval);
            }
        }
        rows.into_iter()
            .map(|row| {
                let answers = approvals.remove(&row.id).unwrap_or_default();
                row.decode(answers)
            })
            .collect()
    }
}
