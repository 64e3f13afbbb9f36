//! Approvals: listed with team isolation, answered under separation of duties (never the
//! agent, its submitter or its owner; distinct approvers up to the quorum), and expired by a
//! leased job when their period ends.

use std::sync::Arc;
use std::time::Duration;

use rampart_access::{IdentityStore, Policy, Principal, PrincipalKind, Subject};
use rampart_agents::{
    Action, ActionFilter, ActionId, AgentChange, AgentStore, Approval, ApprovalRefusal,
    ApprovalVerdict, FieldError, Invalid, Status, check_approver, hour_window_start,
};
use rampart_audit::{AuditStore, LogError, SubmittedBy};
use rampart_monitor::MonitorStore;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::entry::Event;
use super::{AgentError, AgentService, Origin};
use crate::jobs::{Job, TickError};

/// Longest approval comment, in characters.
const MAX_COMMENT: usize = 2000;
/// Actions expired per transaction.
const EXPIRE_BATCH: u32 = 200;

impl<S> AgentService<S>
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
    <S as AuditStore>::Change: From<AgentChange>,
{
    /// Actions matching `filter`, newest first.
    pub async fn actions(&self, filter: &ActionFilter) -> Result<Vec<Action>, AgentError> {
        self.store.actions(filter).await.map_err(AgentError::store)
    }

    /// One action (404 when the id is not an action's).
    pub async fn action(&self, id: &str) -> Result<Action, AgentError> {
        let id = ActionId::parse(id).ok_or(AgentError::NotFound("action"))?;
        self.store
            .action(&id)
            .await
            .map_err(AgentError::store)?
            .ok_or(AgentError::NotFound("action"))
    }

    /// Records `approver`'s answer on the action `id` (the edge checked that the approver holds
    /// `actions:approve`, or `actions:reject` to reject). Team isolation applies to the
    /// action's target; separation of duties refuses the agent, the principal that submitted
    /// the action and the agent's owner; each approver answers once. One rejection rejects the
    /// action; `approvals_required` approvals approve it. Audited with the agent as actor.
    #[allow(clippy::too_many_arguments, reason = "an answer's parts, each needed")]
    pub async fn answer(
        &self,
        policy: &Policy,
        approver: &Principal,
        origin: &Origin,
        id: &str,
        verdict: ApprovalVerdict,
        comment: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Action, AgentError> {
        if let Some(text) = &comment
            && (text.chars().count() > MAX_COMMENT
                || text.chars().any(|c| c.is_control() && c != '\n'))
        {
            return Err(Invalid::Fields(vec![FieldError::new(
                "comment",
                format!("has at most {MAX_COMMENT} characters, no control characters but newlines"),
            )])
            .into());
        }
        let mut action = self.action(id).await?;
        self.check_team(policy, approver, &action, verdict)?;
        let owner = self.agent(action.agent_id).await?.owner_id;
        let is_agent = approver.kind == PrincipalKind::AiAgent;
        check_approver(&action, approver.id, is_agent, owner, now).map_err(
            |refusal| match refusal {
                ApprovalRefusal::NotPending(_) | ApprovalRefusal::Expired => {
                    AgentError::Conflict(refusal.to_string())
                }
                _ => AgentError::Forbidden(refusal.to_string()),
            },
        )?;
        let status = action.status_after(verdict);
        let comment = comment.map(|c| self.redactor.redact_text(&c).value);
        let approval = Approval {
            approver_id: approver.id,
            verdict,
            comment: comment.clone(),
            at: now,
        };
        let answers = u32::try_from(action.approvals.len()).unwrap_or(u32::MAX);
        let entry = Event {
            origin,
            actor: (PrincipalKind::AiAgent, action.agent_id),
            action: match verdict {
                ApprovalVerdict::Approve => "agent.action_approved",
                ApprovalVerdict::Reject => "agent.action_rejected",
            },
            resource: ("agent_action", action.id.as_str().to_owned()),
            team: action.team_id(),
            details: json!({
                "approver_id": approver.id.to_string(),
                "verdict": verdict.as_str(),
                "comment": comment,
                "approvals": action.approvers().count() + usize::from(verdict == ApprovalVerdict::Approve),
                "approvals_required": action.approvals_required,
                "status": status.as_str(),
                "action": action.action,
                "parameters_sha256": action.parameters_sha256,
            }),
            status: "success",
        }
        .build()?;
        let change = AgentChange::Answer {
            action_id: action.id.clone(),
            approval: approval.clone(),
            expected_answers: answers,
            status,
        };
        self.commit(entry, change, || {
            AgentError::Conflict(
                "the action was answered, approved, rejected or expired meanwhile: read it again"
                    .into(),
            )
        })
        .await?;
        action.approvals.push(approval);
        action.status = status;
        action.updated_at = now;
        Ok(action)
    }

    /// Team isolation on an approver: the policy must grant the answer's permission for the
    /// action's team.
    fn check_team(
        &self,
        policy: &Policy,
        approver: &Principal,
        action: &Action,
        verdict: ApprovalVerdict,
    ) -> Result<(), AgentError> {
        let subject = Subject {
            roles: &approver.roles,
            teams: &approver.teams,
            disabled: approver.disabled,
        };
        let team = action.team_id();
        let approve = policy.decide(subject, "actions:approve", team);
        let allowed = approve.allowed
            || (verdict == ApprovalVerdict::Reject
                && policy.decide(subject, "actions:reject", team).allowed);
        if allowed {
            Ok(())
        } else {
            Err(AgentError::Forbidden(approve.reason))
        }
    }

    /// Expires the pending actions whose approval period ended by `now` (each audited as
    /// `agent.action_expired`, a denial, with the agent as actor), in batches; forgets the
    /// hourly cap's buckets that no longer count. Returns how many expired.
    pub async fn expire_due(&self, now: OffsetDateTime) -> Result<usize, AgentError> {
        let mut expired = 0;
        loop {
            let due = self
                .store
                .expired_pending(now, EXPIRE_BATCH)
                .await
                .map_err(AgentError::store)?;
            if due.is_empty() {
                break;
            }
            let origin = Origin::system();
            let mut entries = Vec::with_capacity(due.len());
            for action in &due {
                entries.push(
                    Event {
                        origin: &origin,
                        actor: (PrincipalKind::AiAgent, action.agent_id),
                        action: "agent.action_expired",
                        resource: ("agent_action", action.id.as_str().to_owned()),
                        team: action.team_id(),
                        details: json!({
                            "action": action.action,
                            "approvals": action.approvers().count(),
                            "approvals_required": action.approvals_required,
                            "status": Status::Expired.as_str(),
                            "reason": "not approved within the approval timeout",
                        }),
                        status: "denied",
                    }
                    .build()?,
                );
            }
            let change = AgentChange::Expire {
                action_ids: due.iter().map(|a| a.id.clone()).collect(),
                at: now,
            };
            match self
                .audit
                .append_with(entries, SubmittedBy::rampart(), change.into())
                .await
            {
                Ok(_) => {
                    self.monitor.entries_appended();
                    expired += due.len();
                }
                // One was answered meanwhile: the next tick reads them again.
                Err(LogError::Refused(_)) => break,
                Err(e) => return Err(AgentError::from_log(e)),
            }
            if due.len() < EXPIRE_BATCH as usize {
                break;
            }
        }
        self.store
            .forget_counts(hour_window_start(now))
            .await
            .map_err(AgentError::store)?;
        Ok(expired)
    }
}

impl Origin {
    /// Rampart itself (a background job).
    pub fn system() -> Self {
        Self {
            principal_id: Uuid::nil(),
            principal_kind: PrincipalKind::Service,
            credential_id: Uuid::nil(),
            request_id: None,
            ip: None,
            user_agent: None,
        }
    }
}

/// The leased `agent-approvals-expire` job: every second, pending actions past their approval
/// period become `expired`.
pub fn expiry_job<S>(service: Arc<AgentService<S>>) -> Job
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
    <S as AuditStore>::Change: From<AgentChange>,
{
    Job::leased(
        "agent-approvals-expire",
        Duration::from_secs(1),
        move || {
            let service = Arc::clone(&service);
            async move {
                service
                    .expire_due(OffsetDateTime::now_utc())
                    .await
                    .map(|_| ())
                    .map_err(|e| TickError::new("cannot expire pending agent actions", e))
            }
        },
    )
}
