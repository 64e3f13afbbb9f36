//! Identity storage on both backends: principals with their login state (password hash, sealed
//! TOTP secret), login throttles (failures and locks per name and address, and per name),
//! sessions, API-key management and use counts, and the role policy set through the API.

use rampart_access::{ApiKeyRecord, Principal, PrincipalKind};
use rampart_crypto::SealedSecret;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{KEY_ROW_COLUMNS, KeyRow};
use crate::change::StoreChange;
use crate::codec::{from_list, from_micros, from_micros_opt, micros, uuid};
use crate::{Store, StoreError, with_pool};

/// A principal with its login state.
#[derive(Debug, Clone)]
pub struct PrincipalRecord {
    /// The principal.
    pub principal: Principal,
    /// Argon2id PHC string, if the principal has a password.
    pub password_hash: Option<String>,
    /// The TOTP secret in force, sealed.
    pub totp_sealed: Option<SealedSecret>,
    /// A TOTP secret being enrolled, sealed; it replaces the one in force once confirmed.
    pub totp_pending: Option<SealedSecret>,
    /// Whether TOTP is confirmed and required at login.
    pub totp_enabled: bool,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<u64>,
    /// The latest end of a login lock of this name, account-wide or for one address (it may
    /// have passed already).
    pub locked_until: Option<OffsetDateTime>,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (the token's `jti`).
    pub id: Uuid,
    /// Whose session.
    pub principal_id: Uuid,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// Last activity (updated at most once a minute).
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// When it was revoked (logout, principal disabled).
    pub revoked_at: Option<OffsetDateTime>,
    /// It may only enrol its principal's own second factor (see `POST /v1/auth/login`).
    pub enrollment_only: bool,
}

/// A change to a principal; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PrincipalUpdate {
    /// New roles.
    pub roles: Option<Vec<String>>,
    /// New teams.
    pub teams: Option<Vec<String>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
}

/// The limits a login attempt counts against.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Attempts per name from one source address (`max_login_attempts`).
    pub per_source: u64,
    /// Attempts per name from all addresses (`account_lockout_failures`).
    pub per_account: u64,
    /// How long failures count: a row forgets its count after this long without an attempt.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
}

/// What reserving a login attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginReservation {
    /// The name is locked for this source address (or the address has used up its attempts).
    pub source_locked: bool,
    /// The name is locked for every address.
    pub account_locked: bool,
}

impl LoginReservation {
    /// Whether the attempt may verify a password.
    #[must_use]
    pub fn granted(&self) -> bool {
        !self.source_locked && !self.account_locked
    }
}

/// How a reserved login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSettle {
    /// The password (or second factor) was wrong: the attempt stays counted, and a row that has
    /// reached its limit locks.
    Failed,
    /// The login succeeded: the address's count is cleared and the attempt is not counted
    /// against the account.
    Succeeded,
    /// The attempt is not counted after all (refused without verification, or stopped short of
    /// a verdict): give back the reservation of the rows that counted it.
    Release {
        /// Give back the per-address reservation.
        source: bool,
        /// Give back the account-wide reservation.
        account: bool,
    },
}

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

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    id: String,
    kind: String,
    name: String,
    email: Option<String>,
    roles: String,
    teams: String,
    disabled: bool,
    created_at: i64,
    password_hash: Option<String>,
    totp_sealed: Option<Vec<u8>>,
    totp_pending: Option<Vec<u8>>,
    totp_enabled: bool,
    totp_last_step: Option<i64>,
    locked_until: Option<i64>,
}

const PRINCIPAL_COLUMNS: &str = "id, kind, name, email, roles, teams, disabled, created_at, password_hash, totp_sealed, totp_pending, totp_enabled, totp_last_step, (SELECT MAX(t.locked_until) FROM login_throttles t WHERE t.name = lower(principals.name)) AS locked_until";

