//! An agent's action: decided, recorded with its audit entry, answered with its execution
//! token when allowed.

use rampart_access::{IdentityStore, Policy, Principal, PrincipalKind, Subject};
use rampart_agents::{
    Action, ActionId, ActionRequest, AgentChange, AgentStore, Decision, EXECUTION_TOKEN_TTL,
    ExecutionClaims, FieldError, Grant, Invalid, Rule, Status, Verdict, decide, hour_window_start,
    parameters_sha256,
};
use rampart_audit::{AuditStore, LogError, SubmittedBy};
use rampart_monitor::{EventType, MonitorStore};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::entry::Event;
use super::{AgentError, AgentService, Origin};
use crate::monitor::rfc3339;

/// A decided action.
#[derive(Debug)]
pub struct Submitted {
    /// The action as recorded.
    pub action: Action,
    /// The answer.
    pub decision: Decision,
    /// Which rule decided.
    pub rule: Rule,
    /// The execution token of an allowed action.
    pub execution_token: Option<String>,
}

impl<S> AgentService<S>
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
    <S as AuditStore>::Change: From<AgentChange>,
{
    /// Decides `request` for `agent` (the caller is the agent, or holds `agents:submit`: the
    /// edge's check) under the role policy in force, records it with its audit entry (the
    /// agent as actor), and answers it; an allowed action gets its execution token.
    pub async fn submit(
        &self,
        policy: &Policy,
        agent: &Principal,
        origin: &Origin,
        mut request: ActionRequest,
        now: OffsetDateTime,
    ) -> Result<Submitted, AgentError> {
        request.check()?;
        // A target without a team is the agent's own team's when it has one; an agent of
        // several teams names it (else team isolation would not apply).
        if request.target.team_id.is_none() && !policy.bypasses_team_isolation(&agent.roles) {
            match agent.teams.as_slice() {
                [] => {}
                [team] => request.target.team_id = Some(team.clone()),
                _ => {
                    return Err(Invalid::Fields(vec![FieldError::new(
                        "target.team_id",
                        "is required: the agent belongs to several teams",
                    )])
                    .into());
                }
            }
        }
        let parameters_hash = parameters_sha256(&request.parameters).map_err(|_| {
            Invalid::Fields(vec![FieldError::new(
                "parameters",
                "holds a number that has no RFC 8785 form",
            )])
        })?;
        let guardrails = self.guardrails_in_force(agent.id).await?;
        let guardrails = guardrails.as_deref().map(|g| &g.0);
        let permission = format!("actions:{}", request.action);
        let answer = policy.decide(
            Subject {
                roles: &agent.roles,
                teams: &agent.teams,
                disabled: agent.disabled,
            },
            &permission,
            request.target.team_id.as_deref(),
        );
        let grant = Grant {
            allowed: answer.allowed,
            reason: answer.reason,
        };
        let said = self.redacted_words(&request);
        let id = ActionId::generate();
        let mut verdict = decide(guardrails, &request, &grant, None, now);
        for _ in 0..2 {
            let (action, token) = self.decided(
                &id,
                agent,
                origin,
                &request,
                &parameters_hash,
                &verdict,
                now,
            )?;
            let deliveries = if verdict.decision == Decision::PendingApproval {
                self.monitor
                    .deliveries_of(
                        EventType::ApprovalRequested,
                        &approval_requested(&action, &said),
                        now,
                    )
                    .await
                    .map_err(AgentError::store)?
            } else {
                Vec::new()
            };
            let notify = !deliveries.is_empty();
            let entry = Event {
                origin,
                actor: (PrincipalKind::AiAgent, agent.id),
                action: "agent.action_decided",
                resource: ("agent_action", id.as_str().to_owned()),
                team: action.team_id(),
                details: decision_details(&action, &verdict, &said),
                status: if verdict.decision == Decision::Denied {
                    "denied"
                } else {
                    "success"
                },
            }
            .build()?;
            let change = AgentChange::RecordAction {
                action: Box::new(action.clone()),
                cap: verdict.cap,
                window_start: hour_window_start(now),
                deliveries,
            };
            match self
                .audit
                .append_with(vec![entry], SubmittedBy::rampart(), change.into())
                .await
            {
                Ok(_) => {
                    self.monitor.entries_appended();
                    if notify {
                        self.monitor.send_now.notify_one();
                    }
                    return Ok(Submitted {
                        action,
                        decision: verdict.decision,
                        rule: verdict.rule,
                        execution_token: token,
                    });
                }
                // The store counted the agent's hour and found the cap reached (another node, or
                // requests in flight, got there first): the action is denied, and recorded so.
                Err(LogError::Refused(_)) if verdict.cap.is_some() => {
                    let used = verdict.cap;
                    verdict = decide(guardrails, &request, &grant, used, now);
                }
                Err(e) => return Err(AgentError::from_log(e)),
            }
        }
        Err(AgentError::Conflict(
            "the action could not be recorded; try again".into(),
        ))
    }

    /// The action record of `verdict`, and the execution token of an allowed action.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site, all of a decision's parts"
    )]
    fn decided(
        &self,
        id: &ActionId,
        agent: &Principal,
        origin: &Origin,
        request: &ActionRequest,
        parameters_hash: &str,
        verdict: &Verdict,
        now: OffsetDateTime,
    ) -> Result<(Action, Option<String>), AgentError> {
        let status = match verdict.decision {
            Decision::Allowed => Status::Allowed,
            Decision::PendingApproval => Status::PendingApproval,
            Decision::Denied => Status::Denied,
        };
        let token = if status == Status::Allowed {
            Some(self.token_for(id, agent.id, request, parameters_hash, now)?)
        } else {
            None
        };
        let action = Action {
            id: id.clone(),
            agent_id: agent.id,
            submitted_by: origin.principal_id,
            owner_id: agent.owner_id,
            action: request.action.clone(),
            target: request.target.clone(),
            parameters: request.parameters.clone(),
            parameters_sha256: parameters_hash.to_owned(),
            blast_radius: request.blast_radius.clone(),
            status,
            reason: verdict.reason.clone(),
            approvals_required: verdict.approvals_required,
            approvals: Vec::new(),
            created_at: now,
            expires_at: match status {
                Status::Allowed => Some(now + EXECUTION_TOKEN_TTL),
                _ => verdict.expires_at,
            },
            updated_at: now,
            token_used_at: None,
            result: None,
        };
        Ok((action, token))
    }

    /// A token for the action `id`, valid from `now` for five minutes.
    pub(crate) fn token_for(
        &self,
        id: &ActionId,
        agent_id: uuid::Uuid,
        request: &ActionRequest,
        parameters_hash: &str,
        now: OffsetDateTime,
    ) -> Result<String, AgentError> {
        self.signer
            .issue(&ExecutionClaims {
                action_id: id.clone(),
                agent_id,
                action: request.action.clone(),
                target: request.target.clone(),
                parameters_sha256: parameters_hash.to_owned(),
                issued_at: now,
                expires_at: now + EXECUTION_TOKEN_TTL,
            })
            .map_err(AgentError::store)
    }

    /// What the agent said and the parameters, redacted with the default PII policy:
    /// `{"reasoning", "tool_calls", "parameters"}`.
    fn redacted_words(&self, request: &ActionRequest) -> Value {
        let mut said = json!({
            "reasoning": request.reasoning,
            "tool_calls": request.tool_calls,
            "parameters": request.parameters,
        });
        self.redactor.redact_json_in_place(&mut said);
        said
    }
}

/// The decision's audit details.
fn decision_details(action: &Action, verdict: &Verdict, said: &Value) -> Value {
    json!({
        "decision": verdict.decision.as_str(),
        "rule": verdict.rule.as_str(),
        "reason": verdict.reason,
        "action": action.action,
        "target": action.target,
        "parameters_sha256": action.parameters_sha256,
        "parameters": said["parameters"],
        "blast_radius": action.blast_radius,
        "approvals_required": verdict.approvals_required,
        "reasoning": said["reasoning"],
        "tool_calls": said["tool_calls"],
    })
}

/// The `approval.requested` webhook's data.
fn approval_requested(action: &Action, said: &Value) -> Value {
    json!({
        "action_id": action.id.as_str(),
        "agent_id": action.agent_id.to_string(),
        "action": action.action,
        "target": action.target,
        "parameters": said["parameters"],
        "parameters_sha256": action.parameters_sha256,
        "blast_radius": action.blast_radius,
        "reason": action.reason,
        "approvals_required": action.approvals_required,
        "expires_at": action.expires_at.map(rfc3339),
    })
}
