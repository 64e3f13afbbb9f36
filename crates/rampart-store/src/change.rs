//! Changes that commit in the same transaction as the audit entry recording them.
//!
//! A [`StoreChange`] is the data of one write made on a request's behalf (identity, keys,
//! cards). [`Store::apply`] commits it alone (for
//! start-up and tests); the audit log's append (`AuditStore::append` with a change) commits it
//! together with the entries that record it, so a change is never made without its audit entry,
//! even if the process dies between the two. Each change may carry a precondition (a name not
//! taken, a key not revoked, a pending secret still the one checked): when it no longer holds,
//! nothing is written and the change is refused.

use rampart_access::{ApiKeyRecord, Principal};
use rampart_crypto::{KeyChange, SealedSecret};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::{PrincipalUpdate, SessionRecord};
use crate::{Store, StoreError, with_pool};

/// One write made on a request's behalf; see the module documentation.
#[derive(Debug, Clone)]
pub enum StoreChange {
    /// A new principal (refused when the name is taken).
    CreatePrincipal {
        /// The principal.
        principal: Principal,
        /// Its argon2id hash, when it logs in with a password.
        password_hash: Option<String>,
    },
    /// Roles, teams, email or `disabled` of a principal (refused when there is none, or when
    /// its roles and teams are no longer `seen`: what the caller's permission to make the
    /// change was checked against). Disabling also revokes every session and API key of the
    /// principal, so enabling it again revives neither.
    UpdatePrincipal {
        /// The principal.
        id: Uuid,
        /// What changes.
        update: PrincipalUpdate,
        /// The time of the change.
        now: OffsetDateTime,
        /// The roles and teams the change was authorized against, if it was.
        seen: Option<(Vec<String>, Vec<String>)>,
    },
    /// A new API key (refused when its principal is disabled or gone).
    InsertApiKey(ApiKeyRecord),
    /// Revokes an API key (refused when it is unknown or revoked already).
    RevokeApiKey {
        /// The key.
        id: Uuid,
        /// The time of revocation.
        now: OffsetDateTime,
    },
    /// Stores a successor and ends the old key at `old_ends` (refused when the old key is
    /// revoked or has a successor already).
    RotateApiKey {
        /// The key replaced.
        old: Uuid,
        /// Its successor.
        new: ApiKeyRecord,
        /// When the old key stops working.
        old_ends: OffsetDateTime,
    },
    /// Stores a TOTP secret being enrolled.
    SetTotpPending {
        /// The principal.
        id: Uuid,
        /// The secret, sealed by the KEK.
        sealed: SealedSecret,
    },
    /// Puts the pending secret in force if it is still `checked` (refused otherwise).
    ConfirmTotp {
        /// The principal.
        id: Uuid,
        /// The secret the confirming code was verified against.
        checked: SealedSecret,
        /// The code's step (never accepted again).
        step: i64,
    },
    /// Removes TOTP and its secrets (refused when there is no such principal).
    RemoveTotp {
        /// The principal.
        id: Uuid,
    },
    /// Stores the role policy set through the API (JSON text), as a new version.
    StoreAccessPolicy {
        /// The policy document.
        document: String,
        /// The time of the change.
        now: OffsetDateTime,
    },
    /// A write to named keys or stored cards (see [`KeyChange`]).
    Keys(KeyChange),
    /// Lifts every login lock of a name (account-wide and per address).
    ClearLoginThrottles {
        /// The login name (as the principal's name; normalized as logins are).
        name: String,
    },
    /// A new session (a login).
    InsertSession {
        /// The session.
        session: SessionRecord,
        /// The address it was opened from.
        client_ip: Option<String>,
        /// The user agent that opened it.
        user_agent: Option<String>,
    },
    /// Ends a session (refused when it is unknown or ended already).
    RevokeSession {
        /// The session.
        id: Uuid,
        /// The time of revocation.
        now: OffsetDateTime,
    },
}

impl StoreChange {
    /// Why the change is refused when its precondition does not hold.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::CreatePrincipal { .. } => "a principal with that name already exists",
            Self::UpdatePrincipal { .. } => "the principal is gone or changed meanwhile",
            Self::RemoveTotp { .. } => "no principal with that id",
            Self::InsertApiKey(_) => "the key's principal is disabled or gone",
            Self::StoreAccessPolicy { .. } | Self::SetTotpPending { .. } => {
                "the change did not apply"
            }
            Self::RevokeApiKey { .. } => "the key is unknown or revoked already",
            Self::RotateApiKey { .. } => "the key was revoked or rotated meanwhile",
            Self::ConfirmTotp { .. } => "another enrollment replaced this one meanwhile",
            Self::Keys(change) => change.refusal(),
            Self::ClearLoginThrottles { .. } => "the change did not apply",
            Self::RevokeSession { .. } => "the session is unknown or ended already",
            Self::InsertSession { .. } => "the session was not stored",
        }
    }
}

