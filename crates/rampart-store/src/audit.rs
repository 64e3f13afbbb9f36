//! [`AuditStore`] on both backends.
//!
//! An append is one transaction: it reads the head (on PostgreSQL with `FOR UPDATE`, so the
//! writers of every server serialize on that row; on SQLite under `BEGIN IMMEDIATE`), refuses
//! the batch if another writer moved the head, then writes entries, tags, tiles, the new head
//! and the checkpoint. It commits before anyone is answered.
//!
//! Entries pruned under retention (`pruned_at` set, see `audit_prune`) are read back marked
//! [`StoredEntry::pruned`] by `entries` and `leaves`; `query` and `count` never match them.

use std::ops::Range;

use rampart_audit::index::driving_terms;
use rampart_audit::store::{
    AppendBatch, AppendError, AuditStore, EntryFilter, Pruned, SignedCheckpoint, StoredEntry,
    StoredLeaf, TreeHead, Verification,
};
use rampart_audit::tiles::{PackedTile, TILE_WIDTH};
use rampart_audit::tree::Hash;
use sqlx::QueryBuilder;

use crate::agents::record::{ActionWriter, Records};
use crate::audit_index::with_index_pool;

mod filters;
use crate::change::{StoreChange, apply_change};
use crate::codec::{from_list, from_micros, micros};
use crate::store::Pool;
use crate::{Store, StoreError, with_pool};
use filters::{prefixed_columns, push_filters, push_order, push_seq_bounds};

/// Rows per multi-row INSERT (SQLite allows 32766 bound values; an entry binds 14).
const ROWS_PER_INSERT: usize = 1000;

fn hash_of(bytes: Vec<u8>, what: &'static str) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt { what })
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::OutOfRange { what: "seq" })
}

fn seq_u64(seq: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt { what })
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    id: String,
    ts: i64,
    actor_type: String,
    actor_id: String,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    team_id: Option<String>,
    status: String,
    subject_id: Option<String>,
    tags: String,
    body: String,
    leaf_hash: Vec<u8>,
    pruned_at: Option<i64>,
    certificate_id: Option<String>,
}

/// The pruning of a row from its `pruned_at` and `certificate_id` (set together, or neither).
fn pruned(
    pruned_at: Option<i64>,
    certificate_id: Option<String>,
) -> Result<Option<Pruned>, StoreError> {
    match (pruned_at, certificate_id) {
        (None, None) => Ok(None),
        (Some(at), Some(certificate_id)) => Ok(Some(Pruned {
            pruned_at: from_micros(at, "audit_entries.pruned_at")?,
            certificate_id,
        })),
        _ => Err(StoreError::Corrupt {
            what: "audit_entries.pruned_at (without its certificate_id)",
        }),
    }
}

impl EntryRow {
    fn into_stored(self) -> Result<StoredEntry, StoreError> {
        Ok(StoredEntry {
            seq: seq_u64(self.seq, "audit_entries.seq")?,
            id: self.id,
            timestamp_micros: self.ts,
            actor_type: self.actor_type,
            actor_id: self.actor_id,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            team_id: self.team_id,
            status: self.status,
            subject_id: self.subject_id,
            tags: from_list(&self.tags, "audit_entries.tags")?,
            body: self.body,
            leaf_hash: hash_of(self.leaf_hash, "audit_entries.leaf_hash")?,
            pruned: pruned(self.pruned_at, self.certificate_id)?,
        })
    }
}

/// `(tree_size, root, ts, note, signature)` of `audit_checkpoints`.
type CheckpointRow = (i64, Vec<u8>, i64, String, Vec<u8>);

/// The columns an append writes.
const ENTRY_COLUMNS: &str = "seq, id, ts, actor_type, actor_id, action, resource_type, resource_id, team_id, status, subject_id, tags, body, leaf_hash";
/// The columns a read loads: those written, and the pruning.
const READ_COLUMNS: &str = "seq, id, ts, actor_type, actor_id, action, resource_type, resource_id, team_id, status, subject_id, tags, body, leaf_hash, pruned_at, certificate_id";

impl AuditStore for Store {
    type Error = StoreError;
    type Change = StoreChange;

