//! Retention policies and disposal runs (API.md "Retention and legal hold"): policies listed
//! and set (perm `retention:configure`; shortening a governance policy also needs
//! `retention:override`; a compliance policy is never shortened or removed: `409`), runs
//! started and followed, the application's confirmations, and the signed certificates.
//! Every policy change is audited as `retention.changed` with before and after.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_app::retention::{RetentionError, policy_json, run_json};
use rampart_retention::PolicyDocument;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::ApiError;
use crate::routes::monitor::document;
use crate::state::AppState;

/// A retention error as the API answers it.
pub(crate) fn refused(error: RetentionError) -> ApiError {
    match error {
        RetentionError::Invalid(invalid) => ApiError::refused_document(&invalid),
        RetentionError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
        RetentionError::Conflict(message) => ApiError::conflict(message),
        RetentionError::Forbidden(_) => ApiError::forbidden("retention:override"),
        other => ApiError::internal(&other),
    }
}

/// `PUT /v1/retention/policies/{data_type}`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(
    dead_code,
    reason = "schema only: the body is read by rampart_retention"
)]
pub struct RetentionPolicyBody {
    /// How long, in days (or `retain_seconds`; exactly one).
    pub retain_days: Option<u64>,
    /// How long, in seconds (`0`: everything older than the run).
    pub retain_seconds: Option<u64>,
    /// `governance` (shortened only with `retention:override`) or `compliance` (never
    /// shortened or removed).
    pub mode: String,
}

/// A policy.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct PolicyAnswer {
    /// `audit_entries`, `audit_entries:<tag>`, `consents`, `alerts`, `incidents`, `sessions`,
    /// `webhook_deliveries`, `erasures` or `app:<name>`.
    pub data_type: String,
    /// How long, in seconds.
    pub retain_seconds: u64,
    /// The same in days, when whole.
    pub retain_days: Option<u64>,
    /// `governance` or `compliance`.
    pub mode: String,
    /// When it was last set.
    pub updated_at: String,
    /// Who set it (`default` for the built-in defaults).
    pub updated_by: String,
}

/// The policies.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct PolicyList {
    /// By data type.
    pub items: Vec<PolicyAnswer>,
}

/// Every policy.
#[utoipa::path(get, path = "/v1/retention/policies", tag = "retention", security(("bearer" = [])),
    responses((status = 200, description = "The policies", body = PolicyList)))]
pub async fn list_retention_policies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let policies = state.retention().policies().await.map_err(refused)?;
    Ok(Json(
        json!({"items": policies.iter().map(policy_json).collect::<Vec<_>>()}),
    ))
}

