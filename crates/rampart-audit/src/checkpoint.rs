//! Signed checkpoints in the C2SP formats: tlog-checkpoint bodies signed as signed notes with
//! Ed25519, and the note verifier key string.
//!
//! Body: `<origin>\n<size>\n<base64 root>\n`. Signature line: `— <name> <base64(key id ||
//! signature)>\n` after a blank line. Key id: the first 4 bytes of SHA-256(name || "\n" || 0x01
//! || public key). Verifier key: `<name>+<hex key id>+<base64(0x01 || public key)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _};
use secrecy::{ExposeSecret, SecretBox};

use crate::tree::Hash;

/// Ed25519's signature-type byte in C2SP signed notes.
const ED25519_TYPE: u8 = 0x01;
/// The em dash that starts a signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a note or key does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not in the signed-note format.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The verifier key string is not valid.
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
    /// No signature line by this key.
    #[error("the note carries no signature by key {key_name}")]
    NoSignature {
        /// The key's name.
        key_name: String,
    },
    /// The signature does not verify.
    #[error("the checkpoint signature does not verify")]
    BadSignature,
    /// The key seed is not 32 bytes.
    #[error("invalid signing key")]
    BadSigningKey,
}

/// A checkpoint: the log's origin, a tree size and the root at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (unique name of the log).
    pub origin: String,
    /// Number of leaves.
    pub tree_size: u64,
    /// Root hash at that size.
    pub root_hash: Hash,
}

impl Checkpoint {
    /// The tlog-checkpoint note body that gets signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root_hash)
        )
    }

    /// Parses a note body.
    pub fn parse_body(body: &str) -> Result<Self, NoteError> {
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(NoteError::Malformed("no origin line"))?;
        let size = lines
            .next()
            .and_then(|l| (!(l.starts_with('+') || l.len() > 1 && l.starts_with('0'))).then_some(l))
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or(NoteError::Malformed(
                "the size line is not a decimal number",
            ))?;
        let root: Hash = lines
            .next()
            .and_then(|l| STANDARD.decode(l).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or(NoteError::Malformed(
                "the root line is not base64 of 32 bytes",
            ))?;
        Ok(Self {
            origin: origin.to_owned(),
            tree_size: size,
            root_hash: root,
        })
    }
}

fn key_id(name: &str, public_key: &[u8]) -> [u8; 4] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(name.as_bytes());
    context.update(b"\n");
    context.update(&[ED25519_TYPE]);
    context.update(public_key);
    let digest = context.finish();
    let mut id = [0u8; 4];
    id.copy_from_slice(digest.as_ref().get(..4).unwrap_or(&[0; 4]));
    id
}

/// The log's signing key. Its seed is stored sealed by the KEK.
pub struct LogSigner {
    name: String,
    seed: SecretBox<[u8; 32]>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogSigner({}, [REDACTED])", self.name)
    }
}

impl LogSigner {
    /// Name under which the sealed seed is stored.
    pub const SECRET_NAME: &'static str = "audit_signing_key";

    /// The signer for key `name` (the log's origin) from a 32-byte seed.
    pub fn from_seed(name: &str, seed: &[u8]) -> Result<Self, NoteError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| NoteError::BadSigningKey)?;
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| NoteError::BadSigningKey)?;
        Ok(Self {
            name: name.to_owned(),
            seed: SecretBox::new(Box::new(seed)),
            pair,
        })
    }

    /// The seed, for sealing.
    pub fn seed(&self) -> &[u8; 32] {
        self.seed.expose_secret()
    }

    /// The public half.
    pub fn verifier(&self) -> LogVerifier {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.pair.public_key().as_ref());
        LogVerifier {
            name: self.name.clone(),
            public_key,
        }
    }

    /// The raw Ed25519 signature of `message` (for signed documents: [`crate::signed`]).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.pair.sign(message).as_ref());
        signature
    }

    /// Signs a checkpoint: the full note text and the raw 64-byte signature.
    pub fn sign(&self, checkpoint: &Checkpoint) -> (String, [u8; 64]) {
        let body = checkpoint.body();
        let signature = self.sign_bytes(body.as_bytes());
        let id = self.verifier().key_id();
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&id);
        blob.extend_from_slice(&signature);
        let note = format!(
            "{body}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        );
        (note, signature)
    }
}

