//! The decided actions of an audit batch (`AgentChange::RecordAction`), recorded together in
//! a handful of statements whatever their number, with the outcome of recording them one by one
//! in request order (`apply_agent_change!`, which `Store::apply` still uses):
//!
//! 1. every action that is not denied is counted in its agent's bucket of its minute: one
//!    upsert of the batch's buckets;
//! 2. the windows of the agents with a capped action are read in one query, and the batch's
//!    own counts taken out again;
//! 3. the actions are walked in request order, each capped one checked against its window as
//!    stored plus the batch's actions before it: the first over its cap is refused (the caller
//!    then does not commit, so the counts written in 1. are rolled back);
//! 4. otherwise the action rows are inserted, then the rare deliveries of pending actions one
//!    by one.
//!
//! Counting writes before it reads, as `apply_agent_change!` does: on PostgreSQL the upsert
//! locks the batch's buckets, so a concurrent writer of one of them that the audit head does not
//! serialize (`Store::apply`) counts after this batch commits, never beside it.
//!
//! Each backend writes in as few statements as it allows ([`ActionWriter`]): PostgreSQL one
//! statement per step, columns bound as arrays (the same prepared statement whatever the batch);
//! SQLite multi-row statements of at most [`ROWS_PER_INSERT`] rows or [`IDS_PER_QUERY`] agents,
//! not kept prepared (their shape changes with the batch: cached, they would push the fixed
//! statements out of the connection's cache).

use std::collections::{BTreeMap, HashMap};

use rampart_agents::{AgentChange, Status, minute_of};
use rampart_monitor::Delivery;
use sqlx::QueryBuilder;

use crate::StoreError;
use crate::agents_change::ActionRow;
use crate::change::StoreChange;
use crate::monitor::webhooks::DeliveryRow;

/// Rows per multi-row INSERT on SQLite: an action row binds 16 values, a bucket 3 (SQLite
/// binds at most 32766).
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// Agents per read of their windows on SQLite.
pub(crate) const IDS_PER_QUERY: usize = 500;

/// One decided action of the batch, encoded.
pub(crate) struct Recorded<'c> {
    /// The request's index in the batch.
    index: usize,
    /// Why it is refused (the change's refusal).
    refusal: &'static str,
    /// Its row.
    pub(crate) row: ActionRow,
    /// Its minute bucket; `None` for a denied action, which is not counted.
    minute: Option<i64>,
    /// The cap and the first minute of its window, when it counts toward one.
    cap: Option<(u64, i64)>,
    /// The outbox rows written with it.
    pub(crate) deliveries: &'c [Delivery],
}

/// The decided actions of a batch, in request order.
pub(crate) struct Records<'c> {
    /// The actions.
    pub(crate) actions: Vec<Recorded<'c>>,
}

impl<'c> Records<'c> {
    /// Whether `change` is recorded here rather than by `apply_change!`.
    pub(crate) fn takes(change: &StoreChange) -> bool {
        matches!(
            change,
            StoreChange::Agents(AgentChange::RecordAction { .. })
        )
    }

    /// The `RecordAction`s among `changes` (one per request, `None` for a plain append).
    pub(crate) fn of(changes: &[Option<&'c StoreChange>]) -> Result<Self, StoreError> {
        let mut actions = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            let Some(
                change @ StoreChange::Agents(AgentChange::RecordAction {
                    action,
                    cap,
                    window_start,
                    deliveries,
                }),
            ) = change
            else {
                continue;
            };
            let minute = (action.status != Status::Denied).then(|| minute_of(action.created_at));
            actions.push(Recorded {
                index,
                refusal: change.refusal(),
                row: ActionRow::of(action)?,
                minute,
                cap: minute.and(cap.map(|cap| (cap, *window_start))),
                deliveries,
            });
        }
        Ok(Self { actions })
    }

    /// Whether the batch records no action.
    pub(crate) fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// What the batch adds to each bucket: `(agent_id, minute, count)`, each bucket once, in
    /// key order (one upsert may not touch a row twice on PostgreSQL).
    pub(crate) fn increments(&self) -> Vec<(&str, i64, i64)> {
        let mut buckets: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        for action in &self.actions {
            if let Some(minute) = action.minute {
                *buckets
                    .entry((action.row.agent_id.as_str(), minute))
                    .or_default() += 1;
            }
        }
        buckets
            .into_iter()
            .map(|((agent_id, minute), count)| (agent_id, minute, count))
            .collect()
    }

