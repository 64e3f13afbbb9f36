//! Agents' actions: submitted and decided, listed, approved or rejected, their execution tokens
//! issued and checked, their results reported.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::{Policy, perm, scopes_allow};
use rampart_agents::{Action, ActionFilter, ActionRequest, ApprovalVerdict, ResultStatus, Status};
use rampart_app::agents::{Presented, action_json};
use rampart_app::monitor::rfc3339;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{agent_named, failed, origin, schema};
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::problem::{ApiError, FieldError};
use crate::routes::monitor::document;
use crate::state::AppState;

/// Proposes an action for an agent (the agent's own credential, or `agents:submit`): decided
/// by its guardrails and the role policy, recorded and audited with the agent as actor.
#[utoipa::path(post, path = "/v1/agents/{id}/actions", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agent principal's id")),
    request_body = schema::SubmitBody,
    responses((status = 201, description = "The decision (a denial too is a recorded decision)", body = schema::DecisionBody),
        (status = 403, description = "Neither the agent nor a holder of agents:submit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Could not be recorded (a rare race); try again", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named), or the principal is not an AI agent", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn submit_action(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ActionRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("agent.action_decided", "agent", &id);
    let policy = state.policy();
    let own = Uuid::parse_str(&id).ok() == Some(caller.principal().id);
    if own {
        // A narrowed key of the agent must allow the action itself.
        let permission = format!("actions:{}", request.action);
        if !scopes_allow(caller.scopes(), &permission) {
            return Err(ApiError::forbidden(&permission));
        }
    } else {
        caller.require::<perm::AgentsSubmit>(&policy)?;
    }
    let agent = agent_named(&state, &caller, &id).await?;
    if !own {
        state
            .agents()
            .check_submitter(&policy, caller.principal(), &agent)
            .map_err(failed)?;
    }
    let submitted = state
        .agents()
        .submit(
            &policy,
            &agent,
            &origin(&caller, &audit),
            request,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.mark_recorded();
    let action = &submitted.action;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": action.id.as_str(),
            "decision": submitted.decision.as_str(),
            "reason": action.reason,
            "rule": submitted.rule.as_str(),
            "status": action.status.as_str(),
            "execution_token": submitted.execution_token,
            "expires_at": action.expires_at.map(rfc3339),
            "approvals_required": action.approvals_required,
            "parameters_sha256": action.parameters_sha256,
        })),
    ))
}

/// `GET /v1/approvals` and `GET /v1/actions` queries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// `allowed`, `pending_approval` (or `pending`), `approved`, `rejected`, `expired`,
    /// `denied`, `executed`, `failed` (approvals: `pending` by default).
    pub status: Option<String>,
    /// Only this agent's actions.
    pub agent_id: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ActionQuery {
    fn filter(&self, default_status: Option<Status>) -> Result<ActionFilter, ApiError> {
        let invalid = |field: &str, message: &str| {
            ApiError::validation(vec![FieldError {
                field: field.into(),
                message: message.into(),
            }])
        };
        let status = match &self.status {
            Some(text) => Some(Status::parse(text).ok_or_else(|| {
                invalid("status", "is one of allowed, pending_approval, approved, rejected, expired, denied, executed, failed")
            })?),
            None => default_status,
        };
        let agent_id = match &self.agent_id {
            Some(text) => {
                Some(Uuid::parse_str(text).map_err(|_| invalid("agent_id", "is a principal id"))?)
            }
            None => None,
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(invalid("limit", "is 1 to 1000"));
        }
        let before = match &self.cursor {
            Some(text) => Some(
                rampart_agents::ActionId::parse(text)
                    .ok_or_else(|| invalid("cursor", "is a next_cursor this API gave"))?,
            ),
            None => None,
        };
        Ok(ActionFilter {
            agent_id,
            status,
            teams: None,
            before,
            limit,
        })
    }
}

/// The caller's teams for team isolation (`None`: a role bypasses it).
fn visible_teams(policy: &Policy, caller: &Caller) -> Option<Vec<String>> {
    (!policy.bypasses_team_isolation(&caller.principal().roles))
        .then(|| caller.principal().teams.clone())
}

fn page(actions: &[Action], limit: u32) -> Json<Value> {
    let next = (actions.len() == limit as usize)
        .then(|| actions.last().map(|a| a.id.as_str().to_owned()))
        .flatten();
    Json(json!({
        "items": actions.iter().map(action_json).collect::<Vec<_>>(),
        "next_cursor": next,
    }))
}

/// Actions waiting for approval (perm `actions:approve`; team isolation applies), newest
/// first.
#[utoipa::path(get, path = "/v1/approvals", tag = "agents", security(("bearer" = [])), params(ActionQuery),
    responses((status = 200, description = "Actions (pending approval unless `status` says otherwise)", body = schema::ActionList)))]