/// The log's public key: verifies checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogVerifier {
    /// Key name (the origin).
    pub name: String,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
}

impl LogVerifier {
    /// The 4-byte C2SP key id.
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public_key)
    }

    /// The C2SP verifier key string `<name>+<hex id>+<base64(0x01 || key)>`.
    pub fn verifier_key(&self) -> String {
        let mut typed = vec![ED25519_TYPE];
        typed.extend_from_slice(&self.public_key);
        let id: String = self.key_id().iter().map(|b| format!("{b:02x}")).collect();
        format!("{}+{id}+{}", self.name, STANDARD.encode(typed))
    }

    /// Parses a verifier key string.
    pub fn parse_verifier_key(text: &str) -> Result<Self, NoteError> {
        // Names never hold '+', base64 key data may: split from the left.
        let mut parts = text.trim().splitn(3, '+');
        let name = parts
            .next()
            .filter(|n| !n.is_empty())
            .ok_or(NoteError::MalformedKey("missing name"))?;
        let id = parts
            .next()
            .ok_or(NoteError::MalformedKey("missing key id"))?;
        let key = parts.next().ok_or(NoteError::MalformedKey("missing key"))?;
        let typed = STANDARD
            .decode(key)
            .map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        let (kind, public_key) = typed
            .split_first()
            .ok_or(NoteError::MalformedKey("empty key"))?;
        if *kind != ED25519_TYPE {
            return Err(NoteError::MalformedKey("not an Ed25519 key"));
        }
        let public_key: [u8; 32] = public_key
            .try_into()
            .map_err(|_| NoteError::MalformedKey("Ed25519 keys are 32 bytes"))?;
        let verifier = Self {
            name: name.to_owned(),
            public_key,
        };
        let expected: String = verifier
            .key_id()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !expected.eq_ignore_ascii_case(id) {
            return Err(NoteError::MalformedKey("the key id does not match the key"));
        }
        Ok(verifier)
    }

    /// The verifier for a raw Ed25519 public key, named as in one of `note`'s signature lines
    /// whose key id matches (the raw key alone does not carry the key's name).
    pub fn for_raw_key(public_key: [u8; 32], note: &str) -> Option<Self> {
        note.lines()
            .filter_map(|line| line.strip_prefix(SIGNATURE_PREFIX))
            .filter_map(|rest| rest.split_once(' '))
            .find_map(|(name, blob)| {
                let blob = STANDARD.decode(blob).ok()?;
                let candidate = Self {
                    name: name.to_owned(),
                    public_key,
                };
                (blob.get(..4) == Some(candidate.key_id().as_slice())).then_some(candidate)
            })
    }

    /// Verifies a raw signature over a note body.
    pub fn verify_body(&self, body: &str, signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(body.as_bytes(), signature)
            .is_ok()
    }

    /// Verifies a signed note and returns the checkpoint it carries.
    pub fn verify_note(&self, note: &str) -> Result<Checkpoint, NoteError> {
        let split = note
            .find("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (body, signatures) = note.split_at(split + 1);
        let signatures = signatures.get(1..).unwrap_or_default();
        let checkpoint = Checkpoint::parse_body(body)?;
        let id = self.key_id();
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
                return Err(NoteError::Malformed(
                    "a signature line does not start with an em dash",
                ));
            };
            let Some((name, blob)) = rest.split_once(' ') else {
                return Err(NoteError::Malformed("a signature line has no signature"));
            };
            if name != self.name {
                continue;
            }
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
            if blob.len() == 68 && blob.get(..4) == Some(id.as_slice()) {
                return if self.verify_body(body, blob.get(4..).unwrap_or_default()) {
                    Ok(checkpoint)
                } else {
                    Err(NoteError::BadSignature)
                };
            }
        }
        Err(NoteError::NoSignature {
            key_name: self.name.clone(),
        })
    }
}