impl PrincipalRow {
    fn into_domain(self) -> Result<PrincipalRecord, StoreError> {
        Ok(PrincipalRecord {
            principal: Principal {
                id: uuid(&self.id, "principals.id")?,
                kind: self
                    .kind
                    .parse::<PrincipalKind>()
                    .map_err(|_| StoreError::Corrupt {
                        what: "principals.kind",
                    })?,
                name: self.name,
                email: self.email,
                roles: from_list(&self.roles, "principals.roles")?,
                teams: from_list(&self.teams, "principals.teams")?,
                disabled: self.disabled,
                created_at: from_micros(self.created_at, "principals.created_at")?,
            },
            password_hash: self.password_hash,
            totp_sealed: self.totp_sealed.map(SealedSecret::from_bytes),
            totp_pending: self.totp_pending.map(SealedSecret::from_bytes),
            totp_enabled: self.totp_enabled,
            totp_last_step: self.totp_last_step.and_then(|s| u64::try_from(s).ok()),
            locked_until: from_micros_opt(self.locked_until, "principals.locked_until")?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    principal_id: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    enrollment_only: bool,
}

impl SessionRow {
    fn into_domain(self) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            id: uuid(&self.id, "sessions.id")?,
            principal_id: uuid(&self.principal_id, "sessions.principal_id")?,
            created_at: from_micros(self.created_at, "sessions.created_at")?,
            last_seen_at: from_micros(self.last_seen_at, "sessions.last_seen_at")?,
            expires_at: from_micros(self.expires_at, "sessions.expires_at")?,
            revoked_at: from_micros_opt(self.revoked_at, "sessions.revoked_at")?,
            enrollment_only: self.enrollment_only,
        })
    }
}

fn step(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what: "totp step" })
}

impl Store {
    /// Creates a principal, with a password hash when it logs in with one. `false` when the
    /// name is taken.
    pub async fn create_principal(
        &self,
        principal: &Principal,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.apply(&StoreChange::CreatePrincipal {
            principal: principal.clone(),
            password_hash: password_hash.map(str::to_owned),
        })
        .await
    }

