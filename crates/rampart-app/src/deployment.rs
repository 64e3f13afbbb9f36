//! Start-up: `rampart init` and the opening of a deployment by `rampart serve`.
//!
//! Every check that can fail runs before anything is written, and its message tells the operator
//! what to do. A wrong master key is caught by the sealed sentinel before any migration runs, so
//! a mistaken start leaves the data exactly as it was.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rampart_access::{ApiKey, ApiKeyPepper, Principal};
use rampart_audit::{AuditLog, LogSigner};
use rampart_crypto::{
    KeyEncryptionKey, MasterKey, SealContext, SealedSecretStore, Sentinel, random_secret,
};
use rampart_store::{Backend, Deployment, Initialization, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{LoadedSettings, Settings};

mod error;
mod uninitialized;

pub use error::StartupError;

/// File name of the SQLite database inside the data dir.
pub const DATABASE_FILE: &str = "rampart.db";
/// File name of the master key inside the data dir.
pub const MASTER_KEY_FILE: &str = "master.key";
/// Name of the sealed secret that keys card fingerprints (the card vault's).
const CARD_FINGERPRINT_SECRET: &str = rampart_crypto::FINGERPRINT_SECRET;

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `RAMPART_MASTER_KEY`.
    Env,
    /// The key file in the data dir.
    File(PathBuf),
}

impl MasterKeySource {
    /// `env` or `file`, as `init --json` reports it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::File(_) => "file",
        }
    }
}

/// What `rampart init` created.
#[derive(Debug)]
pub struct Initialized {
    /// The bootstrap admin key, to show once.
    pub admin_api_key: ApiKey,
    /// The data dir.
    pub data_dir: PathBuf,
    /// Where the master key lives.
    pub master_key_source: MasterKeySource,
    /// The storage backend.
    pub backend: Backend,
}

/// A deployment opened for serving: the store and the secrets unsealed from it.
pub struct OpenDeployment {
    /// The storage.
    pub store: Store,
    /// The deployment record.
    pub deployment: Deployment,
    /// The key-encryption key.
    pub kek: KeyEncryptionKey,
    /// The API-key hashing pepper.
    pub api_key_pepper: ApiKeyPepper,
    /// The audit log (its writer task runs on the current runtime).
    pub audit: AuditLog<Store>,
    /// The key of the PII `hash` action.
    pub pii_key: rampart_privacy::HashKey,
    /// The key of card fingerprints.
    pub card_fingerprint_key: rampart_crypto::SecretBytes,
    /// The key of subject lookup hashes (made on the first start that needs it).
    pub subject_lookup_key: rampart_subjects::LookupKey,
    /// The seed of the session-signing Ed25519 key.
    pub session_seed: rampart_crypto::SecretBytes,
    /// The seed of the agents' execution-token Ed25519 key (made on the first start that needs
    /// it).
    pub agent_token_seed: rampart_crypto::SecretBytes,
    /// Where the master key was read: `env` or `file`.
    pub master_key_source: &'static str,
    /// The role policy set through the API (JSON) and its version, if any.
    pub stored_policy: Option<(String, u64)>,
    /// Threat protection: the rate-limit rules, address rules and blocks in force.
    pub threat: std::sync::Arc<rampart_threat::ThreatGuard<Store>>,
    /// What init created, when this start initialized the deployment.
    pub first_start: Option<Initialized>,
}

fn location(settings: &Settings) -> String {
    match &settings.database_url {
        Some(url) => format!(
            "database {}",
            crate::config::redact_url(url.expose_secret())
        ),
        None => format!("data dir {}", settings.data_dir.display()),
    }
}

