//! The PII `encrypt` and `tokenize` actions: a [`Protector`] backed by the keys service and the
//! card vault, prepared for one policy (every key it names loaded and checked up front).
//!
//! Redaction is synchronous and runs on a blocking thread (`tokio::task::spawn_blocking`),
//! which a request timeout cannot stop. So for a request ([`CardMode::Deferred`]) tokenizing
//! only seals each card (token and ciphertexts, no storage) and keeps it; the request then
//! stores every card it made in one transaction ([`ServiceProtector::take_cards`],
//! [`CardVault::store_cards`]). A request that times out or fails before that stores nothing,
//! and no token it returns names a card that is not stored. At most `max` cards per request:
//! beyond that the protector refuses and [`ServiceProtector::over_limit`] tells the handler to
//! answer 422. The CLI's unbounded streams ([`CardMode::Immediate`]) store each card before
//! its token is written, reaching the runtime through a [`Handle`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rampart_crypto::{CardRecord, KeyType};
use rampart_privacy::{Action, Pan, PiiType, Policy, ProtectError, Protector};
use tokio::runtime::Handle;

use crate::services::{CardVault, KeyError, KeyService, LoadedKey, is_internal};
use time::OffsetDateTime;

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
    pub internal: Option<KeyError>,
}

/// How a [`ServiceProtector`] stores the cards it tokenizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardMode {
    /// Kept until [`ServiceProtector::take_cards`]; at most `max` of them.
    Deferred {
        /// Most cards one redaction may tokenize.
        max: usize,
    },
    /// Each stored as it is tokenized (the CLI's streams).
    Immediate,
}

/// A protector bound to one policy's keys.
pub struct ServiceProtector {
    keys: HashMap<String, Arc<LoadedKey>>,
    /// The vault, its cards key and the runtime, when the policy tokenizes.
    vault: Option<(Arc<CardVault>, Arc<LoadedKey>, Handle)>,
    mode: CardMode,
    /// Cards sealed but not stored yet ([`CardMode::Deferred`]).
    cards: Mutex<Vec<CardRecord>>,
    over_limit: AtomicBool,
    encrypted: AtomicU64,
    /// Cards stored ([`CardMode::Immediate`]).
    stored: AtomicU64,
}

impl ServiceProtector {
    /// Loads every key `needs` names, checking each exists, is not Rampart's own, and encrypts;
    /// and the cards key when the policy tokenizes; `mode` says how cards are stored.
    pub async fn prepare(
        needs: &Needs,
        keys: &KeyService,
        vault: Arc<CardVault>,
        mode: CardMode,
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
                Err(KeyError::NotFound(_)) => {
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
        let vault = if needs.tokenize {
            let key = vault
                .cards_key(OffsetDateTime::now_utc())
                .await
                .map_err(|e| PrepareError {
                    field: format!("policy.{}", PiiType::CreditCard.as_str()),
                    message: "the card vault could not be opened".to_owned(),
                    internal: Some(e),
                })?;
            Some((vault, key, Handle::current()))
        } else {
            None
        };
        Ok(Self {
            keys: loaded,
            vault,
            mode,
            cards: Mutex::new(Vec::new()),
            over_limit: AtomicBool::new(false),
            encrypted: AtomicU64::new(0),
            stored: AtomicU64::new(0),
        })
    }

    /// `(values encrypted, cards stored)` so far; cards kept for
    /// [`ServiceProtector::take_cards`] are not counted.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.encrypted.load(Ordering::Relaxed),
            self.stored.load(Ordering::Relaxed),
        )
    }

    /// Whether the request held more cards to tokenize than allowed (nothing may be stored).
    pub fn over_limit(&self) -> bool {
        self.over_limit.load(Ordering::Relaxed)
    }

    /// The cards sealed so far, to store in one transaction.
    pub fn take_cards(&self) -> Vec<CardRecord> {
        std::mem::take(&mut *self.cards.lock().unwrap_or_else(|e| e.into_inner()))
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
            .encrypt_at(
                value.as_bytes(),
                None,
                u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0),
            )
            .map_err(|e| ProtectError(e.to_string()))?;
        self.encrypted.fetch_add(1, Ordering::Relaxed);
        Ok(ciphertext)
    }

    fn tokenize(&self, value: &str) -> Result<String, ProtectError> {
        let (vault, key, handle) = self
            .vault
            .as_ref()
            .ok_or_else(|| ProtectError("tokenization was not prepared".to_owned()))?;
        if self.over_limit() {
            return Err(ProtectError("too many cards in one request".to_owned()));
        }
        let pan = Pan::parse(value).map_err(|e| ProtectError(format!("card number {e}")))?;
        let seal = || {
            vault
                .seal_card(&key.ring, &pan, None, OffsetDateTime::now_utc())
                .map_err(|e| ProtectError(e.to_string()))
        };
        match self.mode {
            CardMode::Immediate => {
                let record = seal()?;
                handle
                    .block_on(vault.store_cards(std::slice::from_ref(&record)))
                    .map_err(|e| ProtectError(e.to_string()))?;
                self.stored.fetch_add(1, Ordering::Relaxed);
                Ok(record.token)
            }
            CardMode::Deferred { max } => {
                let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
                if cards.len() >= max {
                    self.over_limit.store(true, Ordering::Relaxed);
                    cards.clear();
                    return Err(ProtectError("too many cards in one request".to_owned()));
                }
                let record = seal()?;
                let token = record.token.clone();
                cards.push(record);
                Ok(token)
            }
        }
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
