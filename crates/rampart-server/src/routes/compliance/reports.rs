//! The frameworks, reports (made now against the running deployment, signed, kept and
//! audited; served as JSON, one self-contained HTML page or OSCAL assessment results) and
//! their evidence packages.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rampart_access::perm;
use rampart_compliance::{FrameworkId, frameworks};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::io::ReaderStream;
use utoipa::{IntoParams, ToSchema};

use super::failed;
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::invalid;
use crate::problem::ApiError;
use crate::state::AppState;

/// A control as `GET /v1/compliance/frameworks` lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlAnswer {
    /// `pci-dss-3.5.1`.
    pub id: String,
    /// Short title.
    pub title: String,
    /// The requirement it maps to.
    pub requirement: String,
    /// What Rampart checks.
    pub checks: String,
    /// Whether a person must judge it (it is then always `manual` unless waived).
    pub manual: bool,
}

/// A framework.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrameworkAnswer {
    /// `soc2`, `pci-dss`, `hipaa`, `gdpr` or `mifid2`.
    pub id: String,
    /// Full title.
    pub title: String,
    /// The standard's version the controls cite.
    pub version: String,
    /// Its controls.
    pub controls: Vec<ControlAnswer>,
}

/// The frameworks.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrameworkList {
    /// Every framework.
    pub items: Vec<FrameworkAnswer>,
}

/// The frameworks Rampart reports on, each with its controls.
#[utoipa::path(get, path = "/v1/compliance/frameworks", tag = "compliance", security(("bearer" = [])),
    responses((status = 200, description = "The frameworks", body = FrameworkList)))]
