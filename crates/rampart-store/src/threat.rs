//! [`ThreatStore`] on both backends: the rule documents (compare-and-set on their version),
//! failures, blocks and exemptions (`threat/blocks.rs`), and the windows of shared rules.
//!
//! A shared rule's window is one row per rule and key, counted by one upsert per request, so
//! nodes sharing the database never allow more than the limit together. The upsert applies
//! [`rampart_threat::shared_window_hit`]'s rule in SQL; the decision is then that function's,
//! fed the row the upsert returned, so the store and the reference cannot disagree.
//!
//! Addresses and networks are stored as [`BlockTarget`]'s canonical text; times as
//! microseconds, and `now` is taken at microsecond precision throughout.

use std::net::IpAddr;

use rampart_threat::{
    AddressRules, Block, BlockTarget, BucketKey, Replaced, RuleSet, SharedDecision, StoredDocument,
    ThreatStore, WindowState, shared_window_hit,
};
use time::{Duration, OffsetDateTime};

use crate::codec::{from_micros, micros};
use crate::{Store, StoreError, with_pool};

mod blocks;

/// How long failures, shared windows and block history are kept (longer than any window:
/// rules' windows are at most a day, and repeats count within a day).
const KEPT: Duration = Duration::days(1);

/// The `kind` of the rate-limit rules in `threat_documents`.
const RATE_LIMITS: &str = "rate_limits";
/// The `kind` of the address rules in `threat_documents`.
const IP_RULES: &str = "ip_rules";

/// Begins a write transaction on `$pool`: on SQLite with `BEGIN IMMEDIATE`, so a transaction
/// that reads before it writes holds the write lock from the start (a deferred one would fail
/// instead of waiting when another writer came first); on PostgreSQL an ordinary one.
macro_rules! begin_write {
    ($store:expr, $pool:ident) => {
        if $store.is_postgres() {
            $pool.begin().await?
        } else {
            $pool.begin_with("BEGIN IMMEDIATE").await?
        }
    };
}
pub(crate) use begin_write;

/// $1 rule, $2 key, $3 now, $4 the window's length. The stored window is kept while `now` is
/// within it (and it does not start more than a window after `now`: a clock gone back),
/// exactly as `shared_window_hit` keeps it; otherwise a new one starts at `now`. Every SET
/// reads the row as it was, so the two CASEs agree.
const SHARED_HIT_SQL: &str = "INSERT INTO threat_windows (rule, bucket, window_start, count)
    VALUES ($1, $2, $3, 1)
    ON CONFLICT (rule, bucket) DO UPDATE SET
    count = CASE
        WHEN $3 < threat_windows.window_start + $4 AND threat_windows.window_start - $4 < $3
        THEN threat_windows.count + 1 ELSE 1 END,
    window_start = CASE
        WHEN $3 < threat_windows.window_start + $4 AND threat_windows.window_start - $4 < $3
        THEN threat_windows.window_start ELSE $3 END
    RETURNING count, window_start";

/// `at` truncated to the microsecond, the precision stored.
fn stored_precision(at: OffsetDateTime) -> Result<OffsetDateTime, StoreError> {
    from_micros(micros(at)?, "timestamp")
}

