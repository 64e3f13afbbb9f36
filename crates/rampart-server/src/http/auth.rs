//! The [`Caller`] extractor: a handler that takes a `Caller` runs only for a valid credential,
//! and asks it for a permission with [`Caller::require`] before doing anything.

use axum::extract::FromRequestParts;
use http::header;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use rampart_access::{AuthError, Principal, scopes_allow};
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

/// Where the extractor leaves the caller for the audit-trail middleware, which runs outside the
/// handler and so cannot see its arguments.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Caller>>>);

impl CallerSlot {
    fn set(&self, caller: &Caller) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(caller.clone());
        }
    }

    /// The authenticated caller of this request, if any.
    pub fn get(&self) -> Option<Caller> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// Proof that the caller holds a permission: only [`Caller::require`] makes one, and handlers
/// that change or reveal protected data take one, so a forgotten check does not compile.
#[derive(Debug, Clone, Copy)]
pub struct Granted(());

impl Caller {
    /// Checks that the caller's roles grant `permission` and the key's scopes allow it.
    pub fn require(&self, state: &AppState, permission: &str) -> Result<Granted, ApiError> {
        let by_role = state
            .policy()
            .grants(&self.principal.roles, permission)
            .is_some();
        let by_scope = scopes_allow(self.scopes.as_deref(), permission);
        if by_role && by_scope {
            Ok(Granted(()))
        } else {
            tracing::info!(permission, by_role, by_scope, "permission denied");
            Err(ApiError::forbidden(permission))
        }
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
            Ok(authenticated) => {
                let caller = Caller {
                    credential_id: authenticated.key.id,
                    scopes: authenticated.key.scopes,
                    principal: authenticated.principal,
                };
                if let Some(slot) = parts.extensions.get::<CallerSlot>() {
                    slot.set(&caller);
                }
                Ok(caller)
            }
            Err(AuthError::Store(e)) => Err(ApiError::internal(&e)),
            Err(reason) => {
                // The reason is logged for operators; the client gets the same 401 for all.
                tracing::info!(reason = %reason, "authentication failed");
                Err(ApiError::unauthenticated())
            }
        }
    }
}