pub async fn list_frameworks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<FrameworkList>, ApiError> {
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    Ok(Json(FrameworkList {
        items: frameworks::all()
            .map(|f| FrameworkAnswer {
                id: f.id.as_str().to_owned(),
                title: f.title.to_owned(),
                version: f.version.to_owned(),
                controls: f
                    .controls
                    .iter()
                    .map(|c| ControlAnswer {
                        id: c.id.to_owned(),
                        title: c.title.to_owned(),
                        requirement: c.requirement.to_owned(),
                        checks: c.checks.to_owned(),
                        manual: c.is_manual(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// `POST /v1/compliance/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// `soc2`, `pci-dss`, `hipaa`, `gdpr` or `mifid2`.
    pub framework: String,
}

/// A report (the signed document).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct ReportAnswer {
    /// `rpt_…`.
    pub id: String,
    /// The framework.
    pub framework: String,
    /// When it was made.
    pub generated_at: String,
    /// Counts of `pass`, `fail`, `manual`, `waived`, `not_applicable`.
    #[schema(value_type = Object)]
    pub summary: Value,
    /// Each control: `id`, `title`, `requirement`, `checks`, `status`, `judged`, `reason`,
    /// `evidence` (`[{"fact", "value", "source"}]`), `remediation`, `waiver`.
    #[schema(value_type = Vec<Object>)]
    pub controls: Vec<Value>,
    /// Every fact gathered: `name`, `title`, `value`, `source`.
    #[schema(value_type = Vec<Object>)]
    pub facts: Vec<Value>,
    /// The audit log it covers: `from_seq`, `tree_size`, `root_hash`.
    #[schema(value_type = Object)]
    pub audit: Value,
    /// Ed25519 by the audit log's key over the RFC 8785 form without this member.
    pub signature_b64: String,
}

fn json_document(text: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}

/// Evaluates a framework against the running deployment now; the report is signed, kept
/// and audited, and every control's result goes into its history.
#[utoipa::path(post, path = "/v1/compliance/reports", tag = "compliance", security(("bearer" = [])),
    request_body = ReportRequest,
    responses((status = 201, description = "The report", body = ReportAnswer),
        (status = 422, description = "Not a framework", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_report(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    audit.note("compliance.report_generate", "compliance_report", "new");
    caller.require::<perm::ComplianceManage>(&state.policy())?;
    let body: ReportRequest = super::body(body)?;
    let framework: FrameworkId = body
        .framework
        .parse()
        .map_err(|e: rampart_compliance::UnknownFramework| invalid("framework", e.to_string()))?;
    let generated = state
        .compliance()
        .generate(
            framework,
            &caller.principal().name,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    let summary = &generated.report.summary;
    audit.note(
        "compliance.report_generate",
        "compliance_report",
        generated.report.id.as_str(),
    );
    audit.detail("framework", framework.as_str());
    audit.detail("summary", json!(summary));
    audit.detail("tree_size", generated.report.audit.tree_size);
    let mut response = json_document(generated.stored.document);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// `GET /v1/compliance/reports`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this framework.
    pub framework: Option<String>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<u32>,
}

/// A report as listed.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct ReportListItem {
    /// `rpt_…`.
    pub id: String,
    /// The framework.
    pub framework: String,
    /// When it was made.
    pub generated_at: String,
    /// The audit tree size it verified.
    pub tree_size: u64,
}

/// Reports.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct ReportList {
    /// Newest first.
    pub items: Vec<ReportListItem>,
}

/// The reports kept, newest first.
#[utoipa::path(get, path = "/v1/compliance/reports", tag = "compliance", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "Reports, newest first", body = ReportList)))]
pub async fn list_reports(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    let framework = query
        .framework
        .as_deref()
        .map(str::parse::<FrameworkId>)
        .transpose()
        .map_err(|e| invalid("framework", e.to_string()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit", "must be from 1 to 1000"));
    }
    let reports = state
        .compliance()
        .reports(framework, limit)
        .await
        .map_err(failed)?;
    Ok(Json(json!({
        "items": reports.iter().map(|r| json!({
            "id": r.id.as_str(),
            "framework": r.framework.as_str(),
            "generated_at": rampart_compliance::rfc3339(r.generated_at),
            "tree_size": r.tree_size,
        })).collect::<Vec<_>>()
    })))
}

/// `GET /v1/compliance/reports/{id}`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `json` (the signed document, the default), `html` (one self-contained page) or
    /// `oscal` (NIST OSCAL 1.1.2 assessment results).
    pub format: Option<String>,
}

/// A report kept, as JSON (signed), HTML or OSCAL.
#[utoipa::path(get, path = "/v1/compliance/reports/{id}", tag = "compliance", security(("bearer" = [])),
    params(("id" = String, Path, description = "`rpt_…`"), FormatQuery),
    responses((status = 200, description = "The report: the signed JSON document, one self-contained HTML page (`format=html`), or OSCAL 1.1.2 assessment results (`format=oscal`)",
            content((ReportAnswer = "application/json"), (String = "text/html"))),
        (status = 404, description = "No such report", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    let format = query.format.as_deref().unwrap_or("json");
    if !["json", "html", "oscal"].contains(&format) {
        return Err(invalid("format", "must be json, html or oscal"));
    }
    let (stored, report) = state.compliance().report(&id).await.map_err(failed)?;
    Ok(match format {
        "html" => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            rampart_compliance::html(&report),
        )
            .into_response(),
        "oscal" => Json(rampart_compliance::oscal(&report)).into_response(),
        _ => json_document(stored.document),
    })
}

/// The evidence package of a report: a zip of `report.json`, the audit export of the
/// report's period with its checkpoint, the configuration (secrets redacted), the public keys
/// and a signed `manifest.json` (SHA-256 of every file). `rampart compliance verify` checks
/// it offline.
#[utoipa::path(get, path = "/v1/compliance/reports/{id}/evidence", tag = "compliance", security(("bearer" = [])),
    params(("id" = String, Path, description = "`rpt_…`")),
    responses((status = 200, description = "The package", body = Vec<u8>, content_type = "application/zip"),
        (status = 404, description = "No such report", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_evidence(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    audit.note("compliance.evidence_export", "compliance_report", &id);
    caller.require::<perm::ComplianceRead>(&state.policy())?;
    audit.record_read();
    let package = state
        .compliance()
        .evidence_package(&id, OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    let disposition = format!("attachment; filename=\"rampart-evidence-{id}.zip\"");
    // Streamed from its unnamed temporary file, which is closed (and so freed) when the body
    // is dropped: sent in full, or the client gone.
    let file = tokio::fs::File::from_std(package.file);
    let body = Body::from_stream(ReaderStream::with_capacity(file, 64 * 1024));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(package.len)),
        ],
        body,
    )
        .into_response())
}
