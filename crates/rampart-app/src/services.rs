//! The domain services bound to the deployment's store, and the journal of what Rampart changes
//! by itself or through its CLI (automatic and operator key rotations): each change commits with
//! a system audit entry.

use rampart_audit::{AuditLog, Journal, JournalError, LogError, NewEntry, SubmittedBy};
use rampart_store::{Store, StoreChange};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub use rampart_crypto::{
    CACHE_TTL, CARDS_KEY, CardData, FINGERPRINT_SECRET, INTERNAL_PREFIX, KeyChange, KeyError,
    LoadedKey, MAX_ROTATION_PERIOD_DAYS, RewrapProgress, VaultError, is_internal, plausible_token,
    valid_key_name,
};

/// The keys service over the deployment's store.
pub type KeyService = rampart_crypto::KeyService<Store>;

/// The card vault over the deployment's store.
pub type CardVault = rampart_crypto::CardVault<Store>;

/// The journal of what Rampart does by itself or through its CLI: each change commits with a
/// system entry (`actor: {type: system, id: actor}`) on the key it changes.
pub struct SystemJournal<'a> {
    audit: &'a AuditLog<Store>,
    actor: &'static str,
    action: &'static str,
    details: fn(&KeyChange) -> Value,
}

impl<'a> SystemJournal<'a> {
    /// The journal of automatic rotations (`keys.rotate`, `{"reason": "automatic"}`).
    pub fn automatic_rotation(audit: &'a AuditLog<Store>) -> Self {
        Self {
            audit,
            actor: "rampart",
            action: "keys.rotate",
            details: |_| json!({"reason": "automatic"}),
        }
    }

    /// The journal of `rampart keys rotate` (`keys.rotate` with the new latest version).
    pub fn operator_rotation(audit: &'a AuditLog<Store>) -> Self {
        Self {
            audit,
            actor: "rampart-cli",
            action: "keys.rotate",
            details: |change| match change {
                KeyChange::AddKeyVersion {
                    expected_latest, ..
                } => json!({"latest_version": expected_latest.saturating_add(1)}),
                _ => json!({}),
            },
        }
    }
}

impl Journal<KeyChange> for SystemJournal<'_> {
    async fn commit(&self, change: KeyChange) -> Result<(), JournalError> {
        let event = json!({
            "actor": {"type": "system", "id": self.actor},
            "action": self.action,
            "resource": {"type": "key", "id": change.key_name()},
            "details": (self.details)(&change),
            "status": "success",
            "data_classification": "internal",
        });
        let entry = NewEntry::from_json(&event, "").map_err(|_| JournalError::TooLarge)?;
        match self
            .audit
            .append_with(
                vec![entry],
                SubmittedBy::rampart(),
                StoreChange::from(change),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(LogError::Refused(_)) => Err(JournalError::Refused),
            Err(e) if crate::outage::is_storage_down(&e) => {
                tracing::warn!(error = %e, action = self.action, "cannot write a system audit entry: storage unreachable");
                Err(JournalError::StorageDown)
            }
            Err(e) => {
                tracing::error!(error = %e, action = self.action, "cannot write a system audit entry");
                Err(JournalError::Unavailable(
                    "the audit log did not record the change".to_owned(),
                ))
            }
        }
    }
}

/// One tick of the maintenance task: flush counts, rotate what is due at `now`, each automatic
/// rotation committed with its audit entry.
pub async fn maintenance_tick(keys: &KeyService, audit: &AuditLog<Store>, now: OffsetDateTime) {
    if let Err(e) = keys
        .maintenance_tick(now, &SystemJournal::automatic_rotation(audit))
        .await
    {
        tracing::warn!(error = %e, "automatic key rotation failed");
    }
}