/// Sets a data type's policy.
#[utoipa::path(put, path = "/v1/retention/policies/{data_type}", tag = "retention", security(("bearer" = [])),
    params(("data_type" = String, Path, description = "The data type")),
    request_body = RetentionPolicyBody,
    responses((status = 200, description = "The policy", body = PolicyAnswer),
        (status = 403, description = "Shortening a governance policy needs retention:override", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A compliance policy is never shortened", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_retention_policy(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(data_type): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("retention.changed", "retention_policy", &data_type);
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let can_override = caller
        .require::<perm::RetentionOverride>(&state.policy())
        .is_ok();
    let body: PolicyDocument = document(body)?;
    let (old, policy, change) = state
        .retention()
        .set_policy(
            &data_type,
            &body,
            can_override,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(refused)?;
    audit.detail("change", change.as_str());
    audit.detail("before", old.as_ref().map_or(Value::Null, policy_json));
    audit.detail("after", policy_json(&policy));
    Ok(Json(policy_json(&policy)))
}

/// Removes a data type's policy (its records are kept from then on).
#[utoipa::path(delete, path = "/v1/retention/policies/{data_type}", tag = "retention", security(("bearer" = [])),
    params(("data_type" = String, Path, description = "The data type")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No policy for that data type", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A compliance policy is never removed", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn remove_retention_policy(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(data_type): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("retention.changed", "retention_policy", &data_type);
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let old = state
        .retention()
        .remove_policy(&data_type)
        .await
        .map_err(refused)?;
    audit.detail("change", "removed");
    audit.detail("before", policy_json(&old));
    audit.detail("after", Value::Null);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/retention/run`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Count only, dispose of nothing (answered when done).
    #[serde(default)]
    pub dry_run: bool,
}

/// Starts a disposal run (or resumes one a crash interrupted). A dry run is answered when
/// done (`200`); a real run is answered at once (`202`) and followed at
/// `GET /v1/retention/runs/{id}`.
#[utoipa::path(post, path = "/v1/retention/run", tag = "retention", security(("bearer" = [])),
    params(RunQuery),
    responses((status = 200, description = "The dry run, done", body = Object),
        (status = 202, description = "The run, started", body = Object)))]
pub async fn start_retention_run(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Query(query): Query<RunQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("retention.run", "retention_run", "new");
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let by = caller.principal().id.to_string();
    let retention = state.retention_shared();
    // The request's own entry records the run; its counts are in the run and its
    // certificates (the job and the CLI, which have no request, record `retention.run_finished`).
    if query.dry_run {
        let run = retention
            .start_run(true, &by, OffsetDateTime::now_utc())
            .await
            .map_err(refused)?;
        let run = retention
            .execute(&run.id, |_, _| {})
            .await
            .map_err(refused)?;
        audit.note("retention.run", "retention_run", run.id.as_str());
        audit.detail("dry_run", true);
        return Ok((StatusCode::OK, Json(run_json(&run, &[]))));
    }
    let run = retention
        .start_run(false, &by, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    audit.note("retention.run", "retention_run", run.id.as_str());
    audit.detail("dry_run", false);
    let answer = run_json(&run, &[]);
    tokio::spawn(async move {
        if let Err(error) = retention.execute(&run.id, |_, _| {}).await {
            tracing::error!(error = %error, "the disposal run failed; the retention job resumes it");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// A run: each data type's cutoff, state and counts, and which application data types are
/// still unconfirmed.
#[utoipa::path(get, path = "/v1/retention/runs/{id}", tag = "retention", security(("bearer" = [])),
    params(("id" = String, Path, description = "`run_…`")),
    responses((status = 200, description = "The run", body = Object),
        (status = 404, description = "No such run", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_retention_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let (run, confirmations) = state.retention().run(&id).await.map_err(refused)?;
    Ok(Json(run_json(&run, &confirmations)))
}

/// `POST /v1/retention/runs/{id}/confirmations`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisposalConfirmationBody {
    /// `app:<name>`.
    pub data_type: String,
    /// How many records the application deleted.
    pub records_deleted: u64,
    /// It deleted everything before this time (RFC 3339).
    pub deleted_before: String,
}

/// The application confirms it disposed of one of its data types; answers the signed
/// certificate.
#[utoipa::path(post, path = "/v1/retention/runs/{id}/confirmations", tag = "retention", security(("bearer" = [])),
    params(("id" = String, Path, description = "`run_…`")),
    request_body = DisposalConfirmationBody,
    responses((status = 201, description = "The disposal certificate", body = Object),
        (status = 409, description = "Confirmed already, or nothing was due", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn confirm_app_disposal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("retention.confirmed", "retention_run", &id);
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let body: DisposalConfirmationBody = document(body)?;
    let before = OffsetDateTime::parse(&body.deleted_before, &Rfc3339).map_err(|_| {
        refused(RetentionError::field(
            "deleted_before",
            "must be an RFC 3339 time",
        ))
    })?;
    let certificate = state
        .retention()
        .confirm(
            &id,
            &body.data_type,
            body.records_deleted,
            before,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(refused)?;
    audit.detail("data_type", body.data_type.as_str());
    audit.detail("records_deleted", body.records_deleted);
    Ok((StatusCode::CREATED, Json(certificate)))
}

/// `GET /v1/retention/certificates`' query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificatesQuery {
    /// Continue after this certificate id.
    pub after: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Disposal certificates, signed with the audit log's key (verify with
/// `GET /v1/audit/public-key`), oldest first.
#[utoipa::path(get, path = "/v1/retention/certificates", tag = "retention", security(("bearer" = [])),
    params(CertificatesQuery),
    responses((status = 200, description = "`{\"items\": [...]}`", body = Object)))]
pub async fn list_disposal_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CertificatesQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::RetentionConfigure>(&state.policy())?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let items = state
        .retention()
        .certificates(query.after.as_deref(), limit)
        .await
        .map_err(refused)?;
    Ok(Json(json!({"items": items})))
}
