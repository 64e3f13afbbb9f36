//! Authorization decisions for applications (`POST /v1/authorize`) and the role policy
//! (`GET`/`PUT /v1/policy`). Decisions come from the precompiled policy; every denial is
//! audited, allowed decisions are not (they are the hot path).

use crate::http::audit_trail::only_when_noted;
use axum::Json;
use axum::extract::State;
use rampart_access::perm;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::request::invalid;
use crate::problem::ApiError;
use crate::state::AppState;

/// Longest `action` and resource field accepted (each is recorded with a denial).
const MAX_FIELD_LEN: usize = 256;

/// `POST /v1/authorize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The principal asking.
    pub principal_id: String,
    /// The permission asked for (`resource:action`).
    pub action: String,
    /// What it is asked on; a `team_id` puts it under team isolation.
    pub resource: Option<ResourceRef>,
}

/// A resource named in an authorization request (recorded with every denial: only these three
/// bounded fields).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    /// Its type (`service`, `key`, ...).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its team, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

/// An authorization decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why, in words.
    pub reason: String,
    /// The role that granted the permission (also set when team isolation then denied it).
    pub matched_role: Option<String>,
}

/// Decides whether a principal may do an action on a resource.
#[utoipa::path(post, path = "/v1/authorize", tag = "identity", security(("bearer" = [])),
    request_body = AuthorizeRequest,
    responses((status = 200, description = "The decision (a denial is audited)", body = AuthorizeResponse),
        (status = 404, description = "No such principal", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, ApiError> {
    caller.require::<perm::AuthzCheck>(&state.policy())?;
    let AuthorizeRequest {
        principal_id,
        action,
        resource,
    } = body;
    let principal_id =
        Uuid::parse_str(&principal_id).map_err(|_| invalid("principal_id", "is not an id"))?;
    if action.len() > MAX_FIELD_LEN {
        return Err(invalid("action", format!("at most {MAX_FIELD_LEN} bytes")));
    }
    if let Some(resource) = &resource {
        for (name, field) in [
            ("type", &resource.kind),
            ("id", &resource.id),
            ("team_id", &resource.team_id),
        ] {
            if field
                .as_ref()
                .is_some_and(|text| text.len() > MAX_FIELD_LEN)
            {
                return Err(invalid(
                    &format!("resource.{name}"),
                    format!("at most {MAX_FIELD_LEN} bytes"),
                ));
            }
        }
    }
    let team = resource.as_ref().and_then(|r| r.team_id.clone());
    let record = state
        .identity()
        .cache
        .principal(state.identity_store(), principal_id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("no principal with that id"))?;
    let p = &record.principal;
    let decision = state.policy().decide(
        rampart_access::Subject {
            roles: &p.roles,
            teams: &p.teams,
            disabled: p.disabled,
        },
        &action,
        team.as_deref(),
    );
    if !decision.allowed {
        audit.note("authz.deny", "principal", &principal_id.to_string());
        audit.denied();
        audit.detail("action", action);
        audit.detail(
            "resource",
            resource
                .as_ref()
                .and_then(|r| serde_json::to_value(r).ok())
                .unwrap_or(Value::Null),
        );
        audit.detail("reason", decision.reason.clone());
        audit.detail("matched_role", json!(decision.matched_role));
    }
    Ok(Json(AuthorizeResponse {
        allowed: decision.allowed,
        reason: decision.reason,
        matched_role: decision.matched_role,
    }))
}

/// The role policy in force, in the shape of the YAML file.
#[utoipa::path(get, path = "/v1/policy", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "The policy in force, its source and version", body = crate::routes::identity_schema::PolicyInForce)))]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::RolesManage>(&state.policy())?;
    let policy = state.policy();
    let mut out = serde_json::to_value(policy.document()).map_err(|e| ApiError::internal(&e))?;
    if let Some(map) = out.as_object_mut() {
        map.insert("source".to_owned(), json!(state.policy_source()));
        map.insert("version".to_owned(), json!(state.policy_version()));
    }
    Ok(Json(out))
}

/// Replaces the role policy (stored; every server picks it up within seconds).
#[utoipa::path(put, path = "/v1/policy", tag = "identity", security(("bearer" = [])),
    request_body = crate::routes::identity_schema::PolicyBody,
    responses((status = 200, description = "The policy now in force", body = crate::routes::identity_schema::PolicyInForce),
        (status = 409, description = "The policy comes from policy_file", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The policy does not compile (cycle, unknown parent, bad permission)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("policy.update", "policy", "roles");
    let granted = caller.require::<perm::RolesManage>(&state.policy())?;
    if let Some(path) = &state.settings().policy_file {
        return Err(ApiError::conflict(format!(
            "the role policy comes from the file {}; change the file (and restart) instead",
            path.display()
        )));
    }
    let mut body = body;
    if let Some(map) = body.as_object_mut() {
        // GET's extra fields may be sent back unchanged.
        map.remove("source");
        map.remove("version");
    }
    let policy =
        rampart_access::Policy::from_json(&body).map_err(|e| invalid("roles", e.to_string()))?;
    audit.detail(
        "roles",
        json!(policy.document().roles.keys().collect::<Vec<_>>()),
    );
    let journal = audit.journal(&state, &caller, http::StatusCode::OK);
    let version = state
        .policy_admin()
        .replace(
            &caller,
            granted,
            &policy,
            OffsetDateTime::now_utc(),
            &journal,
        )
        .await?;
    state.set_policy(policy, version, "api");
    get_policy(State(state), caller).await
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(only_when_noted(routes!(authorize)))
        .routes(routes!(get_policy, put_policy))
}
