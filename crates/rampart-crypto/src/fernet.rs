//! Fernet tokens, as the [Fernet specification](https://github.com/fernet/spec/blob/master/Spec.md)
//! defines them and Python's `cryptography.fernet.Fernet` produces them.
//!
//! A token is the URL-safe base64 (padded) of
//! `0x80 || timestamp (8, big-endian) || IV (16) || AES-128-CBC/PKCS#7 ciphertext || HMAC-SHA256 (32)`,
//! where the HMAC covers everything before it. A 32-byte Fernet key is the 16-byte signing key
//! followed by the 16-byte encryption key.
//!
//! Decryption checks, in order: the token's structure ([`parse_token`]), the time-to-live and
//! clock skew when a TTL is given, the HMAC (constant time, with `ring`), and only then decrypts
//! and unpads. AES and CBC come from the RustCrypto `aes` and `cbc` crates, HMAC from `ring`;
//! nothing is hand-rolled. Errors name the problem, never the key, the token or the plaintext.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_PAD_INDIFFERENT};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ring::hmac;
use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use crate::{CryptoError, random_secret};

/// The only token version the specification defines.
const VERSION: u8 = 0x80;
/// Length of each half of a Fernet key.
const HALF_KEY_LEN: usize = 16;
/// Length of a whole Fernet key.
const KEY_LEN: usize = 2 * HALF_KEY_LEN;
/// Length of the CBC initialization vector (one AES block).
const IV_LEN: usize = 16;
/// The AES block size.
const BLOCK_LEN: usize = 16;
/// Length of the big-endian timestamp.
const TIMESTAMP_LEN: usize = 8;
/// Length of the HMAC-SHA256 tag.
const HMAC_LEN: usize = 32;
/// Bytes before the ciphertext: version, timestamp, IV.
const HEADER_LEN: usize = 1 + TIMESTAMP_LEN + IV_LEN;
/// How far in the future a token's timestamp may be when a TTL is enforced, as in Python.
const MAX_CLOCK_SKEW: u64 = 60;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// Why a Fernet key or token was refused. Messages name the problem, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    /// The key text is not the URL-safe base64 encoding of exactly 32 bytes.
    #[error("the Fernet key is invalid: expected the url-safe base64 encoding of exactly 32 bytes")]
    InvalidKey,
    /// The token is not URL-safe base64.
    #[error("the token is not valid url-safe base64")]
    InvalidBase64,
    /// The token has no room for version, timestamp, IV, HMAC and at least one ciphertext byte.
    #[error("the token is too short to be a Fernet token")]
    TooShort,
    /// The token's first byte is not 0x80.
    #[error("the token's version byte is not 0x80: not a Fernet token, or an unsupported version")]
    UnknownVersion,
    /// The ciphertext is not a whole number of 16-byte AES blocks.
    #[error("the token's ciphertext is not a whole number of 16-byte AES blocks")]
    BadCiphertextLength,
    /// The HMAC does not verify.
    #[error("the token's signature does not match: wrong key or tampered token")]
    BadSignature,
    /// The token's timestamp plus the TTL lies before now.
    #[error("the token has expired: it is older than the allowed time-to-live")]
    Expired,
    /// The token's timestamp lies more than 60 seconds after now.
    #[error("the token's timestamp is more than 60 seconds in the future: clock skew too large")]
    FromTheFuture,
    /// The signature verified, but the decrypted plaintext has no valid PKCS#7 padding.
    #[error(
        "the token's signature matches but its plaintext padding is invalid: the token was not encrypted with this key"
    )]
    BadPadding,
}

/// A Fernet key: a 16-byte HMAC-SHA256 signing key and a 16-byte AES-128 encryption key.
/// `Debug` prints `[REDACTED]`; dropped bytes are zeroed.
pub struct FernetKey {
    signing: SecretBox<[u8; HALF_KEY_LEN]>,
    encryption: SecretBox<[u8; HALF_KEY_LEN]>,
}

