//! Login throttles on both backends: failures and locks per name and address, and per name
//! (`source = '*'`), reserved before a password is verified and settled after.

use rampart_access::{LoginLimits, LoginReservation, LoginSettle};
use time::{Duration, OffsetDateTime};

use crate::codec::micros;
use crate::{Store, StoreError, with_pool};

#[derive(Debug, Clone, Copy)]
enum RowAction {
    LockIfFull,
    Release(bool),
    Reset,
}

/// The `source` of the account-wide row (never a rendered address).
pub(crate) const ACCOUNT_SOURCE: &str = "*";

/// The throttle key of a login name: lower-cased, at most 128 characters (longer names never
/// exist, so junk cannot grow keys).
pub(crate) fn login_key(name: &str) -> String {
    name.to_lowercase().chars().take(128).collect()
}

/// The last microsecond `time` can represent (end of year 9999): a lock never ends later, so
/// a huge `lockout_seconds` locks for good instead of failing.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

fn whole_micros(d: Duration) -> i64 {
    i64::try_from(d.whole_microseconds()).unwrap_or(i64::MAX)
}

/// `at` plus `d`, saturating at [`MAX_MICROS`].
fn later(at: i64, d: Duration) -> i64 {
    at.saturating_add(whole_micros(d)).min(MAX_MICROS)
}

/// `at` minus `d`, saturating (only ever compared, never read back as a time).
fn earlier(at: i64, d: Duration) -> i64 {
    at.saturating_sub(whole_micros(d))
}

/// $1 name, $2 source, $3 now, $4 quiet floor (now minus the window), $5 per-source limit,
/// $6 account limit, $7 lock end. Rows are locked per-address first, then account-wide, always
/// in that order. Counting starts again after a lock has run out or after a window without
/// attempts; a full row locks instead of counting.
const RESERVE_SQL: &str = "INSERT INTO login_throttles (name, source, failures, last_attempt_at, locked_until)
    VALUES ($1, $2, 1, $3, NULL), ($1, '*', 1, $3, NULL)
    ON CONFLICT (name, source) DO UPDATE SET
    failures = CASE
        WHEN login_throttles.locked_until > $3 THEN login_throttles.failures
        WHEN login_throttles.locked_until IS NOT NULL OR login_throttles.last_attempt_at <= $4 THEN 1
        WHEN login_throttles.failures >= (CASE WHEN login_throttles.source = '*' THEN $6 ELSE $5 END)
            THEN login_throttles.failures
        ELSE login_throttles.failures + 1 END,
    last_attempt_at = CASE
        WHEN login_throttles.locked_until > $3 THEN login_throttles.last_attempt_at
        WHEN login_throttles.locked_until IS NOT NULL OR login_throttles.last_attempt_at <= $4 THEN $3
        WHEN login_throttles.failures >= (CASE WHEN login_throttles.source = '*' THEN $6 ELSE $5 END)
            THEN login_throttles.last_attempt_at
        ELSE $3 END,
    locked_until = CASE
        WHEN login_throttles.locked_until > $3 THEN login_throttles.locked_until
        WHEN login_throttles.locked_until IS NOT NULL OR login_throttles.last_attempt_at <= $4 THEN NULL
        WHEN login_throttles.failures >= (CASE WHEN login_throttles.source = '*' THEN $6 ELSE $5 END)
            THEN $7
        ELSE NULL END
    RETURNING source, locked_until";

/// $1 name, $2 source, $3 now, $4 limit, $5 lock end.
const LOCK_IF_FULL_SQL: &str = "UPDATE login_throttles SET locked_until = CASE
        WHEN locked_until > $3 THEN locked_until
        WHEN failures >= $4 THEN $5
        ELSE locked_until END
    WHERE name = $1 AND source = $2 RETURNING locked_until";

/// $1 name, $2 source, $3 whether to give the reservation back. The row is written either way,
/// so every outcome costs the same.
const RELEASE_SQL: &str = "UPDATE login_throttles SET failures = CASE
        WHEN $3 AND failures > 0 THEN failures - 1 ELSE failures END
    WHERE name = $1 AND source = $2 RETURNING locked_until";

/// $1 name, $2 source, $3 now.
const RESET_SQL: &str = "UPDATE login_throttles SET failures = 0, last_attempt_at = $3,
        locked_until = NULL
    WHERE name = $1 AND source = $2 RETURNING locked_until";

