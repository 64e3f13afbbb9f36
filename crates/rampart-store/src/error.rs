//! Storage errors. Messages never carry connection strings, credentials or row contents.

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