impl From<KeyChange> for StoreChange {
    fn from(change: KeyChange) -> Self {
        Self::Keys(change)
    }
}

/// Inserts `$record` (an `ApiKeyRecord`) with `$rotated_from` on `$tx`, only while its principal
/// is enabled; evaluates to whether it was inserted (inside [`apply_change`]).
macro_rules! insert_api_key {
    ($tx:ident, $record:expr, $rotated_from:expr) => {{
        let record = $record;
        let rotated_from: Option<uuid::Uuid> = $rotated_from;
        sqlx::query(
            "INSERT INTO api_keys (id, principal_id, name, key_hash, scopes, created_at, expires_at, revoked_at,
                                   allowed_ips, rotated_from)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
             WHERE EXISTS (SELECT 1 FROM principals WHERE id = $2 AND disabled = FALSE)",
        )
        .bind(record.id.to_string())
        .bind(record.principal_id.to_string())
        .bind(&record.name)
        .bind(&record.hash.0)
        .bind(record.scopes.as_deref().map($crate::codec::list))
        .bind($crate::codec::micros(record.created_at)?)
        .bind(record.expires_at.map($crate::codec::micros).transpose()?)
        .bind(record.revoked_at.map($crate::codec::micros).transpose()?)
        .bind($crate::change::nets_json_of(record.allowed_ips.as_ref()))
        .bind(rotated_from.map(|id| id.to_string()))
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1
    }};
}
pub(crate) use insert_api_key;

