//! The card vault: PANs stored only as AES-256-GCM ciphertexts of the internal key
//! `rampart.cards` (bound to their token as associated data, so a ciphertext moved to another
//! row does not open), a keyed-HMAC fingerprint so equal PANs match without being stored in
//! clear, and the re-encryption of every stored PAN after the cards key rotates.

use std::error::Error as StdError;
use std::sync::Arc;

use rampart_access::{Granted, perm};
use rampart_audit::{Journal, JournalError};
use rampart_privacy::Pan;
use secrecy::{ExposeSecret, SecretBox};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::keys_service::{CARDS_KEY, KeyError, KeyService, LoadedKey, micros};
use crate::{
    CardRecord, CardStore, KeyChange, KeyOpError, KeyStore, KeyType, Keyring, hmac_sha256,
};

/// Name of the sealed secret that keys card fingerprints.
pub const FINGERPRINT_SECRET: &str = "card_fingerprint_key";

/// What went wrong in the vault. Messages never carry a PAN.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The keys service failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A stored ciphertext did not decrypt (tampering or a lost key version).
    #[error("a stored card ciphertext does not decrypt: {0}")]
    Crypto(#[from] KeyOpError),
    /// The cards were not recorded (the audit log refused or is unavailable).
    #[error(transparent)]
    Journal(JournalError),
    /// Storage failed.
    #[error("card storage failed: {0}")]
    Storage(#[source] Box<dyn StdError + Send + Sync>),
    /// The random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl VaultError {
    fn storage(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(error))
    }
}

/// A detokenized card.
pub struct CardData {
    /// The PAN digits.
    pub pan: Zeroizing<String>,
    /// The expiry, if one was stored.
    pub expiry: Option<Zeroizing<String>>,
    /// The stored record (no clear PAN in it).
    pub record: CardRecord,
}

/// Progress of a re-encryption run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewrapProgress {
    /// Cards re-encrypted so far.
    pub done: u64,
    /// Cards still under an older version when the run started.
    pub total: u64,
    /// Cards that could not be re-encrypted (see the log for their tokens).
    pub failed: u64,
}

/// The card vault; see the module documentation.
pub struct CardVault<S> {
    keys: Arc<KeyService<S>>,
    store: S,
    fingerprint_key: SecretBox<[u8]>,
}

const TOKEN_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `tok_` and 24 random base62 characters (about 143 bits).
fn new_token() -> Result<String, VaultError> {
    let mut token = String::from("tok_");
    while token.len() < 28 {
        let bytes = crate::random_secret::<32>().map_err(|_| VaultError::Random)?;
        for b in bytes.iter() {
            // 62 * 4 = 248: values above are dropped so every character is equally likely.
            if *b < 248 && token.len() < 28 {
                let c = TOKEN_ALPHABET
                    .get(usize::from(*b % 62))
                    .copied()
                    .unwrap_or(b'0');
                token.push(char::from(c));
            }
        }
    }
    Ok(token)
}

/// Whether `token` looks like a vault token (checked before any lookup).
pub fn plausible_token(token: &str) -> bool {
    token.len() == 28
        && token.starts_with("tok_")
        && token.bytes().skip(4).all(|b| b.is_ascii_alphanumeric())
}

fn expiry_aad(token: &str) -> Vec<u8> {
    let mut aad = token.as_bytes().to_vec();
    aad.extend_from_slice(b"/expiry");
    aad
}

