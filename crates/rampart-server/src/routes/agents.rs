//! AI-agent governance (API.md "AI-agent governance"): guardrails and the token key here;
//! actions, approvals, execution tokens and results in `actions`; OpenAPI shapes in `schema`.
//! Each change is committed by `AgentService` with its own audit entry (the agent as actor),
//! so handlers mark their request recorded.

mod actions;
mod schema;

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rampart_access::{Principal, perm};
use rampart_agents::GuardrailsDocument;
use rampart_app::agents::{AgentError, Origin};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::ApiError;
use crate::routes::monitor::document;
use crate::state::AppState;

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_guardrails, put_guardrails))
        .routes(routes!(token_key))
        .routes(routes!(actions::submit_action))
        .routes(routes!(actions::list_approvals))
        .routes(routes!(actions::approve_action))
        .routes(routes!(actions::reject_action))
        .routes(routes!(actions::verify_token))
        .routes(routes!(actions::report_result))
        .routes(routes!(actions::issue_token))
        .routes(routes!(actions::list_actions))
        .routes(routes!(actions::get_action))
}

/// An agent-governance error as an answer.
pub(crate) fn failed(error: AgentError) -> ApiError {
    match error {
        AgentError::Invalid(invalid) => ApiError::refused_document(&invalid),
        AgentError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
        AgentError::NotAnAgent => ApiError::validation(vec![crate::problem::FieldError {
            field: "id".into(),
            message: AgentError::NotAnAgent.to_string(),
        }]),
        AgentError::Forbidden(reason) => ApiError::refused(reason),
        AgentError::Conflict(reason) => ApiError::conflict(reason),
        AgentError::TooLarge => ApiError::validation(vec![crate::problem::FieldError {
            field: String::new(),
            message: AgentError::TooLarge.to_string(),
        }]),
        AgentError::Unavailable => ApiError::unavailable(),
        other => ApiError::internal(&other),
    }
}

/// The caller and its request's origin, for the entries the service writes.
pub(crate) fn origin(caller: &Caller, audit: &AuditSlot) -> Origin {
    let (request_id, ip, user_agent) = audit.origin();
    Origin {
        principal_id: caller.principal().id,
        principal_kind: caller.principal().kind,
        credential_id: caller.credential_id(),
        request_id,
        ip,
        user_agent,
    }
}

/// The agent `id` names: the caller itself when it is that agent, else read (404 for no such
/// principal, 422 for one that is not an AI agent).
pub(crate) async fn agent_named(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Principal, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found("no such agent"))?;
    if caller.principal().id == id {
        if caller.principal().kind != rampart_access::PrincipalKind::AiAgent {
            return Err(failed(AgentError::NotAnAgent));
        }
        return Ok(caller.principal().clone());
    }
    state.agents().agent(id).await.map_err(failed)
}

/// An agent's guardrails: what it may do, and how its actions are decided.
#[utoipa::path(get, path = "/v1/agents/{id}/guardrails", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agent principal's id")),
    responses((status = 200, description = "The guardrails, every default written out", body = schema::GuardrailsBody),
        (status = 404, description = "No such agent, or no guardrails set (every action is denied)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_guardrails(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // An agent reads its own; anyone else needs agents:manage.
    if Uuid::parse_str(&id).ok() != Some(caller.principal().id) {
        caller.require::<perm::AgentsManage>(&state.policy())?;
    }
    let agent = agent_named(&state, &caller, &id).await?;
    let guardrails = state
        .agents()
        .guardrails(agent.id)
        .await
        .map_err(failed)?
        .ok_or_else(|| {
            ApiError::not_found("no guardrails are set for this agent: every action is denied")
        })?;
    Ok(Json(json!(guardrails.to_document())))
}

/// Sets an agent's guardrails (audited with what they were before and are after).
#[utoipa::path(put, path = "/v1/agents/{id}/guardrails", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "The agent principal's id")),
    request_body = schema::GuardrailsBody,
    responses((status = 200, description = "The guardrails in force, every default written out", body = schema::GuardrailsBody),
        (status = 404, description = "No such agent", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile; read and try again", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named), or the principal is not an AI agent", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_guardrails(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("agent.guardrails_changed", "agent", &id);
    let granted = caller.require::<perm::AgentsManage>(&state.policy())?;
    let agent = agent_named(&state, &caller, &id).await?;
    let document: GuardrailsDocument = document(body)?;
    let guardrails = state
        .agents()
        .set_guardrails(
            &agent,
            document,
            &origin(&caller, &audit),
            granted,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.mark_recorded();
    Ok(Json(json!(guardrails.to_document())))
}

/// The public key execution tokens are signed with (PASETO v4.public, Ed25519), for
/// applications that check tokens themselves.
#[utoipa::path(get, path = "/v1/agents/token-key", tag = "agents",
    responses((status = 200, description = "The key", body = schema::TokenKeyBody)))]
pub async fn token_key(State(state): State<AppState>) -> Json<Value> {
    let key = state.agents().token_public_key();
    Json(json!({
        "version": "v4.public",
        "algorithm": "Ed25519",
        "public_key_b64": STANDARD.encode(key),
        "paserk": format!("k4.public.{}", URL_SAFE_NO_PAD.encode(key)),
    }))
}