/// Applies `$change` on the open transaction `$tx` (of either backend); evaluates to
/// `Result<bool, StoreError>`: `false` when the precondition does not hold (the caller then
/// rolls back).
macro_rules! apply_change {
    ($tx:ident, $change:expr) => {
        async {
            use $crate::change::StoreChange;
            use $crate::codec::{list, micros};
            let applied: bool = match $change {
                StoreChange::CreatePrincipal { principal, password_hash } => {
                    let created = micros(principal.created_at)?;
                    sqlx::query(
                        "INSERT INTO principals (id, kind, name, email, roles, teams, disabled, created_at, password_hash, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(principal.id.to_string())
                    .bind(principal.kind.as_str())
                    .bind(&principal.name)
                    .bind(principal.email.as_deref())
                    .bind(list(&principal.roles))
                    .bind(list(&principal.teams))
                    .bind(principal.disabled)
                    .bind(created)
                    .bind(password_hash.as_deref())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                StoreChange::UpdatePrincipal { id, update, now, seen } => {
                    let at = micros(*now)?;
                    let id = id.to_string();
                    let (check, roles, teams) = match seen {
                        Some((roles, teams)) => (1_i64, list(roles), list(teams)),
                        None => (0_i64, String::new(), String::new()),
                    };
                    let done = sqlx::query(
                        "UPDATE principals SET updated_at = $1
                         WHERE id = $2 AND ($3 = 0 OR (roles = $4 AND teams = $5))",
                    )
                    .bind(at)
                    .bind(&id)
                    .bind(check)
                    .bind(roles)
                    .bind(teams)
                    .execute(&mut *$tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        if let Some(roles) = &update.roles {
                            sqlx::query("UPDATE principals SET roles = $1 WHERE id = $2")
                                .bind(list(roles))
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(teams) = &update.teams {
                            sqlx::query("UPDATE principals SET teams = $1 WHERE id = $2")
                                .bind(list(teams))
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(email) = &update.email {
                            sqlx::query("UPDATE principals SET email = $1 WHERE id = $2")
                                .bind(email.as_deref())
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(disabled) = update.disabled {
                            sqlx::query("UPDATE principals SET disabled = $1 WHERE id = $2")
                                .bind(disabled)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                            if disabled {
                                sqlx::query(
                                    "UPDATE sessions SET revoked_at = $1 WHERE principal_id = $2 AND revoked_at IS NULL",
                                )
                                .bind(at)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                                sqlx::query(
                                    "UPDATE api_keys SET revoked_at = $1 WHERE principal_id = $2 AND revoked_at IS NULL",
                                )
                                .bind(at)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                            }
                        }
                        true
                    } else {
                        false
                    }
                }
                StoreChange::InsertApiKey(record) => {
                    $crate::change::insert_api_key!($tx, record, record.rotated_from)
                }
                StoreChange::RevokeApiKey { id, now } => {
                    sqlx::query(
                        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    )
                    .bind(micros(*now)?)
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                StoreChange::RotateApiKey { old, new, old_ends } => {
                    let done = sqlx::query(
                        "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END
                         WHERE id = $2 AND revoked_at IS NULL
                           AND NOT EXISTS (SELECT 1 FROM api_keys successor WHERE successor.rotated_from = $2)",
                    )
                    .bind(micros(*old_ends)?)
                    .bind(old.to_string())
                    .execute(&mut *$tx)
                    .await?;
                    // The successor is refused too if the principal was disabled meanwhile.
                    done.rows_affected() == 1
                        && $crate::change::insert_api_key!($tx, new, Some(*old))
                }
                StoreChange::SetTotpPending { id, sealed } => {
                    sqlx::query("UPDATE principals SET totp_pending = $1 WHERE id = $2")
                        .bind(sealed.as_bytes())
                        .bind(id.to_string())
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                StoreChange::ConfirmTotp { id, checked, step } => {
                    sqlx::query(
                        "UPDATE principals SET totp_sealed = totp_pending, totp_pending = NULL, totp_enabled = TRUE,
                                totp_last_step = $1
                         WHERE id = $2 AND totp_pending = $3",
                    )
                    .bind(*step)
                    .bind(id.to_string())
                    .bind(checked.as_bytes())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                StoreChange::RemoveTotp { id } => {
                    sqlx::query(
                        "UPDATE principals SET totp_enabled = FALSE, totp_sealed = NULL, totp_pending = NULL,
                                totp_last_step = NULL WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                StoreChange::Keys(rampart_crypto::KeyChange::CreateKey(key)) => {
                    let done = sqlx::query(
                        "INSERT INTO keys (name, key_type, latest_version, min_decryption_version,
                                           rotation_period_days, created_at, updated_at, team_id)
                         VALUES ($1, $2, 1, 1, $3, $4, $4, $5) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&key.name)
                    .bind(key.key_type.as_str())
                    .bind(key.rotation_period_days.map(i64::from))
                    .bind(key.created_at)
                    .bind(key.team_id.as_deref())
                    .execute(&mut *$tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        sqlx::query("INSERT INTO key_versions (key_name, version, created_at) VALUES ($1, 1, $2)")
                            .bind(&key.name)
                            .bind(key.created_at)
                            .execute(&mut *$tx)
                            .await?;
                        sqlx::query(
                            "INSERT INTO sealed_secrets (name, version, sealed, created_at) VALUES ($1, 1, $2, $3)",
                        )
                        .bind(rampart_crypto::sealed_key_name(&key.name))
                        .bind(key.first_version.as_bytes())
                        .bind(key.created_at)
                        .execute(&mut *$tx)
                        .await?;
                        true
                    } else {
                        false
                    }
                }
                StoreChange::Keys(rampart_crypto::KeyChange::AddKeyVersion { name, expected_latest, sealed, created_at }) => {
                    let next = i64::from(*expected_latest) + 1;
                    let done = sqlx::query(
                        "UPDATE keys SET latest_version = $1, updated_at = $2
                         WHERE name = $3 AND latest_version = $4",
                    )
                    .bind(next)
                    .bind(*created_at)
                    .bind(name.as_str())
                    .bind(i64::from(*expected_latest))
                    .execute(&mut *$tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        sqlx::query("INSERT INTO key_versions (key_name, version, created_at) VALUES ($1, $2, $3)")
                            .bind(name.as_str())
                            .bind(next)
                            .bind(*created_at)
                            .execute(&mut *$tx)
                            .await?;
                        sqlx::query(
                            "INSERT INTO sealed_secrets (name, version, sealed, created_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(rampart_crypto::sealed_key_name(name))
                        .bind(next)
                        .bind(sealed.as_bytes())
                        .bind(*created_at)
                        .execute(&mut *$tx)
                        .await?;
                        true
                    } else {
                        false
                    }
                }
                StoreChange::Keys(rampart_crypto::KeyChange::UpdateKey { name, update, updated_at }) => {
                    let done = sqlx::query("UPDATE keys SET updated_at = $1 WHERE name = $2")
                        .bind(*updated_at)
                        .bind(name.as_str())
                        .execute(&mut *$tx)
                        .await?;
                    // Lowering only when allowed: checked here, in the transaction, so a
                    // minimum raised meanwhile by another request is never lowered by this one.
                    let mut applied = done.rows_affected() == 1;
                    if applied && let Some(min) = update.min_decryption_version {
                        applied = sqlx::query(
                            "UPDATE keys SET min_decryption_version = $1
                             WHERE name = $2 AND ($3 = 1 OR min_decryption_version <= $1)",
                        )
                        .bind(i64::from(min))
                        .bind(name.as_str())
                        .bind(i64::from(update.allow_lowering))
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                            == 1;
                    }
                    if applied && let Some(period) = update.rotation_period_days {
                        sqlx::query("UPDATE keys SET rotation_period_days = $1 WHERE name = $2")
                            .bind(period.map(i64::from))
                            .bind(name.as_str())
                            .execute(&mut *$tx)
                            .await?;
                    }
                    applied
                }
                StoreChange::Keys(rampart_crypto::KeyChange::InsertCards(cards)) => {
                    for card in cards {
                        sqlx::query(
                            "INSERT INTO card_tokens (token, fingerprint, brand, last_four, pan_ciphertext,
                                                      expiry_ciphertext, key_version, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&card.token)
                        .bind(&card.fingerprint)
                        .bind(&card.brand)
                        .bind(&card.last_four)
                        .bind(&card.pan_ciphertext)
                        .bind(card.expiry_ciphertext.as_deref())
                        .bind(i64::from(card.key_version))
                        .bind(card.created_at)
                        .execute(&mut *$tx)
                        .await?;
                    }
                    true
                }
                StoreChange::ClearLoginThrottles { name } => {
                    let key = $crate::identity::login_key(name);
                    sqlx::query("DELETE FROM login_throttles WHERE name = $1 AND source <> $2")
                        .bind(&key)
                        .bind($crate::identity::ACCOUNT_SOURCE)
                        .execute(&mut *$tx)
                        .await?;
                    sqlx::query("DELETE FROM login_throttles WHERE name = $1 AND source = $2")
                        .bind(&key)
                        .bind($crate::identity::ACCOUNT_SOURCE)
                        .execute(&mut *$tx)
                        .await?;
                    true
                }
                StoreChange::InsertSession { session, client_ip, user_agent } => {
                    sqlx::query(
                        "INSERT INTO sessions (id, principal_id, created_at, last_seen_at, expires_at, client_ip, user_agent, enrollment_only)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(session.id.to_string())
                    .bind(session.principal_id.to_string())
                    .bind(micros(session.created_at)?)
                    .bind(micros(session.last_seen_at)?)
                    .bind(micros(session.expires_at)?)
                    .bind(client_ip.as_deref())
                    .bind(user_agent.as_deref())
                    .bind(session.enrollment_only)
                    .execute(&mut *$tx)
                    .await?;
                    true
                }
                StoreChange::RevokeSession { id, now } => {
                    sqlx::query(
                        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    )
                    .bind(micros(*now)?)
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                StoreChange::StoreAccessPolicy { document, now } => {
                    sqlx::query(
                        "INSERT INTO access_policy (singleton, document, version, updated_at) VALUES (1, $1, 1, $2)
                         ON CONFLICT (singleton) DO UPDATE SET document = excluded.document,
                             version = access_policy.version + 1, updated_at = excluded.updated_at",
                    )
                    .bind(document.as_str())
                    .bind(micros(*now)?)
                    .execute(&mut *$tx)
                    .await?;
                    true
                }
            };
            Ok::<bool, $crate::StoreError>(applied)
        }
        .await
    };
}
pub(crate) use apply_change;

/// `allowed_ips` as stored (a JSON list), for [`apply_change`].
pub(crate) fn nets_json_of(nets: Option<&Vec<ipnet::IpNet>>) -> Option<String> {
    nets.map(|nets| serde_json::to_string(nets).unwrap_or_else(|_| "[]".to_owned()))
}

impl Store {
    /// Commits `change` alone (without an audit entry: for start-up, maintenance and tests;
    /// requests go through the audit log's `append_with`). `false` when its precondition did
    /// not hold; nothing was written then.
    pub async fn apply(&self, change: &StoreChange) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let applied = apply_change!(tx, change)?;
            if applied {
                tx.commit().await?;
            }
            Ok(applied)
        })
    }
}
