//! Login, sessions, logout and introspection.
//!
//! Login answers an unknown name and a wrong password with the same 401 after the same work
//! (a dummy argon2id verification). Attempts are counted by the name as sent (never by
//! principal, so unknown names lock and answer alike) and reserved before any verification:
//! `max_login_attempts` per name and address (IPv6 by /64) and `account_lockout_failures` per
//! name within `lockout_seconds`; a locked attempt gets 423 after a dummy verification, for
//! `lockout_seconds`, or until an administrator unlocks. Hashing runs on blocking threads, at
//! most one per core. Passwords, TOTP secrets and codes never reach a log, an error or the audit
//! log.

use crate::http::audit_trail::only_when_noted;
use rampart_access::perm;
use std::net::IpAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use rampart_access::IdentityChange;
use rampart_access::identity::{LoggedIn, LoginAttempt, LoginError, Logins};
use rampart_access::session::SessionClaims;
use rampart_access::{LoginLimits, SessionRecord};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::hash_pool::PooledPasswords;
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::{Caller, CallerSlot, CredentialError, CredentialKind, check_credential};
use crate::http::context::ClientIp;
use crate::http::json::ApiJson;
use crate::http::request::{invalid, time_text};
use crate::metrics::LoginResult;
use crate::problem::ApiError;
use crate::routes::identity::commit_identity;
use crate::routes::totp::KekTotp;
use crate::state::AppState;

fn retry_after(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> ApiError {
    use governor::clock::{Clock as _, DefaultClock};
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::rate_limited(wait.as_secs().max(1))
}

/// The per-address limiter's key: the address, or for IPv6 its /64 (one host usually holds a
/// whole /64, so counting single addresses would let it rotate past the limit).
fn limiter_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
        v4 => v4,
    }
}

/// The answer to a failed login: the same for an unknown name, a disabled principal and a wrong
/// password.
fn login_failed() -> ApiError {
    ApiError::unauthenticated_detail("the name or the password is wrong")
}

/// The answer to a locked login: the same for every name, known or not, whether the lock holds
/// for this address or for the whole account.
fn login_locked() -> ApiError {
    ApiError::locked(
        "too many failed logins for this name: try later or ask an administrator to unlock it",
    )
}

/// The source a login is throttled by: the client address, IPv6 by its /64.
fn throttle_source(client_ip: Option<IpAddr>) -> String {
    match client_ip.map(limiter_address) {
        Some(IpAddr::V6(prefix)) => format!("{prefix}/64"),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => "-".to_owned(),
    }
}

/// The answer to a refused login.
fn login_error(e: LoginError) -> ApiError {
    match e {
        LoginError::Failed => login_failed(),
        LoginError::Locked | LoginError::LockedNow => login_locked(),
        LoginError::SecondFactorRequired { enrolled: true } => {
            ApiError::mfa_required("send the current TOTP code as \"totp\"")
        }
        LoginError::SecondFactorRequired { enrolled: false } => ApiError::mfa_required(
            "a role of this principal requires a second factor: enroll TOTP (POST /v1/principals/{id}/totp) first",
        ),
        LoginError::Identity(e) => e.into(),
    }
}

/// Counts a refused login in `/metrics` (a lock it caused as a lockout too).
fn count_refusal(state: &AppState, e: &LoginError) {
    let metrics = state.metrics();
    metrics.record_login(match e {
        LoginError::Failed => LoginResult::Failure,
        LoginError::Locked => LoginResult::Locked,
        LoginError::LockedNow => {
            metrics.record_lockout();
            LoginResult::Locked
        }
        LoginError::SecondFactorRequired { .. } => LoginResult::MfaRequired,
        LoginError::Identity(_) => LoginResult::Error,
    });
}

/// The login limits from the settings: `max_login_attempts` per name and address,
/// `account_lockout_failures` per name, both within `lockout_seconds`, locking for as long.
fn login_limits(state: &AppState) -> LoginLimits {
    let settings = state.settings();
    let lockout =
        time::Duration::seconds(i64::try_from(settings.lockout_seconds).unwrap_or(i64::MAX));
    LoginLimits {
        per_source: settings.max_login_attempts,
        per_account: settings.account_lockout_failures,
        window: lockout,
        lockout,
    }
}

/// `POST /v1/auth/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The principal's name.
    pub name: String,
    /// The password (never logged, never echoed).
    #[schema(value_type = String, format = Password)]
    pub password: String,
    /// The current TOTP code, when a second factor is enrolled or required.
    pub totp: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The session token (`v4.public.…`), sent as `Authorization: Bearer`.
    pub token: String,
    /// When the session ends at the latest.
    pub expires_at: String,
}