impl Store {
    /// Reserves a login attempt for `name` from `source` before the password is verified, in one
    /// atomic statement: the per-address row and the account-wide row each count the attempt
    /// unless already locked or full. A row that is full (as many attempts reserved as its limit)
    /// locks until `now + limits.lockout`, so concurrent attempts never verify more passwords
    /// than the limit. After a lock has run out, or `limits.window` without an attempt, counting
    /// starts again.
    ///
    /// Settle every reservation with [`Store::settle_login_attempt`].
    pub async fn reserve_login_attempt(
        &self,
        name: &str,
        source: &str,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> Result<LoginReservation, StoreError> {
        let key = login_key(name);
        let at = micros(now)?;
        let window_floor = earlier(at, limits.window);
        let until = later(at, limits.lockout);
        let per_source = i64::try_from(limits.per_source).unwrap_or(i64::MAX);
        let per_account = i64::try_from(limits.per_account).unwrap_or(i64::MAX);
        let rows: Vec<(String, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(RESERVE_SQL)
                .bind(&key)
                .bind(source)
                .bind(at)
                .bind(window_floor)
                .bind(per_source)
                .bind(per_account)
                .bind(until)
                .fetch_all(pool)
                .await?
        });
        let mut reservation = LoginReservation {
            source_locked: false,
            account_locked: false,
        };
        for (row_source, locked_until) in rows {
            let locked = locked_until.is_some_and(|u| u > at);
            if row_source == ACCOUNT_SOURCE {
                reservation.account_locked = locked;
            } else {
                reservation.source_locked = locked;
            }
        }
        Ok(reservation)
    }

    /// Settles a reservation made by [`Store::reserve_login_attempt`]: one statement for the
    /// per-address row, then one for the account-wide row (each locks one row only, so servers
    /// sharing PostgreSQL never deadlock). Every outcome costs the same two writes. Returns
    /// whether `name` is now locked for `source` (by either row).
    pub async fn settle_login_attempt(
        &self,
        name: &str,
        source: &str,
        settle: LoginSettle,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = login_key(name);
        let (source_action, account_action) = match settle {
            LoginSettle::Failed => (RowAction::LockIfFull, RowAction::LockIfFull),
            LoginSettle::Succeeded => (RowAction::Reset, RowAction::Release(true)),
            LoginSettle::Release { source, account } => {
                (RowAction::Release(source), RowAction::Release(account))
            }
        };
        let at = micros(now)?;
        let until = later(at, limits.lockout);
        let mut locked = false;
        for (row_source, action, limit) in [
            (source, source_action, limits.per_source),
            (ACCOUNT_SOURCE, account_action, limits.per_account),
        ] {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let row: Option<(Option<i64>,)> = with_pool!(self, pool => {
                match action {
                    RowAction::LockIfFull => sqlx::query_as(LOCK_IF_FULL_SQL)
                        .bind(&key)
                        .bind(row_source)
                        .bind(at)
                        .bind(limit)
                        .bind(until)
                        .fetch_optional(pool)
                        .await?,
                    RowAction::Release(release) => sqlx::query_as(RELEASE_SQL)
                        .bind(&key)
                        .bind(row_source)
                        .bind(release)
                        .fetch_optional(pool)
                        .await?,
                    RowAction::Reset => sqlx::query_as(RESET_SQL)
                        .bind(&key)
                        .bind(row_source)
                        .bind(at)
                        .fetch_optional(pool)
                        .await?,
                }
            });
            locked |= row.and_then(|r| r.0).is_some_and(|u| u > at);
        }
        Ok(locked)
    }

    /// Lifts every lock of `name` (`unlock`): the account-wide row and the row of every address.
    /// Per-address rows go first, then the account-wide row, one kind per statement.
    pub async fn clear_login_throttles(&self, name: &str) -> Result<(), StoreError> {
        self.apply(
            &rampart_access::IdentityChange::ClearLoginThrottles {
                name: name.to_owned(),
            }
            .into(),
        )
        .await
        .map(|_| ())
    }

    /// Deletes throttle rows that no longer hold anything (no attempt for `window`, no lock in
    /// force), so names an attacker sprays do not accumulate. Returns how many rows went.
    pub async fn purge_login_throttles(
        &self,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let at = micros(now)?;
        let window_floor = earlier(at, window);
        let mut purged = 0;
        // Per-address rows first, then account-wide rows: each statement locks one kind only.
        for kind in ["<>", "="] {
            let sql = format!(
                "DELETE FROM login_throttles WHERE source {kind} $1 AND last_attempt_at <= $2
                   AND (locked_until IS NULL OR locked_until <= $3)"
            );
            let done = with_pool!(self, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(ACCOUNT_SOURCE)
                    .bind(window_floor)
                    .bind(at)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            purged += done;
        }
        Ok(purged)
    }
}
