//! Data subjects (API.md "Data subjects: consent, export, erasure (GDPR)"): the consent
//! ledger, the signed export and erasure with its certificate. Handlers parse, check the
//! permission, call `SubjectService` and map the result; every change is audited (the
//! erasure's entry names the destroyed keys, so `rampart gdpr replay-erasures` can re-destroy
//! them from an audit export after a restore, and never the subject's id in clear).

mod schema;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_app::subjects::SubjectError;
use rampart_app::subjects::consents::{consent_json, consents_json};
use rampart_subjects::{ConfirmationDocument, ConsentDocument, ConsentFilter, ErasureDocument};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::visible_teams;
use super::monitor::document;
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::page_limit;
use crate::problem::ApiError;
use crate::state::AppState;

pub(crate) use schema::*;

/// A data-subject error as an answer.
pub(crate) fn failed(error: SubjectError) -> ApiError {
    match error {
        SubjectError::Invalid(invalid) => ApiError::refused_document(&invalid),
        SubjectError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
        SubjectError::Conflict(message) => ApiError::conflict(message),
        held @ SubjectError::Held { .. } => ApiError::conflict(held.to_string()),
        other => ApiError::internal(&other),
    }
}

/// Records a consent change (the ledger is append-only).
#[utoipa::path(post, path = "/v1/subjects/{id}/consents", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "The data subject's id")),
    request_body = ConsentBody,
    responses((status = 201, description = "The record", body = ConsentRecordBody),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn record_consent(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("gdpr.consent", "consent", "new");
    caller.require::<perm::GdprManage>(&state.policy())?;
    let body: ConsentDocument = document(body)?;
    let record = state
        .subjects()
        .record_consent(
            &id,
            body,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.note("gdpr.consent", "consent", &record.id.to_string());
    audit.subject(&id);
    audit.detail("purpose", record.purpose.as_str());
    audit.detail("given", record.given);
    audit.detail("policy_version", json!(record.policy_version));
    Ok((StatusCode::CREATED, Json(consent_json(&record))))
}

/// A subject's consents: what each purpose stands at, and the whole history.
#[utoipa::path(get, path = "/v1/subjects/{id}/consents", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "The data subject's id")),
    responses((status = 200, description = "Current consents and history", body = ConsentsBody)))]
pub async fn get_consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::GdprRead>(&state.policy())?;
    let history = state.subjects().consents(&id).await.map_err(failed)?;
    Ok(Json(consents_json(&history)))
}

/// `GET /v1/consents`' filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    /// The purpose.
    pub purpose: String,
    /// Only subjects whose current consent is this.
    pub given: Option<bool>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Subjects by their current consent to a purpose.
