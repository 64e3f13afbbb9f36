//! Subject keys: one AES-256-GCM key per data subject, created the first time an entry carries
//! personal data about the subject, stored sealed by the KEK, found by a keyed hash of the
//! subject id (the id itself is never stored beside its key), and destroyed by erasure.
//!
//! Personal data sealed under a subject key is `rampart:v1:<base64url(nonce || ciphertext ||
//! tag)>`, with the key id bound in as associated data: a sealed value moved under another
//! subject's key id no longer opens.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampart_crypto::{BodyEncoding, Envelope, SealContext, SealedSecret, random_secret};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use secrecy::{ExposeSecret, SecretBox};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::erasure::ErasureId;

/// Domain separation of the lookup hash.
const LOOKUP_DOMAIN: &[u8] = b"rampart-subject-lookup-v1\0";
/// Domain separation of the associated data of sealed personal data.
const PERSONAL_AAD: &[u8] = b"rampart-personal-v1\0";
/// The envelope version of sealed personal data.
const PERSONAL_VERSION: u32 = 1;
/// The envelope text's start for that version.
const ENVELOPE_PREFIX: &str = "rampart:v1:";
/// Length of the AES-GCM tag.
const TAG_LEN: usize = 16;
/// Longest subject id (as the audit entry's `subject_id`).
pub const MAX_SUBJECT_ID_LEN: usize = 256;

/// Why personal data could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The operating system's random generator failed.
    #[error("the random generator failed")]
    Random,
    /// The sealed text is not a `rampart:v1:` envelope.
    #[error("sealed personal data is not a rampart:v1 envelope")]
    Format,
    /// The sealed data does not open under this key (another key, or altered).
    #[error("sealed personal data does not open under its subject key")]
    Authentication,
}

crate::ids::prefixed_id!(
    /// A subject key's id, `sk_` and 32 hex digits: random, so it says nothing about the subject.
    SubjectKeyId,
    "sk"
);

/// The keyed hash under which a subject's key and consents are found.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubjectLookup(pub [u8; 32]);

impl fmt::Debug for SubjectLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectLookup({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// The secret key of the lookup hash (HMAC-SHA256), stored sealed by the KEK as
/// [`LookupKey::SECRET_NAME`].
pub struct LookupKey(hmac::Key);

impl fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LookupKey([REDACTED])")
    }
}

impl LookupKey {
    /// The name of the sealed secret.
    pub const SECRET_NAME: &'static str = "subject_lookup_key";

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The lookup hash of `subject_id`.
    pub fn lookup(&self, subject_id: &str) -> SubjectLookup {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(LOOKUP_DOMAIN);
        context.update(subject_id.as_bytes());
        let tag = context.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        SubjectLookup(out)
    }
}

/// The plain SHA-256 of a subject id, in hex: how certificates name the subject.
pub fn subject_id_sha256(subject_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, subject_id.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `subject_id` is acceptable: 1 to [`MAX_SUBJECT_ID_LEN`] bytes, no control
/// characters. The message never quotes the id.
pub fn check_subject_id(subject_id: &str) -> Result<(), &'static str> {
    if subject_id.is_empty() || subject_id.len() > MAX_SUBJECT_ID_LEN {
        return Err("a subject id has 1 to 256 bytes");
    }
    if subject_id.chars().any(char::is_control) {
        return Err("a subject id has no control characters");
    }
    Ok(())
}

/// One subject's key, in the clear (only in memory).
pub struct SubjectKey {
    id: SubjectKeyId,
    material: SecretBox<[u8; 32]>,
    /// The associated data of everything it seals: the domain and the key id.
    aad: Vec<u8>,
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectKey({}, [REDACTED])", self.id)
    }
}

impl SubjectKey {
    /// A new random key.
    pub fn generate() -> Result<Self, SealError> {
        let material = random_secret::<32>().map_err(|_| SealError::Random)?;
        Ok(Self::from_parts(SubjectKeyId::generate(), &material))
    }

