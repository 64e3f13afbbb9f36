//! The role policy set through the API: what a new policy must keep before it is stored.

use time::OffsetDateTime;

use crate::{Caller, CredentialKind, Granted, IdentityChange, IdentityStore, Policy, perm};
use rampart_audit::Journal;

use super::IdentityError;

/// Storing the role policy over an [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct PolicyAdmin<S> {
    store: S,
}

fn refused(message: impl Into<String>) -> IdentityError {
    IdentityError::InvalidField {
        field: "roles",
        message: message.into(),
    }
}

impl<S: IdentityStore> PolicyAdmin<S> {
    /// The service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Stores `policy` (committed with its audit entry through `journal`) and answers its
    /// version, unless it would lock `caller` out (none of its roles would grant
    /// `roles:manage`, or, in a session, its roles would require a second factor it has not
    /// enrolled) or drop a role some principal still holds.
    pub async fn replace(
        &self,
        caller: &Caller,
        _proof: Granted<perm::RolesManage>,
        policy: &Policy,
        now: OffsetDateTime,
        journal: &impl Journal<IdentityChange>,
    ) -> Result<u64, IdentityError> {
        // Nobody locks themselves out: the caller must still be able to manage the policy.
        if policy
            .grants(&caller.principal().roles, "roles:manage")
            .is_none()
        {
            return Err(refused(
                "under this policy none of your roles would grant roles:manage; keep it for at least your own role",
            ));
        }
        // Nor out of their next login: a role newly needing a second factor the caller lacks.
        if caller.kind() == CredentialKind::Session
            && policy.mfa_required(&caller.principal().roles)
        {
            let own = self
                .store
                .principal(caller.principal().id)
                .await
                .map_err(IdentityError::store)?;
            if own.is_some_and(|r| !r.totp_enabled) {
                return Err(refused(
                    "under this policy your roles require a second factor you have not enrolled; enroll TOTP first",
                ));
            }
        }
        // Roles still held by principals must stay: a policy that drops one would silently
        // strip them of it.
        let mut held = std::collections::BTreeSet::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_principals(after, 1000)
                .await
                .map_err(IdentityError::store)?;
            let Some(last) = page.last() else { break };
            after = Some(last.principal.id);
            for record in &page {
                held.extend(
                    record
                        .principal
                        .roles
                        .iter()
                        .filter(|r| !policy.has_role(r))
                        .cloned(),
                );
            }
        }
        if !held.is_empty() {
            return Err(refused(format!(
                "principals still hold roles this policy drops: {}; change their roles first",
                held.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let document = serde_json::to_string(policy.document()).map_err(IdentityError::store)?;
        journal
            .commit(IdentityChange::StoreAccessPolicy { document, now })
            .await?;
        Ok(self
            .store
            .stored_policy()
            .await
            .map_err(IdentityError::store)?
            .map_or(0, |(_, version)| version))
    }
}