    async fn head(&self) -> Result<TreeHead, StoreError> {
        let (size, root): (i64, Vec<u8>) = with_pool!(self, pool => {
            sqlx::query_as("SELECT size, root FROM audit_head WHERE singleton = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(TreeHead {
            size: seq_u64(size, "audit_head.size")?,
            root: hash_of(root, "audit_head.root")?,
        })
    }

    async fn append(
        &self,
        batch: &AppendBatch,
        changes: &[Option<&StoreChange>],
    ) -> Result<(), AppendError<StoreError>> {
        let store = |e: sqlx::Error| AppendError::Store(StoreError::Query(e));
        let own = |e: StoreError| AppendError::Store(e);
        let expected = seq_i64(batch.expected_size).map_err(own)?;
        let new_size = seq_i64(batch.head.size).map_err(own)?;
        let checkpoint_ts = micros(batch.checkpoint.timestamp).map_err(own)?;
        let is_postgres = matches!(self.pool, Pool::Postgres(_));
        let mut seqs = Vec::with_capacity(batch.entries.len());
        for entry in &batch.entries {
            seqs.push(seq_i64(entry.seq).map_err(own)?);
        }
        let records = Records::of(changes).map_err(own)?;
        with_pool!(self, pool => {
            let mut tx = if is_postgres {
                pool.begin().await.map_err(store)?
            } else {
                pool.begin_with("BEGIN IMMEDIATE").await.map_err(store)?
            };
            // Check and move the head in one statement: it locks the row (PostgreSQL; SQLite
            // holds the database since BEGIN IMMEDIATE), so writers of every server serialize
            // here, and a writer that lost the race updates nothing.
            let moved = sqlx::query("UPDATE audit_head SET size = $1, root = $2 WHERE singleton = 1 AND size = $3")
                .bind(new_size)
                .bind(batch.head.root.as_slice())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err(store)?
                .rows_affected();
            if moved != 1 {
                let (size,): (i64,) = sqlx::query_as("SELECT size FROM audit_head WHERE singleton = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(store)?;
                return Err(AppendError::Conflict { actual_size: seq_u64(size, "audit_head.size").map_err(own)? });
            }
            // The changes this batch records commit with it or not at all: the decided actions
            // together, the others one by one; the first refused in request order is named.
            let refused = ActionWriter::record_actions(&mut *tx, &records).await.map_err(own)?;
            for (index, change) in changes.iter().enumerate() {
                if refused.is_some_and(|(first, _)| index > first) {
                    break;
                }
                if let Some(change) = change
                    && !Records::takes(change)
                    && !apply_change!(tx, change).map_err(own)?
                {
                    return Err(AppendError::Refused { index, reason: change.refusal().to_owned() });
                }
            }
            if let Some((index, reason)) = refused {
                return Err(AppendError::Refused { index, reason: reason.to_owned() });
            }
            EntryWriter::insert_entries(&mut *tx, &batch.entries, &seqs).await.map_err(store)?;
            if !batch.subtrees.is_empty() {
                let mut tiles = Vec::with_capacity(batch.subtrees.len());
                for (level, index, hash) in &batch.subtrees {
                    tiles.push((i64::from(*level), seq_i64(*index).map_err(own)?, hash.as_slice()));
                }
                for tile_chunk in tiles.chunks(ROWS_PER_INSERT) {
                    let mut insert = QueryBuilder::new("INSERT INTO audit_tiles (level, idx, hash) ");
                    insert.push_values(tile_chunk, |mut row, (level, index, hash)| {
                        row.push_bind(*level).push_bind(*index).push_bind(*hash);
                    });
                    insert.build().execute(&mut *tx).await.map_err(store)?;
                }
            }
            if !batch.packed_tiles.is_empty() {
                let mut tiles = Vec::with_capacity(batch.packed_tiles.len());
                for tile in &batch.packed_tiles {
                    tiles.push((i64::from(tile.level), seq_i64(tile.tile).map_err(own)?, tile.hashes.as_slice()));
                }
                for tile_chunk in tiles.chunks(ROWS_PER_INSERT) {
                    let mut insert = QueryBuilder::new("INSERT INTO audit_tile_blobs (level, tile, hashes) ");
                    insert.push_values(tile_chunk, |mut row, (level, tile, hashes)| {
                        row.push_bind(*level).push_bind(*tile).push_bind(*hashes);
                    });
                    insert.build().execute(&mut *tx).await.map_err(store)?;
                }
            }
            sqlx::query("INSERT INTO audit_checkpoints (tree_size, root, ts, note, signature) VALUES ($1, $2, $3, $4, $5)")
                .bind(new_size)
                .bind(batch.checkpoint.root_hash.as_slice())
                .bind(checkpoint_ts)
                .bind(batch.checkpoint.note.as_str())
                .bind(batch.checkpoint.signature.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(store)?;
            tx.commit().await.map_err(store)?;
            Ok(())
        })
    }

    async fn hashes(&self, level: u32, range: Range<u64>) -> Result<Vec<(u64, Hash)>, StoreError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        // Full tiles first: one row per 256 hashes.
        let first_tile = range.start / TILE_WIDTH;
        let last_tile = (range.end - 1) / TILE_WIDTH;
        let blobs: Vec<(i64, Vec<u8>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT tile, hashes FROM audit_tile_blobs WHERE level = $1 AND tile >= $2 AND tile <= $3 ORDER BY tile")
                .bind(i64::from(level))
                .bind(seq_i64(first_tile)?)
                .bind(seq_i64(last_tile)?)
                .fetch_all(pool)
                .await?
        });
        let mut out = Vec::new();
        let mut next_uncovered = range.start;
        let mut contiguous = true;
        for (tile, bytes) in blobs {
            let tile = seq_u64(tile, "audit_tile_blobs.tile")?;
            let hashes = PackedTile::unpack(level, tile, &bytes).ok_or(StoreError::Corrupt {
                what: "audit_tile_blobs.hashes",
            })?;
            if tile * TILE_WIDTH > next_uncovered {
                contiguous = false;
            }
            out.extend(
                hashes
                    .into_iter()
                    .filter(|(index, _)| range.contains(index)),
            );
            next_uncovered = next_uncovered.max((tile + 1) * TILE_WIDTH);
        }
        // The rest (the partial tile at the right edge, or gaps in a damaged store) one by one.
        let rest = if contiguous {
            next_uncovered.min(range.end)..range.end
        } else {
            range.clone()
        };
        if rest.is_empty() {
            return Ok(out);
        }
        if !contiguous {
            out.clear();
        }
        let start = seq_i64(rest.start)?;
        let end = seq_i64(rest.end)?;
        let rows: Vec<(i64, Vec<u8>)> = with_pool!(self, pool => {
            if level == 0 {
                sqlx::query_as("SELECT seq, leaf_hash FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq")
                    .bind(start)
                    .bind(end)
                    .fetch_all(pool)
                    .await?
            } else {
                sqlx::query_as("SELECT idx, hash FROM audit_tiles WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
                    .bind(i64::from(level))
                    .bind(start)
                    .bind(end)
                    .fetch_all(pool)
                    .await?
            }
        });
        for (index, hash) in rows {
            out.push((
                seq_u64(index, "audit hash index")?,
                hash_of(hash, "audit hash")?,
            ));
        }
        Ok(out)
    }

    async fn entries(&self, range: Range<u64>) -> Result<Vec<StoredEntry>, StoreError> {
        let start = seq_i64(range.start)?;
        let end = seq_i64(range.end)?;
        let rows: Vec<EntryRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {READ_COLUMNS} FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq"
            )))
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(EntryRow::into_stored).collect()
    }

    async fn count(&self, filter: &EntryFilter) -> Result<u64, StoreError> {
        let filter = &EntryFilter {
            after_seq: None,
            ..filter.clone()
        };
        let count: i64 = match driving_terms(filter) {
            None => with_pool!(self, pool => {
                let mut q = QueryBuilder::new("SELECT COUNT(*) FROM audit_entries WHERE 1 = 1");
                push_filters(&mut q, filter, "", self.is_postgres())?;
                push_seq_bounds(&mut q, filter, "")?;
                q.build_query_scalar().fetch_one(pool).await?
            }),
            Some(terms) => {
                // As `query`: postings below `indexed`, the entries from it.
                let indexed = seq_i64(self.audit_indexed_size().await?)?;
                let posted: i64 = with_index_pool!(self, pool => {
                    let mut q = QueryBuilder::new(
                        "SELECT COUNT(*) FROM audit_postings p JOIN audit_entries e ON e.seq = p.seq WHERE p.term IN (",
                    );
                    let mut separated = q.separated(", ");
                    for term in &terms {
                        separated.push_bind(term.as_str());
                    }
                    separated.push_unseparated(")");
                    q.push(" AND p.seq < ").push_bind(indexed);
                    push_filters(&mut q, filter, "e.", self.is_postgres())?;
                    push_seq_bounds(&mut q, filter, "p.")?;
                    q.build_query_scalar().fetch_one(pool).await?
                });
                let tail: i64 = with_pool!(self, pool => {
                    let mut q = QueryBuilder::new("SELECT COUNT(*) FROM audit_entries WHERE seq >= ");
                    q.push_bind(indexed);
                    push_filters(&mut q, filter, "", self.is_postgres())?;
                    push_seq_bounds(&mut q, filter, "")?;
                    q.build_query_scalar().fetch_one(pool).await?
                });
                posted + tail
            }
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn query(&self, filter: &EntryFilter) -> Result<Vec<StoredEntry>, StoreError> {
        let Some(terms) = driving_terms(filter) else {
            // Nothing indexed to narrow by: scan the entries in seq order (the time index serves
            // `since`/`until`, the primary key the seq bounds).
            let rows: Vec<EntryRow> = with_pool!(self, pool => {
                let mut q = QueryBuilder::new(format!("SELECT {READ_COLUMNS} FROM audit_entries WHERE 1 = 1"));
                push_filters(&mut q, filter, "", self.is_postgres())?;
                push_seq_bounds(&mut q, filter, "")?;
                push_order(&mut q, filter, "");
                q.build_query_as().fetch_all(pool).await?
            });
            return rows.into_iter().map(EntryRow::into_stored).collect();
        };
        // Postings reach `indexed`: below it walk them, from it scan the entries. Both parts are
        // in seq order, so the page is the first part then the second (ascending) or the
        // reverse (descending), cut at the limit.
        let indexed = seq_i64(self.audit_indexed_size().await?)?;
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let postings = async {
            let rows: Vec<EntryRow> = with_index_pool!(self, pool => {
                let mut q = QueryBuilder::new(format!(
                    "SELECT {} FROM audit_postings p JOIN audit_entries e ON e.seq = p.seq WHERE p.term IN (",
                    prefixed_columns("e.")
                ));
                let mut separated = q.separated(", ");
                for term in &terms {
                    separated.push_bind(term.as_str());
                }
                separated.push_unseparated(")");
                q.push(" AND p.seq < ").push_bind(indexed);
                push_filters(&mut q, filter, "e.", self.is_postgres())?;
                push_seq_bounds(&mut q, filter, "p.")?;
                push_order(&mut q, filter, "p.");
                q.build_query_as().fetch_all(pool).await?
            });
            Ok::<_, StoreError>(rows)
        };
        let tail = async {
            let rows: Vec<EntryRow> = with_pool!(self, pool => {
                let mut q = QueryBuilder::new(format!("SELECT {READ_COLUMNS} FROM audit_entries WHERE seq >= "));
                q.push_bind(indexed);
                push_filters(&mut q, filter, "", self.is_postgres())?;
                push_seq_bounds(&mut q, filter, "")?;
                push_order(&mut q, filter, "");
                q.build_query_as().fetch_all(pool).await?
            });
            Ok::<_, StoreError>(rows)
        };
        // The part that comes first fills the page when it can; the other is read only if not.
        let mut rows = if filter.descending {
            let mut rows = tail.await?;
            if rows.len() < limit {
                rows.extend(postings.await?);
            }
            rows
        } else {
            let mut rows = postings.await?;
            if rows.len() < limit {
                rows.extend(tail.await?);
            }
            rows
        };
        rows.truncate(limit);
        rows.into_iter().map(EntryRow::into_stored).collect()
    }

    async fn leaves(&self, range: Range<u64>) -> Result<Vec<StoredLeaf>, StoreError> {
        let start = seq_i64(range.start)?;
        let end = seq_i64(range.end)?;
        let rows: Vec<(i64, String, Vec<u8>, bool)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT seq, body, leaf_hash, pruned_at IS NOT NULL FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq")
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(seq, body, leaf, pruned)| {
                Ok(StoredLeaf {
                    seq: seq_u64(seq, "audit_entries.seq")?,
                    body,
                    leaf_hash: hash_of(leaf, "audit_entries.leaf_hash")?,
                    pruned,
                })
            })
            .collect()
    }

    async fn last_verification(&self) -> Result<Option<Verification>, StoreError> {
        let row: Option<(i64, Vec<u8>, i64, bool, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT tree_size, root, verified_at, full_check, checked_entries FROM audit_verifications ORDER BY tree_size DESC, id DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        });
        row.map(|(size, root, at, full, checked)| {
            Ok(Verification {
                tree_size: seq_u64(size, "audit_verifications.tree_size")?,
                root_hash: hash_of(root, "audit_verifications.root")?,
                verified_at: from_micros(at, "audit_verifications.verified_at")?,
                full,
                checked_entries: seq_u64(checked, "audit_verifications.checked_entries")?,
            })
        })
        .transpose()
    }

    async fn record_verification(&self, verification: &Verification) -> Result<(), StoreError> {
        let size = seq_i64(verification.tree_size)?;
        let at = micros(verification.verified_at)?;
        let checked = seq_i64(verification.checked_entries)?;
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO audit_verifications (tree_size, root, verified_at, full_check, checked_entries) VALUES ($1, $2, $3, $4, $5)")
                .bind(size)
                .bind(verification.root_hash.as_slice())
                .bind(at)
                .bind(verification.full)
                .bind(checked)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        let row: Option<CheckpointRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT tree_size, root, ts, note, signature FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        });
        row.map(|(size, root, ts, note, signature)| {
            Ok(SignedCheckpoint {
                tree_size: seq_u64(size, "audit_checkpoints.tree_size")?,
                root_hash: hash_of(root, "audit_checkpoints.root")?,
                timestamp: from_micros(ts, "audit_checkpoints.ts")?,
                note,
                signature: signature.try_into().map_err(|_| StoreError::Corrupt {
                    what: "audit_checkpoints.signature",
                })?,
            })
        })
        .transpose()
    }

    fn is_unavailable(error: &StoreError) -> bool {
        error.is_unavailable()
    }
}

