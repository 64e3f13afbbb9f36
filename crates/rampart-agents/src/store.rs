//! What agent governance needs from storage: reads through the [`AgentStore`] trait, and every
//! write as an [`AgentChange`] committed in the same transaction as the audit entry recording
//! it (so no decision, approval, token use or result exists without its entry). Both are
//! implemented by `rampart-store` on SQLite and PostgreSQL.

use std::future::Future;

use rampart_monitor::Delivery;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::action::{Action, ActionId, ActionResult, Approval, Status};
use crate::guardrails::Guardrails;

/// A write of agent governance; each has a precondition checked in its transaction (when it no
/// longer holds, nothing is written and the change is refused with [`AgentChange::refusal`]).
#[derive(Debug, Clone)]
pub enum AgentChange {
    /// Sets an agent's guardrails, if their stored version is still `expected_version` (0: none
    /// stored); the new version is `expected_version + 1`.
    SetGuardrails {
        /// The agent principal.
        agent_id: Uuid,
        /// The new guardrails.
        guardrails: Guardrails,
        /// The version read before the change.
        expected_version: u64,
        /// Who set them.
        by: Uuid,
        /// When.
        at: OffsetDateTime,
    },
    /// Records a decided action (allowed, pending approval or denied). With `cap`, only if the
    /// agent's actions counted in the minute buckets from `window_start` on are fewer than
    /// `cap`; the action is then counted in the bucket of its `created_at`. An action that is
    /// not denied counts, whether or not there is a cap. `deliveries` (the `approval.requested`
    /// webhooks of a pending action) are queued in the monitor's outbox with it.
    RecordAction {
        /// The action, as decided.
        action: Box<Action>,
        /// The agent's hourly cap, when the action counts toward one.
        cap: Option<u64>,
        /// The first minute bucket counted ([`crate::hour_window_start`]).
        window_start: i64,
        /// Outbox rows to write with it.
        deliveries: Vec<Delivery>,
    },
    /// Records an approver's answer, if the action is still pending and unexpired at
    /// `approval.at`, has exactly `expected_answers` answers, and none from this approver; the
    /// action then takes `status` (approved, rejected, or still pending).
    Answer {
        /// The action.
        action_id: ActionId,
        /// The answer.
        approval: Approval,
        /// How many answers the caller saw.
        expected_answers: u32,
        /// The status after the answer.
        status: Status,
    },
    /// Marks the action's execution token used, if it was not and the action may execute.
    UseToken {
        /// The action.
        action_id: ActionId,
        /// When.
        at: OffsetDateTime,
    },
    /// Records the application's result, if the action may execute and has no result yet; the
    /// action becomes `executed` or `failed`.
    RecordResult {
        /// The action.
        action_id: ActionId,
        /// The result.
        result: ActionResult,
    },
    /// Expires pending actions whose approval period ended by `at`, if every one is still
    /// pending.
    Expire {
        /// The actions.
        action_ids: Vec<ActionId>,
        /// When.
        at: OffsetDateTime,
    },
}

impl AgentChange {
    /// Why the change is refused when its precondition does not hold.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::SetGuardrails { .. } => "the guardrails were changed meanwhile",
            Self::RecordAction { .. } => "the agent has reached its hourly cap",
            Self::Answer { .. } => {
                "the action was answered, approved, rejected or expired meanwhile"
            }
            Self::UseToken { .. } => "the execution token was already used",
            Self::RecordResult { .. } => "the action's result was already reported",
            Self::Expire { .. } => "an action was answered meanwhile",
        }
    }
}

/// Which actions to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    /// Only this agent's.
    pub agent_id: Option<Uuid>,
    /// Only in this state.
    pub status: Option<Status>,
    /// Only actions whose target has no team or one of these teams (`None`: every team).
    pub teams: Option<Vec<String>>,
    /// Only actions older than this one (the next page).
    pub before: Option<ActionId>,
    /// At most this many.
    pub limit: u32,
}

/// Reads of agent governance.
pub trait AgentStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// An agent's guardrails and their version (`None`: never set).
    fn guardrails(
        &self,
        agent_id: Uuid,
    ) -> impl Future<Output = Result<Option<(Guardrails, u64)>, Self::Error>> + Send;

    /// An action with its approvals and result.
    fn action(
        &self,
        id: &ActionId,
    ) -> impl Future<Output = Result<Option<Action>, Self::Error>> + Send;

    /// Actions matching `filter`, newest first, with their approvals and results.
    fn actions(
        &self,
        filter: &ActionFilter,
    ) -> impl Future<Output = Result<Vec<Action>, Self::Error>> + Send;

    /// How many of the agent's actions count toward its cap from the minute bucket
    /// `window_start` on.
    fn actions_counted(
        &self,
        agent_id: Uuid,
        window_start: i64,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Pending actions whose approval period ended by `now`, oldest first, at most `limit`.
    fn expired_pending(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Action>, Self::Error>> + Send;

    /// Deletes the cap's minute buckets before `minute` (they no longer count).
    fn forget_counts(&self, minute: i64) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
