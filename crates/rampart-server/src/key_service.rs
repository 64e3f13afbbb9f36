//! The keys service: named keys stored sealed, unsealed once into cached [`Keyring`]s, rotated by
//! hand, by period and by encryption count.
//!
//! Every server keeps its own cache. A cached ring is trusted for [`CACHE_TTL`]; changes made
//! by this server (create, rotate, `PATCH`) replace its entry at once, and a ciphertext that
//! names a version newer than the cached latest reloads the ring, so on PostgreSQL another
//! server's rotation or `min_decryption_version` change takes effect here within the TTL.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rampart_audit::AuditLog;
use rampart_crypto::{
    CryptoError, KeyEncryptionKey, KeyMaterial, KeyRecord, KeyStore, KeyType, KeyUpdate, Keyring,
    KeyringError, MAX_ENCRYPTIONS_PER_VERSION, NewKey, SealContext, sealed_key_name,
};
use rampart_store::StoreChange;
use rampart_store::{Store, StoreError};
use time::OffsetDateTime;

/// How long a cached ring is used before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// Shortest time between two reloads forced by a ciphertext naming an unknown version.
const FORCED_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Longest automatic rotation period accepted (100 years).
pub const MAX_ROTATION_PERIOD_DAYS: u32 = 36_500;

/// Names of keys Rampart keeps for itself. The API cannot create them or use them for crypto
/// operations; it can read, rotate and `PATCH` them.
pub const INTERNAL_PREFIX: &str = "rampart.";

/// The internal key that encrypts the card vault's PANs.
pub const CARDS_KEY: &str = "rampart.cards";

/// A key version is rotated away once it has done this many encryptions (a margin below the
/// 2^32 limit, since servers add their counts every few seconds).
const ROTATE_AT_ENCRYPTIONS: u64 = MAX_ENCRYPTIONS_PER_VERSION - (1 << 28);

