//! Online backup of a SQLite deployment, and the checks a restore makes on a backup file.
//!
//! `VACUUM INTO` copies the database as of one read transaction: in WAL mode writers go on
//! meanwhile, and the copy holds every transaction committed before it started and none after,
//! never a torn page. The audit index file beside the database is not copied: it is derived
//! data, rebuilt from the entries when it does not match them.

use std::path::Path;

use crate::store::Pool;
use crate::{Store, StoreError};

impl Store {
    /// SQLite: writes a consistent copy of the database to `dest`, which must not exist or be
    /// empty. Refused on PostgreSQL (use `pg_dump`).
    pub async fn backup_into(&self, dest: &Path) -> Result<(), StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(StoreError::Refused(
                "backup copies SQLite databases; use pg_dump for PostgreSQL",
            ));
        };
        let target = dest.to_str().ok_or(StoreError::Refused(
            "the backup file's path is not valid UTF-8",
        ))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// SQLite: what `PRAGMA integrity_check` finds wrong (empty when the file is sound).
    /// Nothing to check on PostgreSQL.
    pub async fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check(20)")
            .fetch_all(pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(line,)| line)
            .filter(|line| line != "ok")
            .collect())
    }
}

/// The newest schema version this binary knows.
pub fn known_schema_version() -> i64 {
    crate::MIGRATIONS.last().map_or(0, |m| m.version)
}
