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
mod tests {
    use std::path::PathBuf;

    use proptest::prelude::*;
    use serde_json::Value;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::*;

    fn vectors(name: &str) -> Option<Value> {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/fernet/"
        ))
        .join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).expect("vector file is JSON")),
            Err(_) if std::env::var("RAMPART_REQUIRE_VECTORS").as_deref() == Ok("1") => {
                panic!("vectors required but {} is missing", path.display())
            }
            Err(_) => {
                eprintln!("skipped: no vectors ({} not found)", path.display());
                None
            }
        }
    }

    fn cases(doc: &Value) -> &Vec<Value> {
        doc.as_array().expect("a vector file is a JSON array")
    }

    fn text(case: &Value, field: &str) -> String {
        case[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is a string"))
            .to_owned()
    }

    fn unix_time(case: &Value) -> u64 {
        let parsed = OffsetDateTime::parse(&text(case, "now"), &Rfc3339).expect("RFC 3339 time");
        u64::try_from(parsed.unix_timestamp()).expect("after 1970")
    }

    fn key(case: &Value) -> FernetKey {
        FernetKey::from_base64(&text(case, "secret")).expect("vector secret")
    }

    fn ttl(case: &Value) -> Option<u64> {
        case.get("ttl_sec").and_then(Value::as_u64)
    }

    fn test_key() -> FernetKey {
        FernetKey::from_bytes(&std::array::from_fn(|i| u8::try_from(i).expect("small")))
    }

    #[test]
    fn generate_vectors_give_the_exact_token() {
        let Some(doc) = vectors("generate.json") else {
            return;
        };
        for case in cases(&doc) {
            let iv: [u8; 16] = case["iv"]
                .as_array()
                .expect("iv array")
                .iter()
                .map(|b| u8::try_from(b.as_u64().expect("byte")).expect("byte"))
                .collect::<Vec<_>>()
                .try_into()
                .expect("16 bytes");
            let token = key(case).encrypt_at(text(case, "src").as_bytes(), unix_time(case), iv);
            assert_eq!(token, text(case, "token"));
        }
        assert!(!cases(&doc).is_empty());
    }

    #[test]
    fn verify_vectors_give_the_exact_plaintext() {
        let Some(doc) = vectors("verify.json") else {
            return;
        };
        for case in cases(&doc) {
            let plaintext = key(case)
                .decrypt(&text(case, "token"), ttl(case), unix_time(case))
                .expect("valid token");
            assert_eq!(plaintext.as_slice(), text(case, "src").as_bytes());
        }
        assert!(!cases(&doc).is_empty());
    }

    #[test]
    fn invalid_vectors_are_refused_with_the_expected_error() {
        let Some(doc) = vectors("invalid.json") else {
            return;
        };
        let expected = |desc: &str| match desc {
            "incorrect mac" => FernetError::BadSignature,
            "too short" => FernetError::TooShort,
            "invalid base64" => FernetError::InvalidBase64,
            "payload size not multiple of block size" => FernetError::BadCiphertextLength,
            "payload padding error" => FernetError::BadPadding,
            "far-future TS (unacceptable clock skew)" => FernetError::FromTheFuture,
            "expired TTL" => FernetError::Expired,
            "incorrect IV (causes padding error)" => FernetError::BadPadding,
            other => panic!("no expected error for invalid vector {other:?}"),
        };
        for case in cases(&doc) {
            let desc = text(case, "desc");
            let result = key(case).decrypt(&text(case, "token"), ttl(case), unix_time(case));
            assert_eq!(result.err(), Some(expected(&desc)), "{desc}");
        }
        assert_eq!(cases(&doc).len(), 8);
    }

    #[test]
    fn round_trips_every_length_around_the_block_size() {
        let key = FernetKey::generate().expect("rng");
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 1000] {
            let plaintext: Vec<u8> = (0..len)
                .map(|i| u8::try_from(i * 7 % 256).expect("byte"))
                .collect();
            let token = key.encrypt(&plaintext, now_unix()).expect("rng");
            let parsed = parse_token(&token).expect("parses");
            assert!(key.verify_signature(&parsed));
            assert_eq!(parsed.ciphertext().len(), (len / 16 + 1) * 16);
            let now = now_unix();
            assert!(parsed.timestamp.abs_diff(now) <= 2);
            let opened = key.decrypt(&token, Some(60), now).expect("decrypts");
            assert_eq!(opened.as_slice(), plaintext.as_slice());
        }
    }

    #[test]
    fn encrypt_uses_a_fresh_iv_each_time() {
        let key = test_key();
        let a = parse_token(&key.encrypt(b"same", 0).expect("rng")).expect("parses");
        let b = parse_token(&key.encrypt(b"same", 0).expect("rng")).expect("parses");
        assert_ne!(a.iv(), b.iv());
    }

    #[test]
    fn key_bytes_and_base64_round_trip() {
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 5).expect("small"));
        let key = FernetKey::from_bytes(&bytes);
        assert_eq!(*key.to_bytes(), bytes);
        let padded = URL_SAFE.encode(bytes);
        let unpadded = padded.trim_end_matches('=');
        for text in [
            padded.clone(),
            unpadded.to_owned(),
            format!(" \t{padded}\n"),
        ] {
            assert_eq!(
                *FernetKey::from_base64(&text).expect("parses").to_bytes(),
                bytes
            );
        }
    }

    #[test]
    fn refuses_bad_keys() {
        for text in [
            String::new(),
            "not base64 at all!".to_owned(),
            URL_SAFE.encode([1u8; 16]),
            URL_SAFE.encode([1u8; 31]),
            URL_SAFE.encode([1u8; 33]),
            URL_SAFE.encode([1u8; 200]),
            // Standard-alphabet characters are not URL-safe base64.
            "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8=".to_owned(),
        ] {
            assert_eq!(
                FernetKey::from_base64(&text).err(),
                Some(FernetError::InvalidKey),
                "{text}"
            );
        }
    }

    #[test]
    fn the_key_halves_are_signing_then_encryption() {
        let mut bytes = [0u8; 32];
        bytes[..16].fill(1);
        bytes[16..].fill(2);
        let token = FernetKey::from_bytes(&bytes).encrypt_at(b"x", 0, [0; 16]);
        let parsed = parse_token(&token).expect("parses");
        let expected_tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &[1u8; 16]),
            &parsed.signed,
        );
        assert_eq!(parsed.hmac.as_slice(), expected_tag.as_ref());
        let plain = Aes128CbcDec::new(&[2u8; 16].into(), &[0u8; 16].into())
            .decrypt_padded_vec::<Pkcs7>(parsed.ciphertext())
            .expect("unpads");
        assert_eq!(plain, b"x");
    }

    #[test]
    fn flipping_any_bit_of_a_token_is_refused() {
        let key = test_key();
        let token = key.encrypt_at(b"attack at dawn, bring snacks", 1_000_000, [9; 16]);
        let bytes = URL_SAFE.decode(&token).expect("base64");
        for index in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = bytes.clone();
                tampered[index] ^= bit;
                let tampered = URL_SAFE.encode(&tampered);
                let result = key.decrypt(&tampered, None, 1_000_000);
                let expected = if index == 0 {
                    FernetError::UnknownVersion
                } else {
                    FernetError::BadSignature
                };
                assert_eq!(result.err(), Some(expected), "byte {index} bit {bit:#x}");
            }
        }
        let wrong_signing = {
            let mut other = *key.to_bytes();
            other[0] ^= 1;
            FernetKey::from_bytes(&other)
        };
        assert_eq!(
            wrong_signing.decrypt(&token, None, 0).err(),
            Some(FernetError::BadSignature)
        );
    }

    #[test]
    fn truncated_and_extended_tokens_are_refused() {
        let key = test_key();
        let bytes = URL_SAFE
            .decode(key.encrypt_at(b"hello", 5, [3; 16]))
            .expect("base64");
        for len in 0..bytes.len() {
            let result = key.decrypt(&URL_SAFE.encode(&bytes[..len]), None, 5);
            assert!(result.is_err(), "truncated to {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            parse_token(&URL_SAFE.encode(&longer)).err(),
            Some(FernetError::BadCiphertextLength)
        );
        longer.extend_from_slice(&[0; 15]);
        assert_eq!(
            key.decrypt(&URL_SAFE.encode(&longer), None, 5).err(),
            Some(FernetError::BadSignature)
        );
    }

    #[test]
    fn structural_errors_are_specific() {
        assert_eq!(parse_token("").err(), Some(FernetError::TooShort));
        assert_eq!(parse_token("!!!!").err(), Some(FernetError::InvalidBase64));
        let standard_alphabet = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ+eEwCGM4BLLF+5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        assert_eq!(
            parse_token(standard_alphabet).err(),
            Some(FernetError::InvalidBase64)
        );
        let mut bytes = vec![0x81u8];
        bytes.extend_from_slice(&[0; 72]);
        assert_eq!(
            parse_token(&URL_SAFE.encode(&bytes)).err(),
            Some(FernetError::UnknownVersion)
        );
        bytes[0] = VERSION;
        assert!(parse_token(&URL_SAFE.encode(&bytes)).is_ok());
        for len in [1, 9, 25, 56, 57] {
            assert_eq!(
                parse_token(&URL_SAFE.encode(&bytes[..len])).err(),
                Some(FernetError::TooShort),
                "{len} bytes"
            );
        }
        for len in [58, 72, 74, 88] {
            bytes.resize(len, 0);
            assert_eq!(
                parse_token(&URL_SAFE.encode(&bytes)).err(),
                Some(FernetError::BadCiphertextLength),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn unpadded_tokens_are_accepted() {
        let key = test_key();
        let token = key.encrypt_at(b"no padding", 7, [1; 16]);
        assert!(token.ends_with('='), "this plaintext gives a padded token");
        let unpadded = token.trim_end_matches('=');
        let opened = key.decrypt(unpadded, None, 7).expect("decrypts");
        assert_eq!(opened.as_slice(), b"no padding");
    }

    #[test]
    fn ttl_and_clock_skew_follow_python() {
        let key = test_key();
        let at = |ts: u64| key.encrypt_at(b"t", ts, [0; 16]);
        let open = |ts: u64, ttl: Option<u64>, now: u64| key.decrypt(&at(ts), ttl, now).err();
        // Expired only once timestamp + ttl < now.
        assert_eq!(open(1000, Some(60), 1060), None);
        assert_eq!(open(1000, Some(60), 1061), Some(FernetError::Expired));
        assert_eq!(open(1000, Some(0), 1000), None);
        // From the future only when more than 60 s ahead.
        assert_eq!(open(1060, Some(10), 1000), None);
        assert_eq!(open(1061, Some(10), 1000), Some(FernetError::FromTheFuture));
        // Without a TTL, time is not checked at all.
        assert_eq!(open(0, None, u64::MAX), None);
        assert_eq!(open(u64::MAX, None, 0), None);
        // No overflow at the extremes.
        assert_eq!(open(u64::MAX, Some(u64::MAX), u64::MAX), None);
        assert_eq!(open(u64::MAX, Some(1), 0), Some(FernetError::FromTheFuture));
        assert_eq!(open(0, Some(u64::MAX), u64::MAX), None);
        // Time is checked before the signature, as in Python.
        let other = FernetKey::from_bytes(&[0xEE; 32]);
        assert_eq!(
            other.decrypt(&at(0), Some(1), 100).err(),
            Some(FernetError::Expired)
        );
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = FernetKey::from_bytes(&[0xAB; 32]);
        let printed = format!("{key:?}");
        assert_eq!(printed, "FernetKey([REDACTED])");
        let printed = format!("{key:#?} {:?}", FernetError::BadSignature);
        assert!(!printed.to_lowercase().contains("ab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
    }

    #[test]
    fn error_messages_name_the_problem() {
        let all = [
            FernetError::InvalidKey,
            FernetError::InvalidBase64,
            FernetError::TooShort,
            FernetError::UnknownVersion,
            FernetError::BadCiphertextLength,
            FernetError::BadSignature,
            FernetError::Expired,
            FernetError::FromTheFuture,
            FernetError::BadPadding,
        ];
        let messages: std::collections::HashSet<String> =
            all.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), all.len());
        assert!(messages.iter().all(|m| m.len() > 20));
        assert_eq!(
            FernetError::BadSignature.to_string(),
            "the token's signature does not match: wrong key or tampered token"
        );
    }

    proptest! {
        #[test]
        fn parse_and_decrypt_never_panic_on_arbitrary_text(text in ".{0,200}") {
            let _ = parse_token(&text);
            let _ = test_key().decrypt(&text, Some(60), 1_000_000);
        }

        #[test]
        fn parse_and_decrypt_never_panic_on_base64_of_arbitrary_bytes(
            mut bytes in proptest::collection::vec(any::<u8>(), 0..200),
            versioned in any::<bool>(),
            ttl in any::<Option<u64>>(),
            now in any::<u64>(),
        ) {
            if versioned && !bytes.is_empty() {
                bytes[0] = VERSION;
            }
            let text = URL_SAFE.encode(&bytes);
            let _ = parse_token(&text);
            let _ = test_key().decrypt(&text, ttl, now);
            let _ = test_key().decrypt(text.trim_end_matches('='), ttl, now);
        }

        #[test]
        fn encrypt_then_decrypt_round_trips(
            plaintext in proptest::collection::vec(any::<u8>(), 0..600),
            key_bytes in any::<[u8; 32]>(),
            timestamp in 0u64..=u64::MAX - 60,
            iv in any::<[u8; 16]>(),
        ) {
            let key = FernetKey::from_bytes(&key_bytes);
            let token = key.encrypt_at(&plaintext, timestamp, iv);
            let opened = key.decrypt(&token, Some(60), timestamp + 60).expect("decrypts");
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
            let parsed = parse_token(&token).expect("parses");
            prop_assert_eq!(parsed.timestamp, timestamp);
            prop_assert_eq!(parsed.iv(), &iv);
        }
    }
}
