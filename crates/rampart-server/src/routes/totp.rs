//! Second factors (RFC 6238 TOTP): a principal enrols its own, in a session, and confirms it
//! with a current code; only an administrator removes one. Secrets are sealed by the KEK and
//! never reach a log, an error or the audit log.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::IdentityChange;
use rampart_access::SealedBytes;
use rampart_access::identity::{IdentityError, TotpOpener};
use rampart_access::perm;
use rampart_access::totp::{Totp, TotpSecret, otpauth_uri};
use rampart_crypto::SealContext;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::{Caller, CredentialKind};
use crate::http::json::ApiJson;
use crate::http::request::invalid;
use crate::problem::ApiError;
use crate::routes::identity::commit_identity;
use crate::routes::identity::{load, may_manage, principal_id};
use crate::state::AppState;

fn totp_context(id: Uuid) -> SealContext {
    SealContext::new(format!("totp/{id}"), 1)
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

/// The identity service's [`TotpOpener`]: TOTP secrets sealed by the deployment's KEK.
pub(super) struct KekTotp<'a>(pub(super) &'a AppState);

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

/// A second factor is enrolled only by its owner, logged in with a session (never with an API
/// key, which is not a proof of presence), and never by anyone else: whoever enrols a factor
/// for another principal holds that principal's second factor.
fn self_in_session(caller: &Caller, id: Uuid) -> Result<(), ApiError> {
    if caller.principal().id == id && caller.kind() == CredentialKind::Session {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the principal itself, logged in with a session (nobody enrols a second factor for someone else)",
        ))
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
    self_in_session(&caller, id)?;
    let record = load(&state, id).await?;
    // Replacing a second factor in force takes an administrator's removal first, not only
    // the password.
    if record.totp_enabled {
        return Err(ApiError::conflict(
            "TOTP is enabled; replacing it takes an administrator's removal first (DELETE /v1/principals/{id}/totp)",
        ));
    }
    let secret = TotpSecret::generate().map_err(|e| ApiError::internal(&e))?;
    let sealed = state
        .keys()
        .kek()
        .seal(&totp_context(id), secret.as_bytes())
        .map_err(|e| ApiError::internal(&e))?;
    let sealed = rampart_access::SealedBytes::from_bytes(sealed.as_bytes().to_vec());
    commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::CREATED,
        IdentityChange::SetTotpPending { id, sealed },
    )
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
    self_in_session(&caller, id)?;
    let code = body.code.as_str();
    let record = load(&state, id).await?;
    let pending = record.totp_pending.clone().ok_or_else(|| {
        ApiError::conflict("no TOTP enrollment is pending: POST /v1/principals/{id}/totp first")
    })?;
    let bytes = state
        .keys()
        .kek()
        .open(
            &totp_context(id),
            &rampart_crypto::SealedSecret::from_bytes(pending.as_bytes().to_vec()),
        )
        .map_err(|e| ApiError::internal(&e))?;
    let secret = TotpSecret::from_bytes(bytes.expose_secret());
    let now = now_unix(OffsetDateTime::now_utc());
    let step = Totp::DEFAULT
        .verify(&secret, code, now, 1, record.totp_last_step)
        .ok_or_else(|| invalid("code", "is not the current code of this secret"))?;
    i64::try_from(step).map_err(|_| invalid("code", "is out of range"))?;
    if !commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::OK,
        IdentityChange::ConfirmTotp {
            id,
            checked: pending,
            step,
        },
    )
    .await?
    {
        return Err(ApiError::conflict(
            "another enrollment replaced this one meanwhile; enroll again",
        ));
    }
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