fn key_file(settings: &Settings) -> PathBuf {
    settings.data_dir.join(MASTER_KEY_FILE)
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StartupError {
    let path = path.to_owned();
    move |source| StartupError::Io {
        action,
        path,
        source,
    }
}

async fn open_store(settings: &Settings, create: bool) -> Result<Store, StartupError> {
    Ok(match &settings.database_url {
        Some(url) => Store::open_postgres(url.expose_secret()).await?,
        None => Store::open_sqlite(&settings.data_dir.join(DATABASE_FILE), create).await?,
    })
}

/// The master key for an existing deployment: the environment first, else the key file.
fn existing_master_key(
    loaded: &LoadedSettings,
) -> Result<(MasterKey, MasterKeySource), StartupError> {
    if let Some(value) = &loaded.master_key_env {
        let key =
            MasterKey::from_base64(value.expose_secret()).map_err(StartupError::MasterKeyEnv)?;
        return Ok((key, MasterKeySource::Env));
    }
    if loaded.settings.database_url.is_some() {
        return Err(StartupError::MasterKeyRequiredForPostgres);
    }
    let path = key_file(&loaded.settings);
    let metadata = match fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StartupError::MasterKeyMissing { path });
        }
        Err(e) => return Err(io("cannot read", &path)(e)),
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StartupError::MasterKeyFilePermissions { path, mode });
    }
    let text =
        zeroize::Zeroizing::new(fs::read_to_string(&path).map_err(io("cannot read", &path))?);
    let key = MasterKey::from_base64(&text).map_err(|reason| StartupError::MasterKeyFile {
        path: path.clone(),
        reason,
    })?;
    Ok((key, MasterKeySource::File(path)))
}

/// The refusal of a command on a data dir or database that holds no deployment: what is
/// missing and the `rampart init` command that creates it.
pub fn not_initialized(settings: &Settings) -> StartupError {
    uninitialized::refusal(settings)
}

/// Whether the deployment the settings point at is initialized. Reads only.
pub async fn is_initialized(settings: &Settings) -> Result<bool, StartupError> {
    if settings.database_url.is_none() && !settings.data_dir.join(DATABASE_FILE).exists() {
        return Ok(false);
    }
    let store = open_store(settings, false).await?;
    let initialized = store.deployment().await?.is_some();
    store.close().await;
    Ok(initialized)
}

