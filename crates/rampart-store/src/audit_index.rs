//! The audit log's query index: postings `(term, seq)` (terms from
//! [`rampart_audit::index`]) kept by an indexer after commit, so an append pays for no index but
//! the time index.
//!
//! On SQLite the postings live in a file of their own beside the database
//! (`<name>.audit-index.db`), written through their own connections, so the indexer never holds
//! the log's write lock; those connections attach the database as `audit`, so one statement
//! joins postings and entries. On PostgreSQL both are tables of the one database. Either way
//! `audit_index_state` records how far the postings reach (`indexed_size`) and the leaf hash of
//! the last entry indexed: an index that does not match the entries (a database restored from a
//! backup, a copied file) is emptied and rebuilt from the entries, which are the truth.
//!
//! A query walks the postings below `indexed_size` and scans the entries at and above it, so it
//! sees every committed entry at once however far the indexer lags (only slower).
//!
//! An entry pruned under retention has no postings: the pruning deletes them, and the indexer
//! (a pass or a rebuild) writes none for a pruned row, though it still reads the row's leaf hash.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_audit::StoredEntry;
use rampart_audit::index::terms;
use sqlx::QueryBuilder;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::{Store, StoreError, with_pool};

/// Postings per multi-row INSERT (two bound values each).
const POSTINGS_PER_INSERT: usize = 4000;

/// Runs `$body` with `$pool` bound to the pool that holds the postings: the index file's on
/// SQLite, the database's on PostgreSQL.
macro_rules! with_index_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match (&$store.audit_index, &$store.pool) {
            (Some($pool), _) => $body,
            (None, $crate::store::Pool::Postgres($pool)) => $body,
            (None, $crate::store::Pool::Sqlite(_)) => {
                return Err(StoreError::Corrupt {
                    what: "audit index (not opened)",
                })
            }
        }
    };
}
pub(crate) use with_index_pool;

/// The index file of the SQLite database at `database`: `rampart.db` → `rampart.audit-index.db`.
pub(crate) fn index_path(database: &Path) -> PathBuf {
    database.with_extension("audit-index.db")
}

