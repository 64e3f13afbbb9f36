//! Versioned migrations, one SQL file per version and backend, applied in one transaction.
//!
//! Each applied migration is recorded with the SHA-256 of its SQL: a database changed by a newer
//! binary, or a shipped migration edited after release, stops start-up instead of running on a
//! schema nobody tested. On PostgreSQL an advisory lock serializes servers starting together.

use ring::digest;

use crate::store::Pool;
use crate::{Store, StoreError, with_pool};

/// One schema version.
#[derive(Debug)]
pub struct Migration {
    /// Version number, from 1, without gaps.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// SQL for SQLite.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL.
    pub postgres: &'static str,
}

/// Every migration this binary ships, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "audit_log",
        sqlite: include_str!("../migrations/sqlite/0002_audit_log.sql"),
        postgres: include_str!("../migrations/postgres/0002_audit_log.sql"),
    },
    Migration {
        version: 3,
        name: "keys",
        sqlite: include_str!("../migrations/sqlite/0003_keys.sql"),
        postgres: include_str!("../migrations/postgres/0003_keys.sql"),
    },
    Migration {
        version: 4,
        name: "identity",
        sqlite: include_str!("../migrations/sqlite/0004_identity.sql"),
        postgres: include_str!("../migrations/postgres/0004_identity.sql"),
    },
    Migration {
        version: 5,
        name: "hardening",
        sqlite: include_str!("../migrations/sqlite/0005_hardening.sql"),
        postgres: include_str!("../migrations/postgres/0005_hardening.sql"),
    },
    Migration {
        version: 6,
        name: "login_throttle",
        sqlite: include_str!("../migrations/sqlite/0006_login_throttle.sql"),
        postgres: include_str!("../migrations/postgres/0006_login_throttle.sql"),
    },
    Migration {
        version: 7,
        name: "leases",
        sqlite: include_str!("../migrations/sqlite/0007_leases.sql"),
        postgres: include_str!("../migrations/postgres/0007_leases.sql"),
    },
    Migration {
        version: 8,
        name: "audit query index",
        sqlite: include_str!("../migrations/sqlite/0008_audit_query_index.sql"),
        postgres: include_str!("../migrations/postgres/0008_audit_query_index.sql"),
    },
    Migration {
        version: 9,
        name: "audit_verifications",
        sqlite: include_str!("../migrations/sqlite/0009_audit_verifications.sql"),
        postgres: include_str!("../migrations/postgres/0009_audit_verifications.sql"),
    },
    Migration {
        version: 10,
        name: "threat",
        sqlite: include_str!("../migrations/sqlite/0010_threat.sql"),
        postgres: include_str!("../migrations/postgres/0010_threat.sql"),
    },
    Migration {
        version: 11,
        name: "monitor",
        sqlite: include_str!("../migrations/sqlite/0011_monitor.sql"),
        postgres: include_str!("../migrations/postgres/0011_monitor.sql"),
    },
    Migration {
        version: 12,
        name: "subjects",
        sqlite: include_str!("../migrations/sqlite/0012_subjects.sql"),
        postgres: include_str!("../migrations/postgres/0012_subjects.sql"),
    },
    Migration {
        version: 13,
        name: "legal holds",
        sqlite: include_str!("../migrations/sqlite/0013_legal_holds.sql"),
        postgres: include_str!("../migrations/postgres/0013_legal_holds.sql"),
    },
    Migration {
        version: 14,
        name: "retention",
        sqlite: include_str!("../migrations/sqlite/0014_retention.sql"),
        postgres: include_str!("../migrations/postgres/0014_retention.sql"),
    },
    Migration {
        version: 15,
        name: "agents",
        sqlite: include_str!("../migrations/sqlite/0015_agents.sql"),
        postgres: include_str!("../migrations/postgres/0015_agents.sql"),
    },
    Migration {
        version: 16,
        name: "compliance",
        sqlite: include_str!("../migrations/sqlite/0016_compliance.sql"),
        postgres: include_str!("../migrations/postgres/0016_compliance.sql"),
    },
    Migration {
        version: 17,
        name: "session_second_factor",
        sqlite: include_str!("../migrations/sqlite/0017_session_second_factor.sql"),
        postgres: include_str!("../migrations/postgres/0017_session_second_factor.sql"),
    },
];

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// The schema version after the run.
    pub version: i64,
}

/// Arbitrary constant identifying Rampart's migration lock among advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x7261_6d70_6172_7401;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS rampart_schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

const SQLITE_TABLE_EXISTS: &str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'rampart_schema_migrations'";
const PG_TABLE_EXISTS: &str = "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'rampart_schema_migrations'";

fn checksum(sql: &str) -> String {
    digest::digest(&digest::SHA256, sql.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Applies every missing migration; refuses a schema newer than this binary or an applied
    /// migration that differs from the shipped one.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let is_postgres = matches!(self.pool, Pool::Postgres(_));
        let now = crate::codec::micros(time::OffsetDateTime::now_utc())?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if is_postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            // Created only when missing: a runtime role without CREATE on the schema (PostgreSQL
            // checks that privilege even for IF NOT EXISTS) then serves an up-to-date schema.
            let (tables,): (i64,) = sqlx::query_as(if is_postgres {
                PG_TABLE_EXISTS
            } else {
                SQLITE_TABLE_EXISTS
            })
            .fetch_one(&mut *tx)
            .await?;
            if tables == 0 {
                sqlx::raw_sql(CREATE_TABLE).execute(&mut *tx).await?;
            }
            let applied: Vec<(i64, String)> =
                sqlx::query_as("SELECT version, checksum FROM rampart_schema_migrations ORDER BY version")
                    .fetch_all(&mut *tx)
                    .await?;
            let known = MIGRATIONS.last().map_or(0, |m| m.version);
            if let Some((found, _)) = applied.iter().find(|(v, _)| *v > known) {
                return Err(StoreError::SchemaTooNew { found: *found, known });
            }
            let mut report = MigrationReport { applied: Vec::new(), version: 0 };
            for migration in MIGRATIONS {
                let sql = if is_postgres { migration.postgres } else { migration.sqlite };
                let sum = checksum(sql);
                match applied.iter().find(|(v, _)| *v == migration.version) {
                    Some((_, stored)) if *stored == sum => {}
                    Some(_) => return Err(StoreError::MigrationChanged { version: migration.version }),
                    None => {
                        sqlx::raw_sql(sql).execute(&mut *tx).await?;
                        sqlx::query(
                            "INSERT INTO rampart_schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(migration.version)
                        .bind(migration.name)
                        .bind(&sum)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        tracing::info!(version = migration.version, name = migration.name, "applied migration");
                        report.applied.push(migration.version);
                    }
                }
                report.version = migration.version;
            }
            tx.commit().await?;
            Ok(report)
        })
    }

    /// The highest applied schema version, or `None` for a database Rampart never touched.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        let exists_sql = match self.pool {
            Pool::Sqlite(_) => SQLITE_TABLE_EXISTS,
            Pool::Postgres(_) => PG_TABLE_EXISTS,
        };
        with_pool!(self, pool => {
            let (count,): (i64,) = sqlx::query_as(exists_sql).fetch_one(pool).await?;
            if count == 0 {
                return Ok(None);
            }
            let (version,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(version) FROM rampart_schema_migrations")
                    .fetch_one(pool)
                    .await?;
            Ok(version)
        })
    }
}
