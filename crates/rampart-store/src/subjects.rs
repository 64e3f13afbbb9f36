//! [`SubjectStore`] on both backends: subject keys (`subjects/keys.rs`), the consent ledger
//! and its queries (`subjects/consents.rs`), erasures, their confirmations and the one
//! transaction that does Rampart's part of an erasure (`subjects/erasure.rs`).
//!
//! The schema's triggers (migration 0012) hold the rules whatever the callers do: a key is only
//! resealed or destroyed, never deleted; a consent record is only ever changed by erasure, which
//! removes its personal fields once. Times are microseconds; lists and effects are JSON text;
//! lookups are the 32-byte keyed hashes, as BLOB/BYTEA.

use rampart_crypto::SealedSecret;
use rampart_subjects::{
    Confirmation, ConsentFilter, ConsentHolder, ConsentRecord, Erasure, ErasureId, ErasureWrite,
    LinkedCard, LinkedPrincipal, NewConsent, StoredSubjectKey, SubjectKeyId, SubjectLookup,
    SubjectStore,
};
use time::OffsetDateTime;

use crate::{Store, StoreError};

mod consents;
mod erasure;
mod keys;

/// `$start, $start+1, ...` for `count` values, as an `IN (...)` list (both backends take `$N`).
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored lookup hash.
fn lookup_of(bytes: Vec<u8>, what: &'static str) -> Result<SubjectLookup, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(SubjectLookup)
        .map_err(|_| StoreError::Corrupt { what })
}

/// How many rows at most one `IN (...)` list names (SQLite's variable limit is far above).
const IN_CHUNK: usize = 500;

impl SubjectStore for Store {
    type Error = StoreError;

    async fn live_subject_keys(
        &self,
        lookups: &[SubjectLookup],
    ) -> Result<Vec<StoredSubjectKey>, StoreError> {
        self.live_keys(lookups).await
    }

    async fn subject_key(&self, id: &SubjectKeyId) -> Result<Option<StoredSubjectKey>, StoreError> {
        self.key_by_id(id).await
    }

    async fn insert_subject_keys(&self, keys: &[StoredSubjectKey]) -> Result<(), StoreError> {
        self.put_keys(keys).await
    }

    async fn sealed_subject_keys(&self) -> Result<Vec<(SubjectKeyId, SealedSecret)>, StoreError> {
        self.sealed_keys().await
    }

    async fn reseal_subject_key(
        &self,
        id: &SubjectKeyId,
        expected: &SealedSecret,
        resealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        self.reseal_key(id, expected, resealed).await
    }

    async fn record_consent(
        &self,
        lookup: &SubjectLookup,
        subject_id: &str,
        consent: &NewConsent,
        recorded_by: &str,
        at: OffsetDateTime,
    ) -> Result<ConsentRecord, StoreError> {
        self.append_consent(lookup, subject_id, consent, recorded_by, at)
            .await
    }

    async fn consents(&self, lookup: &SubjectLookup) -> Result<Vec<ConsentRecord>, StoreError> {
        self.consents_of(lookup).await
    }

    async fn consent_holders(
        &self,
        filter: &ConsentFilter,
    ) -> Result<Vec<ConsentHolder>, StoreError> {
        self.holders(filter).await
    }

    async fn linked_records(
        &self,
        subject_id: &str,
    ) -> Result<(Vec<LinkedPrincipal>, Vec<LinkedCard>), StoreError> {
        self.linked_to(subject_id).await
    }

    async fn latest_erasure(&self, lookup: &SubjectLookup) -> Result<Option<Erasure>, StoreError> {
        self.latest_erasure_of(lookup).await
    }

    async fn erasure(&self, id: &ErasureId) -> Result<Option<Erasure>, StoreError> {
        self.erasure_by_id(id).await
    }

    async fn erasures(
        &self,
        after: Option<&ErasureId>,
        limit: u32,
    ) -> Result<Vec<Erasure>, StoreError> {
        self.erasures_after(after, limit).await
    }

    async fn erase(&self, write: &ErasureWrite) -> Result<Option<Erasure>, StoreError> {
        self.erase_subject(write).await
    }

    async fn scrub_erased(&self) {
        self.scrub_erased().await;
    }

    async fn confirm_erasure(
        &self,
        id: &ErasureId,
        confirmation: &Confirmation,
        completed_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        self.store_confirmation(id, confirmation, completed_at)
            .await
    }

    async fn destroy_subject_keys(
        &self,
        ids: &[SubjectKeyId],
        erasure: &ErasureId,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.destroy_keys(ids, erasure, at).await
    }
}
