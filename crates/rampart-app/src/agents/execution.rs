//! Execution tokens after the decision: issued for an approved action, checked once only and
//! only with the exact parameters, and the application's result.

use rampart_access::{IdentityStore, Principal, PrincipalKind};
use rampart_agents::{
    Action, ActionRequest, ActionResult, AgentChange, AgentStore, ExecutionClaims, FieldError,
    Invalid, ResultStatus, Status, TokenError, has_unsafe_integer,
};
use rampart_audit::{AuditStore, LogError, SubmittedBy};
use rampart_monitor::MonitorStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::entry::Event;
use super::{AgentError, AgentService, Origin};

/// Longest result `details`, as JSON text.
const MAX_RESULT_DETAILS: usize = 16 * 1024;

/// The answer of `POST /v1/actions/verify-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCheck {
    /// Whether the action may be carried out now, with these parameters.
    pub valid: bool,
    /// Why not (or `"valid"`).
    pub reason: String,
    /// What the token allows, when it was Rampart's and unexpired: the action, its name, its
    /// target and the agent (the application carries out exactly that).
    pub allows: Option<ExecutionClaims>,
}

impl TokenCheck {
    fn invalid(reason: impl Into<String>, allows: Option<ExecutionClaims>) -> Self {
        Self {
            valid: false,
            reason: reason.into(),
            allows,
        }
    }
}

/// What the application says it is about to carry out, beside the parameters: each given one
/// must be what the token was issued for.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// The action's name.
    pub action: Option<String>,
    /// Its target.
    pub target: Option<rampart_agents::Target>,
}

