//! `rampart backup` and `rampart restore`: an online, consistent copy of a SQLite deployment's
//! database, and its return into a new data dir.
//!
//! The copy is the store's `VACUUM INTO` (one read transaction: servers keep writing, the copy
//! holds every transaction committed before it began and nothing torn). It never holds the
//! master key: the key file stays in the data dir (or in `RAMPART_MASTER_KEY`) and is backed up
//! apart, so a stolen backup alone opens nothing. The file is written under a temporary name
//! (mode 0600) beside the output and linked into place only when complete, so an existing file
//! is never overwritten without `--force` and a failed backup leaves no partial file.
//!
//! PostgreSQL deployments are backed up with PostgreSQL's tools (`pg_dump`); the refusal says
//! how.

use std::fs;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rampart_store::Store;
use secrecy::ExposeSecret as _;

use crate::config::LoadedSettings;
use crate::deployment::{self, DATABASE_FILE, MASTER_KEY_FILE};

mod error;
mod restore;

pub use error::{BackupError, RestoreError};
pub use restore::{RestoreReport, RestoredKey, restore};

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    /// The database copied.
    pub database: PathBuf,
    /// The backup file.
    pub output: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The schema version it holds.
    pub schema_version: i64,
    /// Where the master key is, which the backup does not hold: to back up apart.
    pub master_key: String,
}

/// `rampart backup --output FILE`: copies the SQLite database of `loaded`'s data dir to
/// `output` while servers run. Refuses PostgreSQL (naming `pg_dump`), an uninitialized data dir
/// (naming `rampart init`), and an existing `output` unless `force`.
pub async fn backup(
    loaded: &LoadedSettings,
    output: &Path,
    force: bool,
) -> Result<BackupReport, BackupError> {
    let settings = &loaded.settings;
    if let Some(url) = &settings.database_url {
        return Err(BackupError::Postgres {
            url: crate::config::redact_url(url.expose_secret()),
        });
    }
    if !force && output.symlink_metadata().is_ok() {
        return Err(BackupError::OutputExists {
            path: output.to_owned(),
        });
    }
    if !deployment::is_initialized(settings).await? {
        return Err(deployment::not_initialized(settings).into());
    }
    let database = settings.data_dir.join(DATABASE_FILE);
    let store = Store::open_sqlite(&database, false).await?;
    let result = copy(&store, output, force).await;
    let schema_version = store.schema_version().await;
    store.close().await;
    let bytes = result?;
    Ok(BackupReport {
        database,
        output: output.to_owned(),
        bytes,
        schema_version: schema_version?.unwrap_or(0),
        master_key: match &loaded.master_key_env {
            Some(_) => "RAMPART_MASTER_KEY (in your secret manager)".to_owned(),
            None => settings
                .data_dir
                .join(MASTER_KEY_FILE)
                .display()
                .to_string(),
        },
    })
}

/// Writes the copy under a temporary name beside `output`, then links it into place.
async fn copy(store: &Store, output: &Path, force: bool) -> Result<u64, BackupError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io {
            action,
            path,
            source,
        }
    };
    let file_name = output
        .file_name()
        .ok_or_else(|| BackupError::OutputExists {
            path: output.to_owned(),
        })?
        .to_string_lossy();
    let partial = output.with_file_name(format!(".{file_name}.{}.partial", uuid::Uuid::now_v7()));
    // Empty and 0600 before SQLite writes to it: the copy holds sealed secrets and the log.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io("cannot create", &partial))?;
    let written = async {
        store.backup_into(&partial).await?;
        fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io("cannot write", &partial))?;
        if force {
            fs::rename(&partial, output).map_err(io("cannot write", output))?;
        } else {
            // A link fails when the name exists: never an overwrite, even in a race.
            fs::hard_link(&partial, output).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    BackupError::OutputExists {
                        path: output.to_owned(),
                    }
                } else {
                    io("cannot write", output)(source)
                }
            })?;
            fs::remove_file(&partial).map_err(io("cannot remove", &partial))?;
        }
        if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(dir) = fs::File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok::<_, BackupError>(())
    }
    .await;
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    Ok(fs::metadata(output)
        .map_err(io("cannot read", output))?
        .len())
}