/// A duration in microseconds, saturating (only ever compared).
fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.whole_microseconds()).unwrap_or(if d.is_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A stored count or version as `u64`.
fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

impl Store {
    /// The stored document of `kind`.
    async fn threat_document(&self, kind: &str) -> Result<Option<StoredDocument>, StoreError> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT json, version FROM threat_documents WHERE kind = $1")
                .bind(kind)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(json, version)| {
            Ok(StoredDocument {
                json,
                version: unsigned(version, "threat_documents.version")?,
            })
        })
        .transpose()
    }

    /// Replaces the document of `kind` if its version is still `expected` (`None`: none
    /// stored), in one transaction: the document before is read, then one conditional INSERT
    /// or UPDATE writes the next version. A version names one content (versions only rise and
    /// rows are never deleted), so the document read is the one replaced. `None` when the
    /// version moved; nothing is written then.
    async fn replace_threat_document(
        &self,
        kind: &str,
        json: &str,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Option<Replaced>, StoreError> {
        let at = micros(now)?;
        let expected = expected
            .map(|v| i64::try_from(v).map_err(|_| StoreError::OutOfRange { what: "version" }))
            .transpose()?;
        let next = expected.map_or(Ok(1), |v| {
            v.checked_add(1)
                .ok_or(StoreError::OutOfRange { what: "version" })
        })?;
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let before: Option<(String, i64)> =
                sqlx::query_as("SELECT json, version FROM threat_documents WHERE kind = $1")
                    .bind(kind)
                    .fetch_optional(&mut *tx)
                    .await?;
            if before.as_ref().map(|(_, v)| *v) != expected {
                return Ok(None);
            }
            let written = match expected {
                None => sqlx::query(
                    "INSERT INTO threat_documents (kind, json, version, updated_at)
                     VALUES ($1, $2, 1, $3) ON CONFLICT (kind) DO NOTHING",
                )
                .bind(kind)
                .bind(json)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(version) => sqlx::query(
                    "UPDATE threat_documents SET json = $1, version = $2, updated_at = $3
                     WHERE kind = $4 AND version = $5",
                )
                .bind(json)
                .bind(next)
                .bind(at)
                .bind(kind)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if written != 1 {
                return Ok(None);
            }
            tx.commit().await?;
            let before = before
                .map(|(json, version)| {
                    Ok::<_, StoreError>(StoredDocument {
                        json,
                        version: unsigned(version, "threat_documents.version")?,
                    })
                })
                .transpose()?;
            Ok(Some(Replaced {
                before,
                version: unsigned(next, "threat_documents.version")?,
            }))
        })
    }

    /// Counts a request against a shared rule's bucket: one upsert, then the decision of
    /// `shared_window_hit` for the window the row now holds.
    async fn count_shared_hit(
        &self,
        rule: &str,
        key: &BucketKey,
        window_seconds: u32,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<SharedDecision, StoreError> {
        let now = stored_precision(now)?;
        let at = micros(now)?;
        let window = duration_micros(Duration::seconds(i64::from(window_seconds)));
        let (count, start): (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(SHARED_HIT_SQL)
                .bind(rule)
                .bind(key.as_str())
                .bind(at)
                .bind(window)
                .fetch_one(pool)
                .await?
        });
        let count = unsigned(count, "threat_windows.count")?;
        let started_at = from_micros(start, "threat_windows.window_start")?;
        // The row before this request: the window kept with one fewer, or none when the upsert
        // started a new one (count 1). The reference then computes the same row and decides.
        let before = (count > 1).then(|| WindowState {
            started_at,
            count: count - 1,
        });
        let (state, decision) = shared_window_hit(before, limit, window_seconds, now);
        if state != (WindowState { started_at, count }) {
            return Err(StoreError::Corrupt {
                what: "threat_windows",
            });
        }
        Ok(decision)
    }

    /// Records a failure and counts the address's failures within `window`, in one transaction.
    async fn add_failure(
        &self,
        address: IpAddr,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let address = BlockTarget::address(address).to_string();
        let at = micros(now)?;
        let floor = at.saturating_sub(duration_micros(window));
        let (count,): (i64,) = with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            sqlx::query("INSERT INTO threat_failures (address, at) VALUES ($1, $2)")
                .bind(&address)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let count = sqlx::query_as(
                "SELECT COUNT(*) FROM threat_failures WHERE address = $1 AND at > $2 AND at <= $3",
            )
            .bind(&address)
            .bind(floor)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            count
        });
        unsigned(count, "threat_failures")
    }

    /// Deletes what no longer matters at `now` (see [`ThreatStore::purge`]); expired blocks go
    /// too: nothing lists or enforces them, and repeats are counted in the history.
    async fn purge_threat(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let at = micros(now)?;
        let floor = at.saturating_sub(duration_micros(KEPT));
        let statements: [(&str, i64); 5] = [
            ("DELETE FROM threat_failures WHERE at < $1", floor),
            ("DELETE FROM threat_windows WHERE window_start < $1", floor),
            (
                "DELETE FROM threat_block_history WHERE blocked_at < $1",
                floor,
            ),
            ("DELETE FROM threat_exemptions WHERE exempt_until <= $1", at),
            ("DELETE FROM threat_blocks WHERE expires_at <= $1", at),
        ];
        let mut purged = 0;
        for (sql, bound) in statements {
            purged += with_pool!(self, pool => {
                sqlx::query(sql).bind(bound).execute(pool).await?.rows_affected()
            });
        }
        Ok(purged)
    }
}

impl ThreatStore for Store {
    type Error = StoreError;

    async fn rate_limits(&self) -> Result<Option<StoredDocument>, StoreError> {
        self.threat_document(RATE_LIMITS).await
    }

    async fn replace_rate_limits(
        &self,
        rules: &RuleSet,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Option<Replaced>, StoreError> {
        self.replace_threat_document(RATE_LIMITS, &rules.to_json(), expected, now)
            .await
    }

    async fn address_rules(&self) -> Result<Option<StoredDocument>, StoreError> {
        self.threat_document(IP_RULES).await
    }

    async fn replace_address_rules(
        &self,
        rules: &AddressRules,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Option<Replaced>, StoreError> {
        self.replace_threat_document(IP_RULES, &rules.to_json(), expected, now)
            .await
    }

    async fn record_failure(
        &self,
        address: IpAddr,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.add_failure(address, window, now).await
    }

    async fn clear_failures(&self, address: IpAddr) -> Result<(), StoreError> {
        let address = BlockTarget::address(address).to_string();
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM threat_failures WHERE address = $1")
                .bind(&address)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn list_blocks(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Block>, StoreError> {
        self.blocks_in_force(now, limit).await
    }

    async fn insert_block(&self, block: &Block) -> Result<(), StoreError> {
        self.put_block(block).await
    }

    async fn delete_block(&self, target: &BlockTarget) -> Result<Option<Block>, StoreError> {
        self.remove_block(target).await
    }

    async fn lift_block(
        &self,
        target: &BlockTarget,
        exempt_until: OffsetDateTime,
    ) -> Result<Option<Block>, StoreError> {
        self.lift(target, exempt_until).await
    }

    async fn active_block(
        &self,
        address: IpAddr,
        now: OffsetDateTime,
    ) -> Result<Option<Block>, StoreError> {
        self.block_covering(address, now).await
    }

    async fn blocks_since(
        &self,
        address: IpAddr,
        since: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        self.automatic_blocks_since(address, since).await
    }

    async fn exempt_until(&self, address: IpAddr) -> Result<Option<OffsetDateTime>, StoreError> {
        self.exemption_of(address).await
    }

    fn shared_by_nodes(&self) -> bool {
        self.is_postgres()
    }

    async fn shared_hit(
        &self,
        rule: &str,
        key: &BucketKey,
        window_seconds: u32,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<SharedDecision, StoreError> {
        self.count_shared_hit(rule, key, window_seconds, limit, now)
            .await
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.purge_threat(now).await
    }
}
