//! The master key and the key-encryption key derived from it.
//!
//! The master key never encrypts data itself: HKDF-SHA256 with info `rampart kek v1` derives the
//! KEK, and everything else is sealed under the KEK. Rotating the master key therefore only
//! re-seals the small set of stored keys.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::hkdf;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::{CryptoError, MasterKeyError, random_secret};

/// Length in bytes of the master key and of the KEK.
const KEY_LEN: usize = 32;

/// HKDF info string that binds the derived key to its purpose and version.
const KEK_INFO: &[u8] = b"rampart kek v1";

/// The 32-byte root secret of a deployment. `Debug` prints `[REDACTED]`; dropped bytes are zeroed.
pub struct MasterKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A fresh master key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes = random_secret::<KEY_LEN>()?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(*bytes)),
        })
    }

    /// Parses base64 (standard or URL-safe, padded or not; surrounding whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<Self, MasterKeyError> {
        let text = encoded.trim();
        let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Zeroizing::new)
            .ok_or(MasterKeyError::NotBase64)?;
        let array: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength { len: decoded.len() })?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(array)),
        })
    }

    /// The key as standard padded base64, for writing the key file or showing it once.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes.expose_secret()))
    }

    /// Derives the key-encryption key: HKDF-SHA256(master, salt = none, info = "rampart kek v1").
    pub fn key_encryption_key(&self) -> KeyEncryptionKey {
        let mut kek = Box::new([0u8; KEY_LEN]);
        // 32 bytes is far under HKDF's limit of 255 * 32, so this cannot fail.
        let _ = hkdf_sha256(
            self.bytes.expose_secret(),
            &[],
            KEK_INFO,
            kek.as_mut_slice(),
        );
        KeyEncryptionKey {
            bytes: SecretBox::new(kek),
            previous: None,
        }
    }
}

/// An output length for ring's HKDF.
struct OutputLen(usize);

impl hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and `info`, filling `out`. Fails when `out` is
/// longer than 255 * 32 bytes.
pub(crate) fn hkdf_sha256(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, OutputLen(out.len()))
        .map_err(|_| CryptoError::KeyDerivation)?;
    okm.fill(out).map_err(|_| CryptoError::KeyDerivation)
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// The key-encryption key: seals and opens every stored key with AES-256-GCM.
///
/// In dual-key mode (master-key rotation, `RAMPART_MASTER_KEY_PREVIOUS`) it also holds the KEK
/// of the previous master key: it always seals under the current KEK and opens with the
/// current one first, then the previous one, so a deployment keeps running while
/// `rampart master-key rotate` re-seals everything.
pub struct KeyEncryptionKey {
    pub(crate) bytes: SecretBox<[u8; KEY_LEN]>,
    pub(crate) previous: Option<SecretBox<[u8; KEY_LEN]>>,
}

impl KeyEncryptionKey {
    /// Dual-key mode: also open what the KEK of `previous` sealed.
    #[must_use]
    pub fn with_previous(mut self, previous: &MasterKey) -> Self {
        self.previous = Some(previous.key_encryption_key().bytes);
        self
    }

    /// Whether a previous KEK is configured (dual-key mode).
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }

    /// Whether `sealed` opens under the current KEK alone (not only under the previous one).
    pub fn opens_with_current(
        &self,
        context: &crate::SealContext,
        sealed: &crate::SealedSecret,
    ) -> bool {
        crate::seal::open_under(self.bytes.expose_secret(), context, sealed).is_ok()
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_base64_flavour_of_32_bytes() {
        let key = MasterKey::generate().expect("rng");
        let text = key.to_base64();
        let standard = text.expose_secret();
        let again = MasterKey::from_base64(&format!("  {standard}\n")).expect("parses");
        assert_eq!(again.bytes.expose_secret(), key.bytes.expose_secret());
        let url = standard.replace('+', "-").replace('/', "_");
        let unpadded = url.trim_end_matches('=');
        let again = MasterKey::from_base64(unpadded).expect("parses url-safe unpadded");
        assert_eq!(again.bytes.expose_secret(), key.bytes.expose_secret());
    }

    #[test]
    fn refuses_malformed_and_short_keys() {
        assert_eq!(
            MasterKey::from_base64("not base64 at all!").err(),
            Some(MasterKeyError::NotBase64)
        );
        let short = STANDARD.encode([7u8; 16]);
        assert_eq!(
            MasterKey::from_base64(&short).err(),
            Some(MasterKeyError::WrongLength { len: 16 })
        );
        let long = STANDARD.encode([7u8; 33]);
        assert_eq!(
            MasterKey::from_base64(&long).err(),
            Some(MasterKeyError::WrongLength { len: 33 })
        );
        assert_eq!(
            MasterKey::from_base64("").err(),
            Some(MasterKeyError::WrongLength { len: 0 })
        );
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = MasterKey::from_base64(&STANDARD.encode([0xAB; 32])).expect("parses");
        let printed = format!("{key:?} {:?}", key.key_encryption_key());
        assert!(printed.contains("[REDACTED]"));
        assert!(!printed.to_lowercase().contains("ab"), "{printed}");
    }

    #[test]
    fn kek_is_hkdf_sha256_of_the_master_key() {
        // Independent computation with HMAC: PRK = HMAC(zeros, IKM); OKM = HMAC(PRK, info || 1).
        let ikm = [0x42u8; 32];
        let key = MasterKey::from_base64(&STANDARD.encode(ikm)).expect("parses");
        let prk = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0u8; 32]),
            &ikm,
        );
        let prk_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, prk.as_ref());
        let mut info = KEK_INFO.to_vec();
        info.push(1);
        let okm = ring::hmac::sign(&prk_key, &info);
        assert_eq!(key.key_encryption_key().bytes.expose_secret(), okm.as_ref());
    }
}
