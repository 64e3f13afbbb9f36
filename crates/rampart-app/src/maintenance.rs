//! Operator tasks run by the CLI against a deployment: re-encrypting stored ciphertexts after a
//! key rotation (`rampart keys rewrap-all`), rotating a key (`rampart keys rotate`), and
//! re-sealing every stored key under a new master key (`rampart master-key rotate`).

use std::sync::Arc;

use rampart_crypto::{SealContext, SealedSecret};
use rampart_monitor::MonitorStore;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::LoadedSettings;
use crate::deployment::{self, OpenDeployment, StartupError};
use crate::services::{CARDS_KEY, KeyError, KeyService, SystemJournal};
use crate::services::{CardVault, RewrapProgress, VaultError};
use time::OffsetDateTime;

/// What went wrong in an operator task.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// The deployment could not be opened.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The keys service failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The card vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] rampart_store::StoreError),
    /// Sealing failed.
    #[error(transparent)]
    Crypto(#[from] rampart_crypto::CryptoError),
    /// `master-key rotate` without dual-key mode.
    #[error(
        "master-key rotation needs both keys: set RAMPART_MASTER_KEY_PREVIOUS to the current master key and RAMPART_MASTER_KEY to the new one (generate it with `openssl rand -base64 32`), then run this again"
    )]
    NotDualKey,
}

/// What `rewrap-all` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewrapOutcome {
    /// Stored ciphertexts were re-encrypted to `version`.
    Rewrapped {
        /// How many.
        progress: RewrapProgress,
        /// The version they are under now.
        version: u32,
    },
    /// Rampart stores no ciphertexts under this key (applications hold them).
    NothingStored,
}

/// The services a task needs, built over an opened deployment.
struct Services {
    keys: Arc<KeyService>,
    vault: CardVault,
    store: rampart_store::Store,
    audit: rampart_audit::AuditLog<rampart_store::Store>,
}

fn services(opened: OpenDeployment) -> Services {
    let keys = Arc::new(KeyService::new(opened.store.clone(), Arc::new(opened.kek)));
    let vault = CardVault::new(
        Arc::clone(&keys),
        opened.store.clone(),
        opened.card_fingerprint_key,
    );
    Services {
        keys,
        vault,
        store: opened.store,
        audit: opened.audit,
    }
}

/// Re-encrypts every ciphertext Rampart stores under `key` to its latest version, calling
/// `progress` after each batch. Safe to run again after a crash: it resumes where it stopped.
pub async fn rewrap_all(
    loaded: &LoadedSettings,
    key: &str,
    batch: u32,
    progress: impl FnMut(RewrapProgress),
) -> Result<RewrapOutcome, MaintenanceError> {
    let opened = services(deployment::open(loaded).await?);
    let loaded_key = opened.keys.reload(key).await?;
    if key != CARDS_KEY {
        opened.store.close().await;
        return Ok(RewrapOutcome::NothingStored);
    }
    let version = loaded_key.ring.latest_version();
    let done = opened.vault.rewrap_all(batch, progress).await?;
    crate::system_audit::record(
        &opened.audit,
        "rampart-cli",
        "keys.rewrap_all",
        ("key", key),
        json!({"rewrapped": done.done, "failed": done.failed, "key_version": version}),
    )
    .await;
    opened.store.close().await;
    Ok(RewrapOutcome::Rewrapped {
        progress: done,
        version,
    })
}

/// Rotates a key (Rampart's own `rampart.cards` included) and returns its new latest version.
pub async fn rotate_key(loaded: &LoadedSettings, key: &str) -> Result<u32, MaintenanceError> {
    let opened = services(deployment::open(loaded).await?);
    // The new version commits with its audit entry.
    let rotated = opened
        .keys
        .rotate_by_operator(
            key,
            OffsetDateTime::now_utc(),
            &SystemJournal::operator_rotation(&opened.audit),
        )
        .await?;
    opened.store.close().await;
    Ok(rotated.record.latest_version)
}

/// The sealing context of a principal's TOTP secrets (the one in force and one being enrolled).
#[must_use]
pub fn totp_seal_context(principal: uuid::Uuid) -> SealContext {
    SealContext::new(format!("totp/{principal}"), 1)
}

/// Re-seals the TOTP secrets still under the previous KEK (both kinds, per principal; an
/// enrollment meanwhile wins, sealed under the current key). `(re-sealed, principals skipped
/// because they changed meanwhile)`.
async fn reseal_totp_secrets(opened: &OpenDeployment) -> Result<(usize, usize), MaintenanceError> {
    let mut resealed = 0;
    let mut changed = 0;
    for old in opened.store.totp_secrets().await? {
        let context = totp_seal_context(old.id);
        let again = |bytes: &Option<Vec<u8>>| -> Result<(Option<Vec<u8>>, bool), MaintenanceError> {
            let Some(bytes) = bytes else {
                return Ok((None, false));
            };
            let sealed = SealedSecret::from_bytes(bytes.clone());
            if opened.kek.opens_with_current(&context, &sealed) {
                return Ok((Some(bytes.clone()), false));
            }
            let plaintext = opened.kek.open(&context, &sealed)?;
            let new = opened.kek.seal(&context, plaintext.expose_secret())?;
            Ok((Some(new.as_bytes().to_vec()), true))
        };
        let (sealed, moved_sealed) = again(&old.sealed)?;
        let (pending, moved_pending) = again(&old.pending)?;
        if !moved_sealed && !moved_pending {
            continue;
        }
        let new = rampart_store::SealedTotp {
            id: old.id,
            sealed,
            pending,
        };
        if opened.store.reseal_totp(&old, &new).await? {
            resealed += usize::from(moved_sealed) + usize::from(moved_pending);
        } else {
            changed += 1;
        }
    }
    Ok((resealed, changed))
}

