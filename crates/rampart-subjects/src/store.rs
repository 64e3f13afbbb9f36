//! What the data-subject domain needs from storage: the [`SubjectStore`] trait, implemented by
//! `rampart-store` on SQLite and PostgreSQL.
//!
//! Subject keys and consents are found by the subject's [`SubjectLookup`]; principals and card
//! tokens carry the `subject_id` the application gave them. An erasure is one transaction
//! ([`SubjectStore::erase`]): a crash leaves either the whole of Rampart's part done and
//! recorded (with its notifications in the webhook outbox) or none of it.

use std::future::Future;

use rampart_crypto::SealedSecret;
use rampart_monitor::Delivery;
use time::OffsetDateTime;

use crate::consent::{ConsentFilter, ConsentHolder, ConsentRecord, NewConsent};
use crate::erasure::{Confirmation, Erasure, ErasureEffects, ErasureId};
use crate::keys::{StoredSubjectKey, SubjectKeyId, SubjectLookup};

type Stored<T, E> = Result<T, E>;

/// A principal linked to a subject (`subject_id` set on the principal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedPrincipal {
    /// The principal's id.
    pub id: String,
    /// `user`, `service`, `device` or `ai_agent`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its email.
    pub email: Option<String>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// A card token linked to a subject (never the PAN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedCard {
    /// The token.
    pub token: String,
    /// The card's brand.
    pub brand: String,
    /// Its last four digits.
    pub last_four: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it was tokenized.
    pub created_at: OffsetDateTime,
}

/// Rampart's part of an erasure, committed in one transaction by [`SubjectStore::erase`].
#[derive(Debug, Clone)]
pub struct ErasureWrite {
    /// The erasure to record; the store fills in `effects` and `subject_keys` with what it
    /// did (and `completed_at` stays as given: `requested_at` when no store was named).
    pub erasure: Erasure,
    /// The subject's lookup hash (keys and consents).
    pub lookup: SubjectLookup,
    /// The subject's id (principals and card tokens; audit entries are counted by it). Never
    /// stored by the erasure.
    pub subject_id: String,
    /// The erasure recorded last for this subject when the caller looked: nothing is written
    /// when another one was recorded meanwhile.
    pub expected_latest: Option<ErasureId>,
    /// Audit entries linked to the subject (counted by the caller from the audit index).
    pub audit_entries: u64,
    /// The `erasure.requested` deliveries, stored in the same transaction.
    pub deliveries: Vec<Delivery>,
}

/// Storage of subject keys, consents and erasures.
pub trait SubjectStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The live (not destroyed) keys of these subjects.
    fn live_subject_keys(
        &self,
        lookups: &[SubjectLookup],
    ) -> impl Future<Output = Stored<Vec<StoredSubjectKey>, Self::Error>> + Send;

    /// One key by id, destroyed or not.
    fn subject_key(
        &self,
        id: &SubjectKeyId,
    ) -> impl Future<Output = Stored<Option<StoredSubjectKey>, Self::Error>> + Send;

    /// Stores new keys (`lookup` and `sealed` set). A subject that already has a live key
    /// keeps it: that key is not stored (the caller reads the winner back).
    fn insert_subject_keys(
        &self,
        keys: &[StoredSubjectKey],
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Every live key's sealed form (for a master-key rotation).
    fn sealed_subject_keys(
        &self,
    ) -> impl Future<Output = Stored<Vec<(SubjectKeyId, SealedSecret)>, Self::Error>> + Send;

    /// Replaces a live key's sealed form if it is still `expected`; `false` otherwise (the key
    /// was destroyed or resealed meanwhile).
    fn reseal_subject_key(
        &self,
        id: &SubjectKeyId,
        expected: &SealedSecret,
        resealed: &SealedSecret,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Appends a consent record.
    fn record_consent(
        &self,
        lookup: &SubjectLookup,
        subject_id: &str,
        consent: &NewConsent,
        recorded_by: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Stored<ConsentRecord, Self::Error>> + Send;

    /// A subject's consent records, in ledger order.
    fn consents(
        &self,
        lookup: &SubjectLookup,
    ) -> impl Future<Output = Stored<Vec<ConsentRecord>, Self::Error>> + Send;

    /// Subjects by their current consent to a purpose, in subject-id order.
    fn consent_holders(
        &self,
        filter: &ConsentFilter,
    ) -> impl Future<Output = Stored<Vec<ConsentHolder>, Self::Error>> + Send;

    /// Principals and card tokens linked to `subject_id`.
    fn linked_records(
        &self,
        subject_id: &str,
    ) -> impl Future<Output = Stored<(Vec<LinkedPrincipal>, Vec<LinkedCard>), Self::Error>> + Send;

    /// The erasure recorded last for a subject.
    fn latest_erasure(
        &self,
        lookup: &SubjectLookup,
    ) -> impl Future<Output = Stored<Option<Erasure>, Self::Error>> + Send;

    /// One erasure.
    fn erasure(
        &self,
        id: &ErasureId,
    ) -> impl Future<Output = Stored<Option<Erasure>, Self::Error>> + Send;

    /// Erasures in id (time) order after `after`, at most `limit`.
    fn erasures(
        &self,
        after: Option<&ErasureId>,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<Erasure>, Self::Error>> + Send;

    /// Rampart's part of an erasure, in one transaction: destroys the subject's live keys
    /// (sealed key and lookup removed, `destroyed_at` and the erasure id set), removes the
    /// personal fields of its consents, disables principals and deletes card tokens linked to
    /// `subject_id`, records the erasure with what was done, and stores the deliveries.
    /// `None` when `expected_latest` is no longer the subject's latest erasure.
    fn erase(
        &self,
        write: &ErasureWrite,
    ) -> impl Future<Output = Stored<Option<Erasure>, Self::Error>> + Send;

    /// Removes, best effort, what the database files still hold of erased rows (on SQLite a
    /// `TRUNCATE` checkpoint of the WAL, on PostgreSQL a `VACUUM` of the erased tables). The
    /// app layer runs it right after [`SubjectStore::erase`] commits, without making the
    /// request wait for it.
    fn scrub_erased(&self) -> impl Future<Output = ()> + Send;

    /// Records a store's confirmation (and `completed_at` when it is the last); `false` when
    /// that store had already confirmed.
    fn confirm_erasure(
        &self,
        id: &ErasureId,
        confirmation: &Confirmation,
        completed_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Destroys these keys if they still live (after a restore from a backup made before
    /// their erasure); returns how many it destroyed.
    fn destroy_subject_keys(
        &self,
        ids: &[SubjectKeyId],
        erasure: &ErasureId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Stored<u64, Self::Error>> + Send;
}

/// What [`SubjectStore::erase`] counts, for implementations to build the recorded erasure.
pub fn record_effects(
    write: &ErasureWrite,
    effects: ErasureEffects,
    keys: Vec<SubjectKeyId>,
) -> Erasure {
    let mut erasure = write.erasure.clone();
    erasure.effects = ErasureEffects {
        audit_entries: write.audit_entries,
        ..effects
    };
    erasure.subject_keys = keys;
    erasure
}
