//! Identity storage on both backends: principals with their login state (password hash, sealed
//! TOTP secret), login throttles (failures and locks per name and address, and per name),
//! sessions, API-key management and use counts, and the role policy set through the API.

use rampart_access::{
    ApiKeyRecord, IdentityChange, IdentityStore, LoginLimits, LoginReservation, LoginSettle,
    Principal, PrincipalKind, PrincipalRecord, PrincipalUpdate, SealedBytes, SessionRecord,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::{KEY_ROW_COLUMNS, KeyRow};
use crate::codec::{from_list, from_micros, from_micros_opt, micros, uuid};
use crate::{Store, StoreError, with_pool};

/// A principal's sealed TOTP secrets as stored: the one in force and one being enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTotp {
    /// The principal.
    pub id: Uuid,
    /// The secret in force.
    pub sealed: Option<Vec<u8>>,
    /// The secret being enrolled.
    pub pending: Option<Vec<u8>>,
}

/// `(id, totp_sealed, totp_pending)`.
type TotpRow = (String, Option<Vec<u8>>, Option<Vec<u8>>);

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
    subject_id: Option<String>,
    owner_id: Option<String>,
}

const PRINCIPAL_COLUMNS: &str = "id, kind, name, email, roles, teams, disabled, created_at, password_hash, totp_sealed, totp_pending, totp_enabled, totp_last_step, (SELECT MAX(t.locked_until) FROM login_throttles t WHERE t.name = lower(principals.name)) AS locked_until, subject_id, owner_id";

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
                subject_id: self.subject_id,
                owner_id: self
                    .owner_id
                    .as_deref()
                    .map(|o| uuid(o, "principals.owner_id"))
                    .transpose()?,
            },
            password_hash: self.password_hash,
            totp_sealed: self.totp_sealed.map(SealedBytes::from_bytes),
            totp_pending: self.totp_pending.map(SealedBytes::from_bytes),
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
    second_factor: bool,
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
            second_factor: self.second_factor,
        })
    }
}

pub(crate) fn step(value: u64) -> Result<i64, StoreError> {
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
        self.apply(
            &(IdentityChange::CreatePrincipal {
                principal: principal.clone(),
                password_hash: password_hash.map(str::to_owned),
            })
            .into(),
        )
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
        self.apply(
            &(IdentityChange::UpdatePrincipal {
                id,
                update: update.clone(),
                now,
                seen: None,
            })
            .into(),
        )
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

    /// Stores a TOTP secret being enrolled; the one in force (if any) stays until confirmation.
    pub async fn set_totp_pending(&self, id: Uuid, sealed: &SealedBytes) -> Result<(), StoreError> {
        self.apply(
            &(IdentityChange::SetTotpPending {
                id,
                sealed: sealed.clone(),
            })
            .into(),
        )
        .await
        .map(|_| ())
    }

    /// Makes the pending secret the one in force, only if it is still `checked` (the secret
    /// the confirming code was verified against), recording the code's `step`. `false` when
    /// another enrollment replaced it meanwhile.
    pub async fn confirm_totp(
        &self,
        id: Uuid,
        checked: &SealedBytes,
        totp_step: u64,
    ) -> Result<bool, StoreError> {
        self.apply(
            &(IdentityChange::ConfirmTotp {
                id,
                checked: checked.clone(),
                step: totp_step,
            })
            .into(),
        )
        .await
    }

    /// Every principal's sealed TOTP secrets (in force, being enrolled) that exist, for the
    /// master key's rotation.
    pub async fn totp_secrets(&self) -> Result<Vec<SealedTotp>, StoreError> {
        let rows: Vec<TotpRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, totp_sealed, totp_pending FROM principals
                 WHERE totp_sealed IS NOT NULL OR totp_pending IS NOT NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, sealed, pending)| {
                Ok(SealedTotp {
                    id: uuid(&id, "principals.id")?,
                    sealed,
                    pending,
                })
            })
            .collect()
    }

    /// Replaces a principal's sealed TOTP secrets with `new` if they are still `old` (an
    /// enrollment meanwhile wins: it was sealed under the key in force). Whether replaced.
    pub async fn reseal_totp(
        &self,
        old: &SealedTotp,
        new: &SealedTotp,
    ) -> Result<bool, StoreError> {
        let sql = if self.is_postgres() {
            "UPDATE principals SET totp_sealed = $1, totp_pending = $2
             WHERE id = $3 AND totp_sealed IS NOT DISTINCT FROM $4
               AND totp_pending IS NOT DISTINCT FROM $5"
        } else {
            "UPDATE principals SET totp_sealed = $1, totp_pending = $2
             WHERE id = $3 AND totp_sealed IS $4 AND totp_pending IS $5"
        };
        let done = with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&new.sealed)
                .bind(&new.pending)
                .bind(old.id.to_string())
                .bind(&old.sealed)
                .bind(&old.pending)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
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
        self.apply(
            &(IdentityChange::InsertSession {
                session: session.clone(),
                client_ip: client_ip.map(str::to_owned),
                user_agent: user_agent.map(str::to_owned),
            })
            .into(),
        )
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
                "SELECT id, principal_id, created_at, last_seen_at, expires_at, revoked_at, enrollment_only, second_factor FROM sessions WHERE id = $1",
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
        self.apply(&(IdentityChange::RevokeSession { id, now }).into())
            .await
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
        self.apply(&(IdentityChange::RevokeApiKey { id, now }).into())
            .await
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
        self.apply(
            &(IdentityChange::RotateApiKey {
                old,
                new: new.clone(),
                old_ends,
            })
            .into(),
        )
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

impl IdentityStore for Store {
    type Error = StoreError;

    async fn principal(&self, id: Uuid) -> Result<Option<PrincipalRecord>, StoreError> {
        Store::principal(self, id).await
    }

    async fn principal_by_name(&self, name: &str) -> Result<Option<PrincipalRecord>, StoreError> {
        Store::principal_by_name(self, name).await
    }

    async fn list_principals(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PrincipalRecord>, StoreError> {
        Store::list_principals(self, after, limit).await
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str) -> Result<(), StoreError> {
        Store::set_password_hash(self, id, hash).await
    }

    async fn reserve_login_attempt(
        &self,
        name: &str,
        source: &str,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> Result<LoginReservation, StoreError> {
        Store::reserve_login_attempt(self, name, source, limits, now).await
    }

    async fn settle_login_attempt(
        &self,
        name: &str,
        source: &str,
        settle: LoginSettle,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Store::settle_login_attempt(self, name, source, settle, limits, now).await
    }

    async fn purge_login_throttles(
        &self,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        Store::purge_login_throttles(self, window, now).await
    }

    async fn claim_totp_step(&self, id: Uuid, step: u64) -> Result<bool, StoreError> {
        Store::claim_totp_step(self, id, step).await
    }

    async fn session(&self, id: Uuid) -> Result<Option<(SessionRecord, Principal)>, StoreError> {
        Store::session(self, id).await
    }

    async fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        Store::touch_session(self, id, now).await
    }

    async fn api_key(&self, id: Uuid) -> Result<Option<(ApiKeyRecord, Principal)>, StoreError> {
        Store::api_key(self, id).await
    }

    async fn list_api_keys(
        &self,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        Store::list_api_keys(self, principal, after, limit).await
    }

    async fn add_api_key_usage(
        &self,
        uses: &[(Uuid, u64, OffsetDateTime)],
    ) -> Result<(), StoreError> {
        Store::add_api_key_usage(self, uses).await
    }

    async fn stored_policy(&self) -> Result<Option<(String, u64)>, StoreError> {
        Store::access_policy(self).await
    }
}
