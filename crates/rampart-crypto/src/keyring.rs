//! Named keys as rings of versions, and the operations of the keys service on them.
//!
//! A [`Keyring`] holds every version of one key, unsealed and ready (AES key schedules, HMAC
//! keys and Ed25519 key pairs are built once, when the ring is loaded). It encrypts and signs
//! with the latest version and decrypts or verifies with any version from
//! `min_decryption_version` to the latest. Ciphertexts, MACs and signatures name their version
//! (`rampart:v<version>:…`); Fernet tokens do not, so Fernet decryption tries versions from the
//! latest down, as Python's `MultiFernet` does.
//!
//! Errors say what is wrong with the input and never carry plaintext or key material.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::envelope::{BodyEncoding, Envelope, EnvelopeError};
use crate::fernet::{self, FernetError, FernetKey};
use crate::random_secret;

mod key_type;

pub use key_type::{KeyMaterial, KeyType, UnknownKeyType};

/// Length of the AES-GCM tag.
const TAG_LEN: usize = 16;

/// Encryptions after which a version of an AES-GCM key must no longer encrypt: with random
/// 96-bit nonces, NIST SP 800-38D caps a key at 2^32 invocations.
pub const MAX_ENCRYPTIONS_PER_VERSION: u64 = 1 << 32;

/// One usable version of a key.
struct Version {
    operation: VersionKey,
    /// Encryptions done with this version by this process (see [`Keyring::take_encryptions`]).
    encryptions: Arc<AtomicU64>,
    /// Encryptions stored (summed from every server) when the ring was loaded.
    stored: u64,
}

enum VersionKey {
    Aes(Box<LessSafeKey>),
    Fernet(FernetKey),
    Hmac(hmac::Key),
    Ed25519(Ed25519KeyPair),
}

impl VersionKey {
    fn new(key_type: KeyType, material: &KeyMaterial) -> Result<Self, KeyringError> {
        let bytes = material.expose();
        Ok(match key_type {
            KeyType::Aes256Gcm => VersionKey::Aes(Box::new(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyringError::BadMaterial)?,
            ))),
            KeyType::Fernet => VersionKey::Fernet(FernetKey::from_bytes(bytes)),
            KeyType::HmacSha256 => VersionKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, bytes)),
            KeyType::Ed25519 => VersionKey::Ed25519(
                Ed25519KeyPair::from_seed_unchecked(bytes)
                    .map_err(|_| KeyringError::BadMaterial)?,
            ),
        })
    }
}

/// Why a keyring could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// Stored material is not a valid key of the ring's type.
    #[error("stored key material is not valid for its key type")]
    BadMaterial,
    /// The ring has no version at all.
    #[error("the key has no versions")]
    Empty,
}

/// Why an operation on a key failed. Every variant is the caller's problem (a 4xx), except
/// [`KeyOpError::Random`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyOpError {
    /// The key's type does not support the operation.
    #[error("key type {key_type} does not support {operation}")]
    WrongKeyType {
        /// The key's type.
        key_type: KeyType,
        /// The refused operation.
        operation: &'static str,
    },
    /// The ciphertext, MAC or signature text is malformed.
    #[error("the {what} {source}")]
    Malformed {
        /// What was malformed (`ciphertext`, `hmac`, `signature`).
        what: &'static str,
        /// What is wrong with it.
        source: EnvelopeError,
    },
    /// The ciphertext is too short to hold a nonce and a tag.
    #[error("the ciphertext is truncated: it is shorter than a nonce and a tag")]
    Truncated,
    /// The value names a version that does not exist.
    #[error("the {what} names version {version}, which this key does not have")]
    UnknownVersion {
        /// What named it.
        what: &'static str,
        /// The named version.
        version: u32,
    },
    /// The value names a version below `min_decryption_version`.
    #[error(
        "the {what} was made with version {version}, below this key's min_decryption_version {min}"
    )]
    BelowMinimum {
        /// What named it.
        what: &'static str,
        /// The named version.
        version: u32,
        /// The key's `min_decryption_version`.
        min: u32,
    },
    /// Authentication failed: tampered ciphertext, wrong associated data or another key.
    #[error(
        "the ciphertext could not be decrypted: it was tampered with, the associated data is wrong, or it belongs to another key"
    )]
    Authentication,
    /// A Fernet token was refused.
    #[error("the Fernet token is not valid: {0}")]
    Fernet(FernetError),
    /// Associated data was sent for a key type that cannot bind it.
    #[error("fernet keys cannot bind associated_data (use an aes256-gcm key)")]
    AssociatedDataUnsupported,
    /// A TTL was sent for a key type that has no timestamps.
    #[error("ttl_seconds applies only to fernet keys")]
    TtlUnsupported,
    /// The latest version has reached its encryption limit and must be rotated.
    #[error("the latest version has reached its encryption limit; rotate the key")]
    Exhausted,
    /// The plaintext is longer than AES-GCM can seal in one message.
    #[error("the plaintext is too long to encrypt in one message")]
    TooLong,
    /// The random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// Every version of one named key, ready to use.
