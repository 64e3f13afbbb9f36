//! The [`Caller`] extractor: a handler that takes a `Caller` runs only for a valid credential,
//! and asks it for a permission with [`Caller::require`] before doing anything: the
//! [`rampart_access::Granted`] proof it returns is what service methods take.

use axum::extract::FromRequestParts;
use http::header;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use rampart_access::identity::{IdentityError, SessionRefused, session_caller};
use rampart_access::{AuthError, CheckedCredential, Denied};
pub use rampart_access::{Caller, CredentialKind, ENROLLMENT_ONLY_SCOPE};
use time::OffsetDateTime;

use crate::problem::ApiError;
use crate::state::AppState;

/// Why a credential was refused. Clients get the same 401 for every reason; the reason is
/// for the log.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Not valid, unknown, expired, revoked, or the principal is disabled.
    #[error("{0}")]
    Refused(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] IdentityError),
}

/// The routes an enrollment session may call.
const ENROLLMENT_ROUTES: [&str; 4] = [
    "/v1/principals/{id}/totp",
    "/v1/principals/{id}/totp/confirm",
    "/v1/auth/whoami",
    "/v1/auth/logout",
];

/// Checks a credential (API key or session token) presented from `client_ip` at `now`.
/// Counts a use of an API key.
pub async fn check_credential(
    state: &AppState,
    credential: &str,
    client_ip: Option<std::net::IpAddr>,
    now: OffsetDateTime,
) -> Result<Caller, CredentialError> {
    use rampart_access::session::SessionSigner;
    if SessionSigner::looks_like_session_token(credential) {
        let claims = state
            .identity()
            .sessions
            .verify(credential, now)
            .map_err(|_| CredentialError::Refused("session token not valid"))?;
        return session_caller(
            state.identity_store(),
            &claims,
            state.settings().session_idle_seconds,
            now,
        )
        .await
        .map_err(|e| match e {
            SessionRefused::Refused(reason) => CredentialError::Refused(reason),
            SessionRefused::Identity(e) => CredentialError::Store(e),
        });
    }
    let authenticated = state
        .authenticator()
        .authenticate(credential, now)
        .await
        .map_err(|e| match e {
            AuthError::Store(e) => CredentialError::Store(IdentityError::store(e)),
            AuthError::Revoked => CredentialError::Refused("API key revoked"),
            AuthError::Expired => CredentialError::Refused("API key expired"),
            AuthError::PrincipalDisabled => CredentialError::Refused("principal disabled"),
            _ => CredentialError::Refused("API key not valid"),
        })?;
    if !authenticated.key.allows_ip(client_ip) {
        return Err(CredentialError::Refused(
            "client address outside the key's allowed_ips",
        ));
    }
    state.count_key_use(authenticated.key.id, now);
    Ok(Caller::new(
        authenticated.principal,
        CheckedCredential {
            id: authenticated.key.id,
            kind: CredentialKind::ApiKey,
            scopes: authenticated.key.scopes,
            expires_at: authenticated.key.expires_at,
            allowed_ips: authenticated.key.allowed_ips,
            second_factor: false,
        },
    ))
}

/// Where the extractor leaves the caller for the audit-trail middleware, which runs outside the
/// handler and so cannot see its arguments.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Caller>>>);

impl CallerSlot {
    /// Records the caller (login records the principal it authenticated).
    pub fn set(&self, caller: &Caller) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(caller.clone());
        }
    }

    /// Whether a caller was recorded (a credential accepted), without copying it.
    pub fn is_set(&self) -> bool {
        self.0.lock().is_ok_and(|slot| slot.is_some())
    }

    /// The authenticated caller of this request, if any.
    pub fn get(&self) -> Option<Caller> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        tracing::info!(permission = %denied.permission, "permission denied");
        ApiError::forbidden(&denied.permission)
    }
}

/// The credential of an `Authorization: Bearer <credential>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
        .filter(|c| !c.is_empty())
}

impl<S: Send + Sync> FromRequestParts<S> for CallerSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CallerSlot>()
            .cloned()
            .unwrap_or_default())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(credential) = bearer(parts) else {
            tracing::info!(reason = "no credential presented", "authentication failed");
            return Err(ApiError::unauthenticated());
        };
        let client_ip = parts
            .extensions
            .get::<crate::http::context::ClientIp>()
            .map(|c| c.0);
        match check_credential(state, credential, client_ip, OffsetDateTime::now_utc()).await {
            Ok(caller) => {
                if let Some(slot) = parts.extensions.get::<CallerSlot>() {
                    slot.set(&caller);
                }
                // An enrollment session reaches only the enrolment of its own second factor
                // (and who am I / logout): not even the routes a principal may use on itself,
                // such as making an API key, which would outlive the missing factor.
                if caller.is_enrollment_only() {
                    let route = parts
                        .extensions
                        .get::<axum::extract::MatchedPath>()
                        .map(axum::extract::MatchedPath::as_str);
                    if !route.is_some_and(|r| ENROLLMENT_ROUTES.contains(&r)) {
                        return Err(ApiError::forbidden(
                            "a second factor first: this enrollment session only enrols TOTP (POST /v1/principals/{id}/totp, then /confirm)",
                        ));
                    }
                }
                crate::http::threat::count_authenticated(state, parts, &caller).await?;
                Ok(caller)
            }
            Err(CredentialError::Store(e)) => Err(e.into()),
            Err(CredentialError::Refused(reason)) => {
                // The reason is logged for operators; the client gets the same 401 for all.
                tracing::info!(reason, "authentication failed");
                Err(ApiError::unauthenticated())
            }
        }
    }
}
