//! The keys service at the edge: a request's [`KeyJournal`]. The service itself is
//! `rampart_crypto::KeyService`, bound to the store in `rampart_app::services` (with the journal
//! of Rampart's own changes and the maintenance tick), re-exported here.

use http::StatusCode;
use rampart_audit::{Journal, JournalError};

pub use rampart_app::services::{
    CACHE_TTL, CARDS_KEY, INTERNAL_PREFIX, KeyChange, KeyError, KeyService, LoadedKey,
    MAX_ROTATION_PERIOD_DAYS, SystemJournal, is_internal, maintenance_tick, valid_key_name,
};

use crate::http::audit_trail::{AuditSlot, RequestJournal};
use crate::http::auth::Caller;
use crate::state::AppState;

/// The journal of a request that changes keys or cards: adds what the change says (versions,
/// the token and brand of a card, and its data subject as the entry's `subject_id`; never a
/// value) to the request's audit entry, then commits the change with it.
pub struct KeyJournal<'a> {
    slot: &'a AuditSlot,
    inner: RequestJournal<'a>,
}

impl<'a> KeyJournal<'a> {
    /// The journal of the request `slot` belongs to, answered with `status` on success.
    pub fn new(
        slot: &'a AuditSlot,
        state: &'a AppState,
        caller: &'a Caller,
        status: StatusCode,
    ) -> Self {
        Self {
            slot,
            inner: slot.journal(state, caller, status),
        }
    }
}

impl Journal<KeyChange> for KeyJournal<'_> {
    async fn commit(&self, change: KeyChange) -> Result<(), JournalError> {
        match &change {
            KeyChange::AddKeyVersion {
                expected_latest, ..
            } => self
                .slot
                .detail("latest_version", expected_latest.saturating_add(1)),
            KeyChange::InsertCards(cards) => {
                if let [card] = cards.as_slice() {
                    self.slot.note("cards.tokenize", "card", &card.token);
                    self.slot.detail("brand", card.brand.clone());
                    self.slot.detail("last_four", card.last_four.clone());
                    self.slot.detail("key_version", card.key_version);
                    // The link is the entry's own `subject_id`, never a detail.
                    if let Some(subject_id) = &card.subject_id {
                        self.slot.subject(subject_id);
                    }
                }
            }
            KeyChange::CreateKey(_) | KeyChange::UpdateKey { .. } => {}
        }
        self.inner.commit(change).await
    }
}
