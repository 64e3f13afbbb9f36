//! The identity service over an in-memory store: may_manage refusals, load-for-caller of API
//! keys, rotation of a revoked key refused.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{ApiKeys, IdentityError, may_manage, rotatable};
use crate::store::{LoginLimits, LoginReservation, LoginSettle, PrincipalRecord, SessionRecord};
use crate::{
    ApiKeyHash, ApiKeyRecord, Caller, CheckedCredential, CredentialKind, IdentityStore, Policy,
    Principal, PrincipalKind,
};

#[derive(Debug, thiserror::Error)]
#[error("fake store failed")]
struct FakeError;

/// Principals and keys in memory; the operations these tests do not reach answer nothing.
#[derive(Default)]
struct FakeStore {
    principals: Mutex<HashMap<Uuid, Principal>>,
    keys: Mutex<HashMap<Uuid, ApiKeyRecord>>,
}

impl FakeStore {
    fn principal_of(&self, id: Uuid) -> Option<Principal> {
        self.principals.lock().unwrap().get(&id).cloned()
    }
}

impl IdentityStore for FakeStore {
    type Error = FakeError;

    async fn principal(&self, id: Uuid) -> Result<Option<PrincipalRecord>, FakeError> {
        Ok(self.principal_of(id).map(|principal| PrincipalRecord {
            principal,
            password_hash: None,
            totp_sealed: None,
            totp_pending: None,
            totp_enabled: false,
            totp_last_step: None,
            locked_until: None,
        }))
    }
    async fn principal_by_name(&self, _: &str) -> Result<Option<PrincipalRecord>, FakeError> {
        Ok(None)
    }
    async fn list_principals(
        &self,
        _: Option<Uuid>,
        _: u32,
    ) -> Result<Vec<PrincipalRecord>, FakeError> {
        Ok(Vec::new())
    }
    async fn set_password_hash(&self, _: Uuid, _: &str) -> Result<(), FakeError> {
        Ok(())
    }
    async fn reserve_login_attempt(
        &self,
        _: &str,
        _: &str,
        _: &LoginLimits,
        _: OffsetDateTime,
    ) -> Result<LoginReservation, FakeError> {
        Err(FakeError)
    }
    async fn settle_login_attempt(
        &self,
        _: &str,
        _: &str,
        _: LoginSettle,
        _: &LoginLimits,
        _: OffsetDateTime,
    ) -> Result<bool, FakeError> {
        Err(FakeError)
    }
    async fn purge_login_throttles(
        &self,
        _: Duration,
        _: OffsetDateTime,
    ) -> Result<u64, FakeError> {
        Ok(0)
    }
    async fn claim_totp_step(&self, _: Uuid, _: u64) -> Result<bool, FakeError> {
        Ok(false)
    }
    async fn session(&self, _: Uuid) -> Result<Option<(SessionRecord, Principal)>, FakeError> {
        Ok(None)
    }
    async fn touch_session(&self, _: Uuid, _: OffsetDateTime) -> Result<(), FakeError> {
        Ok(())
    }
    async fn api_key(&self, id: Uuid) -> Result<Option<(ApiKeyRecord, Principal)>, FakeError> {
        let key = self.keys.lock().unwrap().get(&id).cloned();
        Ok(key.and_then(|k| self.principal_of(k.principal_id).map(|p| (k, p))))
    }
    async fn list_api_keys(
        &self,
        _: Option<Uuid>,
        _: Option<Uuid>,
        _: u32,
    ) -> Result<Vec<ApiKeyRecord>, FakeError> {
        Ok(Vec::new())
    }
    async fn add_api_key_usage(&self, _: &[(Uuid, u64, OffsetDateTime)]) -> Result<(), FakeError> {
        Ok(())
    }
    async fn stored_policy(&self) -> Result<Option<(String, u64)>, FakeError> {
        Ok(None)
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn policy() -> Policy {
    Policy::from_yaml(
        "roles:
  viewer: {permissions: [audit:read]}
  manager: {permissions: [users:manage, api_keys:manage, audit:read]}
  admin: {bypass_team_isolation: true, permissions: ['*']}
",
    )
    .unwrap()
}

fn principal(name: &str, roles: &[&str], teams: &[&str]) -> Principal {
    Principal {
        id: Uuid::now_v7(),
        kind: PrincipalKind::User,
        name: name.to_owned(),
        email: None,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        disabled: false,
        created_at: now(),
    }
}

fn session_of(principal: &Principal) -> Caller {
    Caller::new(
        principal.clone(),
        CheckedCredential {
            id: Uuid::now_v7(),
            kind: CredentialKind::Session,
            scopes: None,
            expires_at: None,
            allowed_ips: None,
        },
    )
}

fn key_of(principal: &Principal) -> ApiKeyRecord {
    ApiKeyRecord {
        id: Uuid::now_v7(),
        principal_id: principal.id,
        name: "k".to_owned(),
        hash: ApiKeyHash("h".to_owned()),
        scopes: None,
        created_at: now(),
        expires_at: None,
        revoked_at: None,
        allowed_ips: None,
        last_used_at: None,
        usage_count: 0,
        rotated_from: None,
    }
}

fn forbidden(result: Result<(), IdentityError>) -> String {
    match result {
        Err(IdentityError::Forbidden(what)) => what,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn managers_act_only_within_their_teams_and_never_above_their_roles() {
    let policy = policy();
    let manager = session_of(&principal("mia", &["manager"], &["hr"]));
    let in_team = principal("ann", &["viewer"], &["hr"]);
    assert!(may_manage(&policy, &manager, &in_team).is_ok());
    let elsewhere = principal("bo", &["viewer"], &["hr", "sales"]);
    assert!(forbidden(may_manage(&policy, &manager, &elsewhere)).contains("team 'sales'"));
    let teamless = principal("cy", &["viewer"], &[]);
    assert!(forbidden(may_manage(&policy, &manager, &teamless)).contains("bypasses team"));
    let admin = principal("root", &["admin"], &["hr"]);
    assert!(forbidden(may_manage(&policy, &manager, &admin)).contains("the role 'admin'"));
    // Everyone may act on themselves; an admin reaches every team.
    assert!(may_manage(&policy, &manager, manager.principal()).is_ok());
    let root = session_of(&admin);
    assert!(may_manage(&policy, &root, &elsewhere).is_ok());
    assert!(may_manage(&policy, &root, &teamless).is_ok());
}

#[tokio::test]
async fn keys_load_only_for_callers_allowed_to_manage_them() {
    let store = FakeStore::default();
    let (ann, mia, viewer) = (
        principal("ann", &["viewer"], &["hr"]),
        principal("mia", &["manager"], &["hr"]),
        principal("vic", &["viewer"], &["hr"]),
    );
    let key = key_of(&ann);
    for p in [&ann, &mia, &viewer] {
        store.principals.lock().unwrap().insert(p.id, p.clone());
    }
    store.keys.lock().unwrap().insert(key.id, key.clone());
    let keys = ApiKeys::new(store);
    let policy = policy();
    let owner = keys.key_for(&policy, &session_of(&ann), key.id).await;
    assert_eq!(owner.unwrap().id, key.id);
    assert!(
        keys.key_for(&policy, &session_of(&mia), key.id)
            .await
            .is_ok()
    );
    assert!(matches!(
        keys.key_for(&policy, &session_of(&viewer), key.id).await,
        Err(IdentityError::Denied(_))
    ));
    assert!(matches!(
        keys.key_for(&policy, &session_of(&ann), Uuid::now_v7())
            .await,
        Err(IdentityError::NotFound(_))
    ));
}

#[test]
fn a_revoked_or_expired_key_is_not_rotated() {
    let ann = principal("ann", &["viewer"], &["hr"]);
    let mut key = key_of(&ann);
    assert!(rotatable(&key, now()).is_ok());
    key.expires_at = Some(now());
    assert!(matches!(
        rotatable(&key, now()),
        Err(IdentityError::Conflict(_))
    ));
    key.expires_at = None;
    key.revoked_at = Some(now() - Duration::minutes(1));
    assert!(matches!(
        rotatable(&key, now()),
        Err(IdentityError::Conflict(_))
    ));
}