/// Re-seals every webhook's signing secret under the current KEK (each opens with it or the
/// previous one). `(re-sealed, of which were under the previous key)`.
async fn reseal_webhook_secrets(
    opened: &OpenDeployment,
) -> Result<(usize, usize), MaintenanceError> {
    let webhooks = MonitorStore::list_webhooks(&opened.store).await?;
    let mut resealed = Vec::with_capacity(webhooks.len());
    let mut moved = 0;
    for webhook in &webhooks {
        let context = crate::monitor::seal_context(&webhook.id);
        let sealed = SealedSecret::from_bytes(webhook.sealed_secret.clone());
        moved += usize::from(!opened.kek.opens_with_current(&context, &sealed));
        let plaintext = opened.kek.open(&context, &sealed)?;
        let again = opened.kek.seal(&context, plaintext.expose_secret())?;
        resealed.push((webhook.id.clone(), again.as_bytes().to_vec()));
    }
    MonitorStore::reseal_webhook_secrets(&opened.store, &resealed).await?;
    Ok((resealed.len(), moved))
}

/// Re-seals every live subject key under the current KEK (compare-and-set: a key erased
/// meanwhile stays destroyed). `(re-sealed, of which were under the previous key)`.
async fn reseal_subject_keys(opened: &OpenDeployment) -> Result<(usize, usize), MaintenanceError> {
    use rampart_subjects::SubjectStore;
    let mut resealed = 0;
    let mut moved = 0;
    for (id, sealed) in opened.store.sealed_subject_keys().await? {
        let context = rampart_subjects::seal_context(&id);
        let under_previous = !opened.kek.opens_with_current(&context, &sealed);
        let plaintext = opened.kek.open(&context, &sealed)?;
        let again = opened.kek.seal(&context, plaintext.expose_secret())?;
        if opened
            .store
            .reseal_subject_key(&id, &sealed, &again)
            .await?
        {
            resealed += 1;
            moved += usize::from(under_previous);
        }
    }
    Ok((resealed, moved))
}

/// Re-seals every stored secret (sentinel, peppers, signing key, every key version, webhook,
/// TOTP secrets and subject keys) under the
/// KEK of `RAMPART_MASTER_KEY`, opening each with that KEK or the one of
/// `RAMPART_MASTER_KEY_PREVIOUS`. Rows are rewritten in one transaction; then the store is
/// read again, and anything another server sealed under the previous key meanwhile is
/// re-sealed too, until every secret opens with the new key alone. A SQLite deployment whose
/// key lives in `DIR/master.key` gets the new key written there (atomically, mode 0600).
/// Returns `(secrets re-sealed, of which were under the previous key)`.
pub async fn rotate_master_key(
    loaded: &LoadedSettings,
) -> Result<(usize, usize), MaintenanceError> {
    let (Some(current), Some(_)) = (&loaded.master_key_env, &loaded.previous_master_key_env) else {
        return Err(MaintenanceError::NotDualKey);
    };
    let opened = deployment::open(loaded).await?;
    let mut resealed_total = 0;
    let mut moved = 0;
    for round in 0..5 {
        let all = opened.store.all_sealed_secrets().await?;
        let mut resealed = Vec::with_capacity(all.len());
        for (name, version, sealed) in &all {
            let context = SealContext::new(name.clone(), *version);
            let under_previous = !opened.kek.opens_with_current(&context, sealed);
            // The first round re-seals everything (fresh nonces under the new key); later
            // rounds only what appeared under the previous key since.
            if round > 0 && !under_previous {
                continue;
            }
            moved += usize::from(under_previous);
            let plaintext = opened.kek.open(&context, sealed)?;
            resealed.push((
                name.clone(),
                *version,
                opened.kek.seal(&context, plaintext.expose_secret())?,
            ));
        }
        if resealed.is_empty() {
            break;
        }
        resealed_total += resealed.len();
        opened.store.replace_sealed_secrets(&resealed).await?;
    }
    let (webhooks, webhooks_moved) = reseal_webhook_secrets(&opened).await?;
    resealed_total += webhooks;
    moved += webhooks_moved;
    let (totp, _) = reseal_totp_secrets(&opened).await?;
    resealed_total += totp;
    moved += totp;
    let (subject_keys, subject_keys_moved) = reseal_subject_keys(&opened).await?;
    resealed_total += subject_keys;
    moved += subject_keys_moved;
    deployment::replace_key_file(loaded, current)?;
    crate::system_audit::record(
        &opened.audit,
        "rampart-cli",
        "master_key.rotate",
        ("deployment", &opened.deployment.id.to_string()),
        json!({"resealed": resealed_total, "were_under_previous_key": moved, "webhook_secrets": webhooks, "totp_secrets": totp, "subject_keys": subject_keys}),
    )
    .await;
    opened.store.close().await;
    Ok((resealed_total, moved))
}
