//! Why Rampart refuses to initialize or start: each message says what to do.

use std::path::PathBuf;

use rampart_audit::LogError;
use rampart_crypto::{CryptoError, MasterKeyError};
use rampart_store::StoreError;

/// Why Rampart refuses to initialize or start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `init` on a deployment that exists.
    #[error(
        "{location} is already initialized; nothing was changed (to start it, run `rampart serve`)"
    )]
    AlreadyInitialized {
        /// The data dir or database.
        location: String,
    },
    /// `serve` (or a command that needs a deployment) on a data dir or database named
    /// explicitly that holds no deployment: a typo must not create a new deployment.
    #[error(
        "{location}; nothing was created. To create a deployment there, run `{command}`; if you meant an existing deployment, check the path or URL (--data-dir/RAMPART_DATA_DIR, --database-url/RAMPART_DATABASE_URL, or the config file). `rampart serve` initializes only the default ./rampart-data by itself"
    )]
    NotInitialized {
        /// The data dir or database, and what is missing.
        location: String,
        /// The `rampart init ...` command to run.
        command: String,
    },
    /// `RAMPART_MASTER_KEY` does not hold a valid key.
    #[error(
        "RAMPART_MASTER_KEY {0}; set it to the base64 of 32 random bytes (generate one with `openssl rand -base64 32`)"
    )]
    MasterKeyEnv(MasterKeyError),
    /// The role policy (file or stored) does not compile.
    #[error("role policy {source_name}: {message}")]
    AccessPolicy {
        /// The file, or "stored by PUT /v1/policy".
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// The `detection_rules_file` cannot be read or holds invalid rules.
    #[error("detection_rules_file {0} (fix the file or unset detection_rules_file)")]
    DetectionRules(String),
    /// The password hashing parameters are invalid.
    #[error("argon2 settings: {0}")]
    PasswordParams(String),
    /// The session key does not build.
    #[error("the session signing key is unusable: {0}")]
    SessionKey(String),
    /// `RAMPART_MASTER_KEY_PREVIOUS` does not hold a valid key.
    #[error(
        "RAMPART_MASTER_KEY_PREVIOUS {0}; set it to the master key being rotated away (base64 of 32 bytes), or unset it"
    )]
    PreviousMasterKeyEnv(MasterKeyError),
    /// The key file does not hold a valid key.
    #[error("master key file {path} {reason}; restore it from your backup")]
    MasterKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: MasterKeyError,
    },
    /// No master key anywhere.
    #[error(
        "no master key: RAMPART_MASTER_KEY is not set and {path} does not exist; set RAMPART_MASTER_KEY to the key this deployment was initialized with, or restore the key file from your backup"
    )]
    MasterKeyMissing {
        /// Where the key file was expected.
        path: PathBuf,
    },
    /// The key file is readable by others.
    #[error(
        "master key file {path} has mode {mode:o}, readable by other users; run `chmod 600 {path}` and start again"
    )]
    MasterKeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// PostgreSQL deployments take the key from the environment only.
    #[error(
        "RAMPART_MASTER_KEY is required with PostgreSQL (every server of the deployment needs the same key); generate one with `openssl rand -base64 32` and keep it in your secret manager"
    )]
    MasterKeyRequiredForPostgres,
    /// The master key is not the one that sealed this deployment.
    #[error(
        "the master key does not match {location}: it is not the key this deployment was initialized with; set RAMPART_MASTER_KEY (or restore the data dir's master.key) to the original key. Nothing was changed"
    )]
    WrongMasterKey {
        /// The data dir or database.
        location: String,
    },
    /// A sealed secret that init writes is missing.
    #[error("{location} is damaged: its sealed '{name}' is missing")]
    MissingSecret {
        /// The data dir or database.
        location: String,
        /// The secret's name.
        name: &'static str,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The API key generator failed.
    #[error("cannot generate the admin API key: {0}")]
    KeyGeneration(#[from] rampart_access::ApiKeyFormatError),
    /// The audit log could not be opened.
    #[error("cannot open the audit log: {0}")]
    Audit(#[from] LogError<StoreError>),
    /// The PII policy file cannot be used.
    #[error("privacy policy file {path}: {message}")]
    PrivacyPolicy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The rate-limit rules file cannot be used.
    #[error("rate limits file {path}: {message}")]
    RateLimits {
        /// The file.
        path: PathBuf,
        /// What is wrong: the rule and field, or why the file cannot be read.
        message: String,
    },
    /// The stored audit signing key is not a valid Ed25519 seed.
    #[error("{location} is damaged: the audit signing key is invalid")]
    BadAuditKey {
        /// The data dir or database.
        location: String,
    },
}