    /// A key from its id and 32 bytes (as opened from storage).
    pub fn from_parts(id: SubjectKeyId, material: &[u8; 32]) -> Self {
        let mut aad = PERSONAL_AAD.to_vec();
        aad.extend_from_slice(id.as_str().as_bytes());
        Self {
            id,
            material: SecretBox::new(Box::new(*material)),
            aad,
        }
    }

    /// The key's id.
    pub fn id(&self) -> &SubjectKeyId {
        &self.id
    }

    /// The key's bytes, to seal them under the KEK.
    pub fn material(&self) -> &[u8; 32] {
        self.material.expose_secret()
    }

    /// Under which name the KEK seals this key.
    pub fn seal_context(&self) -> SealContext {
        seal_context(&self.id)
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is exactly what AES-256-GCM takes.
        let unbound = UnboundKey::new(&AES_256_GCM, self.material.expose_secret())
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key"));
        LessSafeKey::new(unbound)
    }

    fn aad(&self) -> &[u8] {
        &self.aad
    }

    /// Seals `plaintext` (the personal data's JSON): `rampart:v1:…`. One buffer holds
    /// `nonce || ciphertext || tag`, encoded straight into the envelope text.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        self.seal_with(plaintext, &mut Nonces::new(1)?)
    }

    /// [`SubjectKey::seal`] with a nonce taken from `nonces` (one read of the system's random
    /// generator for a whole batch instead of one per entry).
    pub fn seal_with(&self, plaintext: &[u8], nonces: &mut Nonces) -> Result<String, SealError> {
        let nonce = nonces.next()?;
        let mut body = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        body.extend_from_slice(&nonce);
        body.extend_from_slice(plaintext);
        let tag = self
            .aead()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad()),
                body.get_mut(NONCE_LEN..).unwrap_or_default(),
            )
            .map_err(|_| SealError::Random)?;
        body.extend_from_slice(tag.as_ref());
        let mut text = String::with_capacity(ENVELOPE_PREFIX.len() + body.len().div_ceil(3) * 4);
        text.push_str(ENVELOPE_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&body, &mut text);
        zeroize::Zeroize::zeroize(&mut body);
        Ok(text)
    }

    /// Opens what [`SubjectKey::seal`] made.
    pub fn open(&self, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let envelope =
            Envelope::parse(sealed, BodyEncoding::UrlSafe).map_err(|_| SealError::Format)?;
        if envelope.version != PERSONAL_VERSION || envelope.body.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Format);
        }
        let (nonce, ciphertext) = envelope.body.split_at(NONCE_LEN);
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        let mut in_out = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(self.aad()),
                &mut in_out,
            )
            .map_err(|_| SealError::Authentication)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }
}

/// Random 96-bit nonces read from the system's generator in one go, each handed out once.
pub struct Nonces {
    bytes: Zeroizing<Vec<u8>>,
    taken: usize,
}

impl Nonces {
    /// Nonces for `count` seals (at least one).
    pub fn new(count: usize) -> Result<Self, SealError> {
        let mut bytes = Zeroizing::new(vec![0u8; count.max(1) * NONCE_LEN]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| SealError::Random)?;
        Ok(Self { bytes, taken: 0 })
    }