impl<S> CardVault<S>
where
    S: KeyStore + CardStore + Sync,
    <S as KeyStore>::Error: StdError + Send + Sync + 'static,
    <S as CardStore>::Error: StdError + Send + Sync + 'static,
{
    /// A vault over the keys service; `fingerprint_key` comes sealed from the deployment.
    pub fn new(keys: Arc<KeyService<S>>, store: S, fingerprint_key: SecretBox<[u8]>) -> Self {
        Self {
            keys,
            store,
            fingerprint_key,
        }
    }

    /// The fingerprint of a PAN: hex HMAC-SHA256 under the deployment's fingerprint key.
    pub fn fingerprint(&self, pan: &Pan) -> String {
        hmac_sha256(
            self.fingerprint_key.expose_secret(),
            pan.digits().as_bytes(),
        )
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
    }

    /// Tokenizes a card for a caller: a new token, the PAN (and expiry) sealed by the cards key,
    /// linked to the data subject `subject_id` if one is given, stored through `journal` with
    /// the audit entry that records it. Each call makes a new token; equal PANs share their
    /// fingerprint, whatever their subjects.
    pub async fn tokenize(
        &self,
        _granted: Granted<perm::CardsTokenize>,
        pan: &Pan,
        expiry: Option<&str>,
        subject_id: Option<&str>,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<CardRecord, VaultError> {
        let key = self.cards_key(now).await?;
        let record = CardRecord {
            subject_id: subject_id.map(str::to_owned),
            ..self.seal_card(&key.ring, pan, expiry, now)?
        };
        journal
            .commit(KeyChange::InsertCards(vec![record.clone()]))
            .await
            .map_err(VaultError::Journal)?;
        Ok(record)
    }

    /// The cards key (`rampart.cards`), created on first use.
    pub async fn cards_key(&self, now: OffsetDateTime) -> Result<Arc<LoadedKey>, KeyError> {
        self.keys
            .ensure_internal(CARDS_KEY, KeyType::Aes256Gcm, now)
            .await
    }

    /// Stores cards sealed by [`CardVault::seal_card`] in one transaction: all or none. Until
    /// it commits, their tokens name nothing.
    pub async fn store_cards(&self, cards: &[CardRecord]) -> Result<(), VaultError> {
        if cards.is_empty() {
            return Ok(());
        }
        self.store
            .insert_cards(cards)
            .await
            .map_err(VaultError::storage)
    }

    /// A new token and the card's record under `ring` (the cards key), without storing it or
    /// linking it to a data subject.
    pub fn seal_card(
        &self,
        ring: &Keyring,
        pan: &Pan,
        expiry: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<CardRecord, VaultError> {
        let token = new_token()?;
        let (pan_ciphertext, version) =
            ring.encrypt_at(pan.digits().as_bytes(), Some(token.as_bytes()), unix(now))?;
        let expiry_ciphertext = match expiry {
            Some(expiry) => Some(
                ring.encrypt_at(expiry.as_bytes(), Some(&expiry_aad(&token)), unix(now))?
                    .0,
            ),
            None => None,
        };
        Ok(CardRecord {
            fingerprint: self.fingerprint(pan),
            brand: pan.brand().to_owned(),
            last_four: pan.last_four().to_owned(),
            pan_ciphertext,
            expiry_ciphertext,
            key_version: version,
            created_at: micros(now),
            token,
            subject_id: None,
        })
    }

    /// The card behind `token`, decrypted, for a caller allowed to detokenize; `None` for an
    /// unknown token (or a value that is not token-shaped, which is never looked up).
    pub async fn detokenize(
        &self,
        _granted: Granted<perm::CardsDetokenize>,
        token: &str,
    ) -> Result<Option<CardData>, VaultError> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let Some(record) = self
            .store
            .find_card(token)
            .await
            .map_err(VaultError::storage)?
        else {
            return Ok(None);
        };
        let key = self
            .keys
            .get_for_version(CARDS_KEY, Some(record.key_version))
            .await?;
        let (pan, _) = key
            .ring
            .decrypt(&record.pan_ciphertext, Some(token.as_bytes()), None)?;
        let expiry = match &record.expiry_ciphertext {
            Some(ciphertext) => {
                let (plain, _) = key
                    .ring
                    .decrypt(ciphertext, Some(&expiry_aad(token)), None)?;
                Some(Zeroizing::new(String::from_utf8_lossy(&plain).into_owned()))
            }
            None => None,
        };
        Ok(Some(CardData {
            pan: Zeroizing::new(String::from_utf8_lossy(&pan).into_owned()),
            expiry,
            record,
        }))
    }

    /// Re-encrypts every card under the latest version of the cards key, in batches of
    /// `batch` cards per transaction, calling `progress` after each. A crash loses at most the
    /// batch in flight: a new run picks up what is still under an old version. A card that does
    /// not decrypt (tampered, or under a version below `min_decryption_version`) is skipped and
    /// counted in `failed`, so one bad row cannot stop the run.
    pub async fn rewrap_all(
        &self,
        batch: u32,
        mut progress: impl FnMut(RewrapProgress),
    ) -> Result<RewrapProgress, VaultError> {
        let key = self.keys.reload(CARDS_KEY).await?;
        let latest = key.ring.latest_version();
        let mut state = RewrapProgress {
            total: self
                .store
                .count_cards_below(latest)
                .await
                .map_err(VaultError::storage)?,
            ..RewrapProgress::default()
        };
        progress(state);
        let mut after: Option<String> = None;
        loop {
            let cards = self
                .store
                .cards_below(latest, after.as_deref(), batch.max(1))
                .await
                .map_err(VaultError::storage)?;
            let Some(last) = cards.last() else { break };
            after = Some(last.token.clone());
            let mut updated = Vec::with_capacity(cards.len());
            for card in cards {
                match rewrap_card(&key.ring, &card, latest) {
                    Ok(new) => updated.push((new, card.key_version)),
                    Err(e) => {
                        // The token identifies the row for the operator; the error names no PAN.
                        tracing::warn!(token = %card.token, error = %e, "card not rewrapped");
                        state.failed += 1;
                    }
                }
            }
            state.done += self
                .store
                .replace_card_ciphertexts(&updated)
                .await
                .map_err(VaultError::storage)?;
            state.total = state.total.max(state.done + state.failed);
            progress(state);
        }
        Ok(state)
    }
}

fn rewrap_card(ring: &Keyring, card: &CardRecord, latest: u32) -> Result<CardRecord, KeyOpError> {
    let token = card.token.as_str();
    let pan_ciphertext = ring.rewrap(&card.pan_ciphertext, Some(token.as_bytes()))?.0;
    let expiry_ciphertext = match &card.expiry_ciphertext {
        Some(ciphertext) => Some(ring.rewrap(ciphertext, Some(&expiry_aad(token)))?.0),
        None => None,
    };
    Ok(CardRecord {
        pan_ciphertext,
        expiry_ciphertext,
        key_version: latest,
        ..card.clone()
    })
}

/// `now` in Unix seconds, as a Fernet timestamp (the cards key is AES-256-GCM, which ignores it).
fn unix(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp()).unwrap_or(0)
}