#[utoipa::path(get, path = "/v1/consents", tag = "subjects", security(("bearer" = [])),
    params(HoldersQuery),
    responses((status = 200, description = "Subjects, in id order", body = ConsentHoldersBody),
        (status = 422, description = "A parameter is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<HoldersQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::GdprRead>(&state.policy())?;
    let limit = page_limit(query.limit)?;
    let filter = ConsentFilter {
        purpose: query.purpose,
        given: query.given,
        after: query.cursor,
        limit,
    };
    let holders = state
        .subjects()
        .consent_holders(&filter)
        .await
        .map_err(failed)?;
    let next_cursor = (holders.len() == limit as usize)
        .then(|| holders.last().map(|h| h.subject_id.clone()))
        .flatten();
    Ok(Json(json!({
        "items": holders.iter().map(|h| json!({
            "subject_id": h.subject_id,
            "given": h.given,
            "at": rampart_app::monitor::rfc3339(h.at),
        })).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// Everything Rampart holds about a subject, signed with the audit log's key (Art. 20).
#[utoipa::path(get, path = "/v1/subjects/{id}/export", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "The data subject's id")),
    responses((status = 200, description = "The signed export", body = SubjectExportBody),
        (status = 403, description = "The caller's roles do not bypass team isolation (an export holds every team's entries)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many entries for one document", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    audit.note("gdpr.export", "data_subject", "export");
    audit.record_read();
    caller.require::<perm::GdprRead>(&state.policy())?;
    if visible_teams(&state, &caller).is_some() {
        return Err(ApiError::forbidden(
            "an export holds the subject's entries of every team: it needs a role that bypasses team isolation",
        ));
    }
    let document = state
        .subjects()
        .export(&id, OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.subject(&id);
    audit.detail(
        "audit_entries",
        document
            .get("audit_entries")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
    );
    Ok(Json(document))
}

/// Erases a subject (Art. 17): Rampart's part at once, the named stores' by confirmation.
#[utoipa::path(post, path = "/v1/subjects/{id}/erasure", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "The data subject's id")),
    request_body = ErasureBody,
    responses((status = 202, description = "Erasure recorded; `completed` when no store was named", body = ErasureAccepted),
        (status = 200, description = "Nothing was left to erase: the subject's earlier erasure", body = ErasureAccepted),
        (status = 409, description = "The subject is under legal hold, or another erasure came first", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn request_erasure(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("gdpr.erasure", "erasure", "new");
    caller.require::<perm::GdprManage>(&state.policy())?;
    let body: ErasureDocument = document(body)?;
    let requested = state
        .subjects()
        .request_erasure(
            &id,
            body,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    let erasure = &requested.erasure;
    if erasure.effects.principals > 0 {
        // Linked principals were disabled: this server stops honouring them at once (others
        // within the identity-cache period).
        state.identity().cache.clear();
    }
    let status = if requested.created {
        audit.note("gdpr.erasure", "erasure", erasure.id.as_str());
        audit.detail("subject_id_sha256", erasure.subject_id_sha256.as_str());
        audit.detail(
            "subject_keys",
            json!(
                erasure
                    .subject_keys
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        audit.detail("stores", json!(erasure.stores));
        audit.detail("audit_entries", erasure.effects.audit_entries);
        audit.detail("consents", erasure.effects.consents);
        audit.detail("principals", erasure.effects.principals);
        audit.detail("card_tokens", erasure.effects.card_tokens);
        StatusCode::ACCEPTED
    } else {
        audit.note("gdpr.erasure.repeated", "erasure", erasure.id.as_str());
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"id": erasure.id.as_str(), "status": erasure.status().as_str()})),
    ))
}

/// `GET /v1/erasures`' page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ErasuresQuery {
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Erasures, oldest first (each with its status and pending stores).
#[utoipa::path(get, path = "/v1/erasures", tag = "subjects", security(("bearer" = [])),
    params(ErasuresQuery),
    responses((status = 200, description = "A page of erasures", body = ErasureListBody)))]
pub async fn list_erasures(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ErasuresQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::GdprRead>(&state.policy())?;
    let limit = page_limit(query.limit)?;
    let after = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(rampart_subjects::ErasureId::parse(text).ok_or_else(|| {
            ApiError::validation(vec![super::audit::field(
                "cursor",
                "is not a cursor of this list",
            )])
        })?),
    };
    let page = state
        .subjects()
        .erasures(after.as_ref(), limit)
        .await
        .map_err(failed)?;
    let next_cursor = (page.len() == limit as usize)
        .then(|| page.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(json!({
        "items": page.iter().map(|e| json!({
            "id": e.id.as_str(),
            "status": e.status().as_str(),
            "subject_id_sha256": e.subject_id_sha256,
            "requested_at": rampart_app::monitor::rfc3339(e.requested_at),
            "completed_at": e.completed_at.map(rampart_app::monitor::rfc3339),
            "pending_stores": e.pending_stores(),
        })).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// An erasure's status and its certificate, signed with the audit log's key.
#[utoipa::path(get, path = "/v1/erasures/{id}", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "`era_…`")),
    responses((status = 200, description = "The signed certificate", body = ErasureCertificate),
        (status = 404, description = "No such erasure", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_erasure(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::GdprRead>(&state.policy())?;
    let subjects = state.subjects();
    let erasure = subjects.erasure(&id).await.map_err(failed)?;
    Ok(Json(subjects.certificate(&erasure).map_err(failed)?))
}

/// One of the named stores confirms it cleared the subject's data.
#[utoipa::path(post, path = "/v1/erasures/{id}/confirmations", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "`era_…`")),
    request_body = ConfirmationBody,
    responses((status = 201, description = "Recorded: the signed certificate as it now stands", body = ErasureCertificate),
        (status = 404, description = "No such erasure", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "That store already confirmed", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The erasure did not name that store", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn confirm_erasure(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("gdpr.erasure.confirm", "erasure", &id);
    caller.require::<perm::GdprManage>(&state.policy())?;
    let body: ConfirmationDocument = document(body)?;
    let (store, records) = (body.store.clone(), body.records_deleted);
    let subjects = state.subjects();
    let erasure = subjects
        .confirm(
            &id,
            body,
            &caller.principal().id.to_string(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.detail("store", store.as_str());
    audit.detail("records_deleted", records);
    audit.detail("status", erasure.status().as_str());
    Ok((
        StatusCode::CREATED,
        Json(subjects.certificate(&erasure).map_err(failed)?),
    ))
}

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_consent, get_consents))
        .routes(routes!(list_consents))
        .routes(routes!(export))
        .routes(routes!(request_erasure))
        .routes(routes!(list_erasures))
        .routes(routes!(get_erasure))
        .routes(routes!(confirm_erasure))
}
