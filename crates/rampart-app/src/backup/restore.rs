//! `rampart restore`: a backup file checked (SQLite, sound, a Rampart deployment, a schema this
//! binary knows, the master key's sentinel when a key is given) in a staging directory inside
//! the new data dir, then moved into place. A refused restore leaves the target as it was.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use rampart_crypto::{MasterKey, SealedSecretStore as _, Sentinel};
use rampart_store::Store;
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use super::RestoreError;
use crate::config::LoadedSettings;
use crate::deployment::{DATABASE_FILE, MASTER_KEY_FILE};

/// Where the restored deployment's master key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoredKey {
    /// `--master-key-file` was copied into the data dir (mode 0600); it opens the backup.
    Copied(PathBuf),
    /// `RAMPART_MASTER_KEY` is set and opens the backup.
    Env,
    /// No key was given: the server needs `RAMPART_MASTER_KEY`, or the key file copied here.
    Missing(PathBuf),
}

/// What a restore put in place.
#[derive(Debug)]
pub struct RestoreReport {
    /// The new data dir.
    pub data_dir: PathBuf,
    /// The deployment restored.
    pub deployment_id: Uuid,
    /// Its schema version (pending migrations run at the first `serve`).
    pub schema_version: i64,
    /// Where its master key is.
    pub master_key: RestoredKey,
}