/// What went wrong in the keys service.
#[derive(Debug, thiserror::Error)]
pub enum KeyServiceError {
    /// There is no key with that name.
    #[error("no key named '{0}'")]
    NotFound(String),
    /// A key with that name exists.
    #[error("a key named '{0}' already exists")]
    Exists(String),
    /// The name is not a valid key name.
    #[error(
        "key names are 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or digit"
    )]
    InvalidName,
    /// The key is Rampart's own.
    #[error("'{0}' is reserved for Rampart's own use")]
    Reserved(String),
    /// A setting is out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Another server changed the key at the same moment; retrying is safe.
    #[error("the key was changed concurrently; retry")]
    Conflict,
    /// Stored material does not build a key.
    #[error("stored key material is unusable: {0}")]
    Keyring(#[from] KeyringError),
    /// Sealing or opening failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` is a valid name for a key created through the API.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is one of Rampart's own keys.
pub fn is_internal(name: &str) -> bool {
    name.starts_with(INTERNAL_PREFIX)
}

/// A key's metadata and its unsealed ring, as cached.
pub struct LoadedKey {
    /// The metadata.
    pub record: KeyRecord,
    /// The ring.
    pub ring: Keyring,
    loaded_at: Instant,
}

/// The keys service; see the module documentation.
pub struct KeyService {
    store: Store,
    kek: Arc<KeyEncryptionKey>,
    cache: RwLock<HashMap<String, Arc<LoadedKey>>>,
}

fn now_micros() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

impl KeyService {
    /// A service over `store`, sealing with `kek`.
    pub fn new(store: Store, kek: Arc<KeyEncryptionKey>) -> Self {
        Self {
            store,
            kek,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The key-encryption key (for other secrets sealed at rest, such as TOTP secrets).
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }

    fn seal(
        &self,
        name: &str,
        version: u32,
        material: &KeyMaterial,
    ) -> Result<rampart_crypto::SealedSecret, KeyServiceError> {
        Ok(self.kek.seal(
            &SealContext::new(sealed_key_name(name), version),
            material.expose(),
        )?)
    }

    /// Creates a key (with imported material for `fernet` keys when given).
    pub async fn create(
        &self,
        name: &str,
        key_type: KeyType,
        rotation_period_days: Option<u32>,
        material: Option<KeyMaterial>,
        team_id: Option<String>,
    ) -> Result<KeyRecord, KeyServiceError> {
        let change =
            self.prepare_create(name, key_type, rotation_period_days, material, team_id)?;
        if !self.store.apply(&change).await? {
            return Err(KeyServiceError::Exists(name.to_owned()));
        }
        Ok(self.reload(name).await?.record.clone())
    }

    /// Checks a new key and seals its first version: the change that creates it, for the
    /// caller to commit (with its audit entry: `AuditSlot::commit`; refused: the name is taken),
    /// then [`KeyService::reload`].
    pub fn prepare_create(
        &self,
        name: &str,
        key_type: KeyType,
        rotation_period_days: Option<u32>,
        material: Option<KeyMaterial>,
        team_id: Option<String>,
    ) -> Result<StoreChange, KeyServiceError> {
        if !(valid_key_name(name) || is_internal(name)) {
            return Err(KeyServiceError::InvalidName);
        }
        if rotation_period_days.is_some_and(|d| d == 0 || d > MAX_ROTATION_PERIOD_DAYS) {
            return Err(KeyServiceError::Invalid {
                field: "rotation_period_days",
                message: format!("must be from 1 to {MAX_ROTATION_PERIOD_DAYS}"),
            });
        }
        let material = match material {
            Some(material) => material,
            None => KeyMaterial::generate()?,
        };
        let new = NewKey {
            name: name.to_owned(),
            key_type,
            rotation_period_days,
            created_at: now_micros(),
            first_version: self.seal(name, 1, &material)?,
            team_id,
        };
        Ok(StoreChange::CreateKey(new))
    }

    /// Creates an internal key unless it exists; another server may create it first.
    pub async fn ensure_internal(
        &self,
        name: &str,
        key_type: KeyType,
    ) -> Result<Arc<LoadedKey>, KeyServiceError> {
        match self.get(name).await {
            Err(KeyServiceError::NotFound(_)) => {}
            other => return other,
        }
        match self.create(name, key_type, None, None, None).await {
            Ok(_) | Err(KeyServiceError::Exists(_)) => self.get(name).await,
            Err(e) => Err(e),
        }
    }

    /// Reads a key from storage and replaces its cache entry.
    pub async fn reload(&self, name: &str) -> Result<Arc<LoadedKey>, KeyServiceError> {
        let (record, sealed) = self
            .store
            .load_key(name)
            .await?
            .ok_or_else(|| KeyServiceError::NotFound(name.to_owned()))?;
        let mut materials = Vec::with_capacity(sealed.len());
        for (version, blob) in &sealed {
            let bytes = self
                .kek
                .open(&SealContext::new(sealed_key_name(name), *version), blob)?;
            let material = KeyMaterial::from_slice(secrecy::ExposeSecret::expose_secret(&bytes))
                .ok_or(KeyringError::BadMaterial)?;
            materials.push((*version, material));
        }
        let mut ring = Keyring::new(record.key_type, record.min_decryption_version, materials)?;
        let totals: Vec<(u32, u64)> = record
            .versions
            .iter()
            .map(|v| (v.version, v.encryptions))
            .collect();
        ring.set_stored_encryptions(&totals);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = cache.get(name) {
            ring.inherit_counters(&old.ring);
        }
        let loaded = Arc::new(LoadedKey {
            record,
            ring,
            loaded_at: Instant::now(),
        });
        cache.insert(name.to_owned(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// The key, from the cache while it is fresh.
    pub async fn get(&self, name: &str) -> Result<Arc<LoadedKey>, KeyServiceError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        match cached {
            Some(loaded) if loaded.loaded_at.elapsed() < CACHE_TTL => Ok(loaded),
            _ => self.reload(name).await,
        }
    }

    /// The key, reloaded if `version` is newer than the cached latest (another server rotated).
    pub async fn get_for_version(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Arc<LoadedKey>, KeyServiceError> {
        let loaded = self.get(name).await?;
        match version {
            // At most one forced reload per key per second, so ciphertexts naming versions
            // that do not exist cannot make every request unseal the key again.
            Some(v)
                if v > loaded.ring.latest_version()
                    && loaded.loaded_at.elapsed() >= FORCED_RELOAD_INTERVAL =>
            {
                self.reload(name).await
            }
            _ => Ok(loaded),
        }
    }

    /// Metadata straight from storage.
    pub async fn record(&self, name: &str) -> Result<KeyRecord, KeyServiceError> {
        self.store
            .key_record(name)
            .await?
            .ok_or_else(|| KeyServiceError::NotFound(name.to_owned()))
    }

    /// Keys by name after `after`.
    pub async fn list(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, KeyServiceError> {
        Ok(self.store.list_keys(after, limit).await?)
    }

    /// Adds a version and makes it the latest.
    pub async fn rotate(&self, name: &str) -> Result<KeyRecord, KeyServiceError> {
        let record = self.record(name).await?;
        self.rotate_from(name, record.latest_version).await
    }

    /// Adds version `expected_latest + 1` unless another writer rotated since
    /// `expected_latest` was read ([`KeyServiceError::Conflict`]).
    pub async fn rotate_from(
        &self,
        name: &str,
        expected_latest: u32,
    ) -> Result<KeyRecord, KeyServiceError> {
        let change = self.prepare_rotation(name, expected_latest)?;
        if !self.store.apply(&change).await? {
            return Err(KeyServiceError::Conflict);
        }
        Ok(self.reload(name).await?.record.clone())
    }

    /// The change that adds version `expected_latest + 1` (new material, sealed), for the
    /// caller to commit; refused if another writer rotated since `expected_latest` was read.
    pub fn prepare_rotation(
        &self,
        name: &str,
        expected_latest: u32,
    ) -> Result<StoreChange, KeyServiceError> {
        let next = expected_latest
            .checked_add(1)
            .ok_or(KeyServiceError::Conflict)?;
        let material = KeyMaterial::generate()?;
        Ok(StoreChange::AddKeyVersion {
            name: name.to_owned(),
            expected_latest,
            sealed: self.seal(name, next, &material)?,
            created_at: now_micros(),
        })
    }

    /// Changes `min_decryption_version` and/or `rotation_period_days`.
    pub async fn update(
        &self,
        name: &str,
        update: &KeyUpdate,
    ) -> Result<KeyRecord, KeyServiceError> {
        let change = self.prepare_update(name, update).await?;
        if !self.store.apply(&change).await? {
            return Err(self.update_refused(name).await);
        }
        Ok(self.reload(name).await?.record.clone())
    }

    /// Why an update change was refused: the key is gone, or another request raised the
    /// minimum between our read and our write (the store refused to lower it).
    pub async fn update_refused(&self, name: &str) -> KeyServiceError {
        match self.record(name).await {
            Err(e) => e,
            Ok(_) => KeyServiceError::Conflict,
        }
    }

    /// Checks an update against the key as stored: the change that makes it, for the caller to
    /// commit (refused: see [`KeyService::update_refused`]).
    pub async fn prepare_update(
        &self,
        name: &str,
        update: &KeyUpdate,
    ) -> Result<StoreChange, KeyServiceError> {
        let record = self.record(name).await?;
        if let Some(min) = update.min_decryption_version
            && (min < 1 || min > record.latest_version)
        {
            return Err(KeyServiceError::Invalid {
                field: "min_decryption_version",
                message: format!(
                    "must be between 1 and the latest version ({})",
                    record.latest_version
                ),
            });
        }
        if let Some(min) = update.min_decryption_version
            && min < record.min_decryption_version
            && !update.allow_lowering
        {
            return Err(KeyServiceError::Invalid {
                field: "min_decryption_version",
                message: format!(
                    "would lower the minimum from {} to {min}, reviving retired versions; send \"allow_lowering\": true to do so on purpose",
                    record.min_decryption_version
                ),
            });
        }
        if update
            .rotation_period_days
            .flatten()
            .is_some_and(|d| d == 0 || d > MAX_ROTATION_PERIOD_DAYS)
        {
            return Err(KeyServiceError::Invalid {
                field: "rotation_period_days",
                message: format!(
                    "must be from 1 to {MAX_ROTATION_PERIOD_DAYS} (or null to turn rotation off)"
                ),
            });
        }
        Ok(StoreChange::UpdateKey {
            name: name.to_owned(),
            update: update.clone(),
            updated_at: now_micros(),
        })
    }

    /// Adds the encryptions counted in this process to the stored totals.
    pub async fn flush_counts(&self) -> Result<(), KeyServiceError> {
        let cached: Vec<(String, Arc<LoadedKey>)> = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        for (name, loaded) in cached {
            let counts = loaded.ring.take_encryptions();
            if !counts.is_empty() {
                self.store.add_encryptions(&name, &counts).await?;
            }
        }
        Ok(())
    }

    /// Rotates every key whose rotation period has passed at `now` (microseconds) or whose
    /// latest version nears its encryption limit. Returns the names rotated.
    pub async fn rotate_due(&self, now: i64) -> Result<Vec<String>, KeyServiceError> {
        let mut rotated = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list(after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.name.clone());
            for record in &page {
                let by_period = record.next_rotation_at().is_some_and(|at| at <= now);
                let by_count = record
                    .versions
                    .iter()
                    .find(|v| v.version == record.latest_version)
                    .is_some_and(|v| v.encryptions >= ROTATE_AT_ENCRYPTIONS);
                if !(by_period || by_count) {
                    continue;
                }
                match self.rotate_from(&record.name, record.latest_version).await {
                    Ok(_) => {
                        tracing::info!(key = %record.name, by_period, by_count, "key rotated automatically");
                        rotated.push(record.name.clone());
                    }
                    // Another server rotated it first.
                    Err(KeyServiceError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(rotated)
    }

    /// One run of the maintenance job: flush counts and rotate what is due, auditing each
    /// automatic rotation. The job runner calls it every `key_maintenance_interval_seconds`.
    pub async fn maintenance_tick(&self, audit: &AuditLog<Store>) {
        if let Err(e) = self.flush_counts().await {
            tracing::warn!(error = %e, "cannot store key encryption counts");
        }
        match self.rotate_due(now_micros()).await {
            Ok(rotated) => {
                for name in rotated {
                    crate::system_audit::record(
                        audit,
                        "rampart",
                        "keys.rotate",
                        ("key", &name),
                        serde_json::json!({"reason": "automatic"}),
                    )
                    .await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "automatic key rotation failed"),
        }
    }
}
