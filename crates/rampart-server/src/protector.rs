//! The PII `encrypt` and `tokenize` actions: a [`Protector`] backed by the keys service and the
//! card vault, prepared for one policy (every key it names loaded and checked up front).
//!
//! Redaction is synchronous; tokenizing stores a card, which is async. So a prepared protector
//! runs on a blocking thread (`tokio::task::spawn_blocking`) and reaches the runtime through a
//! [`Handle`] captured when it was prepared.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_crypto::KeyType;
use rampart_privacy::{Action, Pan, PiiType, Policy, ProtectError, Protector};
use tokio::runtime::Handle;

use crate::card_vault::CardVault;
use crate::key_service::{KeyService, KeyServiceError, LoadedKey, is_internal};

/// What a policy asks of the keys service.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Needs {
    /// `(type, key name)` of every `encrypt` action.
    pub encrypt: Vec<(PiiType, String)>,
    /// Whether some type is `tokenize`d.
    pub tokenize: bool,
}

impl Needs {
    /// What `policy` needs.
    pub fn of(policy: &Policy) -> Self {
        let mut needs = Self::default();
        for kind in PiiType::ALL {
            match policy.action(kind) {
                Action::Encrypt { key } => needs.encrypt.push((kind, key.clone())),
                Action::Tokenize => needs.tokenize = true,
                _ => {}
            }
        }
        needs
    }

    /// Whether the policy needs nothing from the keys service.
    pub fn is_empty(&self) -> bool {
        self.encrypt.is_empty() && !self.tokenize
    }
}

/// Why a protector could not be prepared: the field of the policy and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PrepareError {
    /// `policy.<type>`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// The underlying failure when it is not the caller's (storage, unsealing).
    pub internal: Option<KeyServiceError>,
}

/// A protector bound to one policy's keys.
pub struct ServiceProtector {
    keys: HashMap<String, Arc<LoadedKey>>,
    vault: Option<(Arc<CardVault>, Handle)>,
    encrypted: AtomicU64,
    tokenized: AtomicU64,
}

impl ServiceProtector {
    /// Loads every key `needs` names, checking each exists, is not Rampart's own, and encrypts.
    pub async fn prepare(
        needs: &Needs,
        keys: &KeyService,
        vault: Arc<CardVault>,
    ) -> Result<Self, PrepareError> {
        let mut loaded = HashMap::new();
        for (kind, name) in &needs.encrypt {
            let field = format!("policy.{}", kind.as_str());
            let refuse = |message: String| PrepareError {
                field: field.clone(),
                message,
                internal: None,
            };
            if is_internal(name) {
                return Err(refuse(format!("'{name}' is one of Rampart's own keys")));
            }
            let key = match keys.get(name).await {
                Ok(key) => key,
                Err(KeyServiceError::NotFound(_)) => {
                    return Err(refuse(format!("no key named '{name}'")));
                }
                Err(e) => {
                    return Err(PrepareError {
                        field,
                        message: "the key could not be loaded".to_owned(),
                        internal: Some(e),
                    });
                }
            };
            if !matches!(key.ring.key_type(), KeyType::Aes256Gcm | KeyType::Fernet) {
                return Err(refuse(format!(
                    "'{name}' is a {} key; encrypt needs an aes256-gcm or fernet key",
                    key.ring.key_type()
                )));
            }
            loaded.insert(name.clone(), key);
        }
        Ok(Self {
            keys: loaded,
            vault: needs.tokenize.then(|| (vault, Handle::current())),
            encrypted: AtomicU64::new(0),
            tokenized: AtomicU64::new(0),
        })
    }

    /// `(values encrypted, cards tokenized)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.encrypted.load(Ordering::Relaxed),
            self.tokenized.load(Ordering::Relaxed),
        )
    }
}

impl Protector for ServiceProtector {
    fn encrypt(&self, key: &str, value: &str) -> Result<String, ProtectError> {
        let loaded = self
            .keys
            .get(key)
            .ok_or_else(|| ProtectError(format!("key '{key}' was not prepared")))?;
        let (ciphertext, _) = loaded
            .ring
            .encrypt(value.as_bytes(), None)
            .map_err(|e| ProtectError(e.to_string()))?;
        self.encrypted.fetch_add(1, Ordering::Relaxed);
        Ok(ciphertext)
    }

    fn tokenize(&self, value: &str) -> Result<String, ProtectError> {
        let (vault, handle) = self
            .vault
            .as_ref()
            .ok_or_else(|| ProtectError("tokenization was not prepared".to_owned()))?;
        let pan = Pan::parse(value).map_err(|e| ProtectError(format!("card number {e}")))?;
        let record = handle
            .block_on(vault.tokenize(&pan, None))
            .map_err(|e| ProtectError(e.to_string()))?;
        self.tokenized.fetch_add(1, Ordering::Relaxed);
        Ok(record.token)
    }
}

/// The stand-in protector of the shared redactor: policies may name `encrypt` and `tokenize`,
/// and a request that uses them gets a [`ServiceProtector`]; anything else reaching this one
/// fails closed (the value is redacted).
pub struct Deferred;

impl Protector for Deferred {
    fn encrypt(&self, _: &str, _: &str) -> Result<String, ProtectError> {
        Err(ProtectError(
            "no keys service bound to this redaction".to_owned(),
        ))
    }

    fn tokenize(&self, _: &str) -> Result<String, ProtectError> {
        Err(ProtectError(
            "no card vault bound to this redaction".to_owned(),
        ))
    }
}