/// A public key as `GET /v1/audit/public-key` gives it and an operator pastes it: the C2SP
/// `verifier_key` string, or the raw `public_key_b64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyText {
    /// A verifier key string (it names the key).
    VerifierKey(LogVerifier),
    /// A raw Ed25519 public key (no name: see [`LogVerifier::for_raw_key`] for notes).
    Raw([u8; 32]),
}

impl PublicKeyText {
    /// Parses either form (surrounding white space ignored).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        if let Ok(verifier) = LogVerifier::parse_verifier_key(text) {
            return Ok(Self::VerifierKey(verifier));
        }
        STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Self::Raw)
            .ok_or(NoteError::MalformedKey(
                "neither a verifier key string nor base64 of 32 bytes",
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LogSigner {
        LogSigner::from_seed("rampart.example/log", &[7; 32]).expect("seed")
    }

    #[test]
    fn notes_sign_and_verify() {
        let checkpoint = Checkpoint {
            origin: "rampart.example/log".into(),
            tree_size: 42,
            root_hash: [9; 32],
        };
        let (note, signature) = signer().sign(&checkpoint);
        let verifier = signer().verifier();
        assert_eq!(verifier.verify_note(&note), Ok(checkpoint.clone()));
        assert!(verifier.verify_body(&checkpoint.body(), &signature));
        assert!(note.starts_with("rampart.example/log\n42\n"));
        assert!(note.contains("\n\n\u{2014} rampart.example/log "));
        // Tampering with the size breaks the signature.
        let forged = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(verifier.verify_note(&forged), Err(NoteError::BadSignature));
        // Another key's verifier finds no signature of its own.
        let other = LogSigner::from_seed("rampart.example/log", &[8; 32])
            .expect("seed")
            .verifier();
        assert!(matches!(
            other.verify_note(&note),
            Err(NoteError::NoSignature { .. })
        ));
    }

    #[test]
    fn verifier_keys_with_plus_signs_in_their_base64_parse() {
        // A right-to-left split breaks on keys whose base64 holds '+': find such a key.
        let signer = (0u8..=255)
            .map(|seed| LogSigner::from_seed("rampart.example/log", &[seed; 32]).expect("seed"))
            .find(|s| {
                let text = s.verifier().verifier_key();
                text.splitn(3, '+')
                    .nth(2)
                    .is_some_and(|key| key.contains('+'))
            })
            .expect("some key has a plus sign");
        let text = signer.verifier().verifier_key();
        assert_eq!(
            LogVerifier::parse_verifier_key(&text),
            Ok(signer.verifier())
        );
    }

    #[test]
    fn verifier_keys_round_trip_and_reject_mismatched_ids() {
        let verifier = signer().verifier();
        let text = verifier.verifier_key();
        assert_eq!(LogVerifier::parse_verifier_key(&text), Ok(verifier.clone()));
        let mut bad = text.clone();
        bad.replace_range(
            text.find('+').map_or(0, |i| i + 1)..text.find('+').map_or(0, |i| i + 3),
            "00",
        );
        if bad != text {
            assert!(LogVerifier::parse_verifier_key(&bad).is_err());
        }
        assert!(LogVerifier::parse_verifier_key("nonsense").is_err());
    }

    #[test]
    fn public_keys_are_read_in_either_form() {
        let verifier = signer().verifier();
        assert_eq!(
            PublicKeyText::parse(&format!(" {}\n", verifier.verifier_key())),
            Ok(PublicKeyText::VerifierKey(verifier.clone()))
        );
        assert_eq!(
            PublicKeyText::parse(&STANDARD.encode(verifier.public_key)),
            Ok(PublicKeyText::Raw(verifier.public_key))
        );
        assert!(PublicKeyText::parse(&STANDARD.encode([1u8; 31])).is_err());
        assert!(PublicKeyText::parse("nonsense").is_err());
    }

    #[test]
    fn bodies_reject_malformed_sizes_and_roots() {
        assert!(Checkpoint::parse_body("o\n012\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("o\n-1\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("o\n1\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("\n1\nAAAA\n").is_err());
    }
}