    /// The next unused nonce; more than asked for are read afresh.
    fn next(&mut self) -> Result<[u8; NONCE_LEN], SealError> {
        if self.taken + NONCE_LEN > self.bytes.len() {
            *self = Self::new(self.bytes.len() / NONCE_LEN)?;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(
            self.bytes
                .get(self.taken..self.taken + NONCE_LEN)
                .ok_or(SealError::Random)?,
        );
        self.taken += NONCE_LEN;
        Ok(nonce)
    }
}

/// Under which name the KEK seals the key `id`.
pub fn seal_context(id: &SubjectKeyId) -> SealContext {
    SealContext::new(format!("subject_key/{id}"), 1)
}

/// A subject key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubjectKey {
    /// The key's id.
    pub id: SubjectKeyId,
    /// The subject's lookup hash; `None` once the key is destroyed (nothing then links the
    /// row to the subject).
    pub lookup: Option<SubjectLookup>,
    /// The key sealed by the KEK; `None` once destroyed.
    pub sealed: Option<SealedSecret>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When erasure destroyed it.
    pub destroyed_at: Option<OffsetDateTime>,
    /// The erasure that destroyed it.
    pub erasure_id: Option<ErasureId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_personal_data_opens_with_its_key_only() {
        let key = SubjectKey::generate().expect("rng");
        let sealed = key.seal(br#"{"email":"a@example.com"}"#).expect("seals");
        assert!(sealed.starts_with("rampart:v1:"));
        assert!(!sealed.contains("example"));
        assert_eq!(
            key.open(&sealed).expect("opens").as_slice(),
            br#"{"email":"a@example.com"}"#
        );
        let other = SubjectKey::generate().expect("rng");
        assert_eq!(other.open(&sealed), Err(SealError::Authentication));
        // The same bytes under another key id do not open either (the id is associated data).
        let renamed = SubjectKey::from_parts(SubjectKeyId::generate(), key.material());
        assert_eq!(renamed.open(&sealed), Err(SealError::Authentication));
    }

    #[test]
    fn batch_nonces_are_never_reused_even_past_the_count() {
        let key = SubjectKey::generate().expect("rng");
        let mut nonces = Nonces::new(3).expect("rng");
        let sealed: Vec<String> = (0..10)
            .map(|_| key.seal_with(b"same", &mut nonces).expect("seals"))
            .collect();
        let distinct: std::collections::HashSet<&str> =
            sealed.iter().map(|s| s.get(..27).expect("long")).collect();
        assert_eq!(distinct.len(), 10, "each seal has its own nonce");
        assert!(sealed.iter().all(|s| key.open(s).is_ok()));
    }

    #[test]
    fn malformed_sealed_text_is_refused() {
        let key = SubjectKey::generate().expect("rng");
        for bad in [
            "",
            "rampart:v1:",
            "rampart:v2:AAAA",
            "plain",
            "rampart:v1:!!!!",
        ] {
            assert!(key.open(bad).is_err(), "{bad}");
        }
        // The last character changed (to another one: `A` when it was `A` would change nothing).
        let mut sealed = key.seal(b"{}").expect("seals");
        let last = sealed.pop();
        sealed.push(if last == Some('A') { 'B' } else { 'A' });
        assert!(key.open(&sealed).is_err());
    }

    #[test]
    fn lookups_are_keyed_and_stable() {
        let a = LookupKey::from_bytes(&[1; 32]);
        let b = LookupKey::from_bytes(&[2; 32]);
        assert_eq!(a.lookup("user-1"), a.lookup("user-1"));
        assert_ne!(a.lookup("user-1"), a.lookup("user-2"));
        assert_ne!(a.lookup("user-1"), b.lookup("user-1"));
        assert!(!format!("{:?}", a.lookup("user-1")).contains("user"));
    }

    #[test]
    fn key_ids_and_subject_ids_are_checked() {
        let id = SubjectKeyId::generate();
        assert_eq!(SubjectKeyId::parse(id.as_str()), Some(id));
        for bad in ["", "sk_", "sk_XYZ", "era_0123456789abcdef0123456789abcdef"] {
            assert_eq!(SubjectKeyId::parse(bad), None, "{bad}");
        }
        assert!(check_subject_id("user-1").is_ok());
        assert!(check_subject_id("").is_err());
        assert!(check_subject_id(&"x".repeat(257)).is_err());
        assert!(check_subject_id("a\nb").is_err());
        assert_eq!(
            subject_id_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_output_holds_no_key_material() {
        let key = SubjectKey::from_parts(SubjectKeyId::generate(), &[0x41; 32]);
        assert!(!format!("{key:?}").contains("65, 65"));
        assert!(!format!("{:?}", LookupKey::from_bytes(&[7; 32])).contains('7'));
    }
}
