//! The [`Store`]: a connection pool to SQLite or PostgreSQL, and the deployment record.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rampart_access::{ApiKeyRecord, Principal};
use rampart_crypto::SealedSecret;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{from_micros, micros, uuid};
use crate::{StoreError, with_pool};

/// How long a statement waits for a PostgreSQL connection (opening one included) before
/// failing as unavailable ([`StoreError::is_unavailable`]).
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The page cache of each SQLite connection, in KiB (allocated as used).
pub(crate) const SQLITE_CACHE_KIB: i64 = 4096;

/// Which database a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file in the data directory.
    Sqlite,
    /// A PostgreSQL server shared by any number of Rampart processes.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as `GET /v1/health` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A snapshot of the connection pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Rampart's storage on one backend. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// On SQLite, the pool of the audit query index's own file (with the database attached, so
    /// queries join postings and entries); `None` on PostgreSQL, where both are in one database.
    pub(crate) audit_index: Option<SqlitePool>,
}

/// The deployment record written by `rampart init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Random id of the deployment.
    pub id: Uuid,
    /// When it was initialized.
    pub created_at: OffsetDateTime,
    /// The Rampart version that initialized it.
    pub created_by_version: String,
}

/// Everything `rampart init` writes, in one transaction: all of it or none of it.
#[derive(Debug)]
pub struct Initialization {
    /// The deployment record.
    pub deployment: Deployment,
    /// Sealed secrets (the sentinel first), as `(name, version, sealed)`.
    pub sealed_secrets: Vec<(String, u32, SealedSecret)>,
    /// The bootstrap admin principal.
    pub admin: Principal,
    /// The bootstrap admin's API key record (hash only).
    pub admin_key: ApiKeyRecord,
}

/// Keeps the SQLite files owner-only. SQLite creates a database as 0644 less the umask, and its
/// `-wal` and `-shm` files copy the database file's mode; so the database file is created 0600
/// here, before SQLite opens it (an empty file is an empty database), and group and other access
/// is taken away from files an older version left readable.
fn restrict_sqlite_files(path: &Path, create: bool) {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if create {
        // Any failure here (the file exists, the directory is missing) is SQLite's to report.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(name.into());
    }
    for file in files {
        let Ok(metadata) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0
            && let Err(e) =
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))
        {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:o}"),
                error = %e,
                "cannot make a database file owner-only (0600); others on this host may read it"
            );
        }
    }
}

