//! Principals as callers see them: read by themselves or by readers, managed only within the
//! rules of [`may_manage`].

use uuid::Uuid;

use crate::store::PrincipalRecord;
use crate::{Caller, Granted, IdentityStore, Policy, perm};

use super::{IdentityError, may_manage};

/// The answer for a principal that does not exist.
const NO_SUCH_PRINCIPAL: &str = "no principal with that id";

/// Principals over an [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct Principals<S> {
    store: S,
}

/// Whether `caller` may read principals other than itself (`users:read` or `users:manage`).
fn may_read(policy: &Policy, caller: &Caller) -> Result<(), IdentityError> {
    if caller.holds(policy, "users:read") || caller.holds(policy, "users:manage") {
        Ok(())
    } else {
        Err(IdentityError::Forbidden("users:read".to_owned()))
    }
}

impl<S: IdentityStore> Principals<S> {
    /// The service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The principal `id`, for a caller that was allowed what it asks already (itself, or the
    /// principal it just changed).
    pub async fn get(&self, id: Uuid) -> Result<PrincipalRecord, IdentityError> {
        self.store
            .principal(id)
            .await
            .map_err(IdentityError::store)?
            .ok_or(IdentityError::NotFound(NO_SUCH_PRINCIPAL))
    }

    /// The principal `id` if `caller` may read it: itself, or with `users:read` or
    /// `users:manage`.
    pub async fn readable(
        &self,
        policy: &Policy,
        caller: &Caller,
        id: Uuid,
    ) -> Result<PrincipalRecord, IdentityError> {
        if id != caller.principal().id {
            may_read(policy, caller)?;
        }
        self.get(id).await
    }

    /// Principals by id after `after`, at most `limit`, for a caller with `users:read` or
    /// `users:manage`.
    pub async fn list(
        &self,
        policy: &Policy,
        caller: &Caller,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PrincipalRecord>, IdentityError> {
        may_read(policy, caller)?;
        self.store
            .list_principals(after, limit)
            .await
            .map_err(IdentityError::store)
    }

    /// The principal `id` if `caller`, holding `users:manage`, may manage it ([`may_manage`]).
    pub async fn manageable(
        &self,
        policy: &Policy,
        caller: &Caller,
        _proof: Granted<perm::UsersManage>,
        id: Uuid,
    ) -> Result<PrincipalRecord, IdentityError> {
        let record = self.get(id).await?;
        may_manage(policy, caller, &record.principal)?;
        Ok(record)
    }
}