    /// A principal by id.
    pub async fn principal(&self, id: Uuid) -> Result<Option<PrincipalRecord>, StoreError> {
        let row: Option<PrincipalRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE id = $1")))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?
        });
        row.map(PrincipalRow::into_domain).transpose()
    }

    /// A principal by name.
    pub async fn principal_by_name(
        &self,
        name: &str,
    ) -> Result<Option<PrincipalRecord>, StoreError> {
        let row: Option<PrincipalRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE name = $1")))
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        row.map(PrincipalRow::into_domain).transpose()
    }

    /// Principals by id after `after`, at most `limit`.
    pub async fn list_principals(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PrincipalRecord>, StoreError> {
        let rows: Vec<PrincipalRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(PrincipalRow::into_domain).collect()
    }

    /// Applies `update`; disabling also revokes every session and API key of the principal. `false` when
    /// there is no such principal.
    pub async fn update_principal(
        &self,
        id: Uuid,
        update: &PrincipalUpdate,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.apply(&StoreChange::UpdatePrincipal {
            id,
            update: update.clone(),
            now,
            seen: None,
        })
        .await
    }

    /// Replaces a principal's password hash (set, change, or rehash on login).
    pub async fn set_password_hash(&self, id: Uuid, hash: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE principals SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id.to_string())
                .execute(pool)
                .await?;
            Ok(())
        })
    }

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
        self.apply(&StoreChange::ClearLoginThrottles {
            name: name.to_owned(),
        })
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

    /// Stores a TOTP secret being enrolled; the one in force (if any) stays until confirmation.
    pub async fn set_totp_pending(
        &self,
        id: Uuid,
        sealed: &SealedSecret,
    ) -> Result<(), StoreError> {
        self.apply(&StoreChange::SetTotpPending {
            id,
            sealed: sealed.clone(),
        })
        .await
        .map(|_| ())
    }

    /// Makes the pending secret the one in force, only if it is still `checked` (the secret
    /// the confirming code was verified against), recording the code's `step`. `false` when
    /// another enrollment replaced it meanwhile.
    pub async fn confirm_totp(
        &self,
        id: Uuid,
        checked: &SealedSecret,
        totp_step: u64,
    ) -> Result<bool, StoreError> {
        self.apply(&StoreChange::ConfirmTotp {
            id,
            checked: checked.clone(),
            step: step(totp_step)?,
        })
        .await
    }

    /// Turns TOTP on or off; off also forgets the secrets.
    pub async fn set_totp_enabled(&self, id: Uuid, enabled: bool) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            if enabled {
                sqlx::query("UPDATE principals SET totp_enabled = TRUE WHERE id = $1")
                    .bind(id.to_string())
                    .execute(pool)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE principals SET totp_enabled = FALSE, totp_sealed = NULL, totp_pending = NULL,
                            totp_last_step = NULL WHERE id = $1",
                )
                .bind(id.to_string())
                .execute(pool)
                .await?;
            }
            Ok(())
        })
    }

    /// Records `step` as the last TOTP step used, only if it is newer than the stored one:
    /// `false` means the code was already used (a replay, possibly on another server).
    pub async fn claim_totp_step(&self, id: Uuid, totp_step: u64) -> Result<bool, StoreError> {
        let totp_step = step(totp_step)?;
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE principals SET totp_last_step = $1
                 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(totp_step)
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Stores a new session.
    pub async fn insert_session(
        &self,
        session: &SessionRecord,
        client_ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        self.apply(&StoreChange::InsertSession {
            session: session.clone(),
            client_ip: client_ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
        })
        .await
        .map(|_| ())
    }

    /// A session and its principal.
    pub async fn session(
        &self,
        id: Uuid,
    ) -> Result<Option<(SessionRecord, Principal)>, StoreError> {
        let row: Option<SessionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, principal_id, created_at, last_seen_at, expires_at, revoked_at, enrollment_only FROM sessions WHERE id = $1",
            )
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else { return Ok(None) };
        let session = row.into_domain()?;
        let Some(principal) = self.principal(session.principal_id).await? else {
            return Ok(None);
        };
        Ok(Some((session, principal.principal)))
    }

    /// Marks a session active now.
    pub async fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(micros(now)?)
                .bind(id.to_string())
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Revokes a session; `false` if it did not exist or was revoked already.
    pub async fn revoke_session(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.apply(&StoreChange::RevokeSession { id, now }).await
    }

    /// An API key's record and principal by the key's id.
    pub async fn api_key(&self, id: Uuid) -> Result<Option<(ApiKeyRecord, Principal)>, StoreError> {
        let row: Option<KeyRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {KEY_ROW_COLUMNS} FROM api_keys k JOIN principals p ON p.id = k.principal_id WHERE k.id = $1"
            )))
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
        });
        row.map(KeyRow::into_domain).transpose()
    }

    /// API keys by id after `after` (of one principal when given), at most `limit`.
    pub async fn list_api_keys(
        &self,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {KEY_ROW_COLUMNS} FROM api_keys k JOIN principals p ON p.id = k.principal_id
                 WHERE k.id > $1 AND ($2 = '' OR k.principal_id = $2) ORDER BY k.id LIMIT $3"
            )))
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(principal.map(|p| p.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| row.into_domain().map(|(record, _)| record))
            .collect()
    }

    /// Revokes an API key at `now`; `false` if it did not exist or was revoked already.
    pub async fn revoke_api_key(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.apply(&StoreChange::RevokeApiKey { id, now }).await
    }

    /// Rotation: stores the new key and ends the old one at `old_ends` (now, or after a grace
    /// period), in one transaction. `false` (nothing written) if the old key is revoked or was
    /// rotated already (a key has at most one successor).
    pub async fn rotate_api_key(
        &self,
        old: Uuid,
        new: &ApiKeyRecord,
        old_ends: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.apply(&StoreChange::RotateApiKey {
            old,
            new: new.clone(),
            old_ends,
        })
        .await
    }

    /// Adds counted uses: `(key id, uses, last use)`.
    pub async fn add_api_key_usage(
        &self,
        uses: &[(Uuid, u64, OffsetDateTime)],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (id, count, last) in uses {
                sqlx::query(
                    "UPDATE api_keys SET usage_count = usage_count + $1,
                            last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END
                     WHERE id = $3",
                )
                .bind(i64::try_from(*count).unwrap_or(i64::MAX))
                .bind(micros(*last)?)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The role policy set through the API, as JSON text, and its version.
    pub async fn access_policy(&self) -> Result<Option<(String, u64)>, StoreError> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT document, version FROM access_policy WHERE singleton = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(document, version)| (document, u64::try_from(version).unwrap_or(0))))
    }

    /// Stores the role policy; returns its new version.
    pub async fn store_access_policy(
        &self,
        document: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let at = micros(now)?;
        let (version,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO access_policy (singleton, document, version, updated_at) VALUES (1, $1, 1, $2)
                 ON CONFLICT (singleton) DO UPDATE SET document = excluded.document,
                     version = access_policy.version + 1, updated_at = excluded.updated_at
                 RETURNING version",
            )
            .bind(document)
            .bind(at)
            .fetch_one(pool)
            .await?
        });
        Ok(u64::try_from(version).unwrap_or(0))
    }
}
