//! The keys service: named keys stored sealed, unsealed once into cached [`Keyring`]s, rotated by
//! hand, by period and by encryption count, over any [`KeyStore`].
//!
//! Every server keeps its own cache. A cached ring is trusted for [`CACHE_TTL`] (measured on the
//! monotonic clock, never the time of day); changes made by this server (create, rotate,
//! `PATCH`) replace its entry at once, and a ciphertext that names a version newer than the
//! cached latest reloads the ring, so on PostgreSQL another server's rotation or
//! `min_decryption_version` change takes effect here within the TTL.
//!
//! Writes are [`KeyChange`]s committed through a [`Journal`], so each one shares the transaction
//! of the audit entry that records it. Methods a caller invokes take the [`Granted`] proof of the
//! permission they need and the caller's [`TeamScope`]: a key of another team does not exist for
//! the caller. Time is a parameter (`now`); the service never reads the wall clock.

mod changes;

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rampart_access::{Granted, Required, perm};
use rampart_audit::JournalError;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::{
    CryptoError, KeyEncryptionKey, KeyMaterial, KeyRecord, KeyStore, KeyType, Keyring,
    KeyringError, MAX_ENCRYPTIONS_PER_VERSION, SealContext, SealedSecret, sealed_key_name,
};

pub use changes::{KeySpec, MAX_IMPORTED_VERSIONS};

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

/// What went wrong in the keys service. Messages name keys and fields, never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// There is no key with that name.
    #[error("no key named '{0}'")]
    NotFound(String),
    /// The key belongs to a team the caller is not in: for the caller it does not exist.
    #[error("no key named '{0}'")]
    OtherTeam(String),
    /// A key with that name exists.
    #[error("a key named '{0}' already exists")]
    NameTaken(String),
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
    /// Retiring versions of the cards key would strand cards still encrypted under them.
    #[error(
        "{count} stored cards are still encrypted under versions below {min}; run `rampart keys rewrap-all --key {key}` first"
    )]
    CardsStranded {
        /// Cards under a version below `min`.
        count: u64,
        /// The minimum asked for.
        min: u32,
        /// The cards key's name.
        key: String,
    },
    /// Stored material does not build a key.
    #[error("stored key material is unusable: {0}")]
    Keyring(#[from] KeyringError),
    /// Sealing or opening failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The change was not recorded (too large for the audit log, or the log is unavailable).
    #[error(transparent)]
    Journal(JournalError),
    /// Storage failed.
    #[error("key storage failed: {0}")]
    Storage(#[source] Box<dyn StdError + Send + Sync>),
}

impl KeyError {
    /// A storage failure.
    pub fn storage(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(error))
    }
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

/// Microseconds since the Unix epoch, as records store times.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Permissions that let a caller use a key's material (encrypt, decrypt, sign, ...).
pub trait KeyUse: Required {}
impl KeyUse for perm::KeysEncrypt {}
impl KeyUse for perm::KeysDecrypt {}
impl KeyUse for perm::SensitiveDataDecrypt {}

/// The teams a caller acts for: a key with a `team_id` serves only members of that team, or
/// callers whose roles bypass team isolation.
#[derive(Debug, Clone, Copy)]
pub struct TeamScope<'a> {
    teams: &'a [String],
    bypasses_isolation: bool,
}

impl<'a> TeamScope<'a> {
    /// A caller in `teams`, whose roles bypass team isolation or not.
    pub const fn new(teams: &'a [String], bypasses_isolation: bool) -> Self {
        Self {
            teams,
            bypasses_isolation,
        }
    }

    /// Whether the caller may act for `team`.
    pub fn includes(&self, team: &str) -> bool {
        self.bypasses_isolation || self.teams.iter().any(|t| t == team)
    }

    /// Whether the caller may see and use `record`.
    pub fn sees(&self, record: &KeyRecord) -> bool {
        record
            .team_id
            .as_deref()
            .is_none_or(|team| self.includes(team))
    }
}

/// A key's metadata and its unsealed ring, as cached (`Debug` shows no material).
#[derive(Debug)]
pub struct LoadedKey {
    /// The metadata.
    pub record: KeyRecord,
    /// The ring.
    pub ring: Keyring,
    loaded_at: Instant,
}

/// A key as a caller reads it: its metadata, with the ring when its public keys are shown
/// (`ed25519`).
#[derive(Debug)]
pub struct KeyView {
    /// The metadata.
    pub record: KeyRecord,
    /// The ring of an `ed25519` key, for its public keys.
    pub loaded: Option<Arc<LoadedKey>>,
}