/// A structurally valid token whose signature has not been checked yet. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken {
    /// Seconds since the Unix epoch at which the token was made (unauthenticated until the
    /// signature is verified).
    pub timestamp: u64,
    /// The CBC initialization vector.
    iv: [u8; IV_LEN],
    /// Everything the HMAC covers: version, timestamp, IV and ciphertext.
    signed: Vec<u8>,
    /// The HMAC-SHA256 tag over `signed`.
    hmac: [u8; HMAC_LEN],
}

impl ParsedToken {
    /// The CBC initialization vector.
    pub fn iv(&self) -> &[u8; IV_LEN] {
        &self.iv
    }

    /// The AES-128-CBC ciphertext (a non-empty multiple of 16 bytes).
    pub fn ciphertext(&self) -> &[u8] {
        self.signed.get(HEADER_LEN..).unwrap_or_default()
    }
}

/// Parses untrusted token text, checking its structure only: URL-safe base64 (padded as the
/// specification writes it, or unpadded), version byte 0x80, and a ciphertext of one or more
/// whole 16-byte blocks, so a valid token is at least 1 + 8 + 16 + 16 + 32 = 73 bytes. An empty
/// input or one without a single ciphertext byte is [`FernetError::TooShort`]; a partial block is
/// [`FernetError::BadCiphertextLength`]. Neither the signature nor the time is checked.
pub fn parse_token(token: &str) -> Result<ParsedToken, FernetError> {
    let data = URL_SAFE_PAD_INDIFFERENT
        .decode(token)
        .map_err(|_| FernetError::InvalidBase64)?;
    let (&version, rest) = data.split_first().ok_or(FernetError::TooShort)?;
    if version != VERSION {
        return Err(FernetError::UnknownVersion);
    }
    let (timestamp, rest) = rest
        .split_first_chunk::<TIMESTAMP_LEN>()
        .ok_or(FernetError::TooShort)?;
    let (iv, rest) = rest
        .split_first_chunk::<IV_LEN>()
        .ok_or(FernetError::TooShort)?;
    let (ciphertext, hmac) = rest
        .split_last_chunk::<HMAC_LEN>()
        .ok_or(FernetError::TooShort)?;
    // A token with room for a partial block has the wrong length (the specification's vector
    // "payload size not multiple of block size" is 15 bytes of ciphertext); one without any
    // ciphertext is too short.
    if ciphertext.is_empty() {
        return Err(FernetError::TooShort);
    }
    if !ciphertext.len().is_multiple_of(BLOCK_LEN) {
        return Err(FernetError::BadCiphertextLength);
    }
    let timestamp = u64::from_be_bytes(*timestamp);
    let iv = *iv;
    let hmac = *hmac;
    let mut signed = data;
    signed.truncate(signed.len().saturating_sub(HMAC_LEN));
    Ok(ParsedToken {
        timestamp,
        iv,
        signed,
        hmac,
    })
}

/// Seconds since the Unix epoch now (0 if the system clock is set before 1970).
///
/// The crate's only read of the wall clock, for the callers of [`crate::Keyring::encrypt`],
/// [`crate::Keyring::decrypt`] and [`crate::Keyring::rewrap`] that do not pass `now` yet: new code
/// passes the time in (`encrypt_at`, `decrypt_at`, `rewrap_at`).
#[expect(
    clippy::disallowed_methods,
    reason = "the one clock read left in rampart-crypto, until the keys service and card vault pass `now` (issue 12)"
)]
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

