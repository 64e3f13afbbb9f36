//! Audit pruning on both backends: the bodies of entries past retention are deleted, their
//! seq, id, time and leaf hash kept, so every checkpoint and proof still verifies.
//!
//! The database allows exactly this (migration 0014): only entries below the prune horizon,
//! which never moves backwards, and only to the pruned form. On PostgreSQL the runtime role
//! prunes through `rampart_prune_audit_entries`, which runs as the owner. The postings of a
//! pruned entry leave the query index with it.

use rampart_audit::StoredEntry;
use rampart_audit::index::terms;
use rampart_retention::{AuditRecord, BatchProgress};
use time::OffsetDateTime;

use crate::codec::{from_list, from_micros, micros};
use crate::store::Pool;
use crate::{Store, StoreError, with_pool};

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: "audit seq (past i64)",
    })
}

fn to_u64(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

type RecordRow = (i64, i64, Option<String>, Option<String>, String);

/// The columns an entry's postings are made of.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct PostingRow {
    seq: i64,
    actor_id: String,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    team_id: Option<String>,
    status: String,
    subject_id: Option<String>,
    tags: String,
}

impl PostingRow {
    /// The entry's terms, as the indexer made its postings.
    fn terms(&self) -> Result<Vec<String>, StoreError> {
        let entry = StoredEntry {
            seq: to_u64(self.seq, "audit_entries.seq")?,
            id: String::new(),
            timestamp_micros: 0,
            actor_type: String::new(),
            actor_id: self.actor_id.clone(),
            action: self.action.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            team_id: self.team_id.clone(),
            status: self.status.clone(),
            subject_id: self.subject_id.clone(),
            tags: from_list(&self.tags, "audit_entries.tags")?,
            body: String::new(),
            leaf_hash: [0; 32],
            pruned: None,
        };
        Ok(terms(&entry))
    }
}

/// The rows of a JSON array of arrays holding `PostingRow`'s fields in order (as SQLite's
/// `json_array` writes them).
fn posting_rows(json: &str) -> Result<Vec<PostingRow>, StoreError> {
    serde_json::from_str(json).map_err(|_| StoreError::Corrupt {
        what: "audit_entries (the columns of entries to prune)",
    })
}

/// The lowest and highest seq of `rows`.
fn seq_bounds(rows: &[PostingRow]) -> (Option<i64>, Option<i64>) {
    (
        rows.iter().map(|r| r.seq).min(),
        rows.iter().map(|r| r.seq).max(),
    )
}

fn seq_list(seqs: &[u64]) -> String {
    serde_json::Value::from(seqs.to_vec()).to_string()
}

/// The page cache of a connection while it prunes a batch, in KiB. A batch of 5,000 entries
/// reads and rewrites about a thousand pages: in the connection's usual 4 MiB the update read
/// again what the select had just read, and dirty pages spilled to the WAL before the commit
/// (measured: a fifth of the pruning time of 1,000,000 entries). Set for the batch only.
const PRUNE_CACHE_KIB: i64 = 16_384;

/// Prunes the entries `list` (a JSON array of seqs) on SQLite in one transaction with the
/// horizon and `progress`; returns the number pruned and the entries' columns.
async fn prune_on_sqlite(
    conn: &mut sqlx::SqliteConnection,
    below: i64,
    list: &str,
    at: i64,
    certificate_id: &str,
    progress: Option<&BatchProgress>,
) -> Result<(u64, Vec<PostingRow>), StoreError> {
    // Write-locked from the start: a deferred transaction that reads first and writes second
    // fails at once with SQLITE_BUSY (no busy wait) when the log's writer commits in between.
    let mut tx = sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?;
    // One row of JSON: decoding 5,000 rows one by one cost more than the update.
    let (rows,): (String,) = sqlx::query_as(
        "SELECT json_group_array(json_array(seq, actor_id, action, resource_type, resource_id,
                                            team_id, status, subject_id, tags))
         FROM audit_entries WHERE seq IN (SELECT value FROM json_each($1)) AND pruned_at IS NULL",
    )
    .bind(list)
    .fetch_one(&mut *tx)
    .await?;
    let rows = posting_rows(&rows)?;
    sqlx::query("UPDATE audit_prune_horizon SET below_seq = $1 WHERE below_seq < $1")
        .bind(below)
        .execute(&mut *tx)
        .await?;
    let pruned = sqlx::query(
        "UPDATE audit_entries SET body = '', actor_type = '', actor_id = '', action = '',
             resource_type = '', resource_id = NULL, team_id = NULL, status = '',
             subject_id = NULL, tags = '[]', pruned_at = $1, certificate_id = $2
         WHERE seq IN (SELECT value FROM json_each($3)) AND pruned_at IS NULL",
    )
    .bind(at)
    .bind(certificate_id)
    .bind(list)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if let Some(progress) = progress {
        let (first, last) = seq_bounds(&rows);
        crate::retention::record_progress!(tx, progress, pruned, first, last);
    }
    tx.commit().await?;
    Ok((pruned, rows))
}