/// A page of keys a caller sees.
pub struct KeyPage {
    /// The keys, by name.
    pub keys: Vec<KeyView>,
    /// The name to list after for the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// The keys service; see the module documentation.
pub struct KeyService<S> {
    store: S,
    kek: Arc<KeyEncryptionKey>,
    cache: RwLock<HashMap<String, Arc<LoadedKey>>>,
}

impl<S> KeyService<S>
where
    S: KeyStore + Sync,
    S::Error: StdError + Send + Sync + 'static,
{
    /// A service over `store`, sealing with `kek`.
    pub fn new(store: S, kek: Arc<KeyEncryptionKey>) -> Self {
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
    ) -> Result<SealedSecret, KeyError> {
        Ok(self.kek.seal(
            &SealContext::new(sealed_key_name(name), version),
            material.expose(),
        )?)
    }

    /// Reads a key from storage and replaces its cache entry.
    pub async fn reload(&self, name: &str) -> Result<Arc<LoadedKey>, KeyError> {
        let (record, sealed) = self
            .store
            .load_key(name)
            .await
            .map_err(KeyError::storage)?
            .ok_or_else(|| KeyError::NotFound(name.to_owned()))?;
        let mut materials = Vec::with_capacity(sealed.len());
        for (version, blob) in &sealed {
            let bytes = self
                .kek
                .open(&SealContext::new(sealed_key_name(name), *version), blob)?;
            let material =
                KeyMaterial::from_slice(bytes.expose_secret()).ok_or(KeyringError::BadMaterial)?;
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
    pub async fn get(&self, name: &str) -> Result<Arc<LoadedKey>, KeyError> {
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
    ) -> Result<Arc<LoadedKey>, KeyError> {
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

    /// Metadata straight from storage (for Rampart's own tasks; callers read through
    /// [`KeyService::read`]).
    pub async fn record(&self, name: &str) -> Result<KeyRecord, KeyError> {
        self.store
            .key_record(name)
            .await
            .map_err(KeyError::storage)?
            .ok_or_else(|| KeyError::NotFound(name.to_owned()))
    }

    /// Metadata straight from storage, if the caller sees the key.
    async fn record_for(&self, scope: TeamScope<'_>, name: &str) -> Result<KeyRecord, KeyError> {
        let record = self.record(name).await?;
        if scope.sees(&record) {
            Ok(record)
        } else {
            // As if it did not exist: the key list does not show it either.
            Err(KeyError::OtherTeam(name.to_owned()))
        }
    }

    /// A key the caller may use for a crypto operation, reloaded if `newest` (the highest
    /// version its input names) is newer than the cached latest. Rampart's own keys are
    /// [`KeyError::Reserved`]; another team's key is [`KeyError::OtherTeam`].
    pub async fn usable<P: KeyUse>(
        &self,
        _granted: Granted<P>,
        scope: TeamScope<'_>,
        name: &str,
        newest: Option<u32>,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        if is_internal(name) {
            return Err(KeyError::Reserved(name.to_owned()));
        }
        let key = self.get_for_version(name, newest).await?;
        if scope.sees(&key.record) {
            Ok(key)
        } else {
            Err(KeyError::OtherTeam(name.to_owned()))
        }
    }

    /// One key's metadata as the caller sees it (Rampart's own keys included).
    pub async fn read(
        &self,
        _granted: Granted<perm::KeysRead>,
        scope: TeamScope<'_>,
        name: &str,
    ) -> Result<KeyView, KeyError> {
        let record = self.record_for(scope, name).await?;
        let loaded = if record.key_type == KeyType::Ed25519 {
            Some(self.get(name).await?)
        } else {
            None
        };
        Ok(KeyView { record, loaded })
    }

    /// Keys by name after `after` (at most `limit` read), without those the caller does not
    /// see.
    pub async fn list(
        &self,
        _granted: Granted<perm::KeysRead>,
        scope: TeamScope<'_>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<KeyPage, KeyError> {
        let records = self
            .store
            .list_keys(after, limit)
            .await
            .map_err(KeyError::storage)?;
        let next_after = (records.len() == limit as usize)
            .then(|| records.last().map(|r| r.name.clone()))
            .flatten();
        let mut keys = Vec::with_capacity(records.len());
        for record in records.into_iter().filter(|r| scope.sees(r)) {
            let loaded = if record.key_type == KeyType::Ed25519 {
                self.get(&record.name).await.ok()
            } else {
                None
            };
            keys.push(KeyView { record, loaded });
        }
        Ok(KeyPage { keys, next_after })
    }

    /// Adds the encryptions counted in this process to the stored totals.
    pub async fn flush_counts(&self) -> Result<(), KeyError> {
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
                self.store
                    .add_encryptions(&name, &counts)
                    .await
                    .map_err(KeyError::storage)?;
            }
        }
        Ok(())
    }
}
