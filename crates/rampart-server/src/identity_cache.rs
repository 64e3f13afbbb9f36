//! A short-lived cache of what authentication and authorization read on every request: API-key
//! records with their principal (by key hash) and principals (by id).
//!
//! Entries live `auth_cache_ms` (by default 1000 ms on SQLite, where one server serves the
//! deployment, and off on PostgreSQL; 0 turns it off). Every identity write this server makes
//! (revoking or rotating a key, changing or disabling a principal) clears the cache at once, so
//! a revocation takes effect immediately here; other servers of a PostgreSQL deployment that
//! enabled the cache see it within the TTL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rampart_access::{AccessStore, ApiKeyHash, ApiKeyRecord, IdentityStore, Principal};
use rampart_store::{PrincipalRecord, Store, StoreError};
use uuid::Uuid;

/// Entries above this many are dropped wholesale (a flood of distinct unknown keys cannot grow
/// memory without bound).
const MAX_ENTRIES: usize = 100_000;

type KeyEntry = (Option<(ApiKeyRecord, Principal)>, Instant);
type PrincipalEntry = (Arc<PrincipalRecord>, Instant);

/// The cache, shared by the [`CachedAccess`] store wrapper and the authorize route.
#[derive(Clone)]
pub struct IdentityCache {
    ttl: Duration,
    keys: Arc<RwLock<HashMap<String, KeyEntry>>>,
    principals: Arc<RwLock<HashMap<Uuid, PrincipalEntry>>>,
    /// Bumped by every clear: a lookup that began before a clear does not store what it read.
    generation: Arc<AtomicU64>,
}

impl IdentityCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            keys: Arc::default(),
            principals: Arc::default(),
            generation: Arc::default(),
        }
    }

    /// Forgets everything (after any identity write).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.keys.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.principals
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// A principal by id, from the cache while fresh.
    pub async fn principal<S: IdentityStore>(
        &self,
        store: &S,
        id: Uuid,
    ) -> Result<Option<Arc<PrincipalRecord>>, S::Error> {
        if !self.ttl.is_zero()
            && let Some((record, at)) = self
                .principals
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(Arc::clone(record)));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let Some(record) = store.principal(id).await? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        if !self.ttl.is_zero() && self.generation.load(Ordering::SeqCst) == generation {
            let mut principals = self.principals.write().unwrap_or_else(|e| e.into_inner());
            if principals.len() >= MAX_ENTRIES {
                principals.clear();
            }
            principals.insert(id, (Arc::clone(&record), Instant::now()));
        }
        Ok(Some(record))
    }
}

/// The store as authentication sees it: `find_api_key` answered from the cache while fresh.
#[derive(Clone)]
pub struct CachedAccess {
    store: Store,
    cache: IdentityCache,
}

impl CachedAccess {
    /// Wraps `store` with `cache`.
    pub fn new(store: Store, cache: IdentityCache) -> Self {
        Self { store, cache }
    }
}

impl AccessStore for CachedAccess {
    type Error = StoreError;

    async fn find_api_key(
        &self,
        hash: &ApiKeyHash,
    ) -> Result<Option<(ApiKeyRecord, Principal)>, StoreError> {
        let ttl = self.cache.ttl;
        if !ttl.is_zero()
            && let Some((found, at)) = self
                .cache
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&hash.0)
            && at.elapsed() < ttl
        {
            return Ok(found.clone());
        }
        let generation = self.cache.generation.load(Ordering::SeqCst);
        let found = self.store.find_api_key(hash).await?;
        if !ttl.is_zero() && self.cache.generation.load(Ordering::SeqCst) == generation {
            let mut keys = self.cache.keys.write().unwrap_or_else(|e| e.into_inner());
            if keys.len() >= MAX_ENTRIES {
                keys.clear();
            }
            keys.insert(hash.0.clone(), (found.clone(), Instant::now()));
        }
        Ok(found)
    }

    async fn insert_principal(&self, principal: &Principal) -> Result<(), StoreError> {
        self.cache.clear();
        self.store.insert_principal(principal).await
    }

    async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.cache.clear();
        self.store.insert_api_key(record).await
    }
}
