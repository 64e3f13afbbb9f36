//! The writes the keys service and the card vault make: each one is handed to a
//! [`Journal`](rampart_audit::Journal), which commits it in the transaction of the audit entry
//! that records it. A change may carry a precondition; when it no longer holds, nothing is
//! written and the journal answers `Refused`.

use crate::{CardRecord, KeyUpdate, NewKey, SealedSecret};

/// One write to named keys or stored cards; see the module documentation.
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// A new named key with its first version (refused when the name is taken).
    CreateKey(NewKey),
    /// Adds version `expected_latest + 1` to a key (refused when another writer rotated it
    /// since `expected_latest` was read).
    AddKeyVersion {
        /// The key.
        name: String,
        /// The latest version the caller saw.
        expected_latest: u32,
        /// The new version's material, sealed by the KEK.
        sealed: SealedSecret,
        /// Creation time, microseconds since the Unix epoch.
        created_at: i64,
    },
    /// Changes a key's settings (refused when there is no such key, or when it would lower
    /// `min_decryption_version` without `allow_lowering`, e.g. raised meanwhile).
    UpdateKey {
        /// The key.
        name: String,
        /// What changes.
        update: KeyUpdate,
        /// The time of the change, microseconds since the Unix epoch.
        updated_at: i64,
    },
    /// Tokenized cards, all or none.
    InsertCards(Vec<CardRecord>),
}

impl KeyChange {
    /// Why the change is refused when its precondition does not hold.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::CreateKey(_) => "a key with that name already exists",
            Self::AddKeyVersion { .. } => "the key was rotated meanwhile",
            Self::UpdateKey { .. } => {
                "the key is gone, or its minimum decryption version was raised meanwhile"
            }
            Self::InsertCards(_) => "the change did not apply",
        }
    }

    /// The name of the key the change is about (`rampart.cards` for stored cards).
    pub fn key_name(&self) -> &str {
        match self {
            Self::CreateKey(key) => &key.name,
            Self::AddKeyVersion { name, .. } | Self::UpdateKey { name, .. } => name,
            Self::InsertCards(_) => crate::keys_service::CARDS_KEY,
        }
    }
}
