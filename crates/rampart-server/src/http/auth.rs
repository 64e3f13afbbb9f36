//! The [`Caller`] extractor: a handler that takes a `Caller` runs only for a valid credential.

use axum::extract::FromRequestParts;
use http::header;
use http::request::Parts;
use rampart_access::{AuthError, Principal};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::problem::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
    /// The credential presented (the API key's id).
    pub credential_id: Uuid,
    /// The key's scopes; `None` means all of the principal's permissions.
    pub scopes: Option<Vec<String>>,
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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(credential) = bearer(parts) else {
            tracing::info!(reason = "no credential presented", "authentication failed");
            return Err(ApiError::unauthenticated());
        };
        match state
            .authenticator()
            .authenticate(credential, OffsetDateTime::now_utc())
            .await
        {
            Ok(authenticated) => Ok(Caller {
                credential_id: authenticated.key.id,
                scopes: authenticated.key.scopes,
                principal: authenticated.principal,
            }),
            Err(AuthError::Store(e)) => Err(ApiError::internal(&e)),
            Err(reason) => {
                // The reason is logged for operators; the client gets the same 401 for all.
                tracing::info!(reason = %reason, "authentication failed");
                Err(ApiError::unauthenticated())
            }
        }
    }
}
