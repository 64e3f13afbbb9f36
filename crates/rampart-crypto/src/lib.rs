//! Rampart's key hierarchy: the master key, the key-encryption key (KEK) derived from it, and
//! secrets sealed under the KEK (data keys, peppers, signing keys) with a sentinel that proves a
//! master key is the one that sealed a deployment.
//!
//! It also holds the services over them: the [`KeyService`] (named keys, cached rings,
//! rotation) and the [`CardVault`] (tokenized cards), over the [`KeyStore`] and [`CardStore`]
//! traits, writing through a [`Journal`](rampart_audit::Journal) of [`KeyChange`]s.
//!
//! It is not a storage layer (see [`SealedSecretStore`], which `rampart-store` implements) and it
//! knows nothing of HTTP; every primitive comes from `ring`, none is hand-rolled.
#![forbid(unsafe_code)]

pub mod document;
mod envelope;
mod error;
pub mod fernet;
mod key_change;
mod keyring;
mod keys_service;
mod keystore;
mod master_key;
mod random;
mod seal;
#[cfg(test)]
mod service_tests;
mod vault;
#[cfg(test)]
mod vector_tests;

pub use envelope::{BodyEncoding, Envelope, EnvelopeError};
pub use error::{CryptoError, MasterKeyError};
pub use key_change::KeyChange;
pub use keyring::{
    KeyMaterial, KeyOpError, KeyType, Keyring, KeyringError, MAX_ENCRYPTIONS_PER_VERSION,
    UnknownKeyType, hmac_sha256, verify_ed25519,
};
pub use keys_service::{
    CACHE_TTL, CARDS_KEY, INTERNAL_PREFIX, KeyError, KeyPage, KeyService, KeySpec, KeyUse, KeyView,
    LoadedKey, MAX_IMPORTED_VERSIONS, MAX_ROTATION_PERIOD_DAYS, TeamScope, is_internal,
    valid_key_name,
};
pub use keystore::{
    CardRecord, CardStore, KeyRecord, KeyStore, KeyUpdate, KeyVersionRecord, NewKey, SealedKey,
    sealed_key_name,
};
pub use master_key::{KeyEncryptionKey, MasterKey};
pub use random::random_secret;
pub use seal::{SealContext, SealedSecret, SealedSecretStore, Sentinel};
pub use vault::{
    CardData, CardVault, FINGERPRINT_SECRET, RewrapProgress, VaultError, is_security_code_field,
    plausible_token,
};

/// Secret bytes of any length: zeroized on drop, printed as `[REDACTED]`.
pub type SecretBytes = secrecy::SecretBox<[u8]>;
