//! Erasures: Rampart's part done and recorded in one transaction ([`Store::erase_subject`]),
//! the stores' confirmations, and the listing.
//!
//! Erased bytes must not survive in the database files. On SQLite, `secure_delete` (set on
//! every connection, `store.rs`) zeroes what a statement removes, and after the commit a
//! `TRUNCATE` checkpoint copies the zeroed pages into the database file and empties the WAL,
//! which still held the pages as they were. On PostgreSQL a `VACUUM` of the erased tables
//! after the commit reclaims the dead row versions. Both are best effort: a busy WAL or a
//! failed `VACUUM` is logged, and the next checkpoint or autovacuum finishes the work.

use rampart_subjects::{
    Confirmation, Erasure, ErasureEffects, ErasureId, ErasureWrite, SubjectKeyId, SubjectLookup,
    record_effects,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::lookup_of;
use crate::codec::{from_list, from_micros, from_micros_opt, list, micros};
use crate::monitor::webhooks::DeliveryRow;
use crate::monitor::{from_json, insert_deliveries, signed, to_json, unsigned};
use crate::threat::begin_write;
use crate::{Store, StoreError, with_pool};

const ERASURE_COLUMNS: &str = "id, lookup, subject_id_sha256, reason, stores, requested_at, \
     requested_by, completed_at, effects, subject_keys, checkpoint";

/// An erasure as read.
type ErasureTuple = (
    String,
    Vec<u8>,
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
);

/// The first key of the advisory locks that order erasures of one subject on PostgreSQL
/// (`ramp`); the second is taken from the subject's lookup.
const PG_ERASURE_LOCK_CLASS: i32 = 0x7261_6d70;

/// `erasures.effects`, as JSON.
#[derive(Serialize, Deserialize)]
struct EffectsJson {
    audit_entries: u64,
    keys_destroyed: u64,
    consents: u64,
    principals: u64,
    card_tokens: u64,
}

impl From<ErasureEffects> for EffectsJson {
    fn from(e: ErasureEffects) -> Self {
        Self {
            audit_entries: e.audit_entries,
            keys_destroyed: e.keys_destroyed,
            consents: e.consents,
            principals: e.principals,
            card_tokens: e.card_tokens,
        }
    }
}

impl From<EffectsJson> for ErasureEffects {
    fn from(e: EffectsJson) -> Self {
        Self {
            audit_entries: e.audit_entries,
            keys_destroyed: e.keys_destroyed,
            consents: e.consents,
            principals: e.principals,
            card_tokens: e.card_tokens,
        }
    }
}

/// An erasure row without its confirmations, and its lookup.
fn erasure(row: ErasureTuple) -> Result<(Erasure, SubjectLookup), StoreError> {
    let (
        id,
        lookup,
        subject_id_sha256,
        reason,
        stores,
        requested_at,
        requested_by,
        completed_at,
        effects,
        keys,
        checkpoint,
    ) = row;
    let subject_keys = from_list(&keys, "erasures.subject_keys")?
        .iter()
        .map(|k| {
            SubjectKeyId::parse(k).ok_or(StoreError::Corrupt {
                what: "erasures.subject_keys",
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let effects: EffectsJson = from_json(&effects, "erasures.effects")?;
    Ok((
        Erasure {
            id: ErasureId::parse(&id).ok_or(StoreError::Corrupt {
                what: "erasures.id",
            })?,
            subject_id_sha256,
            reason,
            stores: from_list(&stores, "erasures.stores")?,
            requested_at: from_micros(requested_at, "erasures.requested_at")?,
            requested_by,
            completed_at: from_micros_opt(completed_at, "erasures.completed_at")?,
            effects: effects.into(),
            subject_keys,
            confirmations: Vec::new(),
            checkpoint: from_json(&checkpoint, "erasures.checkpoint")?,
        },
        lookup_of(lookup, "erasures.lookup")?,
    ))
}

fn confirmation(row: (String, i64, i64, String)) -> Result<Confirmation, StoreError> {
    let (store, records_deleted, confirmed_at, confirmed_by) = row;
    Ok(Confirmation {
        store,
        records_deleted: unsigned(records_deleted, "erasure_confirmations.records_deleted")?,
        confirmed_at: from_micros(confirmed_at, "erasure_confirmations.confirmed_at")?,
        confirmed_by,
    })
}

/// The erasure as written, encoded.
struct ErasureRow {
    id: String,
    lookup: Vec<u8>,
    subject_id_sha256: String,
    reason: String,
    stores: String,
    requested_at: i64,
    requested_by: String,
    completed_at: Option<i64>,
    effects: String,
    subject_keys: String,
    checkpoint: String,
}

impl ErasureRow {
    fn of(erasure: &Erasure, lookup: &SubjectLookup) -> Result<Self, StoreError> {
        let keys: Vec<String> = erasure
            .subject_keys
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        Ok(Self {
            id: erasure.id.as_str().to_owned(),
            lookup: lookup.0.to_vec(),
            subject_id_sha256: erasure.subject_id_sha256.clone(),
            reason: erasure.reason.clone(),
            stores: list(&erasure.stores),
            requested_at: micros(erasure.requested_at)?,
            requested_by: erasure.requested_by.clone(),
            completed_at: erasure.completed_at.map(micros).transpose()?,
            effects: to_json(&EffectsJson::from(erasure.effects), "effects")?,
            subject_keys: list(&keys),
            checkpoint: to_json(&erasure.checkpoint, "checkpoint")?,
        })
    }
}

impl Store {
    /// Erasures with their confirmations.
    async fn with_confirmations(
        &self,
        rows: Vec<ErasureTuple>,
    ) -> Result<Vec<Erasure>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (mut erasure, _) = erasure(row)?;
            let confirmations: Vec<(String, i64, i64, String)> = with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT store, records_deleted, confirmed_at, confirmed_by
                     FROM erasure_confirmations WHERE erasure_id = $1 ORDER BY confirmed_at, store",
                )
                .bind(erasure.id.as_str())
                .fetch_all(pool)
                .await?
            });
            erasure.confirmations = confirmations
                .into_iter()
                .map(confirmation)
                .collect::<Result<_, _>>()?;
            out.push(erasure);
        }
        Ok(out)
    }

    /// A subject's latest erasure (newest id).
    pub(super) async fn latest_erasure_of(
        &self,
        lookup: &SubjectLookup,
    ) -> Result<Option<Erasure>, StoreError> {
        let sql = format!(
            "SELECT {ERASURE_COLUMNS} FROM erasures WHERE lookup = $1 ORDER BY id DESC LIMIT 1"
        );
        let rows: Vec<ErasureTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(lookup.0.to_vec())
                .fetch_all(pool)
                .await?
        });
        Ok(self.with_confirmations(rows).await?.pop())
    }

    /// One erasure.
    pub(super) async fn erasure_by_id(
        &self,
        id: &ErasureId,
    ) -> Result<Option<Erasure>, StoreError> {
        let sql = format!("SELECT {ERASURE_COLUMNS} FROM erasures WHERE id = $1");
        let rows: Vec<ErasureTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.as_str())
                .fetch_all(pool)
                .await?
        });
        Ok(self.with_confirmations(rows).await?.pop())
    }

    /// Erasures in id order after `after`.
    pub(super) async fn erasures_after(
        &self,
        after: Option<&ErasureId>,
        limit: u32,
    ) -> Result<Vec<Erasure>, StoreError> {
        let sql =
            format!("SELECT {ERASURE_COLUMNS} FROM erasures WHERE id > $1 ORDER BY id LIMIT $2");
        // Every id starts `era_`: after the empty string.
        let after = after.map_or("", ErasureId::as_str);
        let rows: Vec<ErasureTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        self.with_confirmations(rows).await
    }

    /// Rampart's part of an erasure, in one transaction (see `SubjectStore::erase`); then the
    /// erased bytes are scrubbed from the database files.
    pub(super) async fn erase_subject(
        &self,
        write: &ErasureWrite,
    ) -> Result<Option<Erasure>, StoreError> {
        let at = micros(write.erasure.requested_at)?;
        let lookup = write.lookup.0.to_vec();
        let lock = {
            let [a, b, c, d, ..] = write.lookup.0;
            i32::from_be_bytes([a, b, c, d])
        };
        let expected = write.expected_latest.as_ref().map(ErasureId::as_str);
        let deliveries = write
            .deliveries
            .iter()
            .map(DeliveryRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        let recorded = with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            if self.is_postgres() {
                // Two nodes erasing one subject: the second waits here, then sees the first's
                // erasure as the latest and writes nothing. (SQLite's BEGIN IMMEDIATE orders
                // writers already.)
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                    .bind(PG_ERASURE_LOCK_CLASS)
                    .bind(lock)
                    .execute(&mut *tx)
                    .await?;
            }
            let latest: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM erasures WHERE lookup = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(&lookup)
            .fetch_optional(&mut *tx)
            .await?;
            if latest.as_ref().map(|(id,)| id.as_str()) != expected {
                return Ok(None);
            }
            let keys: Vec<(String,)> = sqlx::query_as(
                "UPDATE subject_keys SET lookup = NULL, sealed_key = NULL, destroyed_at = $1,
                     erasure_id = $2
                 WHERE lookup = $3 AND destroyed_at IS NULL RETURNING id",
            )
            .bind(at)
            .bind(write.erasure.id.as_str())
            .bind(&lookup)
            .fetch_all(&mut *tx)
            .await?;
            let consents = sqlx::query(
                "UPDATE consents SET lookup = NULL, subject_id = NULL, source = NULL, erased_at = $1
                 WHERE lookup = $2 AND erased_at IS NULL",
            )
            .bind(at)
            .bind(&lookup)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Disabling as identity does it (`identity_change.rs`): the principal's sessions
            // and API keys are revoked with it, so neither works for a moment longer. Those of
            // principals disabled before are revoked too, should one have been left.
            let principals = sqlx::query(
                "UPDATE principals SET disabled = TRUE, updated_at = $1
                 WHERE subject_id = $2 AND NOT disabled",
            )
            .bind(at)
            .bind(&write.subject_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            for table in ["sessions", "api_keys"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET revoked_at = $1 WHERE revoked_at IS NULL
                         AND principal_id IN (SELECT id FROM principals WHERE subject_id = $2)"
                )))
                .bind(at)
                .bind(&write.subject_id)
                .execute(&mut *tx)
                .await?;
            }
            let card_tokens = sqlx::query("DELETE FROM card_tokens WHERE subject_id = $1")
                .bind(&write.subject_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let keys = keys
                .into_iter()
                .map(|(id,)| {
                    SubjectKeyId::parse(&id).ok_or(StoreError::Corrupt {
                        what: "subject_keys.id",
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let effects = ErasureEffects {
                audit_entries: write.audit_entries,
                keys_destroyed: u64::try_from(keys.len())
                    .map_err(|_| StoreError::OutOfRange { what: "keys_destroyed" })?,
                consents,
                principals,
                card_tokens,
            };
            let recorded = record_effects(write, effects, keys);
            let row = ErasureRow::of(&recorded, &write.lookup)?;
            sqlx::query(
                "INSERT INTO erasures (id, lookup, subject_id_sha256, reason, stores, requested_at,
                     requested_by, completed_at, effects, subject_keys, checkpoint)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&row.id)
            .bind(&row.lookup)
            .bind(&row.subject_id_sha256)
            .bind(&row.reason)
            .bind(&row.stores)
            .bind(row.requested_at)
            .bind(&row.requested_by)
            .bind(row.completed_at)
            .bind(&row.effects)
            .bind(&row.subject_keys)
            .bind(&row.checkpoint)
            .execute(&mut *tx)
            .await?;
            insert_deliveries!(tx, &deliveries);
            tx.commit().await?;
            recorded
        });
        Ok(Some(recorded))
    }

    /// Records a store's confirmation, and `completed_at` when given, in one transaction;
    /// `false` (nothing written) when the store had confirmed already.
    pub(super) async fn store_confirmation(
        &self,
        id: &ErasureId,
        confirmation: &Confirmation,
        completed_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let records = signed(confirmation.records_deleted, "records_deleted")?;
        let confirmed_at = micros(confirmation.confirmed_at)?;
        let completed_at = completed_at.map(micros).transpose()?;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let inserted = sqlx::query(
                "INSERT INTO erasure_confirmations (erasure_id, store, records_deleted,
                     confirmed_at, confirmed_by)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (erasure_id, store) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(&confirmation.store)
            .bind(records)
            .bind(confirmed_at)
            .bind(&confirmation.confirmed_by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted != 1 {
                return Ok(false);
            }
            if let Some(completed_at) = completed_at {
                sqlx::query(
                    "UPDATE erasures SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL",
                )
                .bind(completed_at)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Removes what the database files still hold of erased rows, best effort (see the module
    /// documentation): a `TRUNCATE` checkpoint on SQLite, a `VACUUM` on PostgreSQL.
    pub(crate) async fn scrub_erased(&self) {
        match &self.pool {
            crate::store::Pool::Sqlite(pool) => {
                let result: Result<(i64, i64, i64), sqlx::Error> =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(pool)
                        .await;
                match result {
                    Ok((0, _, _)) => {}
                    Ok(_) => tracing::warn!(
                        "after an erasure, the SQLite WAL could not be checkpointed and emptied (readers were busy): erased bytes stay in the -wal file until the next checkpoint"
                    ),
                    Err(error) => tracing::warn!(
                        %error,
                        "after an erasure, the SQLite WAL could not be checkpointed: erased bytes stay in the -wal file until the next checkpoint"
                    ),
                }
            }
            crate::store::Pool::Postgres(pool) => {
                if let Err(error) = sqlx::query("VACUUM subject_keys, consents, card_tokens")
                    .execute(pool)
                    .await
                {
                    tracing::warn!(
                        %error,
                        "after an erasure, VACUUM failed: erased row versions stay until autovacuum reclaims them"
                    );
                }
            }
        }
    }
}