/// The header every SQLite 3 database file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// `rampart restore --input FILE --data-dir DIR [--master-key-file KEY]`.
pub async fn restore(
    loaded: &LoadedSettings,
    input: &Path,
    master_key_file: Option<&Path>,
) -> Result<RestoreReport, RestoreError> {
    let settings = &loaded.settings;
    if settings.database_url.is_some() {
        return Err(RestoreError::Postgres);
    }
    check_header(input)?;
    let key = given_key(loaded, master_key_file)?;
    let target = settings.data_dir.clone();
    let created = prepare_target(&target)?;
    let staging = target.join(format!(".restoring-{}", Uuid::now_v7()));
    let result = stage_and_move(input, &target, &staging, key.as_ref()).await;
    let _ = fs::remove_dir_all(&staging);
    match result {
        Ok((deployment_id, schema_version)) => Ok(RestoreReport {
            deployment_id,
            schema_version,
            master_key: match (master_key_file, key) {
                (Some(_), Some(_)) => RestoredKey::Copied(target.join(MASTER_KEY_FILE)),
                (None, Some(_)) => RestoredKey::Env,
                _ => RestoredKey::Missing(target.join(MASTER_KEY_FILE)),
            },
            data_dir: target,
        }),
        Err(e) => {
            if created {
                let _ = fs::remove_dir_all(&target);
            }
            Err(e)
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError {
    let path = path.to_owned();
    move |source| RestoreError::Io {
        action,
        path,
        source,
    }
}

fn check_header(input: &Path) -> Result<(), RestoreError> {
    let read_error = |source| RestoreError::Input {
        path: input.to_owned(),
        source,
    };
    let mut header = [0u8; 16];
    let mut file = fs::File::open(input).map_err(read_error)?;
    match file.read_exact(&mut header) {
        Ok(()) if &header == SQLITE_HEADER => Ok(()),
        Ok(()) => Err(RestoreError::NotSqlite {
            path: input.to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(RestoreError::NotSqlite {
            path: input.to_owned(),
        }),
        Err(e) => Err(read_error(e)),
    }
}

/// The master key to check the backup with and (from a file) to install: `--master-key-file`,
/// else `RAMPART_MASTER_KEY`, else none.
fn given_key(
    loaded: &LoadedSettings,
    master_key_file: Option<&Path>,
) -> Result<Option<(MasterKey, String)>, RestoreError> {
    if let Some(path) = master_key_file {
        let source_name = format!("file {}", path.display());
        let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|source| {
            RestoreError::Input {
                path: path.to_owned(),
                source,
            }
        })?);
        let key = MasterKey::from_base64(&text).map_err(|reason| RestoreError::MasterKey {
            source_name: source_name.clone(),
            reason,
        })?;
        return Ok(Some((key, source_name)));
    }
    match &loaded.master_key_env {
        Some(value) => {
            let source_name = "RAMPART_MASTER_KEY".to_owned();
            let key = MasterKey::from_base64(value.expose_secret()).map_err(|reason| {
                RestoreError::MasterKey {
                    source_name: source_name.clone(),
                    reason,
                }
            })?;
            Ok(Some((key, source_name)))
        }
        None => Ok(None),
    }
}

/// Refuses a target holding anything; creates a missing one (0700). Returns whether it did.
fn prepare_target(target: &Path) -> Result<bool, RestoreError> {
    match fs::read_dir(target) {
        Ok(mut entries) => {
            if target.join(DATABASE_FILE).exists() {
                return Err(RestoreError::TargetNotEmpty {
                    path: target.to_owned(),
                    what: "holds a deployment already",
                });
            }
            if entries.next().is_some() {
                return Err(RestoreError::TargetNotEmpty {
                    path: target.to_owned(),
                    what: "is not empty",
                });
            }
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(target)
                .map_err(io("cannot create data dir", target))?;
            Ok(true)
        }
        Err(e) => Err(io("cannot read", target)(e)),
    }
}

/// Copies the input into `staging`, checks the copy, then moves it (and the key file) into
/// `target`. Returns the deployment id and schema version.
async fn stage_and_move(
    input: &Path,
    target: &Path,
    staging: &Path,
    key: Option<&(MasterKey, String)>,
) -> Result<(Uuid, i64), RestoreError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(staging)
        .map_err(io("cannot create", staging))?;
    let staged = staging.join(DATABASE_FILE);
    {
        let mut from = fs::File::open(input).map_err(|source| RestoreError::Input {
            path: input.to_owned(),
            source,
        })?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)
            .map_err(io("cannot create", &staged))?;
        std::io::copy(&mut from, &mut to).map_err(io("cannot write", &staged))?;
        to.sync_all().map_err(io("cannot write", &staged))?;
    }
    let store = Store::open_sqlite(&staged, false)
        .await
        .map_err(|e| RestoreError::Damaged {
            path: input.to_owned(),
            problems: e.to_string(),
        })?;
    let checked = check(&store, input, key).await;
    store.close().await;
    let (deployment_id, schema_version) = checked?;
    let installed = target.join(DATABASE_FILE);
    fs::rename(&staged, &installed).map_err(io("cannot write", &installed))?;
    if let Some((master, source_name)) = key
        && source_name.starts_with("file ")
    {
        write_key_file(&target.join(MASTER_KEY_FILE), master)?;
    }
    if let Ok(dir) = fs::File::open(target) {
        let _ = dir.sync_all();
    }
    Ok((deployment_id, schema_version))
}

async fn check(
    store: &Store,
    input: &Path,
    key: Option<&(MasterKey, String)>,
) -> Result<(Uuid, i64), RestoreError> {
    let damaged = |problems: String| RestoreError::Damaged {
        path: input.to_owned(),
        problems,
    };
    let problems = store
        .integrity_problems()
        .await
        .map_err(|e| damaged(e.to_string()))?;
    if !problems.is_empty() {
        return Err(damaged(problems.join("; ")));
    }
    let not_rampart = |why| RestoreError::NotRampart {
        path: input.to_owned(),
        why,
    };
    let version = store
        .schema_version()
        .await?
        .ok_or_else(|| not_rampart("no rampart_schema_migrations table"))?;
    let known = rampart_store::known_schema_version();
    if version > known {
        return Err(RestoreError::SchemaTooNew {
            path: input.to_owned(),
            found: version,
            known,
        });
    }
    let deployment = store
        .deployment()
        .await?
        .ok_or_else(|| not_rampart("no deployment record"))?;
    if let Some((master, source_name)) = key {
        let sentinel = store
            .load_sealed(Sentinel::NAME, 1)
            .await?
            .ok_or_else(|| not_rampart("no sealed sentinel"))?;
        Sentinel::verify(&master.key_encryption_key(), &sentinel).map_err(|_| {
            RestoreError::WrongMasterKey {
                source_name: source_name.clone(),
            }
        })?;
    }
    Ok((deployment.id, version))
}

fn write_key_file(path: &Path, master: &MasterKey) -> Result<(), RestoreError> {
    crate::deployment::create_key_file(path, master)
        .map_err(io("cannot write master key file", path))
}