impl<S> AgentService<S>
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
    <S as AuditStore>::Change: From<AgentChange>,
{
    /// A new execution token for an allowed or approved action whose token was not used, for
    /// the agent or the principal that submitted it (each token is valid five minutes; the
    /// action can still be carried out once only).
    pub async fn issue_token(
        &self,
        caller: &Principal,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(Action, String), AgentError> {
        let action = self.action(id).await?;
        if caller.id != action.agent_id && caller.id != action.submitted_by {
            return Err(AgentError::Forbidden(
                "only the agent or the principal that submitted the action gets its token".into(),
            ));
        }
        if !action.status.may_execute() {
            return Err(AgentError::Conflict(format!(
                "the action is {}: it may not be carried out",
                action.status.as_str()
            )));
        }
        if action.token_used_at.is_some() {
            return Err(AgentError::Conflict(
                "the action's execution token was already used".into(),
            ));
        }
        let request = ActionRequest {
            action: action.action.clone(),
            target: action.target.clone(),
            ..ActionRequest::default()
        };
        let token = self.token_for(
            &action.id,
            action.agent_id,
            &request,
            &action.parameters_sha256,
            now,
        )?;
        Ok((action, token))
    }

    /// Checks an execution token presented with `parameters`: Rampart's signature, unexpired,
    /// the exact parameters (RFC 8785), and unused, which it then records (audited with the
    /// agent as actor). Any other check answers `valid: false` with the reason and changes
    /// nothing.
    pub async fn verify_token(
        &self,
        token: &str,
        parameters: &Value,
        presented: &Presented,
        origin: &Origin,
        now: OffsetDateTime,
    ) -> Result<TokenCheck, AgentError> {
        let claims = match self.signer.verify(token, now) {
            Ok(claims) => claims,
            Err(e) => {
                let reason = match e {
                    TokenError::Expired => "the token has expired",
                    TokenError::BadSignature => "the token is not signed by this deployment",
                    TokenError::NotYetValid => "the token is not yet valid",
                    _ => "not an execution token",
                };
                return Ok(TokenCheck::invalid(reason, None));
            }
        };
        if has_unsafe_integer(parameters) || !claims.binds(parameters) {
            return Ok(TokenCheck::invalid(
                "the parameters differ from those the token was issued for",
                Some(claims),
            ));
        }
        if presented
            .action
            .as_ref()
            .is_some_and(|a| *a != claims.action)
        {
            return Ok(TokenCheck::invalid(
                "the token was issued for another action",
                Some(claims),
            ));
        }
        if presented
            .target
            .as_ref()
            .is_some_and(|t| *t != claims.target)
        {
            return Ok(TokenCheck::invalid(
                "the token was issued for another target",
                Some(claims),
            ));
        }
        let entry = Event {
            origin,
            actor: (PrincipalKind::AiAgent, claims.agent_id),
            action: "agent.token_used",
            resource: ("agent_action", claims.action_id.as_str().to_owned()),
            team: claims.target.team_id.as_deref(),
            details: json!({
                "action": claims.action,
                "target": claims.target,
                "parameters_sha256": claims.parameters_sha256,
            }),
            status: "success",
        }
        .build()?;
        let change = AgentChange::UseToken {
            action_id: claims.action_id.clone(),
            at: now,
        };
        match self
            .audit
            .append_with(vec![entry], SubmittedBy::rampart(), change.into())
            .await
        {
            Ok(_) => {
                self.monitor.entries_appended();
                Ok(TokenCheck {
                    valid: true,
                    reason: "valid".into(),
                    allows: Some(claims),
                })
            }
            Err(LogError::Refused(_)) => {
                let reason = match self.store.action(&claims.action_id).await {
                    Ok(Some(action)) if action.token_used_at.is_none() => format!(
                        "the action is {}: it may not be carried out",
                        action.status.as_str()
                    ),
                    Ok(None) => "no such action".to_owned(),
                    _ => "already used".to_owned(),
                };
                Ok(TokenCheck::invalid(reason, Some(claims)))
            }
            Err(e) => Err(AgentError::from_log(e)),
        }
    }

    /// Records the application's result of the action `id` (by the agent, its submitter, or a
    /// holder of `agents:submit`: the edge's check): `executed` or `failed`, once. `details` are
    /// stored and audited after PII redaction.
    pub async fn record_result(
        &self,
        id: &str,
        status: ResultStatus,
        details: Value,
        origin: &Origin,
        now: OffsetDateTime,
    ) -> Result<Action, AgentError> {
        if details.to_string().len() > MAX_RESULT_DETAILS {
            return Err(Invalid::Fields(vec![FieldError::new(
                "details",
                format!("has at most {MAX_RESULT_DETAILS} bytes as JSON"),
            )])
            .into());
        }
        let mut action = self.action(id).await?;
        if !action.status.may_execute() {
            return Err(AgentError::Conflict(format!(
                "the action is {}: only an allowed or approved action has a result",
                action.status.as_str()
            )));
        }
        if status == ResultStatus::Succeeded && action.token_used_at.is_none() {
            return Err(AgentError::Conflict(
                "the action's execution token was never checked (POST /v1/actions/verify-token): it cannot have been carried out".into(),
            ));
        }
        let details = self.redactor.redact_json(&details).value;
        let result = ActionResult {
            status,
            details: details.clone(),
            reported_by: origin.principal_id,
            at: now,
        };
        let new_status = match status {
            ResultStatus::Succeeded => Status::Executed,
            ResultStatus::Failed => Status::Failed,
        };
        let entry = Event {
            origin,
            actor: (PrincipalKind::AiAgent, action.agent_id),
            action: "agent.action_result",
            resource: ("agent_action", action.id.as_str().to_owned()),
            team: action.team_id(),
            details: json!({
                "result": status.as_str(),
                "status": new_status.as_str(),
                "action": action.action,
                "details": details,
                "token_used": action.token_used_at.is_some(),
            }),
            status: match status {
                ResultStatus::Succeeded => "success",
                ResultStatus::Failed => "failure",
            },
        }
        .build()?;
        let change = AgentChange::RecordResult {
            action_id: action.id.clone(),
            result: result.clone(),
        };
        self.commit(entry, change, || {
            AgentError::Conflict("the action's result was already reported".into())
        })
        .await?;
        action.status = new_status;
        action.updated_at = now;
        action.result = Some(result);
        Ok(action)
    }
}
