//! What the keys service and the card vault need from storage, implemented by `rampart-store`
//! for each backend. Key material is stored only sealed (see [`crate::SealedSecret`]); these
//! records carry metadata and ciphertexts, never plaintext.

use std::future::Future;

use crate::{KeyType, SealedSecret};

/// The name under which version material of key `name` is sealed (`key/<name>`).
pub fn sealed_key_name(name: &str) -> String {
    format!("key/{name}")
}

/// A key's metadata with every version's sealed material, oldest first.
pub type SealedKey = (KeyRecord, Vec<(u32, SealedSecret)>);

/// Metadata of one named key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's name.
    pub name: String,
    /// The key's type.
    pub key_type: KeyType,
    /// The version that encrypts and signs.
    pub latest_version: u32,
    /// The lowest version that may decrypt or verify.
    pub min_decryption_version: u32,
    /// Days between automatic rotations, if any.
    pub rotation_period_days: Option<u32>,
    /// Creation time, microseconds since the Unix epoch.
    pub created_at: i64,
    /// Every version, oldest first.
    pub versions: Vec<KeyVersionRecord>,
    /// The team the key belongs to: only its members (or roles that bypass team isolation)
    /// use it. `None`: any caller with the permission.
    pub team_id: Option<String>,
}

impl KeyRecord {
    /// When the latest version was created (microseconds since the epoch).
    pub fn latest_created_at(&self) -> i64 {
        self.versions
            .iter()
            .find(|v| v.version == self.latest_version)
            .map_or(self.created_at, |v| v.created_at)
    }

    /// When the next automatic rotation is due (microseconds), if the key rotates by period.
    pub fn next_rotation_at(&self) -> Option<i64> {
        let days = i64::from(self.rotation_period_days?);
        self.latest_created_at()
            .checked_add(days.checked_mul(86_400_000_000)?)
    }
}

/// Metadata of one key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersionRecord {
    /// The version number, from 1.
    pub version: u32,
    /// Creation time, microseconds since the Unix epoch.
    pub created_at: i64,
    /// Encryptions counted so far.
    pub encryptions: u64,
}

/// A new key with its first version.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The key's name.
    pub name: String,
    /// The key's type.
    pub key_type: KeyType,
    /// Days between automatic rotations, if any.
    pub rotation_period_days: Option<u32>,
    /// Creation time, microseconds since the Unix epoch.
    pub created_at: i64,
    /// Version 1, sealed under `sealed_key_name(name)` version 1.
    pub first_version: SealedSecret,
    /// Versions 2, 3, … when the key is imported with several (each sealed under its version);
    /// the last is the latest.
    pub later_versions: Vec<SealedSecret>,
    /// The team the key belongs to, if any.
    pub team_id: Option<String>,
}

/// A change to a key's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    /// A new `min_decryption_version`.
    pub min_decryption_version: Option<u32>,
    /// A new rotation period (`Some(None)` turns automatic rotation off).
    pub rotation_period_days: Option<Option<u32>>,
    /// Whether `min_decryption_version` may go below the stored minimum (reviving retired
    /// versions). Without it the store applies a lower minimum to nothing (compare-and-set), so
    /// a concurrent raise is never undone by accident.
    pub allow_lowering: bool,
}

/// A tokenized card as stored: the PAN only as a ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRecord {
    /// The token (`tok_…`).
    pub token: String,
    /// Keyed HMAC of the PAN, hex.
    pub fingerprint: String,
    /// Card brand.
    pub brand: String,
    /// Last four digits.
    pub last_four: String,
    /// The PAN, encrypted by the internal cards key (`rampart:v<version>:…`).
    pub pan_ciphertext: String,
    /// The expiry, encrypted likewise, if one was given.
    pub expiry_ciphertext: Option<String>,
    /// The cards-key version of both ciphertexts.
    pub key_version: u32,
    /// Creation time, microseconds since the Unix epoch.
    pub created_at: i64,
    /// The data subject (GDPR) the application linked the card to, if any: erasing the subject
    /// deletes the card, and the subject's export lists its token. Checked where it is received
    /// (1 to 256 bytes, no control characters).
    pub subject_id: Option<String>,
}

/// Storage of named keys.
pub trait KeyStore {
    /// The backend's error.
    type Error;

    /// Creates a key with its first version; `false` if the name is taken.
    fn create_key(&self, key: &NewKey) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// A key's metadata and every version's sealed material, oldest first.
    fn load_key(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<SealedKey>, Self::Error>> + Send;

    /// A key's metadata alone.
    fn key_record(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<KeyRecord>, Self::Error>> + Send;

    /// Keys by name after `after`, at most `limit`.
    fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, Self::Error>> + Send;

    /// Adds version `expected_latest + 1` if the latest is still `expected_latest`; `false` when
    /// another writer rotated first (the caller reloads and decides again).
    fn add_version(
        &self,
        name: &str,
        expected_latest: u32,
        sealed: &SealedSecret,
        created_at: i64,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Applies `update`; `None` if there is no such key.
    fn update_key(
        &self,
        name: &str,
        update: &KeyUpdate,
        updated_at: i64,
    ) -> impl Future<Output = Result<Option<KeyRecord>, Self::Error>> + Send;

    /// Adds counted encryptions to the stored totals.
    fn add_encryptions(
        &self,
        name: &str,
        counts: &[(u32, u64)],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Storage of tokenized cards.
pub trait CardStore {
    /// The backend's error.
    type Error;

    /// Stores a new card.
    fn insert_card(
        &self,
        card: &CardRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Stores new cards in one transaction: all of them or (on any failure, or if the future
    /// is dropped before it completes) none.
    fn insert_cards(
        &self,
        cards: &[CardRecord],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The card behind a token.
    fn find_card(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<CardRecord>, Self::Error>> + Send;

    /// How many cards are encrypted under a version below `version`.
    fn count_cards_below(
        &self,
        version: u32,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Up to `limit` cards encrypted under a version below `version`, by token, after the token
    /// `after` when given.
    fn cards_below(
        &self,
        version: u32,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<CardRecord>, Self::Error>> + Send;

    /// Replaces the ciphertexts of re-encrypted cards in one transaction, each only if it is
    /// still at the version it was read at; returns how many were replaced.
    fn replace_card_ciphertexts(
        &self,
        cards: &[(CardRecord, u32)],
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}
