//! Data subjects as the deployment runs them (API.md "Data subjects: consent, export, erasure
//! (GDPR)"): personal data in audit entries sealed with the subject's own key before the leaf
//! is computed and opened on read, the consent ledger, the signed export, and the erasure
//! workflow across audit, keys, identity and cards ([`erasure`]).
//!
//! Subject keys are kept in memory for at most the identity-cache period (`auth_cache_ms`): an
//! erasure clears this node's copies at once, and another node's copies are gone within that
//! period (none on PostgreSQL by default, where the period is 0).

pub mod consents;
pub mod erasure;
pub mod export;
mod keys;

use std::sync::Arc;
use std::time::Duration;

use rampart_audit::{AuditLog, AuditStore, NewEntry, SealedPersonal};
use rampart_crypto::{KeyEncryptionKey, SealedSecret};
use rampart_monitor::MonitorStore;
use rampart_subjects::{
    Invalid, LookupKey, SealError, SubjectKeyId, SubjectStore, check_subject_id,
};
use serde_json::Value;

use crate::monitor::MonitorService;
use keys::KeyCache;

/// What a caller holding `gdpr:read` sees in place of personal data whose key was destroyed.
pub const ERASED: &str = "[ERASED]";

/// Why a data-subject operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// A body or id the rules refuse (422 naming the fields).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// No such erasure (or subject).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The state changed meanwhile, or the request conflicts with it.
    #[error("{0}")]
    Conflict(String),
    /// A legal hold keeps the subject's data (a `409` naming it).
    #[error("the subject is under legal hold {name:?} ({id}): release the hold first")]
    Held {
        /// The hold's id.
        id: String,
        /// Its name.
        name: String,
    },
    /// Storage failed.
    #[error("data-subject storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Sealing, opening or signing failed.
    #[error("cannot seal, open or sign data-subject data: {0}")]
    Crypto(String),
}

impl SubjectError {
    pub(crate) fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self::Store(Box::new(error))
    }

    pub(crate) fn field(path: &str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid::Fields(vec![rampart_subjects::FieldError::new(
            path, message,
        )]))
    }
}

impl From<SealError> for SubjectError {
    fn from(error: SealError) -> Self {
        Self::Crypto(error.to_string())
    }
}

impl From<rampart_crypto::CryptoError> for SubjectError {
    fn from(error: rampart_crypto::CryptoError) -> Self {
        Self::Crypto(error.to_string())
    }
}

/// Checks a subject id from a path or body; the error names `field`, never the value.
pub fn subject_id(field: &str, id: &str) -> Result<(), SubjectError> {
    check_subject_id(id).map_err(|message| SubjectError::field(field, message))
}

/// Data subjects over a store `S` (Rampart's `Store`).
pub struct SubjectService<S>
where
    S: SubjectStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    store: S,
    audit: AuditLog<S>,
    kek: Arc<KeyEncryptionKey>,
    lookup_key: LookupKey,
    keys: KeyCache,
    /// Held while this node makes subject keys.
    making_keys: tokio::sync::Mutex<()>,
    monitor: Arc<MonitorService<S>>,
}

impl<S> SubjectService<S>
where
    S: SubjectStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// The service; subject keys are cached for `cache_period` (the identity-cache period).
    pub fn new(
        store: S,
        audit: AuditLog<S>,
        kek: Arc<KeyEncryptionKey>,
        monitor: Arc<MonitorService<S>>,
        lookup_key: LookupKey,
        cache_period: Duration,
    ) -> Self {
        Self {
            store,
            audit,
            kek,
            lookup_key,
            keys: KeyCache::new(cache_period),
            making_keys: tokio::sync::Mutex::new(()),
            monitor,
        }
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog<S> {
        &self.audit
    }

    /// Seals the `personal` field of every entry that has one with its subject's key (made
    /// now for subjects seen for the first time), before the entries reach the log.
    pub async fn seal_entries(&self, entries: &mut [NewEntry]) -> Result<(), SubjectError> {
        let subjects: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.personal_plain().map(|(subject, _)| subject))
            .collect();
        if subjects.is_empty() {
            return Ok(());
        }
        let keys = self.keys_for(&subjects).await?;
        // Each entry's key (the map borrows the entries' subject ids).
        let per_entry: Vec<Option<Arc<rampart_subjects::SubjectKey>>> = entries
            .iter()
            .map(|e| {
                e.personal_plain()
                    .and_then(|(subject, _)| keys.get(subject).cloned())
            })
            .collect();
        drop(keys);
        let mut nonces = rampart_subjects::Nonces::new(per_entry.iter().flatten().count())?;
        for (entry, key) in entries.iter_mut().zip(per_entry) {
            let Some(key) = key else {
                continue;
            };
            entry.seal_personal(|_, personal: &[u8]| {
                Ok::<_, SubjectError>(SealedPersonal {
                    sealed: key.seal_with(personal, &mut nonces)?,
                    subject_key: key.id().to_string(),
                })
            })?;
        }
        Ok(())
    }

    /// `personal_plain` of each entry (its API JSON): the opened object, [`ERASED`] when its
    /// key was destroyed, `None` for entries without personal data.
    pub async fn reveal(&self, entries: &[&Value]) -> Result<Vec<Option<Value>>, SubjectError> {
        let mut out = Vec::with_capacity(entries.len());
        // Keys read for this call, whatever the cache period (0 on PostgreSQL): one read per
        // subject key, not per entry.
        let mut keys: std::collections::HashMap<
            SubjectKeyId,
            Option<Arc<rampart_subjects::SubjectKey>>,
        > = std::collections::HashMap::new();
        for entry in entries {
            let Some(personal) = entry.get("personal").filter(|p| p.is_object()) else {
                out.push(None);
                continue;
            };
            let (Some(key_id), Some(sealed)) = (
                personal
                    .get("subject_key")
                    .and_then(Value::as_str)
                    .and_then(SubjectKeyId::parse),
                personal.get("sealed").and_then(Value::as_str),
            ) else {
                out.push(Some(Value::String(ERASED.to_owned())));
                continue;
            };
            let key = match keys.get(&key_id) {
                Some(key) => key.clone(),
                None => {
                    let key = self.key_by_id(&key_id).await?;
                    keys.insert(key_id, key.clone());
                    key
                }
            };
            let value = match key {
                Some(key) => {
                    let plain = key.open(sealed)?;
                    serde_json::from_slice(&plain).map_err(SubjectError::store)?
                }
                None => Value::String(ERASED.to_owned()),
            };
            out.push(Some(value));
        }
        Ok(out)
    }

    fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }

    fn open_sealed(
        &self,
        id: &SubjectKeyId,
        sealed: &SealedSecret,
    ) -> Result<rampart_subjects::SubjectKey, SubjectError> {
        let bytes = self
            .kek()
            .open(&rampart_subjects::seal_context(id), sealed)?;
        let material: &[u8; 32] = secrecy::ExposeSecret::expose_secret(&bytes)
            .try_into()
            .map_err(|_| SubjectError::Crypto("a subject key is not 32 bytes".into()))?;
        Ok(rampart_subjects::SubjectKey::from_parts(
            id.clone(),
            material,
        ))
    }
}
