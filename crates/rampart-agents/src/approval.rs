//! Separation of duties on approvals: who may answer an action, and when its quorum is met.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::action::{Action, ApprovalVerdict, Status};

/// Why an approver may not answer an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefusal {
    /// The action is not waiting for approval.
    #[error("the action is {}, not pending approval", .0.as_str())]
    NotPending(Status),
    /// It waited too long.
    #[error("the action's approval period has ended: it expired")]
    Expired,
    /// The agent itself.
    #[error("separation of duties: an agent never approves its own action")]
    Agent,
    /// Whoever submitted the action.
    #[error("separation of duties: the principal that submitted the action cannot approve it")]
    Submitter,
    /// The agent's owner.
    #[error("separation of duties: the agent's owner cannot approve its actions")]
    Owner,
    /// An AI agent (any, not only this one): approvals are given by people and services.
    #[error("separation of duties: an AI agent never approves or rejects an action")]
    AgentApprover,
    /// This approver answered already; a quorum needs distinct approvers.
    #[error(
        "this approver has already answered this action; approvals must come from distinct approvers"
    )]
    AlreadyAnswered,
}

/// Checks that `approver` may give `verdict` on `action` at `now`: it is pending and not expired,
/// and the approver is none of the agent, its submitter and its owner, and has not answered yet.
/// (The permission and team isolation are the role policy's, checked by the caller.) The
/// agent, its submitter and its owner may not reject either: they withdraw nothing by
/// rejecting, and an owner rejecting a rival's action is a conflict of interest too.
pub fn check_approver(
    action: &Action,
    approver: Uuid,
    approver_is_agent: bool,
    current_owner: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<(), ApprovalRefusal> {
    if action.status != Status::PendingApproval {
        return Err(ApprovalRefusal::NotPending(action.status));
    }
    if action.expires_at.is_some_and(|at| at <= now) {
        return Err(ApprovalRefusal::Expired);
    }
    if approver == action.agent_id {
        return Err(ApprovalRefusal::Agent);
    }
    if approver == action.submitted_by {
        return Err(ApprovalRefusal::Submitter);
    }
    if action.owner_id == Some(approver) || current_owner == Some(approver) {
        return Err(ApprovalRefusal::Owner);
    }
    if approver_is_agent {
        return Err(ApprovalRefusal::AgentApprover);
    }
    if action.approvals.iter().any(|a| a.approver_id == approver) {
        return Err(ApprovalRefusal::AlreadyAnswered);
    }
    Ok(())
}

impl Action {
    /// The status the action takes once `verdict` is added: one rejection rejects it; it is
    /// approved once `approvals_required` distinct approvers approved; else it stays pending.
    pub fn status_after(&self, verdict: ApprovalVerdict) -> Status {
        match verdict {
            ApprovalVerdict::Reject => Status::Rejected,
            ApprovalVerdict::Approve => {
                let approved = self.approvers().count() + 1;
                if approved >= usize::try_from(self.approvals_required).unwrap_or(usize::MAX) {
                    Status::Approved
                } else {
                    Status::PendingApproval
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{ActionId, Approval, Target};

    fn pending(required: u32) -> Action {
        let now = time::macros::datetime!(2026-12-05 10:00 UTC);
        Action {
            id: ActionId::generate(),
            agent_id: Uuid::from_u128(1),
            submitted_by: Uuid::from_u128(2),
            owner_id: Some(Uuid::from_u128(3)),
            action: "rollback".into(),
            target: Target::default(),
            parameters: serde_json::json!({}),
            parameters_sha256: String::new(),
            blast_radius: Default::default(),
            status: Status::PendingApproval,
            reason: String::new(),
            approvals_required: required,
            approvals: Vec::new(),
            created_at: now,
            expires_at: Some(now + time::Duration::hours(1)),
            updated_at: now,
            token_used_at: None,
            result: None,
        }
    }

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2026-12-05 10:30 UTC)
    }

    #[test]
    fn agent_submitter_and_owner_never_approve() {
        let action = pending(1);
        assert_eq!(
            check_approver(&action, Uuid::from_u128(1), true, None, at()),
            Err(ApprovalRefusal::Agent)
        );
        assert_eq!(
            check_approver(&action, Uuid::from_u128(2), false, None, at()),
            Err(ApprovalRefusal::Submitter)
        );
        assert_eq!(
            check_approver(&action, Uuid::from_u128(3), false, None, at()),
            Err(ApprovalRefusal::Owner)
        );
        // An owner named after the submission is refused too.
        assert_eq!(
            check_approver(
                &action,
                Uuid::from_u128(9),
                false,
                Some(Uuid::from_u128(9)),
                at()
            ),
            Err(ApprovalRefusal::Owner)
        );
        assert_eq!(
            check_approver(&action, Uuid::from_u128(4), false, None, at()),
            Ok(())
        );
    }

    #[test]
    fn two_of_n_needs_two_distinct_approvers() {
        let mut action = pending(2);
        assert_eq!(
            action.status_after(ApprovalVerdict::Approve),
            Status::PendingApproval
        );
        action.approvals.push(Approval {
            approver_id: Uuid::from_u128(4),
            verdict: ApprovalVerdict::Approve,
            comment: None,
            at: at(),
        });
        assert_eq!(
            check_approver(&action, Uuid::from_u128(4), false, None, at()),
            Err(ApprovalRefusal::AlreadyAnswered)
        );
        assert_eq!(
            check_approver(&action, Uuid::from_u128(5), false, None, at()),
            Ok(())
        );
        assert_eq!(
            action.status_after(ApprovalVerdict::Approve),
            Status::Approved
        );
        assert_eq!(
            action.status_after(ApprovalVerdict::Reject),
            Status::Rejected
        );
    }

    #[test]
    fn expired_and_settled_actions_take_no_answer() {
        let mut action = pending(1);
        let late = time::macros::datetime!(2026-12-05 11:00 UTC);
        assert_eq!(
            check_approver(&action, Uuid::from_u128(4), false, None, late),
            Err(ApprovalRefusal::Expired)
        );
        action.status = Status::Rejected;
        assert_eq!(
            check_approver(&action, Uuid::from_u128(4), false, None, at()),
            Err(ApprovalRefusal::NotPending(Status::Rejected))
        );
    }
}
