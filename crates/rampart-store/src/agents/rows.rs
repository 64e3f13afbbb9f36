//! The rows of `agent_actions` and `agent_approvals` as read, and their decoding.

use rampart_agents::{
    Action, ActionId, ActionResult, Approval, ApprovalVerdict, ResultStatus, Status,
};

use crate::StoreError;
use crate::codec::{from_micros, from_micros_opt, uuid};
use crate::monitor::from_json;

/// The columns of an action as read (`approvals_required` widened: it is an INTEGER).
pub(super) const ACTION_COLUMNS: &str = "id, agent_id, submitted_by, owner_id, action, target, \
     parameters, parameters_sha256, blast_radius, status, reason, \
     CAST(approvals_required AS BIGINT) AS approvals_required, created_at, expires_at, updated_at, \
     token_used_at, result_status, result_details, result_by, result_at";

/// A row of `agent_actions` ([`ACTION_COLUMNS`]).
#[derive(sqlx::FromRow)]
pub(super) struct ActionRecord {
    pub id: String,
    agent_id: String,
    submitted_by: String,
    owner_id: Option<String>,
    action: String,
    target: String,
    parameters: String,
    parameters_sha256: String,
    blast_radius: String,
    status: String,
    reason: String,
    pub approvals_required: i64,
    created_at: i64,
    expires_at: Option<i64>,
    updated_at: i64,
    token_used_at: Option<i64>,
    result_status: Option<String>,
    result_details: Option<String>,
    result_by: Option<String>,
    result_at: Option<i64>,
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt { what }
}

impl ActionRecord {
    /// The action, with `approvals` (its answers, oldest first).
    pub(super) fn decode(self, approvals: Vec<Approval>) -> Result<Action, StoreError> {
        let result = match (
            self.result_status,
            self.result_details,
            self.result_by,
            self.result_at,
        ) {
            (None, None, None, None) => None,
            (Some(status), Some(details), Some(by), Some(at)) => Some(ActionResult {
                status: ResultStatus::parse(&status)
                    .ok_or(corrupt("agent_actions.result_status"))?,
                details: from_json(&details, "agent_actions.result_details")?,
                reported_by: uuid(&by, "agent_actions.result_by")?,
                at: from_micros(at, "agent_actions.result_at")?,
            }),
            _ => return Err(corrupt("agent_actions.result_status")),
        };
        Ok(Action {
            id: ActionId::parse(&self.id).ok_or(corrupt("agent_actions.id"))?,
            agent_id: uuid(&self.agent_id, "agent_actions.agent_id")?,
            submitted_by: uuid(&self.submitted_by, "agent_actions.submitted_by")?,
            owner_id: self
                .owner_id
                .map(|id| uuid(&id, "agent_actions.owner_id"))
                .transpose()?,
            action: self.action,
            target: from_json(&self.target, "agent_actions.target")?,
            parameters: from_json(&self.parameters, "agent_actions.parameters")?,
            parameters_sha256: self.parameters_sha256,
            blast_radius: from_json(&self.blast_radius, "agent_actions.blast_radius")?,
            status: Status::parse(&self.status).ok_or(corrupt("agent_actions.status"))?,
            reason: self.reason,
            approvals_required: u32::try_from(self.approvals_required)
                .map_err(|_| corrupt("agent_actions.approvals_required"))?,
            approvals,
            created_at: from_micros(self.created_at, "agent_actions.created_at")?,
            expires_at: from_micros_opt(self.expires_at, "agent_actions.expires_at")?,
            updated_at: from_micros(self.updated_at, "agent_actions.updated_at")?,
            token_used_at: from_micros_opt(self.token_used_at, "agent_actions.token_used_at")?,
            result,
        })
    }
}

/// A row of `agent_approvals`.
#[derive(sqlx::FromRow)]
pub(super) struct ApprovalRecord {
    action_id: String,
    approver_id: String,
    verdict: String,
    comment: Option<String>,
    at: i64,
}

impl ApprovalRecord {
    /// The action's id and the answer.
    pub(super) fn decode(self) -> Result<(String, Approval), StoreError> {
        let approval = Approval {
            approver_id: uuid(&self.approver_id, "agent_approvals.approver_id")?,
            verdict: ApprovalVerdict::parse(&self.verdict)
                .ok_or(corrupt("agent_approvals.verdict"))?,
            comment: self.comment,
            at: from_micros(self.at, "agent_approvals.at")?,
        };
        Ok((self.action_id, approval))
    }
}
