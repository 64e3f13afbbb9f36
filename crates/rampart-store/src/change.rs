//! Changes that commit in the same transaction as the audit entry recording them.
//!
//! A [`StoreChange`] is the data of one write made on a request's behalf (identity, keys,
//! cards, agent governance). [`Store::apply`] commits it alone (for
//! start-up and tests); the audit log's append (`AuditStore::append` with a change) commits it
//! together with the entries that record it, so a change is never made without its audit entry,
//! even if the process dies between the two. Each change may carry a precondition (a name not
//! taken, a key not revoked, a pending secret still the one checked): when it no longer holds,
//! nothing is written and the change is refused.

use rampart_access::IdentityChange;
use rampart_agents::AgentChange;
use rampart_crypto::KeyChange;

use crate::{Store, StoreError, with_pool};

/// One write made on a request's behalf; see the module documentation.
#[derive(Debug, Clone)]
pub enum StoreChange {
    /// A change of identity and access (principals, sessions, API keys, TOTP, the policy).
    Identity(IdentityChange),
    /// A write to named keys or stored cards (see [`KeyChange`]).
    Keys(KeyChange),
    /// A write of AI-agent governance (guardrails, actions, approvals, token use, results).
    Agents(AgentChange),
}

impl StoreChange {
    /// Why the change is refused when its precondition does not hold.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::Identity(change) => change.refusal(),
            Self::Keys(change) => change.refusal(),
            Self::Agents(change) => change.refusal(),
        }
    }
}

impl From<IdentityChange> for StoreChange {
    fn from(change: IdentityChange) -> Self {
        Self::Identity(change)
    }
}

impl From<AgentChange> for StoreChange {
    fn from(change: AgentChange) -> Self {
        Self::Agents(change)
    }
}

impl From<KeyChange> for StoreChange {
    fn from(change: KeyChange) -> Self {
        Self::Keys(change)
    }
}

/// Applies `$change` on the open transaction `$tx` (of either backend); evaluates to
/// `Result<bool, StoreError>`: `false` when the precondition does not hold (the caller then
/// rolls back).
macro_rules! apply_change {
    ($tx:ident, $change:expr) => {
        async {
            use $crate::change::StoreChange;
            let applied: bool = match $change {
                StoreChange::Identity(change) => {
                    $crate::identity_change::apply_identity_change!($tx, change)?
                }
                StoreChange::Agents(change) => {
                    $crate::agents_change::apply_agent_change!($tx, change)?
                }
                StoreChange::Keys(rampart_crypto::KeyChange::CreateKey(key)) => {
                    let done = sqlx::query(
                        "INSERT INTO keys (name, key_type, latest_version, min_decryption_version,
                                           rotation_period_days, created_at, updated_at, team_id)
                         VALUES ($1, $2, $6, 1, $3, $4, $4, $5) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&key.name)
                    .bind(key.key_type.as_str())
                    .bind(key.rotation_period_days.map(i64::from))
                    .bind(key.created_at)
                    .bind(key.team_id.as_deref())
                    .bind(i64::try_from(key.later_versions.len()).unwrap_or(i64::MAX).saturating_add(1))
                    .execute(&mut *$tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        let versions = std::iter::once(&key.first_version).chain(key.later_versions.iter());
                        for (version, sealed) in (1i64..).zip(versions) {
                            sqlx::query("INSERT INTO key_versions (key_name, version, created_at) VALUES ($1, $2, $3)")
                                .bind(&key.name)
                                .bind(version)
                                .bind(key.created_at)
                                .execute(&mut *$tx)
                                .await?;
                            sqlx::query(
                                "INSERT INTO sealed_secrets (name, version, sealed, created_at) VALUES ($1, $2, $3, $4)",
                            )
                            .bind(rampart_crypto::sealed_key_name(&key.name))
                            .bind(version)
                            .bind(sealed.as_bytes())
                            .bind(key.created_at)
                            .execute(&mut *$tx)
                            .await?;
                        }
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
                                                      expiry_ciphertext, key_version, created_at, subject_id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(&card.token)
                        .bind(&card.fingerprint)
                        .bind(&card.brand)
                        .bind(&card.last_four)
                        .bind(&card.pan_ciphertext)
                        .bind(card.expiry_ciphertext.as_deref())
                        .bind(i64::from(card.key_version))
                        .bind(card.created_at)
                        .bind(card.subject_id.as_deref())
                        .execute(&mut *$tx)
                        .await?;
                    }
                    true
                }
            };
            Ok::<bool, $crate::StoreError>(applied)
        }
        .await
    };
}
pub(crate) use apply_change;

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
