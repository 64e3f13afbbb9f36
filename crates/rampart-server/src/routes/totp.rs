//! Second factors (RFC 6238 TOTP): a principal enrols its own, in a session, and confirms it
//! with a current code; only an administrator removes one. Secrets are sealed by the KEK and
//! never reach a log, an error or the audit log.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::IdentityChange;
use rampart_access::SealedBytes;
use rampart_access::identity::{IdentityError, TotpOpener, TotpSealer};
use rampart_access::perm;
use rampart_access::totp::{TotpSecret, otpauth_uri};
use rampart_crypto::SealContext;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::ApiError;
use crate::routes::identity::commit_identity;
use crate::routes::identity::{load, may_manage, principal_id};
use crate::state::AppState;

fn totp_context(id: Uuid) -> SealContext {
    rampart_app::maintenance::totp_seal_context(id)
}

/// A new TOTP secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrollment {
    /// The secret, base32 (RFC 4648, no padding).
    pub secret_b32: String,
    /// The `otpauth://totp/…` URI for authenticator apps.
    pub otpauth_uri: String,
}

/// `POST /v1/principals/{id}/totp/confirm`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    /// The current code of the pending secret.
    pub code: String,
}

/// Whether TOTP is enabled.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpState {
    /// Whether TOTP is enabled now.
    pub totp_enabled: bool,
}

/// The identity service's [`TotpOpener`] and [`TotpSealer`]: TOTP secrets sealed by the
/// deployment's KEK.
pub(super) struct KekTotp<'a>(pub(super) &'a AppState);

impl TotpSealer for KekTotp<'_> {
    fn seal(&self, principal: Uuid, secret: &TotpSecret) -> Result<SealedBytes, IdentityError> {
        let sealed = self
            .0
            .keys()
            .kek()
            .seal(&totp_context(principal), secret.as_bytes())
            .map_err(IdentityError::store)?;
        Ok(SealedBytes::from_bytes(sealed.as_bytes().to_vec()))
    }
}

impl TotpOpener for KekTotp<'_> {
    fn open(&self, principal: Uuid, sealed: &SealedBytes) -> Result<TotpSecret, IdentityError> {
        let bytes = self
            .0
            .keys()
            .kek()
            .open(
                &totp_context(principal),
                &rampart_crypto::SealedSecret::from_bytes(sealed.as_bytes().to_vec()),
            )
            .map_err(IdentityError::store)?;
        Ok(TotpSecret::from_bytes(bytes.expose_secret()))
    }
}

/// Starts TOTP enrollment: a new secret, in effect after confirmation.
#[utoipa::path(post, path = "/v1/principals/{id}/totp", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 201, description = "The new secret, in effect after confirmation", body = TotpEnrollment),
        (status = 409, description = "TOTP is enabled already", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn enroll_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TotpEnrollment>), ApiError> {
    audit.note("principals.totp_enroll", "principal", &id);
    let id = principal_id(&id)?;
    let journal = audit.journal(&state, &caller, StatusCode::CREATED);
    let (secret, record) = state
        .enrolment()
        .begin(&caller, id, &KekTotp(&state), &journal)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrollment {
            secret_b32: secret.to_base32(),
            otpauth_uri: otpauth_uri("Rampart", &record.principal.name, &secret),
        }),
    ))
}

pub(super) fn now_unix(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp()).unwrap_or(0)
}

/// Confirms TOTP enrollment with a current code.
#[utoipa::path(post, path = "/v1/principals/{id}/totp/confirm", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    request_body = ConfirmTotpRequest,
    responses((status = 200, description = "TOTP is enabled", body = TotpState),
        (status = 409, description = "No enrollment pending, or another one replaced it", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmTotpRequest>,
) -> Result<Json<TotpState>, ApiError> {
    audit.note("principals.totp_confirm", "principal", &id);
    let id = principal_id(&id)?;
    let journal = audit.journal(&state, &caller, StatusCode::OK);
    state
        .enrolment()
        .confirm(
            &caller,
            id,
            body.code.as_str(),
            now_unix(OffsetDateTime::now_utc()),
            &KekTotp(&state),
            &journal,
        )
        .await?;
    Ok(Json(TotpState { totp_enabled: true }))
}

/// Removes TOTP.
#[utoipa::path(delete, path = "/v1/principals/{id}/totp", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 200, description = "TOTP is removed", body = TotpState)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<TotpState>, ApiError> {
    audit.note("principals.totp_remove", "principal", &id);
    caller.require::<perm::UsersManage>(&state.policy())?;
    let id = principal_id(&id)?;
    let target = load(&state, id).await?;
    may_manage(&state, &caller, &target.principal)?;
    if !commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::OK,
        IdentityChange::RemoveTotp { id },
    )
    .await?
    {
        return Err(ApiError::not_found("no principal with that id"));
    }
    Ok(Json(TotpState {
        totp_enabled: false,
    }))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll_totp, remove_totp))
        .routes(routes!(confirm_totp))
}
