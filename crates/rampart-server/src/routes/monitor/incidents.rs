//! Incidents: opening, listing, reading, the timeline, acknowledgement, resolution and the
//! evidence (entries with inclusion proofs against one signed checkpoint).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_app::monitor::incident_json;
use rampart_monitor::{
    IncidentDocument, IncidentFilter, IncidentStatus, Severity, TimelineDocument,
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::schema::*;
use super::{actor, document, failed};
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::problem::ApiError;
use crate::state::AppState;

/// Opens an incident (`INC-YYYYMMDD-NNNN`).
#[utoipa::path(post, path = "/v1/incidents", tag = "monitoring", security(("bearer" = [])),
    request_body = NewIncidentBody,
    responses((status = 201, description = "The incident", body = IncidentBody),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_incident(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("incident.create", "incident", "new");
    caller.require::<perm::IncidentsManage>(&state.policy())?;
    let body: IncidentDocument = document(body)?;
    let incident = state
        .monitor()
        .open_incident(&body, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.note("incident.create", "incident", &incident.id.to_text());
    audit.detail("severity", incident.severity.as_str());
    audit.detail("alert_ids", json!(incident.alert_ids));
    audit.detail("personal_data_breach", incident.personal_data_breach);
    Ok((StatusCode::CREATED, Json(incident_json(&incident))))
}

/// `GET /v1/incidents`' filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// `open`, `acknowledged` or `resolved`.
    #[param(value_type = Option<String>)]
    pub status: Option<IncidentStatus>,
    /// `low`, `medium`, `high` or `critical`.
    #[param(value_type = Option<String>)]
    pub severity: Option<Severity>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "monitoring", security(("bearer" = [])), params(IncidentQuery),
    responses((status = 200, description = "The incidents", body = IncidentList)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<IncidentQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::IncidentsRead>(&state.policy())?;
    let incidents = state
        .monitor()
        .incidents(IncidentFilter {
            status: query.status,
            severity: query.severity,
            limit: query.limit.unwrap_or(100),
        })
        .await
        .map_err(failed)?;
    let items: Vec<Value> = incidents.iter().map(incident_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// One incident with its timeline.
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id, INC-YYYYMMDD-NNNN")),
    responses((status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::IncidentsRead>(&state.policy())?;
    let incident = state.monitor().incident(&id).await.map_err(failed)?;
    Ok(Json(incident_json(&incident)))
}

/// Adds a note or an action to an incident's timeline.
#[utoipa::path(post, path = "/v1/incidents/{id}/timeline", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    request_body = TimelineBody,
    responses((status = 201, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident is resolved", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn add_timeline(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("incident.timeline", "incident", &id);
    caller.require::<perm::IncidentsManage>(&state.policy())?;
    let body: TimelineDocument = document(body)?;
    let incident = state
        .monitor()
        .record(&id, &body, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.detail("kind", json!(body.kind));
    Ok((StatusCode::CREATED, Json(incident_json(&incident))))
}

/// Acknowledges an incident (its escalation stops).
#[utoipa::path(post, path = "/v1/incidents/{id}/acknowledge", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    responses((status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident is not open", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn acknowledge_incident(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    audit.note("incident.acknowledge", "incident", &id);
    caller.require::<perm::IncidentsManage>(&state.policy())?;
    let incident = state
        .monitor()
        .acknowledge_incident(&id, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.detail("escalation_level", incident.escalation_level);
    Ok(Json(incident_json(&incident)))
}

/// `POST /v1/incidents/{id}/resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    resolution: String,
}

/// Resolves an incident.
#[utoipa::path(post, path = "/v1/incidents/{id}/resolve", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    request_body = ResolveIncidentBody,
    responses((status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident is already resolved", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The resolution is invalid", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("incident.resolve", "incident", &id);
    caller.require::<perm::IncidentsManage>(&state.policy())?;
    let body: Resolve = document(body)?;
    let incident = state
        .monitor()
        .resolve_incident(
            &id,
            &body.resolution,
            &actor(&caller),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    Ok(Json(incident_json(&incident)))
}

/// The incident's audit entries, each with an inclusion proof against one signed checkpoint.
#[utoipa::path(get, path = "/v1/incidents/{id}/evidence", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    responses((status = 200, description = "The evidence", body = EvidenceBody),
        (status = 404, description = "No such incident", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::IncidentsRead>(&state.policy())?;
    Ok(Json(state.monitor().evidence(&id).await.map_err(failed)?))
}

/// This module's routes.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, create_incident))
        .routes(routes!(get_incident))
        .routes(routes!(add_timeline))
        .routes(routes!(acknowledge_incident))
        .routes(routes!(resolve_incident))
        .routes(routes!(evidence))
}
