//! API keys as their managers see them: loaded only for a caller allowed to act on them, and
//! rotated only while they work.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{ApiKeyRecord, Caller, CredentialKind, IdentityStore, Policy, perm};

use super::{IdentityError, may_manage};

/// The answer for a key that does not exist or that the caller may not know of.
const NO_SUCH_KEY: &str = "no API key with that id";

/// API-key lifecycle over an [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct ApiKeys<S> {
    store: S,
}

impl<S: IdentityStore> ApiKeys<S> {
    /// The service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The key `id`, only if `caller` may manage it: its own principal's key (an API key
    /// manages only itself, unless it holds `api_keys:manage`), or with `api_keys:manage` a key
    /// of a principal the caller may manage ([`may_manage`]).
    pub async fn key_for(
        &self,
        policy: &Policy,
        caller: &Caller,
        id: Uuid,
    ) -> Result<ApiKeyRecord, IdentityError> {
        let (record, owner) = self
            .store
            .api_key(id)
            .await
            .map_err(IdentityError::store)?
            .ok_or(IdentityError::NotFound(NO_SUCH_KEY))?;
        if record.principal_id != caller.principal().id {
            caller.require::<perm::ApiKeysManage>(policy)?;
            may_manage(policy, caller, &owner)?;
        } else if caller.kind() == CredentialKind::ApiKey
            && caller.credential_id() != record.id
            && !caller.holds(policy, "api_keys:manage")
        {
            // A key manages itself (a device rotating its own key); its siblings take a session
            // or api_keys:manage.
            return Err(IdentityError::Forbidden(
                "api_keys:manage (an API key may rotate or revoke only itself)".to_owned(),
            ));
        }
        Ok(record)
    }
}

/// Whether `record` may be rotated at `now`: neither revoked nor expired (a key that no longer
/// works gets no successor: make a new one).
pub fn rotatable(record: &ApiKeyRecord, now: OffsetDateTime) -> Result<(), IdentityError> {
    if record.revoked_at.is_some() || record.expires_at.is_some_and(|at| at <= now) {
        return Err(IdentityError::Conflict(
            "the key is revoked or expired; create a new one",
        ));
    }
    Ok(())
}