/// How each backend writes a batch of entries: in as few statements as it allows.
trait EntryWriter {
    /// Inserts `entries` (with their `seqs` as stored integers).
    async fn insert_entries(
        &mut self,
        entries: &[StoredEntry],
        seqs: &[i64],
    ) -> Result<(), sqlx::Error>;
}

impl EntryWriter for sqlx::SqliteConnection {
    /// Multi-row INSERTs of [`ROWS_PER_INSERT`] rows (SQLite binds at most 32766 values).
    async fn insert_entries(
        &mut self,
        entries: &[StoredEntry],
        seqs: &[i64],
    ) -> Result<(), sqlx::Error> {
        for (chunk, chunk_seqs) in entries
            .chunks(ROWS_PER_INSERT)
            .zip(seqs.chunks(ROWS_PER_INSERT))
        {
            let mut insert =
                QueryBuilder::new(format!("INSERT INTO audit_entries ({ENTRY_COLUMNS}) "));
            insert.push_values(chunk.iter().zip(chunk_seqs), |mut row, (e, seq)| {
                row.push_bind(*seq)
                    .push_bind(e.id.as_str())
                    .push_bind(e.timestamp_micros)
                    .push_bind(e.actor_type.as_str())
                    .push_bind(e.actor_id.as_str())
                    .push_bind(e.action.as_str())
                    .push_bind(e.resource_type.as_str())
                    .push_bind(e.resource_id.as_deref())
                    .push_bind(e.team_id.as_deref())
                    .push_bind(e.status.as_str())
                    .push_bind(e.subject_id.as_deref())
                    .push_bind(crate::codec::list(&e.tags))
                    .push_bind(e.body.as_str())
                    .push_bind(e.leaf_hash.as_slice());
            });
            insert.build().execute(&mut *self).await?;
        }
        Ok(())
    }
}

