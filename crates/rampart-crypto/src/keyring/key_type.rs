//! The kinds of keys and a version's key material.

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretBox};

use crate::{CryptoError, random_secret};

/// The kinds of keys the service manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// AES-256-GCM with random 96-bit nonces (the default).
    Aes256Gcm,
    /// Fernet (AES-128-CBC + HMAC-SHA256), compatible with Python's `cryptography`.
    Fernet,
    /// HMAC-SHA256.
    HmacSha256,
    /// Ed25519 signatures.
    Ed25519,
}

impl KeyType {
    /// Every key type, in API order.
    pub const ALL: [KeyType; 4] = [
        KeyType::Aes256Gcm,
        KeyType::Fernet,
        KeyType::HmacSha256,
        KeyType::Ed25519,
    ];

    /// The name API.md uses.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Aes256Gcm => "aes256-gcm",
            KeyType::Fernet => "fernet",
            KeyType::HmacSha256 => "hmac-sha256",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// Whether keys of this type encrypt and decrypt.
    pub fn encrypts(self) -> bool {
        matches!(self, KeyType::Aes256Gcm | KeyType::Fernet)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key type name that is not one of [`KeyType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key type (expected one of aes256-gcm, fernet, hmac-sha256, ed25519)")]
pub struct UnknownKeyType;

impl FromStr for KeyType {
    type Err = UnknownKeyType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or(UnknownKeyType)
    }
}

/// The 32 secret bytes of one key version: an AES-256 key, a Fernet key (signing half then
/// encryption half), an HMAC key or an Ed25519 seed. Zeroized on drop; `Debug` is redacted.
pub struct KeyMaterial(SecretBox<[u8; 32]>);

impl KeyMaterial {
    /// Fresh material from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(SecretBox::new(Box::new(*random_secret::<32>()?))))
    }

    /// Material from stored or imported bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(SecretBox::new(Box::new(array))))
    }

    /// The secret bytes, for sealing under the KEK.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial([REDACTED])")
    }
}