impl Store {
    /// The prune horizon: entries below it may be pruned, none at or above it.
    pub async fn audit_prune_horizon(&self) -> Result<u64, StoreError> {
        let (below,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT below_seq FROM audit_prune_horizon WHERE singleton = 1")
                .fetch_one(pool)
                .await?
        });
        to_u64(below, "audit_prune_horizon.below_seq")
    }

    /// The first seq appended at or after `at` (by the time index), or the log's size when
    /// every entry is older.
    pub async fn audit_seq_at(&self, at: OffsetDateTime) -> Result<u64, StoreError> {
        let at = micros(at)?;
        let first: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT seq FROM audit_entries WHERE ts >= $1 ORDER BY ts, seq LIMIT 1")
                .bind(at)
                .fetch_optional(pool)
                .await?
        });
        match first {
            Some((seq,)) => to_u64(seq, "audit_entries.seq"),
            None => {
                let (size,): (i64,) = with_pool!(self, pool => {
                    sqlx::query_as("SELECT size FROM audit_head WHERE singleton = 1")
                        .fetch_one(pool)
                        .await?
                });
                to_u64(size, "audit_head.size")
            }
        }
    }

    /// Entries not pruned with `seq` from `from` (inclusive) to `to` (exclusive), at most
    /// `limit`, in order.
    pub async fn audit_records(
        &self,
        from: u64,
        to: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let (from, to, limit) = (to_i64(from)?, to_i64(to)?, i64::from(limit));
        let rows: Vec<RecordRow> = match &self.pool {
            // One row of JSON: decoding thousands of rows one by one costs more than the
            // scan (the same as the prune's own read).
            Pool::Sqlite(pool) => {
                let (json,): (String,) = sqlx::query_as(
                    "SELECT coalesce(json_group_array(json_array(seq, ts, team_id, subject_id, tags)), '[]')
                     FROM (SELECT seq, ts, team_id, subject_id, tags FROM audit_entries
                           WHERE seq >= $1 AND seq < $2 AND pruned_at IS NULL ORDER BY seq LIMIT $3)",
                )
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_one(pool)
                .await?;
                serde_json::from_str(&json).map_err(|_| StoreError::Corrupt {
                    what: "audit_entries (the columns a disposal run reads)",
                })?
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT seq, ts, team_id, subject_id, tags FROM audit_entries
                     WHERE seq >= $1 AND seq < $2 AND pruned_at IS NULL ORDER BY seq LIMIT $3",
                )
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(|(seq, ts, team_id, subject_id, tags)| {
                Ok(AuditRecord {
                    seq: to_u64(seq, "audit_entries.seq")?,
                    at: from_micros(ts, "audit_entries.ts")?,
                    team_id,
                    subject_id,
                    tags: from_list(&tags, "audit_entries.tags")?,
                })
            })
            .collect()
    }

    /// Moves the prune horizon up to `below` (never down) and prunes the entries `seqs` (each
    /// below it), recording `at` and the disposal certificate's id on each; entries already
    /// pruned are left as they are. Returns how many were pruned now. Their postings leave
    /// the query index after the commit (derived data: a posting a crash leaves behind names
    /// an entry that queries skip, being pruned, until the index is next rebuilt).
    pub async fn prune_audit_entries(
        &self,
        below: u64,
        seqs: &[u64],
        at: OffsetDateTime,
        certificate_id: &str,
    ) -> Result<u64, StoreError> {
        self.prune_audit_with_progress(below, seqs, at, certificate_id, None)
            .await
    }

    /// [`Store::prune_audit_entries`], recording a run's `progress` (with the number pruned
    /// and the lowest and highest seq pruned now) in the same transaction.
    pub(crate) async fn prune_audit_with_progress(
        &self,
        below: u64,
        seqs: &[u64],
        at: OffsetDateTime,
        certificate_id: &str,
        progress: Option<&BatchProgress>,
    ) -> Result<u64, StoreError> {
        let below = to_i64(below)?;
        let at = micros(at)?;
        let (pruned, rows) = match &self.pool {
            Pool::Sqlite(pool) => {
                let list = seq_list(seqs);
                let mut conn = pool.acquire().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA cache_size = -{PRUNE_CACHE_KIB}"
                )))
                .execute(&mut *conn)
                .await?;
                let pruned =
                    prune_on_sqlite(&mut conn, below, &list, at, certificate_id, progress).await;
                // Restored whatever happened: the connection goes back to the pool.
                let restored = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA cache_size = -{}",
                    crate::store::SQLITE_CACHE_KIB
                )))
                .execute(&mut *conn)
                .await;
                let pruned = pruned?;
                restored?;
                pruned
            }
            Pool::Postgres(pool) => {
                let seqs: Vec<i64> = seqs.iter().map(|&s| to_i64(s)).collect::<Result<_, _>>()?;
                let mut tx = pool.begin().await?;
                let rows: Vec<PostingRow> = sqlx::query_as(
                    "SELECT seq, actor_id, action, resource_type, resource_id, team_id, status, subject_id, tags
                     FROM audit_entries WHERE seq = ANY($1) AND pruned_at IS NULL",
                )
                .bind(&seqs)
                .fetch_all(&mut *tx)
                .await?;
                let (pruned,): (i64,) =
                    sqlx::query_as("SELECT rampart_prune_audit_entries($1, $2, $3, $4)")
                        .bind(below)
                        .bind(&seqs)
                        .bind(at)
                        .bind(certificate_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let pruned = to_u64(pruned, "pruned count")?;
                if let Some(progress) = progress {
                    let (first, last) = seq_bounds(&rows);
                    crate::retention::record_progress!(tx, progress, pruned, first, last);
                }
                tx.commit().await?;
                (pruned, rows)
            }
        };
        self.delete_postings(&rows).await?;
        Ok(pruned)
    }

    /// Deletes the postings of the entries `rows` (pruned now).
    ///
    /// On SQLite one statement per batch: every posting of an entry has one of the entry's
    /// terms, and every posting with a pruned entry's seq is that entry's, so the postings to
    /// go are exactly those with one of the batch's terms and one of its seqs. They are found
    /// term by term within the batch's seq range (the primary key's order), each seq checked
    /// against the batch's. (A statement per posting cost a round trip each and dominated
    /// pruning: 1,000,000 entries have about five million postings.) On PostgreSQL the pairs
    /// themselves are joined: an index scan on two `= ANY` lists would probe every pair.
    async fn delete_postings(&self, rows: &[PostingRow]) -> Result<(), StoreError> {
        let (Some(low), Some(high)) = seq_bounds(rows) else {
            return Ok(());
        };
        let mut postings: Vec<(String, i64)> = Vec::with_capacity(rows.len() * 6);
        for row in rows {
            postings.extend(row.terms()?.into_iter().map(|term| (term, row.seq)));
        }
        match (&self.audit_index, &self.pool) {
            (Some(pool), _) => {
                let mut terms: Vec<String> = postings.into_iter().map(|(term, _)| term).collect();
                terms.sort_unstable();
                terms.dedup();
                let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
                // `+seq`: the seq list is checked on each posting the range scan finds, never
                // used to probe (which would pair every term with every seq).
                sqlx::query(
                    "DELETE FROM audit_postings
                     WHERE term IN (SELECT value FROM json_each($1)) AND seq >= $2 AND seq <= $3
                       AND +seq IN (SELECT value FROM json_each($4))",
                )
                .bind(serde_json::Value::from(terms).to_string())
                .bind(low)
                .bind(high)
                .bind(serde_json::Value::from(seqs).to_string())
                .execute(pool)
                .await?;
            }
            (None, Pool::Postgres(pool)) => {
                let (terms, seqs): (Vec<String>, Vec<i64>) = postings.into_iter().unzip();
                sqlx::query(
                    "DELETE FROM audit_postings p USING unnest($1::text[], $2::bigint[]) AS d (term, seq)
                     WHERE p.term = d.term AND p.seq = d.seq",
                )
                .bind(&terms)
                .bind(&seqs)
                .execute(pool)
                .await?;
            }
            (None, Pool::Sqlite(_)) => {
                return Err(StoreError::Corrupt {
                    what: "audit index (not opened)",
                });
            }
        }
        Ok(())
    }
}
