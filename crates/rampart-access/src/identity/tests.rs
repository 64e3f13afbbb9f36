//! The identity service over an in-memory store: may_manage refusals, load-for-caller of API
//! keys, rotation of a revoked key refused.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use secrecy::SecretString;

use super::{
    ApiKeys, IdentityError, LoginAttempt, LoginError, Logins, PasswordVerifier, TotpOpener,
    may_manage, rotatable,
};
use crate::password::Verified;
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
    /// Password hashes by principal id.
    hashes: Mutex<HashMap<Uuid, String>>,
    /// Login throttle rows: (name, source) → (failures, locked).
    throttles: Mutex<HashMap<(String, String), (u64, bool)>>,
}

impl FakeStore {
    fn principal_of(&self, id: Uuid) -> Option<Principal> {
        self.principals.lock().unwrap().get(&id).cloned()
    }
}

impl IdentityStore for FakeStore {
    type Error = FakeError;

    async fn principal(&self, id: Uuid) -> Result<Option<PrincipalRecord>, FakeError> {
        let password_hash = self.hashes.lock().unwrap().get(&id).cloned();
        Ok(self.principal_of(id).map(|principal| PrincipalRecord {
            principal,
            password_hash,
            totp_sealed: None,
            totp_pending: None,
            totp_enabled: false,
            totp_last_step: None,
            locked_until: None,
        }))
    }
    async fn principal_by_name(&self, name: &str) -> Result<Option<PrincipalRecord>, FakeError> {
        let id = self
            .principals
            .lock()
            .unwrap()
            .values()
            .find(|p| p.name == name)
            .map(|p| p.id);
        match id {
            Some(id) => self.principal(id).await,
            None => Ok(None),
        }
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
        name: &str,
        source: &str,
        limits: &LoginLimits,
        _: OffsetDateTime,
    ) -> Result<LoginReservation, FakeError> {
        let mut rows = self.throttles.lock().unwrap();
        let mut locked = [false; 2];
        for (i, (row, limit)) in [(source, limits.per_source), ("*", limits.per_account)]
            .into_iter()
            .enumerate()
        {
            let entry = rows.entry((name.to_owned(), row.to_owned())).or_default();
            if !entry.1 {
                if entry.0 >= limit {
                    entry.1 = true;
                } else {
                    entry.0 += 1;
                }
            }
            locked[i] = entry.1;
        }
        Ok(LoginReservation {
            source_locked: locked[0],
            account_locked: locked[1],
        })
    }
    async fn settle_login_attempt(
        &self,
        name: &str,
        source: &str,
        settle: LoginSettle,
        limits: &LoginLimits,
        _: OffsetDateTime,
    ) -> Result<bool, FakeError> {
        let mut rows = self.throttles.lock().unwrap();
        let mut locked = false;
        for (row, limit, release) in [
            (
                source,
                limits.per_source,
                matches!(settle, LoginSettle::Release { source: true, .. }),
            ),
            (
                "*",
                limits.per_account,
                matches!(settle, LoginSettle::Release { account: true, .. }),
            ),
        ] {
            let entry = rows.entry((name.to_owned(), row.to_owned())).or_default();
            match settle {
                LoginSettle::Failed if entry.0 >= limit => entry.1 = true,
                LoginSettle::Succeeded => *entry = (0, false),
                LoginSettle::Release { .. } if release => entry.0 = entry.0.saturating_sub(1),
                _ => {}
            }
            locked |= entry.1;
        }
        Ok(locked)
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
        subject_id: None,
        owner_id: None,
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
            second_factor: false,
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

/// Passwords "verified" by comparing with the stored text; counts real and dummy verifications.
#[derive(Default)]
struct FakePasswords {
    real: std::sync::atomic::AtomicUsize,
    dummy: std::sync::atomic::AtomicUsize,
}

impl PasswordVerifier for FakePasswords {
    async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Option<Verified>, IdentityError> {
        use secrecy::ExposeSecret as _;
        use std::sync::atomic::Ordering;
        Ok(match stored {
            Some(stored) => {
                self.real.fetch_add(1, Ordering::SeqCst);
                Some(Verified {
                    ok: stored == password.expose_secret(),
                    needs_rehash: false,
                })
            }
            None => {
                self.dummy.fetch_add(1, Ordering::SeqCst);
                None
            }
        })
    }

    async fn hash(&self, _: SecretString) -> Result<Option<String>, IdentityError> {
        Ok(None)
    }
}

struct NoTotp;

impl TotpOpener for NoTotp {
    fn open(
        &self,
        _: Uuid,
        _: &crate::SealedBytes,
    ) -> Result<crate::totp::TotpSecret, IdentityError> {
        Err(IdentityError::Conflict("no TOTP in these tests"))
    }
}

#[tokio::test]
async fn logins_reserve_before_verifying_and_lock_at_the_limit() {
    use std::sync::atomic::Ordering;
    let store = FakeStore::default();
    let ann = principal("ann", &["viewer"], &["hr"]);
    store.principals.lock().unwrap().insert(ann.id, ann.clone());
    store
        .hashes
        .lock()
        .unwrap()
        .insert(ann.id, "right".to_owned());
    let passwords = FakePasswords::default();
    let policy = policy();
    let logins = Logins {
        store: &store,
        passwords: &passwords,
        totp: &NoTotp,
        policy: &policy,
        limits: LoginLimits {
            per_source: 2,
            per_account: 10,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
        },
    };
    let attempt = |name: &str, password: &str| LoginAttempt {
        name: name.to_owned(),
        password: SecretString::from(password.to_owned()),
        totp: None,
        source: "192.0.2.1".to_owned(),
    };
    let run = |a: LoginAttempt| logins.login(a, now(), now, |_| {});
    assert!(matches!(
        run(attempt("ann", "wrong")).await,
        Err(LoginError::Failed)
    ));
    // The second failure fills the row: it locks at once.
    assert!(matches!(
        run(attempt("ann", "wrong")).await,
        Err(LoginError::LockedNow)
    ));
    // Locked: even the right password verifies nothing (a dummy verification instead).
    let real = passwords.real.load(Ordering::SeqCst);
    assert!(matches!(
        run(attempt("ann", "right")).await,
        Err(LoginError::Locked)
    ));
    assert_eq!(passwords.real.load(Ordering::SeqCst), real);
    assert_eq!(passwords.dummy.load(Ordering::SeqCst), 1);
    // Unknown names count and lock alike, after the same (dummy) work.
    assert!(matches!(
        run(attempt("nobody", "x")).await,
        Err(LoginError::Failed)
    ));
    assert!(matches!(
        run(attempt("nobody", "x")).await,
        Err(LoginError::LockedNow)
    ));
    // Another name is not affected; a success reports the principal and no second factor.
    let bo = principal("bo", &["viewer"], &["hr"]);
    store.principals.lock().unwrap().insert(bo.id, bo.clone());
    store.hashes.lock().unwrap().insert(bo.id, "pw".to_owned());
    let mut seen = None;
    let done = logins
        .login(attempt("bo", "pw"), now(), now, |id| seen = Some(id))
        .await
        .unwrap();
    assert_eq!(done.record.principal.id, bo.id);
    assert_eq!(seen, Some(bo.id));
    assert!(!done.mfa && !done.enrollment_only && !done.rehashed);
}

/// An API-key caller narrowed to `scopes`, ending at `expires_at`, from `nets`.
fn api_key_caller(
    principal: &Principal,
    scopes: Option<&[&str]>,
    expires_at: Option<OffsetDateTime>,
    nets: Option<&[&str]>,
) -> Caller {
    Caller::new(
        principal.clone(),
        CheckedCredential {
            id: Uuid::now_v7(),
            kind: CredentialKind::ApiKey,
            scopes: scopes.map(|s| s.iter().map(|p| (*p).to_owned()).collect()),
            expires_at,
            allowed_ips: nets.map(|n| n.iter().map(|c| c.parse().unwrap()).collect()),
            second_factor: false,
        },
    )
}

fn invalid_field(result: Result<(), IdentityError>) -> (&'static str, String) {
    match result {
        Err(IdentityError::InvalidField { field, message }) => (field, message),
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn keys_never_widen_what_their_maker_holds() {
    let policy = policy();
    let manager = principal("mia", &["manager"], &["pay"]);
    let viewer = principal("vic", &["viewer"], &["pay"]);
    let admin = principal("ada", &["admin"], &[]);
    let scopes = |s: &[&str]| s.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    // A scope the target's roles do not grant, or beyond the maker's credential.
    let (field, message) = invalid_field(super::may_issue(
        &policy,
        &session_of(&manager),
        &viewer,
        Some(&scopes(&["users:manage"])),
    ));
    assert_eq!(field, "scopes");
    assert!(message.contains("not among the permissions"), "{message}");
    let narrow = api_key_caller(&manager, Some(&["audit:read"]), None, None);
    let (_, message) = invalid_field(super::may_issue(
        &policy,
        &narrow,
        &manager,
        Some(&scopes(&["users:manage"])),
    ));
    assert!(message.contains("beyond the permissions"), "{message}");
    // A scoped credential makes only scoped keys; an unscoped key for another takes roles:manage.
    let (_, message) = invalid_field(super::may_issue(&policy, &narrow, &manager, None));
    assert!(message.contains("scoped credential"), "{message}");
    assert!(matches!(
        super::may_issue(&policy, &session_of(&manager), &viewer, None),
        Err(IdentityError::Denied(_))
    ));
    // Nobody below admin makes a key for an admin; the admin may.
    let audit_read = scopes(&["audit:read"]);
    assert!(super::may_issue(&policy, &session_of(&manager), &admin, Some(&audit_read)).is_err());
    assert!(super::may_issue(&policy, &session_of(&admin), &viewer, Some(&audit_read)).is_ok());
}

#[test]
fn a_key_made_or_rotated_by_a_key_is_fenced_like_its_maker() {
    let owner = principal("kim", &["admin"], &[]);
    let ends = now() + Duration::days(7);
    let maker = api_key_caller(&owner, None, Some(ends), Some(&["10.0.0.0/8"]));
    // Nothing asked: the maker's expiry and networks.
    let (expires_at, nets) = super::fence_new_key(&maker, None, None).unwrap();
    assert_eq!(expires_at, Some(ends));
    assert_eq!(nets, Some(vec!["10.0.0.0/8".parse().unwrap()]));
    // A later expiry, or a wider network, is refused by field.
    let later = super::fence_new_key(&maker, Some(ends + Duration::days(1)), None).map(|_| ());
    assert_eq!(invalid_field(later).0, "expires_in_days");
    let wider =
        super::fence_new_key(&maker, None, Some(vec!["0.0.0.0/0".parse().unwrap()])).map(|_| ());
    assert_eq!(invalid_field(wider).0, "allowed_ips");
    // A session is not fenced.
    assert_eq!(
        super::fence_new_key(&session_of(&owner), None, None).unwrap(),
        (None, None)
    );
    // A successor: expiry at most the maker's, a key outside its networks not rotated by it.
    let mut successor = key_of(&owner);
    super::fence_successor(&maker, &mut successor).unwrap();
    assert_eq!(successor.expires_at, Some(ends));
    let mut outside = key_of(&owner);
    outside.allowed_ips = Some(vec!["192.0.2.0/24".parse().unwrap()]);
    assert!(forbidden(super::fence_successor(&maker, &mut outside)).contains("192.0.2.0/24"));
}

#[test]
fn only_the_principal_itself_in_a_session_enrols_its_second_factor() {
    let owner = principal("olga", &["viewer"], &["pay"]);
    let admin = principal("ada", &["admin"], &[]);
    assert!(super::own_factor(&session_of(&owner), owner.id).is_ok());
    // An administrator would hold the owner's factor; an API key is no proof of presence.
    assert!(forbidden(super::own_factor(&session_of(&admin), owner.id)).contains("itself"));
    let key = api_key_caller(&owner, None, None, None);
    assert!(forbidden(super::own_factor(&key, owner.id)).contains("session"));
}
