//! Authentication of presented credentials against stored hashes.

use std::future::Future;

use time::OffsetDateTime;

use crate::{ApiKey, ApiKeyFormatError, ApiKeyPepper, ApiKeyRecord, Principal};

/// Storage that authentication needs, implemented by `rampart-store` for each backend.
pub trait AccessStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The key record with this hash and the principal it belongs to.
    fn find_api_key(
        &self,
        hash: &crate::ApiKeyHash,
    ) -> impl Future<Output = Result<Option<(ApiKeyRecord, Principal)>, Self::Error>> + Send;

    /// Stores a new principal.
    fn insert_principal(
        &self,
        principal: &Principal,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Stores a new API key record (its hash only).
    fn insert_api_key(
        &self,
        record: &ApiKeyRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Why a credential was not accepted. Callers must answer every variant but `Store` with the same
/// response, so that no answer helps someone guessing keys.
#[derive(Debug, thiserror::Error)]
pub enum AuthError<E: std::error::Error + 'static> {
    /// No credential was presented.
    #[error("no credential presented")]
    Missing,
    /// The credential is not a well-formed key.
    #[error("malformed credential: {0}")]
    Malformed(#[from] ApiKeyFormatError),
    /// No stored key has this hash.
    #[error("unknown credential")]
    Unknown,
    /// The key was revoked.
    #[error("revoked credential")]
    Revoked,
    /// The key has expired.
    #[error("expired credential")]
    Expired,
    /// The key's principal is disabled.
    #[error("the credential's principal is disabled")]
    PrincipalDisabled,
    /// Storage failed; this is an internal error, not a verdict on the credential.
    #[error("credential store failed")]
    Store(#[source] E),
}

/// A credential that checked out: who is calling and with which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The principal the credential speaks for.
    pub principal: Principal,
    /// The key that was presented.
    pub key: ApiKeyRecord,
}

/// Checks presented API keys: format and checksum first, then the keyed hash in storage.
pub struct Authenticator<S> {
    store: S,
    pepper: ApiKeyPepper,
}

impl<S: AccessStore> Authenticator<S> {
    /// An authenticator over `store`, hashing with `pepper`.
    pub fn new(store: S, pepper: ApiKeyPepper) -> Self {
        Self { store, pepper }
    }

    /// The pepper, to issue new keys.
    pub fn pepper(&self) -> &ApiKeyPepper {
        &self.pepper
    }

    /// Authenticates a presented key at time `now`.
    pub async fn authenticate(
        &self,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<Authenticated, AuthError<S::Error>> {
        let key = ApiKey::parse(presented)?;
        let hash = self.pepper.hash(&key);
        let (record, principal) = self
            .store
            .find_api_key(&hash)
            .await
            .map_err(AuthError::Store)?
            .ok_or(AuthError::Unknown)?;
        if record.revoked_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Revoked);
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Expired);
        }
        if principal.disabled {
            return Err(AuthError::PrincipalDisabled);
        }
        Ok(Authenticated {
            principal,
            key: record,
        })
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "tests may read the clock")]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use time::Duration;
    use uuid::Uuid;

    use super::*;
    use crate::ApiKeyHash;

    #[derive(Default)]
    struct MemoryStore(Mutex<HashMap<String, (ApiKeyRecord, Principal)>>);

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    impl AccessStore for &MemoryStore {
        type Error = Never;
        async fn find_api_key(
            &self,
            hash: &ApiKeyHash,
        ) -> Result<Option<(ApiKeyRecord, Principal)>, Never> {
            Ok(self.0.lock().map_err(|_| Never)?.get(&hash.0).cloned())
        }
        async fn insert_principal(&self, _: &Principal) -> Result<(), Never> {
            Ok(())
        }
        async fn insert_api_key(&self, _: &ApiKeyRecord) -> Result<(), Never> {
            Ok(())
        }
    }

    fn setup(
        store: &MemoryStore,
        pepper: &ApiKeyPepper,
        now: OffsetDateTime,
        edit: impl FnOnce(&mut ApiKeyRecord, &mut Principal),
    ) -> ApiKey {
        let key = ApiKey::generate().expect("rng");
        let mut principal = Principal::bootstrap_admin(now);
        let mut record = ApiKeyRecord {
            id: Uuid::now_v7(),
            principal_id: principal.id,
            name: "test".into(),
            hash: pepper.hash(&key),
            scopes: None,
            created_at: now,
            expires_at: None,
            revoked_at: None,
            allowed_ips: None,
            last_used_at: None,
            usage_count: 0,
            rotated_from: None,
        };
        edit(&mut record, &mut principal);
        store
            .0
            .lock()
            .expect("lock")
            .insert(record.hash.0.clone(), (record, principal));
        key
    }

    #[tokio::test]
    async fn accepts_a_live_key_and_refuses_every_dead_one() {
        let store = MemoryStore::default();
        let now = OffsetDateTime::now_utc();
        let pepper = ApiKeyPepper::new([3; 32]);
        let good = setup(&store, &pepper, now, |_, _| {});
        let revoked = setup(&store, &pepper, now, |r, _| r.revoked_at = Some(now));
        let expired = setup(&store, &pepper, now, |r, _| {
            r.expires_at = Some(now - Duration::seconds(1))
        });
        let future = setup(&store, &pepper, now, |r, _| {
            r.expires_at = Some(now + Duration::hours(1))
        });
        let disabled = setup(&store, &pepper, now, |_, p| p.disabled = true);
        let auth = Authenticator::new(&store, ApiKeyPepper::new([3; 32]));

        let ok = auth
            .authenticate(good.expose(), now)
            .await
            .expect("accepted");
        assert_eq!(ok.principal.name, "bootstrap-admin");
        assert!(auth.authenticate(future.expose(), now).await.is_ok());
        assert!(matches!(
            auth.authenticate(revoked.expose(), now).await,
            Err(AuthError::Revoked)
        ));
        assert!(matches!(
            auth.authenticate(expired.expose(), now).await,
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            auth.authenticate(disabled.expose(), now).await,
            Err(AuthError::PrincipalDisabled)
        ));
        let stranger = ApiKey::generate().expect("rng");
        assert!(matches!(
            auth.authenticate(stranger.expose(), now).await,
            Err(AuthError::Unknown)
        ));
        assert!(matches!(
            auth.authenticate("rk_nonsense", now).await,
            Err(AuthError::Malformed(_))
        ));
        // The same key under another pepper is unknown: hashes are keyed.
        let other = Authenticator::new(&store, ApiKeyPepper::new([4; 32]));
        assert!(matches!(
            other.authenticate(good.expose(), now).await,
            Err(AuthError::Unknown)
        ));
    }
}