/// Whole field names (compared without case, `_`, `-` or spaces) that hold card security codes
/// or PINs, which PCI DSS forbids storing after authorization.
const FORBIDDEN_NAMES: &[&str] = &[
    "cid",
    "csc",
    "cav2",
    "cvn",
    "pin",
    "pinblock",
    "pincode",
    "pinnumber",
    "cardpin",
];

/// Parts of field names that mark a security code wherever they occur.
const FORBIDDEN_PARTS: &[&str] = &[
    "cvv",
    "cvc",
    "securitycode",
    "verificationcode",
    "verificationvalue",
];

/// Whether a request field `name` holds a card security code or PIN (compared without case,
/// `_`, `-` or spaces): PCI DSS 3.3.1 forbids storing them after authorization, so the vault
/// refuses any request that carries one.
pub fn is_security_code_field(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    FORBIDDEN_NAMES.contains(&folded.as_str())
        || FORBIDDEN_PARTS.iter().any(|part| folded.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_base62_and_recognized() {
        let a = new_token().expect("rng");
        let b = new_token().expect("rng");
        assert_ne!(a, b);
        assert!(plausible_token(&a), "{a}");
        assert!(!plausible_token("tok_short"));
        assert!(!plausible_token("tik_aaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!plausible_token("tok_aaaaaaaaaaaaaaaaaaaaaa-a"));
    }
}
