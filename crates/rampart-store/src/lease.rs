//! Leases of background jobs: a row per job naming the node that runs it until a deadline.
//!
//! A node runs a cluster-wide job only while it holds the job's lease. Taking, taking over and
//! renewing are one atomic upsert, so two nodes asking at once never both hold it; the time is
//! passed in by the caller, never read here.

use time::{Duration, OffsetDateTime};

use crate::codec::micros;
use crate::{Store, StoreError, with_pool};

/// $1 job, $2 holder, $3 new deadline, $4 now. A row held by someone else is taken over only
/// once its deadline has passed; the holder's own row is extended. `acquired_at` stays while the
/// holder keeps the lease without a gap and restarts when the lease changes hands or had lapsed.
/// No row changes when another node holds an unexpired lease.
const ACQUIRE_SQL: &str = "INSERT INTO leases (job, holder, expires_at, acquired_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (job) DO UPDATE SET
        holder = excluded.holder,
        expires_at = excluded.expires_at,
        acquired_at = CASE
            WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.acquired_at
            THEN leases.acquired_at
            ELSE excluded.acquired_at
        END
    WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at";

impl Store {
    /// Takes the lease of `job` for `holder` until `now + ttl`: when nobody holds it, when its
    /// holder let it expire (`expires_at <= now`), or, renewing it, when `holder` holds it
    /// already. Returns whether `holder` holds the lease afterwards. One statement, so of several
    /// nodes asking at once exactly one wins. A `ttl` that is not positive is refused.
    pub async fn try_acquire_lease(
        &self,
        job: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        if !ttl.is_positive() {
            return Err(StoreError::OutOfRange { what: "lease ttl" });
        }
        let at = micros(now)?;
        let until = now
            .checked_add(ttl)
            .ok_or(StoreError::OutOfRange { what: "lease ttl" })
            .and_then(micros)?;
        let changed = with_pool!(self, pool => {
            sqlx::query(ACQUIRE_SQL)
                .bind(job)
                .bind(holder)
                .bind(until)
                .bind(at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Gives up the lease of `job` if `holder` holds it, so another node may take it at once
    /// instead of after it expires. Returns whether `holder` held it.
    pub async fn release_lease(&self, job: &str, holder: &str) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, pool => {
            sqlx::query("DELETE FROM leases WHERE job = $1 AND holder = $2")
                .bind(job)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted == 1)
    }
}