pub struct Keyring {
    key_type: KeyType,
    latest: u32,
    min_decryption: u32,
    versions: BTreeMap<u32, Version>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_type", &self.key_type)
            .field("latest", &self.latest)
            .field("min_decryption", &self.min_decryption)
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Builds a ring from `(version, material)` pairs. `min_decryption` is clamped to at least 1.
    pub fn new(
        key_type: KeyType,
        min_decryption: u32,
        versions: impl IntoIterator<Item = (u32, KeyMaterial)>,
    ) -> Result<Self, KeyringError> {
        let mut built = BTreeMap::new();
        for (version, material) in versions {
            built.insert(
                version,
                Version {
                    operation: VersionKey::new(key_type, &material)?,
                    encryptions: Arc::new(AtomicU64::new(0)),
                    stored: 0,
                },
            );
        }
        let latest = *built.keys().next_back().ok_or(KeyringError::Empty)?;
        Ok(Self {
            key_type,
            latest,
            min_decryption: min_decryption.max(1),
            versions: built,
        })
    }

    /// Sets the stored encryption totals per version, so the 2^32 limit counts every server's
    /// encryptions, not only this process's.
    pub fn set_stored_encryptions(&mut self, totals: &[(u32, u64)]) {
        for (version, total) in totals {
            if let Some(entry) = self.versions.get_mut(version) {
                entry.stored = *total;
            }
        }
    }

    /// Carries the per-process encryption counters over from the ring this one replaces.
    pub fn inherit_counters(&mut self, previous: &Keyring) {
        for (version, entry) in &mut self.versions {
            if let Some(old) = previous.versions.get(version) {
                entry.encryptions = Arc::clone(&old.encryptions);
            }
        }
    }

    /// Takes (and resets) the encryptions counted per version since the last call, so the
    /// caller can add them to the stored totals.
    pub fn take_encryptions(&self) -> Vec<(u32, u64)> {
        self.versions
            .iter()
            .filter_map(|(version, entry)| {
                let n = entry.encryptions.swap(0, Ordering::Relaxed);
                (n > 0).then_some((*version, n))
            })
            .collect()
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The latest version, which encrypts and signs.
    pub fn latest_version(&self) -> u32 {
        self.latest
    }

    /// The lowest version that may still decrypt or verify.
    pub fn min_decryption_version(&self) -> u32 {
        self.min_decryption
    }

    /// The Ed25519 public key of `version`, for `ed25519` keys.
    pub fn public_key(&self, version: u32) -> Option<Vec<u8>> {
        match &self.versions.get(&version)?.operation {
            VersionKey::Ed25519(pair) => Some(pair.public_key().as_ref().to_vec()),
            _ => None,
        }
    }

    fn latest_entry(&self) -> Result<&Version, KeyOpError> {
        self.versions
            .get(&self.latest)
            .ok_or(KeyOpError::UnknownVersion {
                what: "key",
                version: self.latest,
            })
    }

    fn usable(&self, what: &'static str, version: u32) -> Result<&Version, KeyOpError> {
        if version < self.min_decryption {
            return Err(KeyOpError::BelowMinimum {
                what,
                version,
                min: self.min_decryption,
            });
        }
        self.versions
            .get(&version)
            .ok_or(KeyOpError::UnknownVersion { what, version })
    }

    fn wrong_type(&self, operation: &'static str) -> KeyOpError {
        KeyOpError::WrongKeyType {
            key_type: self.key_type,
            operation,
        }
    }

    /// Encrypts with the latest version: `(ciphertext, version)`, reading the clock for Fernet
    /// timestamps; [`Keyring::encrypt_at`] takes the time instead.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        associated_data: Option<&[u8]>,
    ) -> Result<(String, u32), KeyOpError> {
        self.encrypt_at(plaintext, associated_data, fernet::now_unix())
    }

