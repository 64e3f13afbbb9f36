//! Sealing secrets under the key-encryption key.
//!
//! A sealed secret is `nonce (12) || ciphertext || tag (16)` of AES-256-GCM under the KEK, with
//! the secret's name and version as associated data, so a sealed blob moved to another name or
//! version no longer opens. The [`Sentinel`] is a sealed constant: opening it proves that a
//! master key is the one that initialized the deployment, before anything else is read.

use std::future::Future;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretBox};

use crate::{CryptoError, KeyEncryptionKey, SecretBytes, random_secret};

/// Length of the AES-GCM authentication tag.
const TAG_LEN: usize = 16;

/// Domain separation for the associated data of sealed secrets.
const AAD_PREFIX: &[u8] = b"rampart-seal-v1\0";

/// Which secret a sealed blob holds; bound into the ciphertext as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext {
    /// The secret's name, e.g. `sentinel` or `api_key_pepper`.
    pub name: String,
    /// The secret's version (1 for secrets that never rotate).
    pub version: u32,
}

impl SealContext {
    /// A context for `name` at `version`.
    pub fn new(name: impl Into<String>, version: u32) -> Self {
        Self {
            name: name.into(),
            version,
        }
    }

    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_PREFIX.len() + self.name.len() + 5);
        aad.extend_from_slice(AAD_PREFIX);
        aad.extend_from_slice(self.name.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad
    }
}

/// A secret sealed under the KEK: `nonce || ciphertext || tag`. Safe to store and to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret(Vec<u8>);

impl SealedSecret {
    /// Wraps bytes read from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// AES-256-GCM with a 96-bit nonce and 128-bit tag: returns `ciphertext || tag`.
pub(crate) fn aes256gcm_seal(
    key: &[u8; 32],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut in_out = plaintext.to_vec();
    aead_key(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .map_err(|_| CryptoError::Random)?;
    Ok(in_out)
}

/// Opens `ciphertext || tag` of AES-256-GCM; `None` when authentication fails.
pub(crate) fn aes256gcm_open(
    key: &[u8; 32],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let mut in_out = zeroize::Zeroizing::new(sealed.to_vec());
    let len = aead_key(key)
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .ok()?
        .len();
    in_out.truncate(len);
    Some(in_out)
}

fn aead_key(key: &[u8; 32]) -> LessSafeKey {
    // A 32-byte key is exactly what AES-256-GCM takes, so this cannot fail.
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
    LessSafeKey::new(unbound)
}

impl KeyEncryptionKey {
    /// Seals `plaintext` for `context` with a fresh random 96-bit nonce.
    pub fn seal(
        &self,
        context: &SealContext,
        plaintext: &[u8],
    ) -> Result<SealedSecret, CryptoError> {
        let nonce = *random_secret::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend(aes256gcm_seal(
            self.bytes.expose_secret(),
            nonce,
            &context.associated_data(),
            plaintext,
        )?);
        Ok(SealedSecret(out))
    }

    /// Opens a sealed secret; fails on a wrong key, a wrong context or any tampering. In
    /// dual-key mode, what the current KEK does not open is tried with the previous one.
    pub fn open(
        &self,
        context: &SealContext,
        sealed: &SealedSecret,
    ) -> Result<SecretBytes, CryptoError> {
        match (
            open_under(self.bytes.expose_secret(), context, sealed),
            &self.previous,
        ) {
            (Err(CryptoError::Unseal { .. }), Some(previous)) => {
                open_under(previous.expose_secret(), context, sealed)
            }
            (result, _) => result,
        }
    }
}

/// Opens `sealed` under the raw KEK `key`.
pub(crate) fn open_under(
    key: &[u8; 32],
    context: &SealContext,
    sealed: &SealedSecret,
) -> Result<SecretBytes, CryptoError> {
    let bytes = sealed.as_bytes();
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated {
            name: context.name.clone(),
        });
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Truncated {
        name: context.name.clone(),
    })?;
    let plaintext =
        aes256gcm_open(key, nonce, &context.associated_data(), ciphertext).ok_or_else(|| {
            CryptoError::Unseal {
                name: context.name.clone(),
                version: context.version,
            }
        })?;
    Ok(SecretBox::new(plaintext.to_vec().into_boxed_slice()))
}

/// The sealed constant that tells whether a master key belongs to a deployment.
pub struct Sentinel;

impl Sentinel {
    /// Name under which the sentinel is stored.
    pub const NAME: &'static str = "sentinel";
    const PLAINTEXT: &'static [u8] = b"rampart master key sentinel v1";

    fn context() -> SealContext {
        SealContext::new(Self::NAME, 1)
    }