impl Store {
    /// Opens (and with `create`, creates) the SQLite database at `path`: WAL journal,
    /// `synchronous=FULL`, foreign keys on, a busy timeout for concurrent writers.
    ///
    /// The database and its `-wal` and `-shm` files are readable by the owner only (0600).
    pub async fn open_sqlite(path: &Path, create: bool) -> Result<Self, StoreError> {
        if !create && !path.exists() {
            return Err(StoreError::NoDatabase {
                path: path.to_owned(),
            });
        }
        restrict_sqlite_files(path, create);
        let index_path = crate::audit_index::index_path(path);
        restrict_sqlite_files(&index_path, path.exists());
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 4 MiB of page cache per connection (allocated as used): the hot index pages of
            // the audit log stay in memory; the resident size stays bounded.
            .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
            .pragma("temp_store", "memory")
            // Deleted and overwritten content is zeroed in the file, not left in free space:
            // erasure (`SubjectStore::erase`) removes sealed subject keys, consents' personal
            // fields and card rows, and their bytes must not stay readable in the file.
            .pragma("secure_delete", "ON")
            // Checkpoint the WAL every 64 MiB instead of every 4 MiB: batches of audit entries
            // then trigger far fewer checkpoint passes (measured +40% append throughput).
            .pragma("wal_autocheckpoint", "16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "sqlite",
                source,
            })?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
            audit_index: Some(crate::audit_index::open_index_pool(&index_path, path)),
        })
    }

    /// Connects to PostgreSQL at `url` (`postgres://user:pass@host/db`, or a socket directory in
    /// `?host=/path`, with libpq's empty-host form `postgres://user@/db?host=/path&port=5433`).
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        let url = with_placeholder_host(url);
        let options = PgConnectOptions::from_str(&url).map_err(|source| StoreError::Connect {
            backend: "postgres",
            source,
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While the database is down, a request learns it within this bound (connecting
            // included: refused connections are retried with backoff until then) and is answered
            // 503 well inside the request timeout, instead of waiting.
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            // An idle connection is checked before use, so one the server closed (a restart)
            // is replaced instead of failing the first statement after an outage.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "postgres",
                source,
            })?;
        Ok(Self {
            pool: Pool::Postgres(pool),
            audit_index: None,
        })
    }

    /// On SQLite, copies what the write-ahead log holds into the database file without waiting
    /// for (or blocking) writers: a `PASSIVE` checkpoint, run in the background so the commit
    /// that crosses `wal_autocheckpoint` finds little left to copy and answers at once.
    /// Nothing on PostgreSQL.
    pub async fn checkpoint_wal(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(pool) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Whether this store is on PostgreSQL (for the few statements written per backend).
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The main pool's connections now (the audit index's own SQLite pool not counted).
    pub fn pool_stats(&self) -> PoolStats {
        with_pool!(self, pool => PoolStats {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok(())
        })
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
        if let Some(index) = &self.audit_index {
            index.close().await;
        }
    }

    /// The deployment record, or `None` when the database was never initialized.
    pub async fn deployment(&self) -> Result<Option<Deployment>, StoreError> {
        if self.schema_version().await?.is_none() {
            return Ok(None);
        }
        with_pool!(self, pool => {
            let row: Option<(String, i64, String)> = sqlx::query_as(
                "SELECT deployment_id, created_at, created_by_version FROM rampart_deployment WHERE singleton = 1",
            )
            .fetch_optional(pool)
            .await?;
            row.map(|(id, created_at, version)| {
                Ok(Deployment {
                    id: uuid(&id, "rampart_deployment.deployment_id")?,
                    created_at: from_micros(created_at, "rampart_deployment.created_at")?,
                    created_by_version: version,
                })
            })
            .transpose()
        })
    }

    /// Writes everything `rampart init` creates in one transaction. Fails with
    /// [`StoreError::AlreadyInitialized`], writing nothing, when a deployment exists.
    pub async fn initialize(&self, init: &Initialization) -> Result<(), StoreError> {
        let created_at = micros(init.deployment.created_at)?;
        let admin_created = micros(init.admin.created_at)?;
        let key_created = micros(init.admin_key.created_at)?;
        let key_expires = init.admin_key.expires_at.map(micros).transpose()?;
        let scopes = init.admin_key.scopes.as_deref().map(crate::codec::list);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO rampart_deployment (singleton, deployment_id, created_at, created_by_version)
                 VALUES (1, $1, $2, $3) ON CONFLICT (singleton) DO NOTHING",
            )
            .bind(init.deployment.id.to_string())
            .bind(created_at)
            .bind(&init.deployment.created_by_version)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::AlreadyInitialized);
            }
            for (name, version, sealed) in &init.sealed_secrets {
                sqlx::query(
                    "INSERT INTO sealed_secrets (name, version, sealed, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(name)
                .bind(i64::from(*version))
                .bind(sealed.as_bytes())
                .bind(created_at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO principals (id, kind, name, email, roles, teams, disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(init.admin.id.to_string())
            .bind(init.admin.kind.as_str())
            .bind(&init.admin.name)
            .bind(init.admin.email.as_deref())
            .bind(crate::codec::list(&init.admin.roles))
            .bind(crate::codec::list(&init.admin.teams))
            .bind(init.admin.disabled)
            .bind(admin_created)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO api_keys (id, principal_id, name, key_hash, scopes, created_at, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(init.admin_key.id.to_string())
            .bind(init.admin_key.principal_id.to_string())
            .bind(&init.admin_key.name)
            .bind(&init.admin_key.hash.0)
            .bind(scopes)
            .bind(key_created)
            .bind(key_expires)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    /// Hardening #14c: SQLite made the database and its -wal/-shm world-readable.
    #[tokio::test]
    async fn sqlite_files_are_owner_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fresh.db");
        let store = Store::open_sqlite(&path, true).await.expect("opens");
        assert_eq!(mode(&path), 0o600);
        for suffix in ["-wal", "-shm"] {
            let file = dir.path().join(format!("fresh.db{suffix}"));
            if file.exists() {
                assert_eq!(mode(&file), 0o600, "{suffix}");
            }
        }
        store.close().await;
        // A database an older version left readable is tightened when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let store = Store::open_sqlite(&path, false).await.expect("opens");
        assert_eq!(mode(&path), 0o600);
        store.close().await;
    }
}

/// libpq accepts a URL without a host (`postgres://user@/db?host=/run/pg`, `postgres:///db`),
/// reaching the server through `?host=` or its default; sqlx's parser refuses an empty host.
/// Such a URL gets the placeholder host `localhost`, which a `?host=` parameter then overrides.
pub fn with_placeholder_host(url: &str) -> std::borrow::Cow<'_, str> {
    for scheme in ["postgres://", "postgresql://"] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = rest.get(..authority_len).unwrap_or_default();
        let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_and_port.is_empty() || host_and_port.starts_with(':') {
            let at = scheme.len() + authority_len - host_and_port.len();
            let (before, after) = (url.get(..at), url.get(at..));
            if let (Some(before), Some(after)) = (before, after) {
                return std::borrow::Cow::Owned(format!("{before}localhost{after}"));
            }
        }
        break;
    }
    std::borrow::Cow::Borrowed(url)
}

#[cfg(test)]
mod url_tests {
    use super::with_placeholder_host;

    #[test]
    fn empty_hosts_get_a_placeholder_and_others_stay() {
        for (given, expected) in [
            (
                "postgres://user@/db?host=/run/pg&port=5433",
                "postgres://user@localhost/db?host=/run/pg&port=5433",
            ),
            (
                "postgres:///db?host=/run/pg",
                "postgres://localhost/db?host=/run/pg",
            ),
            (
                "postgresql://u:p@:5433/db?host=/s",
                "postgresql://u:p@localhost:5433/db?host=/s",
            ),
            ("postgres://u@h:5/db", "postgres://u@h:5/db"),
            ("postgres://u@h/db?host=/x", "postgres://u@h/db?host=/x"),
            ("sqlite://x", "sqlite://x"),
        ] {
            assert_eq!(with_placeholder_host(given), expected, "{given}");
        }
    }
}