    /// The agents with a capped action, each once, and the earliest window among them; `None`
    /// when no action is capped (then nothing need be read).
    pub(crate) fn capped(&self) -> Option<(Vec<&str>, i64)> {
        let mut agents: Vec<&str> = Vec::new();
        let mut earliest: Option<i64> = None;
        for action in &self.actions {
            if let Some((_, window_start)) = action.cap {
                agents.push(action.row.agent_id.as_str());
                earliest = Some(earliest.map_or(window_start, |e| e.min(window_start)));
            }
        }
        agents.sort_unstable();
        agents.dedup();
        earliest.map(|earliest| (agents, earliest))
    }

    /// The first action (index and reason) over its cap, from `stored`: the `(agent_id, minute,
    /// count)` buckets of the capped agents from the earliest window on, read after the batch's
    /// [`increments`](Self::increments) were added.
    pub(crate) fn first_refused(
        &self,
        stored: Vec<(String, i64, i64)>,
    ) -> Option<(usize, &'static str)> {
        // Every capped agent has its buckets, none stored or not.
        let mut counts: HashMap<String, BTreeMap<i64, i64>> = self
            .actions
            .iter()
            .filter(|action| action.cap.is_some())
            .map(|action| (action.row.agent_id.clone(), BTreeMap::new()))
            .collect();
        for (agent_id, minute, count) in stored {
            counts.entry(agent_id).or_default().insert(minute, count);
        }
        // The buckets as they were before the batch: its own counts taken out.
        for (agent_id, minute, added) in self.increments() {
            if let Some(count) = counts
                .get_mut(agent_id)
                .and_then(|buckets| buckets.get_mut(&minute))
            {
                *count -= added;
            }
        }
        // Then the batch's actions in order, each counted once checked.
        for action in &self.actions {
            let Some(minute) = action.minute else {
                continue;
            };
            let Some(buckets) = counts.get_mut(action.row.agent_id.as_str()) else {
                // An agent without a capped action in the batch: nothing to check.
                continue;
            };
            if let Some((cap, window_start)) = action.cap {
                let window: i64 = buckets.range(window_start..).map(|(_, count)| *count).sum();
                if i128::from(window) >= i128::from(cap) {
                    return Some((action.index, action.refusal));
                }
            }
            *buckets.entry(minute).or_default() += 1;
        }
        None
    }
}

/// How each backend writes a batch's decided actions (see the module documentation); the
/// order and the cap check are [`ActionWriter::record_actions`]'s, the same for both.
pub(crate) trait ActionWriter {
    /// Adds each `(agent_id, minute, count)` to its bucket (each bucket once).
    async fn add_counts(&mut self, increments: &[(&str, i64, i64)]) -> Result<(), sqlx::Error>;

    /// The `(agent_id, minute, count)` buckets of `agents` from minute `earliest` on.
    async fn windows(
        &mut self,
        agents: &[&str],
        earliest: i64,
    ) -> Result<Vec<(String, i64, i64)>, sqlx::Error>;

