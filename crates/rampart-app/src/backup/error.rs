//! Why a backup or a restore was refused. Each message says what to do; none holds a secret.

use std::path::PathBuf;

use rampart_store::StoreError;

use crate::deployment::StartupError;

/// Why `rampart backup` wrote no backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The deployment is on PostgreSQL.
    #[error(
        "rampart backup copies SQLite deployments; back up PostgreSQL ({url}) with its own tools: `pg_dump --format=custom --file rampart.dump '{url}'` (with the real password), restore with `pg_restore --dbname '{url}' rampart.dump`; keep RAMPART_MASTER_KEY backed up apart"
    )]
    Postgres {
        /// The database URL, password redacted.
        url: String,
    },
    /// The output file exists.
    #[error(
        "{path} exists; nothing was written (choose another --output, or pass --force to replace it)"
    )]
    OutputExists {
        /// The file.
        path: PathBuf,
    },
    /// The deployment could not be opened (not initialized, ...).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The database could not be copied.
    #[error("the backup failed, nothing was left behind: {0}")]
    Store(#[from] StoreError),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why `rampart restore` restored nothing. The target is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Restore writes a SQLite data dir only.
    #[error(
        "rampart restore writes a SQLite data dir; restore a PostgreSQL deployment with `pg_restore --dbname URL FILE` (unset --database-url/RAMPART_DATABASE_URL here)"
    )]
    Postgres,
    /// The input cannot be read.
    #[error("cannot read {path}: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not a SQLite database at all.
    #[error(
        "{path} is not a SQLite database (no SQLite header): give a file `rampart backup` wrote"
    )]
    NotSqlite {
        /// The file.
        path: PathBuf,
    },
    /// The input is damaged.
    #[error("{path} is damaged (integrity check: {problems}); take another backup")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The first problems SQLite found.
        problems: String,
    },
    /// The input is SQLite, but not a Rampart deployment.
    #[error(
        "{path} is a SQLite database but not a Rampart deployment ({why}): give a file `rampart backup` wrote"
    )]
    NotRampart {
        /// The file.
        path: PathBuf,
        /// What is missing.
        why: &'static str,
    },
    /// The input was written by a newer Rampart.
    #[error(
        "{path} has schema version {found}, newer than this binary knows ({known}): restore it with the newer rampart that wrote it"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// This binary's newest.
        known: i64,
    },
    /// The target holds something already.
    #[error("{path} {what}; restore into a new or empty directory (nothing was changed there)")]
    TargetNotEmpty {
        /// The target data dir.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// The master key given does not parse.
    #[error("the master key {source_name} {reason}")]
    MasterKey {
        /// `--master-key-file PATH` or `RAMPART_MASTER_KEY`.
        source_name: String,
        /// What is wrong.
        reason: rampart_crypto::MasterKeyError,
    },
    /// The master key given is not this deployment's.
    #[error(
        "the master key {source_name} does not open this backup (it is not the key the deployment was initialized with); nothing was restored"
    )]
    WrongMasterKey {
        /// Where it came from.
        source_name: String,
    },
    /// Storage failed while checking the copy.
    #[error("cannot check the backup: {0}")]
    Store(#[from] StoreError),
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
}