/// Logs in with a name and password (and a TOTP code when required): a session token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "identity",
    request_body = LoginRequest,
    responses((status = 200, description = "A session", body = LoginResponse),
        (status = 401, description = "Wrong name or password, or a second factor is required (type mfa-required)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 423, description = "Locked after too many failures", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this name", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<AppState>,
    audit: AuditSlot,
    slot: CallerSlot,
    client: Option<axum::Extension<ClientIp>>,
    headers: http::HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    audit.note("auth.login", "principal", "-");
    let client_ip: Option<IpAddr> = client.map(|c| c.0.0);
    if let Some(ip) = client_ip
        && let Err(not_until) = state
            .identity()
            .login_per_ip
            .check_key(&limiter_address(ip))
    {
        state.metrics().record_login(LoginResult::RateLimited);
        return Err(retry_after(not_until));
    }
    let LoginRequest {
        name,
        password,
        totp: code,
    } = body;
    let password = SecretString::from(password);
    // Names are keys of the per-name limiter: bounded, so junk names cannot grow it much.
    let limiter_key: String = name.to_lowercase().chars().take(128).collect();
    if let Err(not_until) = state.identity().login_per_name.check_key(&limiter_key) {
        state.metrics().record_login(LoginResult::RateLimited);
        return Err(retry_after(not_until));
    }
    let now = OffsetDateTime::now_utc();
    let logins = Logins {
        store: state.identity_store(),
        passwords: &PooledPasswords {
            pool: &state.identity().hashing,
            hasher: &state.identity().passwords,
        },
        totp: &KekTotp(&state),
        policy: &state.policy(),
        limits: login_limits(&state),
    };
    let attempt = LoginAttempt {
        name,
        password,
        totp: code,
        source: throttle_source(client_ip),
    };
    // A lock lasts from the verdict, however long the verification took.
    let logged_in = logins
        .login(attempt, now, OffsetDateTime::now_utc, |id| {
            audit.note("auth.login", "principal", &id.to_string());
        })
        .await
        .map_err(|e| {
            count_refusal(&state, &e);
            login_error(e)
        })?;
    if logged_in.rehashed {
        audit.detail("rehashed", true);
    }
    let LoggedIn {
        record,
        mfa: mfa_needed,
        enrollment_only,
        ..
    } = logged_in;
    let id = record.principal.id;
    let ttl = if enrollment_only {
        time::Duration::seconds(ENROLLMENT_SESSION_SECONDS)
    } else {
        time::Duration::seconds(i64::try_from(state.settings().session_ttl_seconds).unwrap_or(3600))
    };
    let session = SessionRecord {
        id: Uuid::now_v7(),
        principal_id: id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + ttl,
        revoked_at: None,
        enrollment_only,
        second_factor: mfa_needed && !enrollment_only,
    };
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(512)
                .collect::<String>()
        });
    let token = state
        .identity()
        .sessions
        .issue(&SessionClaims {
            session_id: session.id,
            principal_id: id,
            issued_at: now,
            expires_at: session.expires_at,
        })
        .map_err(|e| ApiError::internal(&e))?;
    // The audit trail records the login as the principal's, with the session as credential;
    // the session and that entry commit together.
    let caller = Caller::new(
        record.principal,
        rampart_access::CheckedCredential {
            id: session.id,
            kind: CredentialKind::Session,
            scopes: None,
            expires_at: Some(session.expires_at),
            allowed_ips: None,
            second_factor: session.second_factor,
        },
    );
    slot.set(&caller);
    audit.detail("mfa", mfa_needed);
    if enrollment_only {
        audit.detail("enrollment_session", true);
    }
    let status = if enrollment_only {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let expires_at = session.expires_at;
    let committed = commit_identity(
        &audit,
        &state,
        &caller,
        status,
        IdentityChange::InsertSession {
            session,
            client_ip: client_ip.map(|ip| ip.to_string()),
            user_agent,
        },
    )
    .await;
    state
        .metrics()
        .record_login(match (&committed, enrollment_only) {
            (Err(_), _) => LoginResult::Error,
            (Ok(_), true) => LoginResult::MfaRequired,
            (Ok(_), false) => LoginResult::Success,
        });
    committed?;
    if enrollment_only {
        return Ok(enrollment_required(&token, id, expires_at));
    }
    Ok(Json(LoginResponse {
        token,
        expires_at: time_text(expires_at),
    })
    .into_response())
}

/// Lifetime of a session that may only enrol a second factor.
const ENROLLMENT_SESSION_SECONDS: i64 = 600;

/// The `401 mfa-required` answer to a right password when a role requires a second factor
/// that is not enrolled: it carries an `enrollment_token`, a session good only for
/// `POST /v1/principals/{id}/totp` and its confirmation.
fn enrollment_required(token: &str, id: Uuid, expires_at: OffsetDateTime) -> Response {
    let body = json!({
        "type": "https://rampart.dev/problems/mfa-required",
        "title": "Second factor required",
        "status": 401,
        "detail": format!(
            "a role of this principal requires a second factor: enroll TOTP with the enrollment_token (POST /v1/principals/{id}/totp, then /confirm), then log in with the code"
        ),
        "enrollment_token": token,
        "enrollment_expires_at": time_text(expires_at),
    });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer realm=\"rampart\""),
    );
    response
}