/// `rampart init`: creates the deployment (data dir, database, master key file when the key is
/// not in the environment, sealed secrets, the bootstrap admin and its API key). Refuses,
/// changing nothing, when the deployment exists.
pub async fn initialize(
    loaded: &LoadedSettings,
    now: OffsetDateTime,
) -> Result<Initialized, StartupError> {
    let settings = &loaded.settings;
    let sqlite = settings.database_url.is_none();
    if is_initialized(settings).await? || (sqlite && key_file(settings).exists()) {
        return Err(StartupError::AlreadyInitialized {
            location: location(settings),
        });
    }
    // Check the key before creating anything.
    let (master, source) = match &loaded.master_key_env {
        Some(value) => (
            MasterKey::from_base64(value.expose_secret()).map_err(StartupError::MasterKeyEnv)?,
            MasterKeySource::Env,
        ),
        None if !sqlite => return Err(StartupError::MasterKeyRequiredForPostgres),
        None => (
            MasterKey::generate()?,
            MasterKeySource::File(key_file(settings)),
        ),
    };
    if sqlite {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&settings.data_dir)
            .map_err(io("cannot create data dir", &settings.data_dir))?;
    }
    // The key file is written under a temporary name and renamed only once the database holds
    // the deployment, so a crash in between never leaves a key file that blocks a new init.
    let pending_key = settings.data_dir.join(format!("{MASTER_KEY_FILE}.pending"));
    if let MasterKeySource::File(_) = source {
        write_key_file(&pending_key, &master)?;
    }
    let result = write_deployment(settings, &master, now).await;
    let admin_api_key = match result {
        Ok(key) => key,
        Err(e) => {
            let _ = fs::remove_file(&pending_key);
            return Err(e);
        }
    };
    if let MasterKeySource::File(path) = &source {
        fs::rename(&pending_key, path).map_err(io("cannot write master key file", path))?;
        if let Ok(dir) = fs::File::open(&settings.data_dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(Initialized {
        admin_api_key,
        data_dir: settings.data_dir.clone(),
        master_key_source: source,
        backend: if sqlite {
            Backend::Sqlite
        } else {
            Backend::Postgres
        },
    })
}

fn write_key_file(path: &Path, master: &MasterKey) -> Result<(), StartupError> {
    let _ = fs::remove_file(path);
    create_key_file(path, master).map_err(io("cannot write master key file", path))
}

/// Writes `master` (base64 and a newline) to a new file at `path`, mode 0600, synced to disk;
/// an existing file is an error, never overwritten.
pub(crate) fn create_key_file(path: &Path, master: &MasterKey) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let encoded = master.to_base64();
    file.write_all(encoded.expose_secret().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// After master-key rotation: a SQLite deployment whose key lives in `DIR/master.key` gets the
/// new key (`RAMPART_MASTER_KEY`) written there, under a temporary name renamed over the old
/// file, so the file never holds a key that does not open the deployment. PostgreSQL
/// deployments and data dirs without a key file are left alone.
pub fn replace_key_file(
    loaded: &LoadedSettings,
    current: &SecretString,
) -> Result<(), StartupError> {
    if loaded.settings.database_url.is_some() {
        return Ok(());
    }
    let path = key_file(&loaded.settings);
    if !path.exists() {
        return Ok(());
    }
    let master =
        MasterKey::from_base64(current.expose_secret()).map_err(StartupError::MasterKeyEnv)?;
    let pending = loaded
        .settings
        .data_dir
        .join(format!("{MASTER_KEY_FILE}.rotating"));
    write_key_file(&pending, &master)?;
    fs::rename(&pending, &path).map_err(io("cannot replace master key file", &path))
}

async fn write_deployment(
    settings: &Settings,
    master: &MasterKey,
    now: OffsetDateTime,
) -> Result<ApiKey, StartupError> {
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let kek = master.key_encryption_key();
    let pepper = ApiKeyPepper::new(*random_secret::<32>()?);
    let admin = Principal::bootstrap_admin(now);
    let (key, admin_key) = pepper.issue(admin.id, "bootstrap", None, None, now)?;
    let init = Initialization {
        deployment: Deployment {
            id: Uuid::now_v7(),
            created_at: now,
            created_by_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        sealed_secrets: vec![
            (Sentinel::NAME.to_owned(), 1, Sentinel::seal(&kek)?),
            (
                ApiKeyPepper::SECRET_NAME.to_owned(),
                1,
                kek.seal(
                    &SealContext::new(ApiKeyPepper::SECRET_NAME, 1),
                    pepper.expose(),
                )?,
            ),
        ],
        admin,
        admin_key,
    };
    let store = open_store(settings, true).await?;
    store.migrate().await?;
    let result = store.initialize(&init).await;
    store.close().await;
    match result {
        Ok(()) => Ok(key),
        Err(StoreError::AlreadyInitialized) => Err(StartupError::AlreadyInitialized {
            location: location(settings),
        }),
        Err(e) => Err(e.into()),
    }
}

/// `rampart serve`'s start-up: initializes an uninitialized deployment at the default data dir
/// (and reports it in `first_start`), then opens it: checks the master key against the sentinel,
/// applies pending migrations, and unseals the secrets the server needs. A data dir or database
/// named explicitly (`LoadedSettings::location_explicit`) that holds no deployment is refused,
/// creating nothing, with the `rampart init` command that creates it.
pub async fn open_or_initialize(
    loaded: &LoadedSettings,
    now: OffsetDateTime,
) -> Result<OpenDeployment, StartupError> {
    let first_start = if is_initialized(&loaded.settings).await? {
        None
    } else if loaded.location_explicit {
        return Err(not_initialized(&loaded.settings));
    } else {
        match initialize(loaded, now).await {
            Ok(initialized) => Some(initialized),
            // Another server started on the same default data dir initialized it first.
            Err(StartupError::AlreadyInitialized { .. }) => None,
            Err(e) => return Err(e),
        }
    };
    let mut open = open(loaded).await?;
    open.first_start = first_start;
    Ok(open)
}

/// Opens an initialized deployment. Reads only until the master key is proven right.
pub async fn open(loaded: &LoadedSettings) -> Result<OpenDeployment, StartupError> {
    let store = open_store(&loaded.settings, false).await?;
    match open_with(loaded, store.clone()).await {
        Ok(opened) => Ok(opened),
        Err(e) => {
            // Close cleanly so a refused start leaves no trace (SQLite removes its WAL files).
            store.close().await;
            Err(e)
        }
    }
}

async fn open_with(loaded: &LoadedSettings, store: Store) -> Result<OpenDeployment, StartupError> {
    let settings = &loaded.settings;
    let where_ = location(settings);
    let Some(deployment) = store.deployment().await? else {
        return Err(StartupError::MissingSecret {
            location: where_,
            name: "deployment record",
        });
    };
    let (master, master_source) = existing_master_key(loaded)?;
    let master_key_source = master_source.as_str();
    let kek = with_previous_master_key(loaded, master.key_encryption_key())?;
    let sentinel =
        store
            .load_sealed(Sentinel::NAME, 1)
            .await?
            .ok_or_else(|| StartupError::MissingSecret {
                location: where_.clone(),
                name: "sentinel",
            })?;
    Sentinel::verify(&kek, &sentinel).map_err(|_| StartupError::WrongMasterKey {
        location: where_.clone(),
    })?;
    store.migrate().await?;
    let sealed_pepper = store
        .load_sealed(ApiKeyPepper::SECRET_NAME, 1)
        .await?
        .ok_or_else(|| StartupError::MissingSecret {
            location: where_.clone(),
            name: "api_key_pepper",
        })?;
    let pepper_bytes = kek.open(
        &SealContext::new(ApiKeyPepper::SECRET_NAME, 1),
        &sealed_pepper,
    )?;
    let api_key_pepper = ApiKeyPepper::from_slice(pepper_bytes.expose_secret()).ok_or(
        StartupError::MissingSecret {
            location: where_.clone(),
            name: "api_key_pepper",
        },
    )?;
    let signer = audit_signer(&store, &kek, &deployment, &where_).await?;
    let audit = AuditLog::open(
        store.clone(),
        signer,
        std::sync::Arc::new(OffsetDateTime::now_utc),
    )
    .await?;
    let pii_key = rampart_privacy::HashKey::new(
        sealed_or_create(&store, &kek, rampart_privacy::HashKey::SECRET_NAME)
            .await?
            .expose_secret()
            .try_into()
            .map_err(|_| StartupError::MissingSecret {
                location: where_.clone(),
                name: "pii_hash_pepper",
            })?,
    );
    let card_fingerprint_key = sealed_or_create(&store, &kek, CARD_FINGERPRINT_SECRET).await?;
    let subject_lookup_key = rampart_subjects::LookupKey::from_bytes(
        sealed_or_create(&store, &kek, rampart_subjects::LookupKey::SECRET_NAME)
            .await?
            .expose_secret()
            .try_into()
            .map_err(|_| StartupError::MissingSecret {
                location: where_.clone(),
                name: rampart_subjects::LookupKey::SECRET_NAME,
            })?,
    );
    let session_seed = sealed_or_create(
        &store,
        &kek,
        rampart_access::session::SessionSigner::SECRET_NAME,
    )
    .await?;
    let agent_token_seed =
        sealed_or_create(&store, &kek, rampart_agents::TokenSigner::SECRET_NAME).await?;
    let stored_policy = store.access_policy().await?;
    let threat = std::sync::Arc::new(
        rampart_threat::ThreatGuard::open(
            store.clone(),
            block_settings(settings),
            rate_limits_file(settings)?,
            OffsetDateTime::now_utc(),
        )
        .await?,
    );
    Ok(OpenDeployment {
        threat,
        store,
        deployment,
        kek,
        api_key_pepper,
        audit,
        pii_key,
        card_fingerprint_key,
        subject_lookup_key,
        session_seed,
        agent_token_seed,
        master_key_source,
        stored_policy,
        first_start: None,
    })
}

/// Dual-key mode: with `RAMPART_MASTER_KEY_PREVIOUS` set, the KEK also opens what the previous
/// master key sealed (see `rampart master-key rotate`).
pub fn with_previous_master_key(
    loaded: &LoadedSettings,
    kek: KeyEncryptionKey,
) -> Result<KeyEncryptionKey, StartupError> {
    match &loaded.previous_master_key_env {
        Some(value) => {
            let previous = MasterKey::from_base64(value.expose_secret())
                .map_err(StartupError::PreviousMasterKeyEnv)?;
            tracing::warn!(
                "dual-key mode: RAMPART_MASTER_KEY_PREVIOUS is set; run `rampart master-key rotate`, then unset it"
            );
            Ok(kek.with_previous(&previous))
        }
        None => Ok(kek),
    }
}

/// The log's origin: unique per deployment, and the name of its signing key.
pub fn audit_origin(deployment: &Deployment) -> String {
    format!("rampart.dev/audit/{}", deployment.id)
}

/// A 32-byte secret sealed in storage under `name` (version 1), made on the first start that
/// needs it. When several servers race, the first stored one wins and every server uses it.
async fn sealed_or_create(
    store: &Store,
    kek: &KeyEncryptionKey,
    name: &'static str,
) -> Result<rampart_crypto::SecretBytes, StartupError> {
    let context = SealContext::new(name, 1);
    if store.load_sealed(name, 1).await?.is_none() {
        let fresh = random_secret::<32>()?;
        let sealed = kek.seal(&context, fresh.as_ref())?;
        store.store_sealed_if_absent(name, 1, &sealed).await?;
    }
    let sealed = store
        .load_sealed(name, 1)
        .await?
        .ok_or(StartupError::MissingSecret {
            location: String::new(),
            name,
        })?;
    Ok(kek.open(&context, &sealed)?)
}

/// The audit signing key, sealed in storage; made on the first start that needs it. When
/// several servers race, the first stored key wins and every server uses it.
async fn audit_signer(
    store: &Store,
    kek: &KeyEncryptionKey,
    deployment: &Deployment,
    location: &str,
) -> Result<LogSigner, StartupError> {
    let seed = sealed_or_create(store, kek, LogSigner::SECRET_NAME).await?;
    LogSigner::from_seed(&audit_origin(deployment), seed.expose_secret()).map_err(|_| {
        StartupError::BadAuditKey {
            location: location.to_owned(),
        }
    })
}

/// The PII policy in force: API.md's default with the overrides of `privacy_policy_file`.
pub fn privacy_policy(settings: &Settings) -> Result<rampart_privacy::Policy, StartupError> {
    let default = rampart_privacy::Policy::default_policy();
    let Some(path) = &settings.privacy_policy_file else {
        return Ok(default);
    };
    let error = |message: String| StartupError::PrivacyPolicy {
        path: path.clone(),
        message,
    };
    let text = fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let overrides: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| error(format!("not JSON: {e}")))?;
    let policy = default
        .with_overrides(&overrides)
        .map_err(|e| error(e.to_string()))?;
    Ok(policy)
}

/// The block settings of threat protection.
pub fn block_settings(settings: &Settings) -> rampart_threat::BlockSettings {
    let narrow = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
    rampart_threat::BlockSettings {
        block_after_failures: narrow(settings.block_after_failures),
        block_window_seconds: narrow(settings.block_window_seconds),
        block_seconds: narrow(settings.block_seconds),
        block_exempt_seconds: narrow(settings.block_exempt_seconds),
        block_loopback: settings.block_loopback,
        trusted_proxies: settings.trusted_proxies.clone(),
    }
}

/// The rules of `rate_limits_file`, if set: YAML for `.yaml`/`.yml`, else JSON. A file that
/// cannot be read or holds a bad rule stops start-up with the rule and field named.
pub fn rate_limits_file(
    settings: &Settings,
) -> Result<Option<rampart_threat::RuleSet>, StartupError> {
    let Some(path) = &settings.rate_limits_file else {
        return Ok(None);
    };
    let error = |message: String| StartupError::RateLimits {
        path: path.clone(),
        message,
    };
    let text = fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let rules = if yaml {
        rampart_threat::RuleSet::parse_yaml(&text)
    } else {
        rampart_threat::RuleSet::parse_json(&text)
    };
    rules.map(Some).map_err(|e| error(e.to_string()))
}
