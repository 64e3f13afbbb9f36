//! Storage errors. Messages never carry connection strings, credentials or row contents.
//!
//! [`StoreError::is_unavailable`] tells an outage (the database is down, restarting or out of
//! connections: try again shortly) from a failure of the operation itself.

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the {backend} database: {source}")]
    Connect {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// There is no database file where one was expected (a data dir never initialized, or a
    /// typo in its path).
    #[error(
        "no Rampart database at {}: run `rampart init --data-dir DIR` to create a deployment there, or point --data-dir at an existing one",
        path.display()
    )]
    NoDatabase {
        /// The file looked for.
        path: std::path::PathBuf,
    },
    /// The database has migrations this binary does not know: it was upgraded by a newer Rampart.
    #[error(
        "the database schema is at version {found}, newer than this binary knows ({known}); run a newer rampart"
    )]
    SchemaTooNew {
        /// Highest version recorded in the database.
        found: i64,
        /// Highest version this binary ships.
        known: i64,
    },
    /// An applied migration differs from the one this binary ships.
    #[error("migration {version} applied to this database differs from the one this binary ships")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
    },
    /// The deployment was initialized already.
    #[error("this deployment is already initialized")]
    AlreadyInitialized,
    /// A stored value could not be decoded (e.g. an unknown enum name or malformed JSON).
    #[error("corrupt stored value in {what}")]
    Corrupt {
        /// Which column or record.
        what: &'static str,
    },
    /// A value cannot be stored (e.g. a timestamp out of range).
    #[error("value out of range for {what}")]
    OutOfRange {
        /// Which value.
        what: &'static str,
    },
    /// A write's precondition did not hold (e.g. the principal was disabled meanwhile);
    /// nothing was written.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database could not be reached for this operation (PostgreSQL down or
    /// restarting, the connection dropped, no connection free within the pool's acquire
    /// timeout): nothing is wrong with the request or the data, and the same operation may
    /// succeed once the database is back. A SQLite file that is full, read-only or damaged is
    /// not an outage: those are failures of the operation.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Connect { source, .. } | Self::Query(source) => connection_lost(source),
            _ => false,
        }
    }
}

/// Whether `error` is about the connection rather than the statement: I/O on the socket
/// (refused, reset, closed), TLS, the pool timing out or closed, or PostgreSQL's own
/// connection-level codes (class 08 connection exceptions; 57P01/57P02/57P03: shut down by an
/// administrator, a crash, or not accepting connections yet; 53300: too many connections).
fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(database) => database
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|pg| {
                let code = pg.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_outages_and_statement_failures_are_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Query(sqlx::Error::Io(refused)).is_unavailable());
        assert!(StoreError::Query(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::Query(sqlx::Error::PoolClosed).is_unavailable());
        assert!(
            StoreError::Connect {
                backend: "postgres",
                source: sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::NotFound)),
            }
            .is_unavailable()
        );
        assert!(!StoreError::Query(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::Query(sqlx::Error::Protocol("bad".into())).is_unavailable());
        assert!(!StoreError::Corrupt { what: "x" }.is_unavailable());
        assert!(!StoreError::Refused("x").is_unavailable());
    }

    /// A SQLite file that is full or opened read-only fails the write; that is no outage.
    #[tokio::test]
    async fn a_full_or_read_only_sqlite_file_is_not_an_outage() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .expect("opens");
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&pool)
            .await
            .expect("creates");
        // Pages are 4 KiB: a cap at the current size makes the next large row fill the disk.
        sqlx::query("PRAGMA max_page_count = 3")
            .execute(&pool)
            .await
            .expect("caps");
        let full = sqlx::query("INSERT INTO t (v) VALUES (zeroblob(100000))")
            .execute(&pool)
            .await
            .expect_err("the file is full");
        let full = StoreError::Query(full);
        assert!(full.to_string().contains("full"), "{full}");
        assert!(!full.is_unavailable());
        pool.close().await;

        let read_only = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.read_only(true))
            .await
            .expect("opens read-only");
        let refused = sqlx::query("INSERT INTO t (v) VALUES (x'00')")
            .execute(&read_only)
            .await
            .expect_err("the file is read-only");
        let refused = StoreError::Query(refused);
        assert!(refused.to_string().contains("readonly"), "{refused}");
        assert!(!refused.is_unavailable());
    }
}