/// The answer to a logout.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutResponse {
    /// Whether the session was active (and now is not).
    pub revoked: bool,
}

/// `POST /v1/auth/introspect`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    /// The credential an application's caller presented: an API key or a session token.
    #[schema(value_type = String, format = Password)]
    pub credential: String,
    /// The address the caller presented it from (keys with `allowed_ips` need it).
    pub client_ip: Option<String>,
}

impl std::fmt::Debug for IntrospectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectRequest")
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

/// What introspection found: `{"active": false}` alone for a credential that is not active.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntrospectResponse {
    /// Whether the credential is active.
    pub active: bool,
    /// The principal's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// `user`, `service`, `device` or `ai_agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<&'static str>,
    /// The principal's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Its teams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    /// The key's scopes (`null`: all the principal's permissions), when active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Option<Vec<String>>>,
    /// `api_key` or `session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<&'static str>,
    /// When the credential expires (`null`: never), when active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<String>>,
}

impl IntrospectResponse {
    fn inactive() -> Self {
        Self {
            active: false,
            principal_id: None,
            principal_type: None,
            name: None,
            roles: None,
            teams: None,
            scopes: None,
            credential_type: None,
            expires_at: None,
        }
    }
}

/// Ends the presented session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "Whether the session was still active", body = LogoutResponse),
        (status = 422, description = "An API key was presented: logout ends sessions (revoke a key with DELETE /v1/api-keys/{id})", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
) -> Result<Json<LogoutResponse>, ApiError> {
    audit.note(
        "auth.logout",
        "session",
        &caller.credential_id().to_string(),
    );
    if caller.kind() != CredentialKind::Session {
        return Err(invalid(
            "authorization",
            "logout ends sessions; revoke an API key with DELETE /v1/api-keys/{id}",
        ));
    }
    let revoked = commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::OK,
        IdentityChange::RevokeSession {
            id: caller.credential_id(),
            now: OffsetDateTime::now_utc(),
        },
    )
    .await?;
    Ok(Json(LogoutResponse { revoked }))
}

/// Checks a credential an application's caller presented.
#[utoipa::path(post, path = "/v1/auth/introspect", tag = "identity", security(("bearer" = [])),
    request_body = IntrospectRequest,
    responses((status = 200, description = "The credential's principal, or {\"active\": false}", body = IntrospectResponse)))]
pub async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<IntrospectRequest>,
) -> Result<Json<IntrospectResponse>, ApiError> {
    caller.require::<perm::AuthzCheck>(&state.policy())?;
    let credential = SecretString::from(body.credential);
    let client_ip = match body.client_ip.as_deref() {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| invalid("client_ip", "is not an IP address"))?,
        ),
        None => None,
    };
    let checked = check_credential(
        &state,
        credential.expose_secret(),
        client_ip,
        OffsetDateTime::now_utc(),
    )
    .await;
    match checked {
        // A password without its required second factor is no login for an application.
        Ok(found) if found.is_enrollment_only() => {
            tracing::info!("introspection: an enrollment session is not a login");
            Ok(Json(IntrospectResponse::inactive()))
        }
        Ok(found) => Ok(Json(IntrospectResponse {
            active: true,
            principal_id: Some(found.principal().id.to_string()),
            principal_type: Some(found.principal().kind.as_str()),
            name: Some(found.principal().name.clone()),
            roles: Some(found.principal().roles.clone()),
            teams: Some(found.principal().teams.clone()),
            scopes: Some(found.scopes().map(<[String]>::to_vec)),
            credential_type: Some(match found.kind() {
                CredentialKind::ApiKey => "api_key",
                CredentialKind::Session => "session",
            }),
            expires_at: Some(found.expires_at().map(time_text)),
        })),
        Err(CredentialError::Refused(reason)) => {
            tracing::info!(reason, "introspection: credential not active");
            Ok(Json(IntrospectResponse::inactive()))
        }
        Err(CredentialError::Store(e)) => Err(e.into()),
    }
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(only_when_noted(routes!(introspect)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_sources_are_addresses_and_ipv6_prefixes() {
        let source = |text: &str| throttle_source(Some(text.parse().expect("address")));
        assert_eq!(source("192.0.2.7"), "192.0.2.7");
        assert_eq!(source("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(source("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(source("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_ne!(source("2001:db8:1:3::1"), source("2001:db8:1:2::1"));
        assert_eq!(throttle_source(None), "-");
    }
}