pub async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ActionQuery>,
) -> Result<Json<Value>, ApiError> {
    let policy = state.policy();
    caller.require::<perm::ActionsApprove>(&policy)?;
    let mut filter = query.filter(Some(Status::PendingApproval))?;
    filter.teams = visible_teams(&policy, &caller);
    let actions = state.agents().actions(&filter).await.map_err(failed)?;
    Ok(page(&actions, filter.limit))
}

/// Agents' actions, newest first: an agent lists its own; `actions:approve` or
/// `agents:manage` lists any (team isolation applies).
#[utoipa::path(get, path = "/v1/actions", tag = "agents", security(("bearer" = [])), params(ActionQuery),
    responses((status = 200, description = "Actions", body = schema::ActionList)))]
pub async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ActionQuery>,
) -> Result<Json<Value>, ApiError> {
    let policy = state.policy();
    let mut filter = query.filter(None)?;
    let me = caller.principal().id;
    if !(caller.holds(&policy, "actions:approve") || caller.holds(&policy, "agents:manage")) {
        if caller.principal().kind != rampart_access::PrincipalKind::AiAgent
            || filter.agent_id.is_some_and(|a| a != me)
        {
            caller.require::<perm::ActionsApprove>(&policy)?;
        }
        filter.agent_id = Some(me);
    } else {
        filter.teams = visible_teams(&policy, &caller);
    }
    let actions = state.agents().actions(&filter).await.map_err(failed)?;
    Ok(page(&actions, filter.limit))
}

/// Whether the caller may read `action`: its agent or submitter, or a holder of
/// `actions:approve` or `agents:manage` who sees its team.
fn may_read(policy: &Policy, caller: &Caller, action: &Action) -> bool {
    let me = caller.principal().id;
    if me == action.agent_id || me == action.submitted_by {
        return true;
    }
    let teams = visible_teams(policy, caller);
    (caller.holds(policy, "actions:approve") || caller.holds(policy, "agents:manage"))
        && match (action.team_id(), teams) {
            (Some(team), Some(teams)) => teams.iter().any(|t| t == team),
            _ => true,
        }
}

/// One action, with its approvals and result.
#[utoipa::path(get, path = "/v1/actions/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "`act_…`")),
    responses((status = 200, description = "The action", body = schema::ActionView),
        (status = 404, description = "No such action (or not one the caller may see)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let action = state.agents().action(&id).await.map_err(failed)?;
    if !may_read(&state.policy(), &caller, &action) {
        return Err(ApiError::not_found("no such action"));
    }
    Ok(Json(action_json(&action)))
}

/// Whether the caller may act on `action`'s execution (its token, its result): the agent with
/// a key whose scopes allow `actions:<action>`, the submitter with `agents:submit`, or
/// (results only) another holder of `agents:submit`.
fn may_carry_out(policy: &Policy, caller: &Caller, action: &Action) -> Result<(), ApiError> {
    if caller.principal().id == action.agent_id {
        let permission = format!("actions:{}", action.action);
        if scopes_allow(caller.scopes(), &permission) {
            return Ok(());
        }
        return Err(ApiError::forbidden(&permission));
    }
    caller.require::<perm::AgentsSubmit>(policy)?;
    Ok(())
}

/// `{"comment": "..."}`, or no body.
fn comment_of(body: &Bytes) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::validation(vec![FieldError {
            field: String::new(),
            message: "the body is a JSON object {\"comment\": \"...\"}, or empty".into(),
        }])
    })?;
    let body: schema::AnswerBody = document(value)?;
    Ok(body.comment)
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    audit: &AuditSlot,
    id: &str,
    verdict: ApprovalVerdict,
    body: &Bytes,
) -> Result<Json<Value>, ApiError> {
    let comment = comment_of(body)?;
    let action = state
        .agents()
        .answer(
            &state.policy(),
            caller.principal(),
            &origin(caller, audit),
            id,
            verdict,
            comment,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.mark_recorded();
    Ok(Json(action_json(&action)))
}

/// Approves an action (perm `actions:approve`, team isolation; never by the agent, the
/// principal that submitted it or the agent's owner; each approver once).
#[utoipa::path(post, path = "/v1/actions/{id}/approve", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "`act_…`")),
    request_body(content = schema::AnswerBody, description = "Optional"),
    responses((status = 200, description = "The action (approved once its quorum is met)", body = schema::ActionView),
        (status = 403, description = "Separation of duties, team isolation or permission", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending, expired, or answered meanwhile", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn approve_action(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.action_approved", "agent_action", &id);
    caller.require::<perm::ActionsApprove>(&state.policy())?;
    answer(
        &state,
        &caller,
        &audit,
        &id,
        ApprovalVerdict::Approve,
        &body,
    )
    .await
}

/// Rejects an action (perm `actions:approve` or `actions:reject`, team isolation; never by
/// the agent, its submitter or its owner): it is denied.
#[utoipa::path(post, path = "/v1/actions/{id}/reject", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "`act_…`")),
    request_body(content = schema::AnswerBody, description = "Optional"),
    responses((status = 200, description = "The rejected action", body = schema::ActionView),
        (status = 403, description = "Separation of duties, team isolation or permission", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending, expired, or answered meanwhile", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn reject_action(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.action_rejected", "agent_action", &id);
    let policy = state.policy();
    if caller.require::<perm::ActionsApprove>(&policy).is_err() {
        caller.require::<perm::ActionsReject>(&policy)?;
    }
    answer(&state, &caller, &audit, &id, ApprovalVerdict::Reject, &body).await
}

/// Checks an execution token with the parameters the application is about to use (perm
/// `agents:submit`): valid once only, and only for the exact parameters.
#[utoipa::path(post, path = "/v1/actions/verify-token", tag = "agents", security(("bearer" = [])),
    request_body = schema::VerifyTokenBody,
    responses((status = 200, description = "Whether the action may be carried out now", body = schema::TokenCheckBody)))]