    /// Inserts the action rows.
    async fn insert_actions(&mut self, actions: &[Recorded<'_>]) -> Result<(), sqlx::Error>;

    /// Inserts encoded deliveries.
    async fn insert_deliveries(&mut self, rows: &[DeliveryRow]) -> Result<(), sqlx::Error>;

    /// Records `records` on the open transaction: `Some` (the request's index and why) for
    /// the first action over its cap, in request order. The caller then must not commit: the
    /// counts were written, the actions were not.
    async fn record_actions(
        &mut self,
        records: &Records<'_>,
    ) -> Result<Option<(usize, &'static str)>, StoreError> {
        if records.is_empty() {
            return Ok(None);
        }
        self.add_counts(&records.increments()).await?;
        if let Some((agents, earliest)) = records.capped() {
            let stored = self.windows(&agents, earliest).await?;
            if let Some(refused) = records.first_refused(stored) {
                return Ok(Some(refused));
            }
        }
        self.insert_actions(&records.actions).await?;
        for action in &records.actions {
            if !action.deliveries.is_empty() {
                let rows = action
                    .deliveries
                    .iter()
                    .map(DeliveryRow::of)
                    .collect::<Result<Vec<_>, _>>()?;
                self.insert_deliveries(&rows).await?;
            }
        }
        Ok(None)
    }
}

/// The columns of an action row as written (`updated_at` is `created_at`).
const ACTION_COLUMNS: &str = "id, agent_id, submitted_by, owner_id, action, target, team_id, parameters, parameters_sha256, blast_radius, status, reason, approvals_required, created_at, expires_at, updated_at";

impl ActionWriter for sqlx::SqliteConnection {
    /// Multi-row upserts of [`ROWS_PER_INSERT`] buckets.
    async fn add_counts(&mut self, increments: &[(&str, i64, i64)]) -> Result<(), sqlx::Error> {
        for chunk in increments.chunks(ROWS_PER_INSERT) {
            let mut q =
                QueryBuilder::new("INSERT INTO agent_action_counts (agent_id, minute, count) ");
            q.push_values(chunk, |mut row, (agent_id, minute, count)| {
                row.push_bind(*agent_id)
                    .push_bind(*minute)
                    .push_bind(*count);
            });
            q.push(
                " ON CONFLICT (agent_id, minute) DO UPDATE
                  SET count = agent_action_counts.count + excluded.count",
            );
            q.build().persistent(false).execute(&mut *self).await?;
        }
        Ok(())
    }

    /// One query per [`IDS_PER_QUERY`] agents.
    async fn windows(
        &mut self,
        agents: &[&str],
        earliest: i64,
    ) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
        let mut stored = Vec::new();
        for chunk in agents.chunks(IDS_PER_QUERY) {
            let mut q = QueryBuilder::new(
                "SELECT agent_id, minute, count FROM agent_action_counts WHERE minute >= ",
            );
            q.push_bind(earliest).push(" AND agent_id IN (");
            let mut list = q.separated(", ");
            for agent_id in chunk {
                list.push_bind(*agent_id);
            }
            list.push_unseparated(")");
            let rows: Vec<(String, i64, i64)> = q
                .build_query_as()
                .persistent(false)
                .fetch_all(&mut *self)
                .await?;
            stored.extend(rows);
        }
        Ok(stored)
    }

    /// Multi-row inserts of [`ROWS_PER_INSERT`] actions.
    async fn insert_actions(&mut self, actions: &[Recorded<'_>]) -> Result<(), sqlx::Error> {
        for chunk in actions.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::new(format!("INSERT INTO agent_actions ({ACTION_COLUMNS}) "));
            q.push_values(chunk, |mut b, action| {
                let row = &action.row;
                b.push_bind(row.id.as_str())
                    .push_bind(row.agent_id.as_str())
                    .push_bind(row.submitted_by.as_str())
                    .push_bind(row.owner_id.as_deref())
                    .push_bind(row.action.as_str())
                    .push_bind(row.target.as_str())
                    .push_bind(row.team_id.as_deref())
                    .push_bind(row.parameters.as_str())
                    .push_bind(row.parameters_sha256.as_str())
                    .push_bind(row.blast_radius.as_str())
                    .push_bind(row.status)
                    .push_bind(row.reason.as_str())
                    .push_bind(row.approvals_required)
                    .push_bind(row.created_at)
                    .push_bind(row.expires_at)
                    .push_bind(row.created_at);
            });
            q.build().persistent(false).execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn insert_deliveries(&mut self, rows: &[DeliveryRow]) -> Result<(), sqlx::Error> {
        let conn = self;
        crate::monitor::insert_deliveries!(conn, rows);
        Ok(())
    }
}

impl ActionWriter for sqlx::PgConnection {
    /// One statement for the whole batch: a column array per field, joined by `UNNEST` (one
    /// prepared statement whatever the batch size; no limit on bound values).
    async fn add_counts(&mut self, increments: &[(&str, i64, i64)]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO agent_action_counts (agent_id, minute, count)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[])
             ON CONFLICT (agent_id, minute) DO UPDATE
             SET count = agent_action_counts.count + excluded.count",
        )
        .bind(increments.iter().map(|i| i.0).collect::<Vec<&str>>())
        .bind(increments.iter().map(|i| i.1).collect::<Vec<i64>>())
        .bind(increments.iter().map(|i| i.2).collect::<Vec<i64>>())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// One query, the agents bound as an array.
    async fn windows(
        &mut self,
        agents: &[&str],
        earliest: i64,
    ) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT agent_id, minute, count FROM agent_action_counts
             WHERE agent_id = ANY($1::text[]) AND minute >= $2",
        )
        .bind(agents)
        .bind(earliest)
        .fetch_all(&mut *self)
        .await
    }