/// The schema of the index file (derived data: created when missing, never migrated; a file
/// that does not match the database is emptied by the indexer).
const INDEX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS main.audit_postings (
    term TEXT    NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (term, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS main.audit_index_state (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    indexed_size INTEGER NOT NULL,
    last_leaf    BLOB
);
INSERT OR IGNORE INTO main.audit_index_state (singleton, indexed_size, last_leaf) VALUES (1, 0, NULL);
";

/// Connections to the index file at `index`, each with the database at `database` attached as
/// `audit`, opened on first use. Small page caches: the postings are read in `seq` order.
pub(crate) fn open_index_pool(index: &Path, database: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(index)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Derived data: a crash may lose the last postings written, never make them wrong (the
        // state row commits with them), and the indexer writes them again.
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-2048")
        .pragma("temp_store", "memory");
    let database = database.to_owned();
    SqlitePoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            let database = database.clone();
            Box::pin(async move {
                let name = database.to_str().ok_or_else(|| {
                    sqlx::Error::Configuration("the database path is not UTF-8".into())
                })?;
                sqlx::query("ATTACH DATABASE $1 AS audit")
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
                sqlx::raw_sql("PRAGMA audit.cache_size = -2048")
                    .execute(&mut *conn)
                    .await?;
                sqlx::raw_sql(INDEX_SCHEMA).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

/// What one indexing pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexProgress {
    /// Entries with `seq` below this have their postings.
    pub indexed_size: u64,
    /// The log's committed size.
    pub head_size: u64,
    /// Entries indexed by this pass.
    pub indexed_now: u64,
    /// Whether the pass found an index that did not match the entries and emptied it.
    pub rebuilt: bool,
}

/// The columns the postings are made from.
#[derive(sqlx::FromRow)]
struct IndexedRow {
    seq: i64,
    actor_id: String,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    team_id: Option<String>,
    status: String,
    subject_id: Option<String>,
    tags: String,
    leaf_hash: Vec<u8>,
    pruned: bool,
}

fn to_u64(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what: "seq" })
}

impl Store {
    /// How far the audit query index reaches: entries with `seq` below it have their postings.
    pub(crate) async fn audit_indexed_size(&self) -> Result<u64, StoreError> {
        let (size,): (i64,) = with_index_pool!(self, pool => {
            sqlx::query_as("SELECT indexed_size FROM audit_index_state WHERE singleton = 1")
                .fetch_one(pool)
                .await?
        });
        to_u64(size, "audit_index_state.indexed_size")
    }

    /// One pass of the audit indexer: writes the postings of at most `max_entries` entries past
    /// the indexed size, in one transaction with the new size. First checks that the index
    /// matches the entries (its last indexed leaf hash is the entry's; it reaches no further
    /// than the log) and empties it when it does not, so it is rebuilt from the entries.
    ///
    /// Several indexers may run at once (nodes whose leases overlap): the state row's update
    /// is conditional, so one pass wins and the others write nothing.
    pub async fn index_audit_entries(&self, max_entries: u64) -> Result<IndexProgress, StoreError> {
        let head = {
            let (size,): (i64,) = with_pool!(self, pool => {
                sqlx::query_as("SELECT size FROM audit_head WHERE singleton = 1").fetch_one(pool).await?
            });
            to_u64(size, "audit_head.size")?
        };
        let (indexed, last_leaf): (i64, Option<Vec<u8>>) = with_index_pool!(self, pool => {
            sqlx::query_as("SELECT indexed_size, last_leaf FROM audit_index_state WHERE singleton = 1")
                .fetch_one(pool)
                .await?
        });
        let mut indexed = to_u64(indexed, "audit_index_state.indexed_size")?;
        let mut rebuilt = false;
        if indexed > 0 {
            let seq = to_i64(indexed - 1)?;
            let stored: Option<(Vec<u8>,)> = with_pool!(self, pool => {
                sqlx::query_as("SELECT leaf_hash FROM audit_entries WHERE seq = $1")
                    .bind(seq)
                    .fetch_optional(pool)
                    .await?
            });
            let matches = indexed <= head
                && matches!((&stored, &last_leaf), (Some((stored,)), Some(last)) if stored == last);
            if !matches {
                tracing::warn!(
                    indexed_size = indexed,
                    log_size = head,
                    "the audit query index does not match the log; rebuilding it from the entries"
                );
                with_index_pool!(self, pool => {
                    let mut tx = pool.begin().await?;
                    sqlx::query("DELETE FROM audit_postings").execute(&mut *tx).await?;
                    sqlx::query("UPDATE audit_index_state SET indexed_size = 0, last_leaf = NULL WHERE singleton = 1")
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                });
                indexed = 0;
                rebuilt = true;
            }
        }
        let end = head.min(indexed.saturating_add(max_entries));
        if end <= indexed {
            return Ok(IndexProgress {
                indexed_size: indexed,
                head_size: head,
                indexed_now: 0,
                rebuilt,
            });
        }
        let rows: Vec<IndexedRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT seq, actor_id, action, resource_type, resource_id, team_id, status, subject_id, tags, leaf_hash,
                        pruned_at IS NOT NULL AS pruned
                 FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq",
            )
            .bind(to_i64(indexed)?)
            .bind(to_i64(end)?)
            .fetch_all(pool)
            .await?
        });
        let mut postings: Vec<(String, i64)> = Vec::with_capacity(rows.len() * 6);
        let mut new_last_leaf = None;
        for row in rows {
            let seq = to_u64(row.seq, "audit_entries.seq")?;
            if seq.saturating_add(1) == end {
                new_last_leaf = Some(row.leaf_hash.clone());
            }
            // A pruned entry is in the log (its leaf) but in no query: it gets no postings.
            if row.pruned {
                continue;
            }
            let entry = StoredEntry {
                seq,
                // Not indexed: only the fields `terms` reads are loaded.
                id: String::new(),
                timestamp_micros: 0,
                actor_type: String::new(),
                actor_id: row.actor_id,
                action: row.action,
                resource_type: row.resource_type,
                resource_id: row.resource_id,
                team_id: row.team_id,
                status: row.status,
                subject_id: row.subject_id,
                tags: crate::codec::from_list(&row.tags, "audit_entries.tags")?,
                body: String::new(),
                leaf_hash: [0; 32],
                pruned: None,
            };
            postings.extend(terms(&entry).into_iter().map(|term| (term, row.seq)));
        }
        // The last entry must exist: below the committed head every seq is stored.
        let new_last_leaf = new_last_leaf.ok_or(StoreError::Corrupt {
            what: "audit_entries (an entry below the head is missing)",
        })?;
        // Sorted, the postings of one term go in together, page after page.
        postings.sort_unstable();
        let advanced = with_index_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE audit_index_state SET indexed_size = $1, last_leaf = $2 WHERE singleton = 1 AND indexed_size = $3",
            )
            .bind(to_i64(end)?)
            .bind(new_last_leaf.as_slice())
            .bind(to_i64(indexed)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                for chunk in postings.chunks(POSTINGS_PER_INSERT) {
                    let mut insert = QueryBuilder::new("INSERT INTO audit_postings (term, seq) ");
                    insert.push_values(chunk, |mut row, (term, seq)| {
                        row.push_bind(term.as_str()).push_bind(*seq);
                    });
                    insert.push(" ON CONFLICT DO NOTHING");
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
        });
        Ok(if advanced {
            IndexProgress {
                indexed_size: end,
                head_size: head,
                indexed_now: end - indexed,
                rebuilt,
            }
        } else {
            IndexProgress {
                indexed_size: self.audit_indexed_size().await?,
                head_size: head,
                indexed_now: 0,
                rebuilt,
            }
        })
    }
}