pub async fn verify_token(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<schema::VerifyTokenBody>,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.token_checked", "agent_action", "unknown");
    caller.require::<perm::AgentsSubmit>(&state.policy())?;
    let presented = Presented {
        action: body.action,
        target: body.target,
    };
    let check = state
        .agents()
        .verify_token(
            &body.token,
            &body.parameters.unwrap_or_else(|| json!({})),
            &presented,
            &origin(&caller, &audit),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    let allows = check.allows.as_ref();
    let action_id = allows.map(|c| c.action_id.as_str().to_owned());
    if check.valid {
        audit.mark_recorded();
    } else {
        // A refused token is a security event: recorded as a denial, with the reason.
        audit.note(
            "agent.token_checked",
            "agent_action",
            action_id.as_deref().unwrap_or("unknown"),
        );
        audit.detail("valid", false);
        audit.detail("reason", check.reason.as_str());
        audit.denied();
    }
    Ok(Json(json!({
        "valid": check.valid,
        "reason": check.reason,
        "action_id": action_id,
        "action": allows.map(|c| c.action.as_str()),
        "target": allows.map(|c| &c.target),
        "agent_id": allows.map(|c| c.agent_id.to_string()),
    })))
}

/// Reports what happened when the action was carried out (the agent, its submitter, or
/// `agents:submit`): `executed` or `failed`, once.
#[utoipa::path(post, path = "/v1/actions/{id}/result", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "`act_…`")),
    request_body = schema::ResultBody,
    responses((status = 200, description = "The action with its result", body = schema::ActionView),
        (status = 409, description = "Not allowed or approved, or already reported", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn report_result(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<schema::ResultBody>,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.action_result", "agent_action", &id);
    let action = state.agents().action(&id).await.map_err(failed)?;
    may_carry_out(&state.policy(), &caller, &action)?;
    let status = match body.status.as_str() {
        "succeeded" => ResultStatus::Succeeded,
        "failed" => ResultStatus::Failed,
        _ => {
            return Err(ApiError::validation(vec![FieldError {
                field: "status".into(),
                message: "is succeeded or failed".into(),
            }]));
        }
    };
    let action = state
        .agents()
        .record_result(
            &id,
            status,
            body.details.unwrap_or(Value::Null),
            &origin(&caller, &audit),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.mark_recorded();
    Ok(Json(action_json(&action)))
}

/// A new execution token for an allowed or approved action not yet carried out (the agent or
/// its submitter): valid five minutes; the action is still carried out once only.
#[utoipa::path(post, path = "/v1/actions/{id}/token", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "`act_…`")),
    responses((status = 200, description = "The token", body = schema::IssuedTokenBody),
        (status = 403, description = "Not the agent or its submitter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The action may not be carried out, or was", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.token_issued", "agent_action", &id);
    let action = state.agents().action(&id).await.map_err(failed)?;
    if caller.principal().id != action.agent_id && caller.principal().id != action.submitted_by {
        return Err(ApiError::refused(
            "only the agent or the principal that submitted the action gets its token",
        ));
    }
    may_carry_out(&state.policy(), &caller, &action)?;
    let now = OffsetDateTime::now_utc();
    let (action, token) = state
        .agents()
        .issue_token(caller.principal(), &id, now)
        .await
        .map_err(failed)?;
    Ok(Json(json!({
        "action_id": action.id.as_str(),
        "execution_token": token,
        "expires_at": rfc3339(now + rampart_agents::EXECUTION_TOKEN_TTL),
    })))
}