    /// One statement, as [`Self::add_counts`].
    async fn insert_actions(&mut self, actions: &[Recorded<'_>]) -> Result<(), sqlx::Error> {
        let text = |f: for<'r> fn(&'r ActionRow) -> &'r str| {
            actions.iter().map(|a| f(&a.row)).collect::<Vec<&str>>()
        };
        let optional = |f: for<'r> fn(&'r ActionRow) -> Option<&'r str>| {
            actions
                .iter()
                .map(|a| f(&a.row))
                .collect::<Vec<Option<&str>>>()
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO agent_actions ({ACTION_COLUMNS})
             SELECT id, agent_id, submitted_by, owner_id, action, target, team_id, parameters,
                 parameters_sha256, blast_radius, status, reason, approvals_required, created_at,
                 expires_at, created_at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                 $13::bigint[], $14::bigint[], $15::bigint[])
             AS t (id, agent_id, submitted_by, owner_id, action, target, team_id, parameters,
                 parameters_sha256, blast_radius, status, reason, approvals_required, created_at,
                 expires_at)"
        )))
        .bind(text(|r| &r.id))
        .bind(text(|r| &r.agent_id))
        .bind(text(|r| &r.submitted_by))
        .bind(optional(|r| r.owner_id.as_deref()))
        .bind(text(|r| &r.action))
        .bind(text(|r| &r.target))
        .bind(optional(|r| r.team_id.as_deref()))
        .bind(text(|r| &r.parameters))
        .bind(text(|r| &r.parameters_sha256))
        .bind(text(|r| &r.blast_radius))
        .bind(text(|r| r.status))
        .bind(text(|r| &r.reason))
        .bind(
            actions
                .iter()
                .map(|a| a.row.approvals_required)
                .collect::<Vec<i64>>(),
        )
        .bind(
            actions
                .iter()
                .map(|a| a.row.created_at)
                .collect::<Vec<i64>>(),
        )
        .bind(
            actions
                .iter()
                .map(|a| a.row.expires_at)
                .collect::<Vec<Option<i64>>>(),
        )
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_deliveries(&mut self, rows: &[DeliveryRow]) -> Result<(), sqlx::Error> {
        let conn = self;
        crate::monitor::insert_deliveries!(conn, rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use rampart_agents::{Action, ActionId, Target};
    use time::OffsetDateTime;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-12-05 10:00:00 UTC);

    fn change(n: u128, agent: Uuid, status: Status, cap: Option<u64>) -> StoreChange {
        let action = Action {
            id: ActionId::parse(&format!("act_{n:032x}")).unwrap(),
            agent_id: agent,
            submitted_by: agent,
            owner_id: None,
            action: "rollback".to_owned(),
            target: Target {
                kind: "deployment".to_owned(),
                id: "checkout".to_owned(),
                team_id: None,
            },
            parameters_sha256: String::new(),
            parameters: serde_json::json!({}),
            blast_radius: Default::default(),
            status,
            reason: String::new(),
            approvals_required: 0,
            approvals: Vec::new(),
            created_at: T0,
            expires_at: None,
            updated_at: T0,
            token_used_at: None,
            result: None,
        };
        StoreChange::from(AgentChange::RecordAction {
            action: Box::new(action),
            cap,
            window_start: rampart_agents::hour_window_start(T0),
            deliveries: Vec::new(),
        })
    }

    #[test]
    fn the_first_action_over_its_cap_is_refused_counting_the_batch() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let changes = [
            change(1, a, Status::Allowed, Some(3)),
            change(2, b, Status::Allowed, None),
            change(3, a, Status::Denied, Some(3)),
            change(4, a, Status::Allowed, Some(3)),
            change(5, a, Status::Allowed, Some(3)),
        ];
        let refs: Vec<Option<&StoreChange>> = changes.iter().map(Some).collect();
        let mut with_plain = refs.clone();
        with_plain.insert(1, None);
        let records = Records::of(&with_plain).unwrap();
        assert_eq!(records.actions.len(), 5);
        let minute = minute_of(T0);
        let (agents, earliest) = records.capped().unwrap();
        assert_eq!(agents, vec![a.to_string().as_str()]);
        assert_eq!(earliest, minute - 60);
        let mut increments = records.increments();
        increments.sort();
        let mut expected = vec![(a.to_string(), minute, 3), (b.to_string(), minute, 1)];
        expected.sort();
        let owned: Vec<(String, i64, i64)> = increments
            .iter()
            .map(|(agent, m, c)| ((*agent).to_owned(), *m, *c))
            .collect();
        assert_eq!(owned, expected);
        // Stored after the upsert: one before the batch, then its three.
        let stored = |before: i64| vec![(a.to_string(), minute, before + 3)];
        assert_eq!(records.first_refused(stored(0)), None);
        // With one stored, the batch's third counted action (request 5 of 6) is the fourth.
        assert_eq!(
            records.first_refused(stored(1)),
            Some((5, "the agent has reached its hourly cap"))
        );
        assert_eq!(records.first_refused(stored(2)).map(|r| r.0), Some(4));
        assert_eq!(records.first_refused(stored(3)).map(|r| r.0), Some(0));
        // Buckets before an action's window do not count toward it.
        let old = vec![
            (a.to_string(), minute, 3),
            (a.to_string(), minute - 61, 100),
        ];
        assert_eq!(records.first_refused(old), None);
    }
}