    /// Seals the sentinel under `kek`, at initialization.
    pub fn seal(kek: &KeyEncryptionKey) -> Result<SealedSecret, CryptoError> {
        kek.seal(&Self::context(), Self::PLAINTEXT)
    }

    /// Checks that `kek` opens the stored sentinel.
    pub fn verify(kek: &KeyEncryptionKey, sealed: &SealedSecret) -> Result<(), CryptoError> {
        let opened = kek
            .open(&Self::context(), sealed)
            .map_err(|_| CryptoError::WrongMasterKey)?;
        if opened.expose_secret() == Self::PLAINTEXT {
            Ok(())
        } else {
            Err(CryptoError::WrongMasterKey)
        }
    }
}

/// Storage of sealed secrets, implemented by `rampart-store` for each backend.
pub trait SealedSecretStore {
    /// The backend's error.
    type Error;

    /// The sealed secret stored under `name` and `version`, if any.
    fn load_sealed(
        &self,
        name: &str,
        version: u32,
    ) -> impl Future<Output = Result<Option<SealedSecret>, Self::Error>> + Send;

    /// Stores a sealed secret unless one exists under `name` and `version`; returns whether it
    /// stored it (another server may have won the race, and then its secret is the one to use).
    fn store_sealed_if_absent(
        &self,
        name: &str,
        version: u32,
        sealed: &SealedSecret,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    fn kek() -> KeyEncryptionKey {
        MasterKey::generate().expect("rng").key_encryption_key()
    }

    #[test]
    fn seal_then_open_round_trips() {
        let kek = kek();
        let context = SealContext::new("api_key_pepper", 1);
        let sealed = kek.seal(&context, b"pepper bytes").expect("seals");
        assert_ne!(&sealed.as_bytes()[NONCE_LEN..], b"pepper bytes".as_slice());
        let opened = kek.open(&context, &sealed).expect("opens");
        assert_eq!(opened.expose_secret(), b"pepper bytes");
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces() {
        let kek = kek();
        let context = SealContext::new("x", 1);
        assert_ne!(
            kek.seal(&context, b"same").expect("seals"),
            kek.seal(&context, b"same").expect("seals")
        );
    }

    #[test]
    fn wrong_context_wrong_key_tampering_and_truncation_fail() {
        let kek = kek();
        let context = SealContext::new("a", 1);
        let sealed = kek.seal(&context, b"secret").expect("seals");
        assert!(matches!(
            kek.open(&SealContext::new("b", 1), &sealed),
            Err(CryptoError::Unseal { .. })
        ));
        assert!(matches!(
            kek.open(&SealContext::new("a", 2), &sealed),
            Err(CryptoError::Unseal { .. })
        ));
        assert!(matches!(
            self::kek().open(&context, &sealed),
            Err(CryptoError::Unseal { .. })
        ));
        let mut bytes = sealed.as_bytes().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(
            kek.open(&context, &SealedSecret::from_bytes(bytes)),
            Err(CryptoError::Unseal { .. })
        ));
        assert!(matches!(
            kek.open(&context, &SealedSecret::from_bytes(vec![0; 20])),
            Err(CryptoError::Truncated { .. })
        ));
    }

    #[test]
    fn dual_key_mode_opens_both_and_seals_with_the_current_key() {
        let old = MasterKey::generate().expect("rng");
        let new = MasterKey::generate().expect("rng");
        let context = SealContext::new("key/payments", 3);
        let sealed_old = old
            .key_encryption_key()
            .seal(&context, b"v3")
            .expect("seals");
        let dual = new.key_encryption_key().with_previous(&old);
        assert!(dual.has_previous());
        assert_eq!(
            dual.open(&context, &sealed_old)
                .expect("opens")
                .expose_secret(),
            b"v3"
        );
        assert!(!dual.opens_with_current(&context, &sealed_old));
        let resealed = dual.seal(&context, b"v3").expect("seals");
        assert!(dual.opens_with_current(&context, &resealed));
        assert!(new.key_encryption_key().open(&context, &resealed).is_ok());
        assert!(
            new.key_encryption_key()
                .open(&context, &sealed_old)
                .is_err()
        );
        assert_eq!(
            Sentinel::verify(
                &dual,
                &Sentinel::seal(&old.key_encryption_key()).expect("seals")
            ),
            Ok(())
        );
    }

    #[test]
    fn sentinel_accepts_only_its_master_key() {
        let kek = kek();
        let sealed = Sentinel::seal(&kek).expect("seals");
        assert_eq!(Sentinel::verify(&kek, &sealed), Ok(()));
        assert_eq!(
            Sentinel::verify(&self::kek(), &sealed),
            Err(CryptoError::WrongMasterKey)
        );
    }
}