    /// Encrypts with the latest version at `now` (Unix seconds, the timestamp of a Fernet token):
    /// `(ciphertext, version)`.
    pub fn encrypt_at(
        &self,
        plaintext: &[u8],
        associated_data: Option<&[u8]>,
        now: u64,
    ) -> Result<(String, u32), KeyOpError> {
        let entry = self.latest_entry()?;
        let done = entry.encryptions.fetch_add(1, Ordering::Relaxed);
        if entry.stored.saturating_add(done) >= MAX_ENCRYPTIONS_PER_VERSION {
            return Err(KeyOpError::Exhausted);
        }
        match &entry.operation {
            VersionKey::Aes(key) => {
                let nonce = *random_secret::<NONCE_LEN>().map_err(|_| KeyOpError::Random)?;
                let body = aes_seal(key, nonce, associated_data.unwrap_or_default(), plaintext)?;
                Ok((
                    Envelope::format(self.latest, &body, BodyEncoding::UrlSafe),
                    self.latest,
                ))
            }
            VersionKey::Fernet(key) => {
                if associated_data.is_some() {
                    return Err(KeyOpError::AssociatedDataUnsupported);
                }
                let token = key
                    .encrypt(plaintext, now)
                    .map_err(|_| KeyOpError::Random)?;
                Ok((token, self.latest))
            }
            _ => Err(self.wrong_type("encrypt")),
        }
    }

    /// Decrypts: `(plaintext, version that decrypted it)`. `ttl_seconds` applies to Fernet
    /// tokens only, checked against the clock; [`Keyring::decrypt_at`] takes the time instead.
    pub fn decrypt(
        &self,
        ciphertext: &str,
        associated_data: Option<&[u8]>,
        ttl_seconds: Option<u64>,
    ) -> Result<(Zeroizing<Vec<u8>>, u32), KeyOpError> {
        self.decrypt_at(ciphertext, associated_data, ttl_seconds, fernet::now_unix())
    }

    /// Decrypts at `now` (Unix seconds, against which a Fernet token's `ttl_seconds` is
    /// checked): `(plaintext, version that decrypted it)`. `ttl_seconds` applies to Fernet
    /// tokens only.
    pub fn decrypt_at(
        &self,
        ciphertext: &str,
        associated_data: Option<&[u8]>,
        ttl_seconds: Option<u64>,
        now: u64,
    ) -> Result<(Zeroizing<Vec<u8>>, u32), KeyOpError> {
        match self.key_type {
            KeyType::Aes256Gcm => {
                if ttl_seconds.is_some() {
                    return Err(KeyOpError::TtlUnsupported);
                }
                let envelope =
                    Envelope::parse(ciphertext, BodyEncoding::UrlSafe).map_err(|source| {
                        KeyOpError::Malformed {
                            what: "ciphertext",
                            source,
                        }
                    })?;
                let entry = self.usable("ciphertext", envelope.version)?;
                let VersionKey::Aes(key) = &entry.operation else {
                    return Err(self.wrong_type("decrypt"));
                };
                let plaintext = aes_open(key, &envelope.body, associated_data.unwrap_or_default())?;
                Ok((plaintext, envelope.version))
            }
            KeyType::Fernet => {
                if associated_data.is_some() {
                    return Err(KeyOpError::AssociatedDataUnsupported);
                }
                self.fernet_decrypt(ciphertext, ttl_seconds, now)
            }
            _ => Err(self.wrong_type("decrypt")),
        }
    }

    fn fernet_decrypt(
        &self,
        token: &str,
        ttl_seconds: Option<u64>,
        now: u64,
    ) -> Result<(Zeroizing<Vec<u8>>, u32), KeyOpError> {
        let parsed = fernet::parse_token(token).map_err(KeyOpError::Fernet)?;
        for (version, entry) in self.versions.iter().rev() {
            let VersionKey::Fernet(key) = &entry.operation else {
                continue;
            };
            if !key.verify_signature(&parsed) {
                continue;
            }
            if *version < self.min_decryption {
                return Err(KeyOpError::BelowMinimum {
                    what: "token",
                    version: *version,
                    min: self.min_decryption,
                });
            }
            let plaintext = key
                .decrypt_parsed(&parsed, ttl_seconds, now)
                .map_err(KeyOpError::Fernet)?;
            return Ok((plaintext, *version));
        }
        Err(KeyOpError::Fernet(FernetError::BadSignature))
    }