impl FernetKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes = random_secret::<KEY_LEN>()?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The key whose signing half is `bytes[..16]` and encryption half `bytes[16..]`.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let (signing, encryption) = bytes.split_at(HALF_KEY_LEN);
        Self {
            signing: SecretBox::init_with_mut(|half: &mut [u8; HALF_KEY_LEN]| {
                half.copy_from_slice(signing);
            }),
            encryption: SecretBox::init_with_mut(|half: &mut [u8; HALF_KEY_LEN]| {
                half.copy_from_slice(encryption);
            }),
        }
    }

    /// Parses the URL-safe base64 of 32 bytes, as Python's `Fernet.generate_key()` writes it;
    /// padding is optional and surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, FernetError> {
        let text = text.trim();
        // 32 bytes are 43 or 44 characters; anything much longer cannot be a key, and a fixed
        // buffer keeps every decoded byte in zeroized memory.
        if text.len() > 64 {
            return Err(FernetError::InvalidKey);
        }
        let mut buffer = Zeroizing::new([0u8; 48]);
        let len = URL_SAFE_PAD_INDIFFERENT
            .decode_slice(text, buffer.as_mut_slice())
            .map_err(|_| FernetError::InvalidKey)?;
        let bytes: &[u8; KEY_LEN] = buffer
            .get(..len)
            .and_then(|decoded| decoded.try_into().ok())
            .ok_or(FernetError::InvalidKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The 32 key bytes: signing half, then encryption half.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        let (signing, encryption) = bytes.split_at_mut(HALF_KEY_LEN);
        signing.copy_from_slice(self.signing.expose_secret());
        encryption.copy_from_slice(self.encryption.expose_secret());
        bytes
    }

    /// Encrypts `plaintext` into a token stamped with `now` (Unix seconds) and a random IV.
    pub fn encrypt(&self, plaintext: &[u8], now: u64) -> Result<String, CryptoError> {
        let iv = random_secret::<IV_LEN>()?;
        Ok(self.encrypt_at(plaintext, now, *iv))
    }

    /// Encrypts `plaintext` into a token with the given timestamp and IV. The IV must be
    /// unpredictable and never reused: use [`FernetKey::encrypt`] unless reproducing a vector.
    pub fn encrypt_at(&self, plaintext: &[u8], timestamp: u64, iv: [u8; IV_LEN]) -> String {
        let ciphertext = Aes128CbcEnc::new(self.encryption.expose_secret().into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        let mut token = Vec::with_capacity(HEADER_LEN + ciphertext.len() + HMAC_LEN);
        token.push(VERSION);
        token.extend_from_slice(&timestamp.to_be_bytes());
        token.extend_from_slice(&iv);
        token.extend_from_slice(&ciphertext);
        let tag = hmac::sign(&self.hmac_key(), &token);
        token.extend_from_slice(tag.as_ref());
        URL_SAFE.encode(token)
    }

    /// Whether the token's HMAC verifies under this key's signing half (constant time). Neither
    /// the time nor the padding is checked.
    pub fn verify_signature(&self, token: &ParsedToken) -> bool {
        hmac::verify(&self.hmac_key(), &token.signed, &token.hmac).is_ok()
    }

    /// Checks a parsed token's age against `ttl_seconds` at `now` (when a TTL is given), then its
    /// signature, then decrypts and unpads it.
    ///
    /// With a TTL, a token is refused when `timestamp + ttl < now` ([`FernetError::Expired`]) or
    /// when `timestamp > now + 60` ([`FernetError::FromTheFuture`]); without one, neither check
    /// applies. This is the behaviour of Python's `Fernet.decrypt_at_time`.
    pub fn decrypt_parsed(
        &self,
        token: &ParsedToken,
        ttl_seconds: Option<u64>,
        now: u64,
    ) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        if let Some(ttl) = ttl_seconds {
            // Saturating: an overflowing sum is larger than any u64, as in Python's integers.
            if token.timestamp.saturating_add(ttl) < now {
                return Err(FernetError::Expired);
            }
            if now.saturating_add(MAX_CLOCK_SKEW) < token.timestamp {
                return Err(FernetError::FromTheFuture);
            }
        }
        if !self.verify_signature(token) {
            return Err(FernetError::BadSignature);
        }
        let mut buffer = Zeroizing::new(token.ciphertext().to_vec());
        let len = Aes128CbcDec::new(self.encryption.expose_secret().into(), &token.iv.into())
            .decrypt_padded::<Pkcs7>(buffer.as_mut_slice())
            .map_err(|_| FernetError::BadPadding)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }

    /// Parses and decrypts token text: [`parse_token`], then [`FernetKey::decrypt_parsed`].
    pub fn decrypt(
        &self,
        token: &str,
        ttl_seconds: Option<u64>,
        now: u64,
    ) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        self.decrypt_parsed(&parse_token(token)?, ttl_seconds, now)
    }

    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.signing.expose_secret())
    }
}

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FernetKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests;
