//! Identity storage on both backends: principals with their login state (password hash, sealed
//! TOTP secret, failed logins, lockout), sessions, API-key management and use counts, and the
//! role policy set through the API.

use rampart_access::{ApiKeyRecord, Principal, PrincipalKind};
use rampart_crypto::SealedSecret;
use time::OffsetDateTime;
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
    /// Consecutive failed logins.
    pub failed_logins: u64,
    /// Locked until then, if locked.
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
    failed_logins: i64,
    locked_until: Option<i64>,
}

const PRINCIPAL_COLUMNS: &str = "id, kind, name, email, roles, teams, disabled, created_at, password_hash, totp_sealed, totp_pending, totp_enabled, totp_last_step, failed_logins, locked_until";

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
            failed_logins: u64::try_from(self.failed_logins).unwrap_or(0),
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

    /// Counts a failed login atomically; locks the principal until `lock_until` when the count
    /// reaches `max_attempts`. Returns the new count and lock.
    pub async fn record_login_failure(
        &self,
        id: Uuid,
        max_attempts: u64,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<(u64, Option<OffsetDateTime>), StoreError> {
        let until = micros(lock_until)?;
        let now = micros(now)?;
        let max = i64::try_from(max_attempts).unwrap_or(i64::MAX);
        // After a lock has run out, counting starts again from one.
        let row: (i64, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE principals SET
                    failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $4 THEN 1
                                         ELSE failed_logins + 1 END,
                    locked_until = CASE
                        WHEN locked_until IS NOT NULL AND locked_until <= $4 THEN
                            CASE WHEN 1 >= $1 THEN $2 ELSE NULL END
                        WHEN failed_logins + 1 >= $1 THEN $2
                        ELSE locked_until END
                 WHERE id = $3 RETURNING failed_logins, locked_until",
            )
            .bind(max)
            .bind(until)
            .bind(id.to_string())
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok((
            u64::try_from(row.0).unwrap_or(0),
            from_micros_opt(row.1, "principals.locked_until")?,
        ))
    }

    /// A write of the same cost as [`Store::record_login_failure`] that changes nothing: a failed
    /// login for an unknown name does it, so it takes as long as a wrong password.
    pub async fn record_unknown_login(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE rampart_deployment SET created_at = created_at WHERE singleton = 1")
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Clears failed logins and any lock (a successful login, or `unlock`).
    pub async fn clear_login_failures(&self, id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE principals SET failed_logins = 0, locked_until = NULL WHERE id = $1",
            )
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
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
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (id, principal_id, created_at, last_seen_at, expires_at, client_ip, user_agent, enrollment_only)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(session.id.to_string())
            .bind(session.principal_id.to_string())
            .bind(micros(session.created_at)?)
            .bind(micros(session.last_seen_at)?)
            .bind(micros(session.expires_at)?)
            .bind(client_ip)
            .bind(user_agent)
            .bind(session.enrollment_only)
            .execute(pool)
            .await?;
            Ok(())
        })
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
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(micros(now)?)
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
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
