//! Subject keys: found live by lookup, inserted unless the subject already has a live one (the
//! unique partial index `subject_keys_live` decides a race), resealed by compare-and-set,
//! destroyed by erasure or after a restore.

use rampart_crypto::SealedSecret;
use rampart_subjects::{ErasureId, StoredSubjectKey, SubjectKeyId, SubjectLookup};
use time::OffsetDateTime;

use super::{IN_CHUNK, lookup_of, placeholders};
use crate::codec::{from_micros, from_micros_opt, micros};
use crate::threat::begin_write;
use crate::{Store, StoreError, with_pool};

/// Keys per multi-row INSERT (four bound values each).
const KEYS_PER_INSERT: usize = 500;

pub(super) const KEY_COLUMNS: &str = "id, lookup, sealed_key, created_at, destroyed_at, erasure_id";

/// A key as read.
pub(super) type KeyTuple = (
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    i64,
    Option<i64>,
    Option<String>,
);

fn key(row: KeyTuple) -> Result<StoredSubjectKey, StoreError> {
    let (id, lookup, sealed, created_at, destroyed_at, erasure_id) = row;
    Ok(StoredSubjectKey {
        id: SubjectKeyId::parse(&id).ok_or(StoreError::Corrupt {
            what: "subject_keys.id",
        })?,
        lookup: lookup
            .map(|l| lookup_of(l, "subject_keys.lookup"))
            .transpose()?,
        sealed: sealed.map(SealedSecret::from_bytes),
        created_at: from_micros(created_at, "subject_keys.created_at")?,
        destroyed_at: from_micros_opt(destroyed_at, "subject_keys.destroyed_at")?,
        erasure_id: erasure_id
            .map(|e| {
                ErasureId::parse(&e).ok_or(StoreError::Corrupt {
                    what: "subject_keys.erasure_id",
                })
            })
            .transpose()?,
    })
}

impl Store {
    /// The live keys of these subjects.
    pub(super) async fn live_keys(
        &self,
        lookups: &[SubjectLookup],
    ) -> Result<Vec<StoredSubjectKey>, StoreError> {
        let mut found = Vec::new();
        for chunk in lookups.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM subject_keys
                 WHERE destroyed_at IS NULL AND lookup IN ({})",
                placeholders(1, chunk.len())
            );
            let rows: Vec<KeyTuple> = with_pool!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for lookup in chunk {
                    query = query.bind(lookup.0.to_vec());
                }
                query.fetch_all(pool).await?
            });
            for row in rows {
                found.push(key(row)?);
            }
        }
        Ok(found)
    }

    /// One key, destroyed or not.
    pub(super) async fn key_by_id(
        &self,
        id: &SubjectKeyId,
    ) -> Result<Option<StoredSubjectKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM subject_keys WHERE id = $1");
        let row: Option<KeyTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(key).transpose()
    }

    /// Stores new keys in one transaction; a subject with a live key keeps it.
    pub(super) async fn put_keys(&self, keys: &[StoredSubjectKey]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            let (Some(lookup), Some(sealed), None) = (&k.lookup, &k.sealed, k.destroyed_at) else {
                return Err(StoreError::OutOfRange {
                    what: "a new subject key (lookup and sealed key set, not destroyed)",
                });
            };
            rows.push((
                k.id.as_str(),
                lookup.0.to_vec(),
                sealed.as_bytes(),
                micros(k.created_at)?,
            ));
        }
        if rows.is_empty() {
            return Ok(());
        }
        // A few multi-row statements in one short transaction (it waits for the audit writer's
        // lock on SQLite: the shorter, the sooner both go on).
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            for chunk in rows.chunks(KEYS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO subject_keys (id, lookup, sealed_key, created_at) ",
                );
                q.push_values(chunk, |mut row, (id, lookup, sealed, created_at)| {
                    row.push_bind(*id)
                        .push_bind(lookup.as_slice())
                        .push_bind(*sealed)
                        .push_bind(*created_at);
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every live key's sealed form.
    pub(super) async fn sealed_keys(
        &self,
    ) -> Result<Vec<(SubjectKeyId, SealedSecret)>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, sealed_key FROM subject_keys WHERE destroyed_at IS NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, sealed)| {
                let id = SubjectKeyId::parse(&id).ok_or(StoreError::Corrupt {
                    what: "subject_keys.id",
                })?;
                Ok((id, SealedSecret::from_bytes(sealed)))
            })
            .collect()
    }

    /// Replaces a live key's sealed form if it is still `expected`.
    pub(super) async fn reseal_key(
        &self,
        id: &SubjectKeyId,
        expected: &SealedSecret,
        resealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE subject_keys SET sealed_key = $1
                 WHERE id = $2 AND sealed_key = $3 AND destroyed_at IS NULL",
            )
            .bind(resealed.as_bytes())
            .bind(id.as_str())
            .bind(expected.as_bytes())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Destroys these keys where they still live, in one transaction; then removes what the
    /// database keeps of their bytes (`scrub_erased`).
    pub(super) async fn destroy_keys(
        &self,
        ids: &[SubjectKeyId],
        erasure: &ErasureId,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let at = micros(at)?;
        let mut destroyed = 0;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            for chunk in ids.chunks(IN_CHUNK) {
                let sql = format!(
                    "UPDATE subject_keys SET lookup = NULL, sealed_key = NULL, destroyed_at = $1,
                         erasure_id = $2
                     WHERE destroyed_at IS NULL AND id IN ({})",
                    placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at).bind(erasure.as_str());
                for id in chunk {
                    query = query.bind(id.as_str());
                }
                destroyed += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        if destroyed > 0 {
            self.scrub_erased().await;
        }
        Ok(destroyed)
    }
}
