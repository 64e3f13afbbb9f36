//! Legal holds: placed, listed, released (perm `retention:configure`), each change audited.
//! A subject under a hold is not erased; held records are never disposed of.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_retention::{HoldDocument, LegalHold};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::ApiError;
use crate::routes::monitor::document;
use crate::routes::subjects::failed;
use crate::state::AppState;

/// A hold as the API shows it.
fn hold_json(hold: &LegalHold) -> Value {
    let time = |at: Option<OffsetDateTime>| at.and_then(|at| at.format(&Rfc3339).ok());
    let s = &hold.scope;
    json!({
        "id": hold.id.as_str(),
        "name": hold.name,
        "reason": hold.reason,
        "scope": {"subject_id": s.subject_id, "tag": s.tag, "team_id": s.team_id,
                  "data_type": s.data_type, "from": time(s.from), "until": time(s.until)},
        "created_at": time(Some(hold.created_at)),
        "created_by": hold.created_by,
    })
}

/// `POST /v1/legal-holds`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "schema only: the body is read by rampart_retention"
)]
pub struct HoldBody {
    /// A name people know it by.
    pub name: String,
    /// Why (kept; no personal data here).
    pub reason: String,
    /// What it covers (every member given must match; none: everything): `subject_id`,
    /// `tag`, `team_id`, `data_type` (`audit_entries`, `consents`, ..., `app:<name>`),
    /// `from`, `until` (RFC 3339).
    #[schema(value_type = Object)]
    pub scope: Value,
}

/// A legal hold.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct HoldAnswer {
    /// `hold_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: String,
    /// What it covers.
    #[schema(value_type = Object)]
    pub scope: Value,
    /// When it was placed.
    pub created_at: String,
    /// The principal that placed it.
    pub created_by: String,
}

/// The holds in force.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct HoldList {
    /// Oldest first.
    pub items: Vec<HoldAnswer>,
}

/// Places a legal hold: what it covers is never disposed of or erased while it lasts.
#[utoipa::path(post, path = "/v1/legal-holds", tag = "retention", security(("bearer" = [])),
    request_body = HoldBody,
    responses((status = 201, description = "The hold", body = HoldAnswer),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn place_hold(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("legal_hold.place", "legal_hold", "new");
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let body: HoldDocument = document(body)?;
    let hold = state
        .retention()
        .place_hold(
            body,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.note("legal_hold.place", "legal_hold", hold.id.as_str());
    audit.detail("name", hold.name.as_str());
    if let Some(subject) = &hold.scope.subject_id {
        audit.subject(subject);
    }
    Ok((StatusCode::CREATED, Json(hold_json(&hold))))
}

/// The holds in force.
#[utoipa::path(get, path = "/v1/legal-holds", tag = "retention", security(("bearer" = [])),
    responses((status = 200, description = "Holds in force, oldest first", body = HoldList)))]
pub async fn list_holds(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let holds = state.retention().holds().await.map_err(failed)?;
    Ok(Json(
        json!({"items": holds.iter().map(hold_json).collect::<Vec<_>>()}),
    ))
}

/// Releases a hold (it stays on record).
#[utoipa::path(delete, path = "/v1/legal-holds/{id}", tag = "retention", security(("bearer" = [])),
    params(("id" = String, Path, description = "`hold_…`")),
    responses((status = 204, description = "Released"),
        (status = 404, description = "No such hold in force", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn release_hold(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("legal_hold.release", "legal_hold", &id);
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    state
        .retention()
        .release_hold(
            &id,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}
