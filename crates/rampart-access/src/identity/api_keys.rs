//! API keys as their managers see them: loaded only for a caller allowed to act on them, and
//! rotated only while they work.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::PrincipalRecord;
use ipnet::IpNet;

use crate::{
    ApiKeyRecord, Caller, CredentialKind, IdentityStore, Policy, Principal, is_valid_permission,
    perm,
};

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

    /// The principal a request's `principal_id` names; a field error when there is none.
    async fn named_principal(&self, id: Uuid) -> Result<PrincipalRecord, IdentityError> {
        self.store
            .principal(id)
            .await
            .map_err(IdentityError::store)?
            .ok_or(IdentityError::InvalidField {
                field: "principal_id",
                message: "no principal with that id".to_owned(),
            })
    }

    /// The principal a new key is for: it must exist and be enabled. (Whether `caller` may
    /// issue a key for it is [`may_issue`], which needs the request's scopes.)
    pub async fn owner_of_new_key(
        &self,
        principal: Uuid,
    ) -> Result<PrincipalRecord, IdentityError> {
        let record = self.named_principal(principal).await?;
        if record.principal.disabled {
            return Err(IdentityError::InvalidField {
                field: "principal_id",
                message: "the principal is disabled".to_owned(),
            });
        }
        Ok(record)
    }

    /// The principal of a key being rotated (it exists: the key was loaded for the caller).
    pub async fn owner_of(&self, key: &ApiKeyRecord) -> Result<PrincipalRecord, IdentityError> {
        self.store
            .principal(key.principal_id)
            .await
            .map_err(IdentityError::store)?
            .ok_or(IdentityError::NotFound(NO_SUCH_KEY))
    }

    /// The keys `caller` may list, by id after `after`, at most `limit`: with
    /// `api_keys:manage` and a role that bypasses team isolation, every key (or `requested`'s);
    /// with `api_keys:manage` alone, the keys of one principal it may manage (itself when
    /// `requested` is none); otherwise only its own.
    pub async fn list_for(
        &self,
        policy: &Policy,
        caller: &Caller,
        requested: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ApiKeyRecord>, IdentityError> {
        let own = caller.principal().id;
        let manager = caller.holds(policy, "api_keys:manage");
        let principal = if manager && policy.bypasses_team_isolation(&caller.principal().roles) {
            requested
        } else if manager {
            // Under team isolation: one principal at a time, one the caller may manage.
            match requested {
                Some(id) if id != own => {
                    let owner = self.named_principal(id).await?;
                    may_manage(policy, caller, &owner.principal)?;
                    Some(id)
                }
                _ => Some(own),
            }
        } else {
            if requested.is_some_and(|id| id != own) {
                return Err(IdentityError::Forbidden("api_keys:manage".to_owned()));
            }
            Some(own)
        };
        self.store
            .list_api_keys(principal, after, limit)
            .await
            .map_err(IdentityError::store)
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

/// Whether `caller` may issue a key with `scopes` for `target` under `policy`: the rules of
/// creation, which rotation by anyone but the key itself follows too (a successor is a new key).
/// Keys never widen what their maker has: every scope must be a permission the caller holds
/// (its roles and, for a scoped key, its scopes) and one the target's roles grant; a key for
/// another principal takes `api_keys:manage` and the right to manage that principal
/// ([`may_manage`]: a key speaks for its principal); an unscoped key for another principal
/// takes `roles:manage`, and a scoped caller cannot make an unscoped key. A key for a principal
/// whose roles are `mfa_required` takes a session that passed the second factor.
pub fn may_issue(
    policy: &Policy,
    caller: &Caller,
    target: &Principal,
    scopes: Option<&[String]>,
) -> Result<(), IdentityError> {
    let invalid = |message: String| IdentityError::InvalidField {
        field: "scopes",
        message,
    };
    if target.id != caller.principal().id {
        caller.require::<perm::ApiKeysManage>(policy)?;
        may_manage(policy, caller, target)?;
    }
    // A principal whose roles require a second factor gets keys only from a session that
    // passed it: a key is one factor, and must not be a way around the role's rule.
    if policy.mfa_required(&target.roles) && !caller.passed_second_factor() {
        return Err(IdentityError::Refused(
            "the principal's roles require a second factor: its API keys are made in a session that passed it (log in with a TOTP code)".to_owned(),
        ));
    }
    match scopes {
        Some(scopes) => {
            if scopes.is_empty() {
                return Err(invalid(
                    "must name at least one permission (or be [\"*\"] for all of the principal's)"
                        .to_owned(),
                ));
            }
            for scope in scopes {
                if !is_valid_permission(scope) {
                    return Err(invalid(format!(
                        "'{scope}' is not a permission (resource:action, resource:* or *)"
                    )));
                }
                if policy.grants(&target.roles, scope).is_none() {
                    return Err(invalid(format!(
                        "'{scope}' is not among the permissions of the principal's roles"
                    )));
                }
                if !caller.holds(policy, scope) {
                    return Err(invalid(format!(
                        "'{scope}' is beyond the permissions of the credential making this key"
                    )));
                }
            }
        }
        None if caller.scopes().is_some() => {
            return Err(invalid(
                "a scoped credential can only make keys with scopes (a subset of its own)"
                    .to_owned(),
            ));
        }
        None if target.id != caller.principal().id => {
            caller.require::<perm::RolesManage>(policy)?;
        }
        None => {}
    }
    Ok(())
}

/// A key made with an API key is fenced like its maker: no later expiry (none asked for: the
/// maker's), no wider networks (none asked for: the maker's). Returns the key's expiry and
/// networks; a session or an unfenced maker changes nothing.
pub fn fence_new_key(
    caller: &Caller,
    expires_at: Option<OffsetDateTime>,
    allowed_ips: Option<Vec<IpNet>>,
) -> Result<(Option<OffsetDateTime>, Option<Vec<IpNet>>), IdentityError> {
    let (mut expires_at, mut allowed_ips) = (expires_at, allowed_ips);
    if caller.kind() != CredentialKind::ApiKey {
        return Ok((expires_at, allowed_ips));
    }
    if let Some(limit) = caller.expires_at() {
        match expires_at {
            Some(at) if at > limit => {
                return Err(IdentityError::InvalidField {
                    field: "expires_in_days",
                    message: "must not end after the credential making this key".to_owned(),
                });
            }
            None => expires_at = Some(limit),
            Some(_) => {}
        }
    }
    if let Some(fence) = caller.allowed_ips() {
        match &allowed_ips {
            Some(nets) => {
                if let Some(net) = nets.iter().find(|n| !fence.iter().any(|f| f.contains(*n))) {
                    return Err(IdentityError::InvalidField {
                        field: "allowed_ips",
                        message: format!(
                            "{net} is outside the networks of the credential making this key"
                        ),
                    });
                }
            }
            None => allowed_ips = Some(fence.to_vec()),
        }
    }
    Ok((expires_at, allowed_ips))
}

/// A successor made by another API key is fenced like its maker too, as a key made by that key
/// would be: no later expiry, no wider networks (a key allowing a network outside the maker's is
/// not rotated by it).
pub fn fence_successor(caller: &Caller, successor: &mut ApiKeyRecord) -> Result<(), IdentityError> {
    if caller.kind() != CredentialKind::ApiKey {
        return Ok(());
    }
    if let Some(limit) = caller.expires_at() {
        successor.expires_at = Some(successor.expires_at.map_or(limit, |at| at.min(limit)));
    }
    if let Some(fence) = caller.allowed_ips() {
        match &successor.allowed_ips {
            None => successor.allowed_ips = Some(fence.to_vec()),
            Some(nets) => {
                if let Some(net) = nets.iter().find(|n| !fence.iter().any(|f| f.contains(*n))) {
                    return Err(IdentityError::Forbidden(format!(
                        "api_keys:manage from anywhere (the key allows {net}, outside the networks of the credential rotating it)"
                    )));
                }
            }
        }
    }
    Ok(())
}