impl EntryWriter for sqlx::PgConnection {
    /// One statement for the whole batch: a column array per field, joined by `UNNEST`
    /// (one prepared statement whatever the batch size; no limit on bound values).
    async fn insert_entries(
        &mut self,
        entries: &[StoredEntry],
        seqs: &[i64],
    ) -> Result<(), sqlx::Error> {
        // Borrowed columns: the batch's strings are bound as they are, never copied.
        let column = |f: for<'e> fn(&'e StoredEntry) -> &'e str| {
            entries.iter().map(f).collect::<Vec<&str>>()
        };
        let optional = |f: for<'e> fn(&'e StoredEntry) -> Option<&'e str>| {
            entries.iter().map(f).collect::<Vec<Option<&str>>>()
        };
        let tags: Vec<String> = entries
            .iter()
            .map(|e| crate::codec::list(&e.tags))
            .collect();
        sqlx::query(
            "INSERT INTO audit_entries (seq, id, ts, actor_type, actor_id, action, resource_type, resource_id, team_id, status, subject_id, tags, body, leaf_hash)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[])",
        )
        .bind(seqs)
        .bind(column(|e| &e.id))
        .bind(entries.iter().map(|e| e.timestamp_micros).collect::<Vec<i64>>())
        .bind(column(|e| &e.actor_type))
        .bind(column(|e| &e.actor_id))
        .bind(column(|e| &e.action))
        .bind(column(|e| &e.resource_type))
        .bind(optional(|e| e.resource_id.as_deref()))
        .bind(optional(|e| e.team_id.as_deref()))
        .bind(column(|e| &e.status))
        .bind(optional(|e| e.subject_id.as_deref()))
        .bind(tags)
        .bind(column(|e| &e.body))
        .bind(entries.iter().map(|e| e.leaf_hash.as_slice()).collect::<Vec<&[u8]>>())
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
