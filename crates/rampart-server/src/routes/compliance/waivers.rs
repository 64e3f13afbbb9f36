//! Waivers (granted with a reason and an end, revoked, never deleted) and each control's
//! history (every report's result and the daily evaluation's).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_compliance::{Waiver, WaiverDocument};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use super::failed;
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::invalid;
use crate::problem::ApiError;
use crate::state::AppState;

fn waiver_json(waiver: &Waiver, now: OffsetDateTime) -> Value {
    json!({
        "id": waiver.id,
        "framework": waiver.framework.as_str(),
        "control": waiver.control,
        "reason": waiver.reason,
        "expires_at": waiver.expires_at_text(),
        "expired": waiver.expires_at <= now,
        "created_by": waiver.created_by,
        "created_at": rampart_compliance::rfc3339(waiver.created_at),
    })
}

/// `POST /v1/compliance/waivers`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "schema only: the body is read by rampart_compliance"
)]
pub struct WaiverBody {
    /// `soc2`, `pci-dss`, `hipaa`, `gdpr` or `mifid2`.
    pub framework: String,
    /// A control of that framework (`GET /v1/compliance/frameworks`).
    pub control: String,
    /// Why the control is accepted as it is (at most 2048 bytes).
    pub reason: String,
    /// RFC 3339, in the future and within 366 days; after it the control counts as `fail`.
    pub expires_at: String,
}

/// A waiver.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct WaiverAnswer {
    /// `wvr_…`.
    pub id: String,
    /// The framework.
    pub framework: String,
    /// The control.
    pub control: String,
    /// Why.
    pub reason: String,
    /// When it ends.
    pub expires_at: String,
    /// Whether it has ended (the control then counts as `fail` unless it passes).
    pub expired: bool,
    /// Who granted it (principal id).
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// The waivers not revoked.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct WaiverList {
    /// Oldest first; expired ones included.
    pub items: Vec<WaiverAnswer>,
}

/// Grants a waiver: until it ends, the control counts as `waived` instead of `fail` or
/// `manual`; after, as `fail`.
#[utoipa::path(post, path = "/v1/compliance/waivers", tag = "compliance", security(("bearer" = [])),
    request_body = WaiverBody,
    responses((status = 201, description = "The waiver", body = WaiverAnswer),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn grant_waiver(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("compliance.waiver_grant", "compliance_waiver", "new");
    caller.require::<perm::ComplianceManage>(&state.policy())?;
    let body: WaiverDocument = super::body(body)?;
    let now = OffsetDateTime::now_utc();
    let waiver = state
        .compliance()
        .add_waiver(&body, &caller.principal().id.to_string(), now)
        .await
        .map_err(failed)?;
    audit.note("compliance.waiver_grant", "compliance_waiver", &waiver.id);
    audit.detail("framework", waiver.framework.as_str());
    audit.detail("control", waiver.control.as_str());
    audit.detail("expires_at", waiver.expires_at_text());
    Ok((StatusCode::CREATED, Json(waiver_json(&waiver, now))))
}

/// The waivers not revoked (expired ones too).
#[utoipa::path(get, path = "/v1/compliance/waivers", tag = "compliance", security(("bearer" = [])),
    responses((status = 200, description = "Waivers, oldest first", body = WaiverList)))]
pub async fn list_waivers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    let now = OffsetDateTime::now_utc();
    let waivers = state.compliance().waivers().await.map_err(failed)?;
    Ok(Json(json!({
        "items": waivers.iter().map(|w| waiver_json(w, now)).collect::<Vec<_>>()
    })))
}

/// Revokes a waiver (it stays on record).
#[utoipa::path(delete, path = "/v1/compliance/waivers/{id}", tag = "compliance", security(("bearer" = [])),
    params(("id" = String, Path, description = "`wvr_…`")),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "No such waiver in force", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn revoke_waiver(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("compliance.waiver_revoke", "compliance_waiver", &id);
    caller.require::<perm::ComplianceManage>(&state.policy())?;
    state
        .compliance()
        .revoke_waiver(
            &id,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/compliance/controls/{framework}/{control}/history`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// At most this many results (1..=10000, default 1000).
    pub limit: Option<u32>,
    /// Only results before this time (RFC 3339): the next page.
    pub before: Option<String>,
}

/// One past result.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct HistoryItem {
    /// When it was evaluated.
    pub evaluated_at: String,
    /// `pass`, `fail`, `manual`, `waived` or `not_applicable`.
    pub status: String,
    /// The report it was part of; null for the daily evaluation.
    pub report_id: Option<String>,
}

/// A control's history.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct HistoryAnswer {
    /// The framework.
    pub framework: String,
    /// The control.
    pub control: String,
    /// Newest first.
    pub items: Vec<HistoryItem>,
}

/// Every past result of a control (each report's and the daily evaluation's,
/// `compliance_interval_seconds`), newest first: the record of a SOC 2 Type II period.
#[utoipa::path(get, path = "/v1/compliance/controls/{framework}/{control}/history", tag = "compliance",
    security(("bearer" = [])),
    params(("framework" = String, Path, description = "The framework"),
        ("control" = String, Path, description = "The control's id"), HistoryQuery),
    responses((status = 200, description = "Results, newest first", body = HistoryAnswer),
        (status = 404, description = "No such framework or control", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn control_history(
    State(state): State<AppState>,
    caller: Caller,
    Path((framework, control)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    let before = match &query.before {
        None => None,
        Some(text) => Some(
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| invalid("before", "must be an RFC 3339 time"))?,
        ),
    };
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(invalid("limit", "must be from 1 to 10000"));
    }
    let items = state
        .compliance()
        .history(&framework, &control, before, limit)
        .await
        .map_err(failed)?;
    Ok(Json(json!({
        "framework": framework,
        "control": control,
        "items": items.iter().map(|h| json!({
            "evaluated_at": rampart_compliance::rfc3339(h.evaluated_at),
            "status": h.status.as_str(),
            "report_id": h.report_id.as_ref().map(|id| id.as_str()),
        })).collect::<Vec<_>>(),
    })))
}