    /// Re-encrypts under the latest version without revealing the plaintext:
    /// `(ciphertext, version)`, reading the clock for Fernet timestamps; [`Keyring::rewrap_at`]
    /// takes the time instead.
    pub fn rewrap(
        &self,
        ciphertext: &str,
        associated_data: Option<&[u8]>,
    ) -> Result<(String, u32), KeyOpError> {
        self.rewrap_at(ciphertext, associated_data, fernet::now_unix())
    }

    /// Re-encrypts under the latest version at `now` (Unix seconds) without revealing the
    /// plaintext: `(ciphertext, version)`.
    pub fn rewrap_at(
        &self,
        ciphertext: &str,
        associated_data: Option<&[u8]>,
        now: u64,
    ) -> Result<(String, u32), KeyOpError> {
        let (plaintext, _) = self.decrypt_at(ciphertext, associated_data, None, now)?;
        self.encrypt_at(&plaintext, associated_data, now)
    }

    /// HMAC-SHA256 of `input` under the latest version: `rampart:v<version>:<base64>`.
    pub fn hmac(&self, input: &[u8]) -> Result<String, KeyOpError> {
        let VersionKey::Hmac(key) = &self.latest_entry()?.operation else {
            return Err(self.wrong_type("hmac"));
        };
        let tag = hmac::sign(key, input);
        Ok(Envelope::format(
            self.latest,
            tag.as_ref(),
            BodyEncoding::Standard,
        ))
    }

    /// Checks an HMAC in constant time.
    pub fn verify_hmac(&self, input: &[u8], mac: &str) -> Result<bool, KeyOpError> {
        if self.key_type != KeyType::HmacSha256 {
            return Err(self.wrong_type("verify-hmac"));
        }
        let envelope = Envelope::parse(mac, BodyEncoding::Standard).map_err(|source| {
            KeyOpError::Malformed {
                what: "hmac",
                source,
            }
        })?;
        let VersionKey::Hmac(key) = &self.usable("hmac", envelope.version)?.operation else {
            return Err(self.wrong_type("verify-hmac"));
        };
        Ok(hmac::verify(key, input, &envelope.body).is_ok())
    }

    /// Ed25519 signature of `input` under the latest version: `rampart:v<version>:<base64>`.
    pub fn sign(&self, input: &[u8]) -> Result<String, KeyOpError> {
        let VersionKey::Ed25519(pair) = &self.latest_entry()?.operation else {
            return Err(self.wrong_type("sign"));
        };
        Ok(Envelope::format(
            self.latest,
            pair.sign(input).as_ref(),
            BodyEncoding::Standard,
        ))
    }

    /// Verifies an Ed25519 signature made by this key.
    pub fn verify(&self, input: &[u8], signature: &str) -> Result<bool, KeyOpError> {
        if self.key_type != KeyType::Ed25519 {
            return Err(self.wrong_type("verify"));
        }
        let envelope = Envelope::parse(signature, BodyEncoding::Standard).map_err(|source| {
            KeyOpError::Malformed {
                what: "signature",
                source,
            }
        })?;
        let VersionKey::Ed25519(pair) = &self.usable("signature", envelope.version)?.operation
        else {
            return Err(self.wrong_type("verify"));
        };
        Ok(verify_ed25519(
            pair.public_key().as_ref(),
            input,
            &envelope.body,
        ))
    }
}

/// AES-256-GCM: `nonce || ciphertext || tag`.
fn aes_seal(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyOpError> {
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    // Sealing fails only beyond ring's maximum input length (about 64 GiB), far above any body.
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            out.get_mut(NONCE_LEN..).unwrap_or_default(),
        )
        .map_err(|_| KeyOpError::TooLong)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens `nonce || ciphertext || tag` of AES-256-GCM.
fn aes_open(key: &LessSafeKey, body: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyOpError> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(KeyOpError::Truncated);
    }
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeyOpError::Truncated)?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .map_err(|_| KeyOpError::Authentication)?
        .len();
    in_out.truncate(len);
    Ok(in_out)
}

/// Verifies an Ed25519 signature against a raw 32-byte public key.
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

/// HMAC-SHA256 of `message` under `key` (any length), for derived fingerprints.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests;
