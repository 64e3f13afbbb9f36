//! Rampart's data subjects (GDPR): the keys that seal personal data in audit entries (one per
//! subject, found by a keyed hash of its id), the consent ledger, and erasure by
//! crypto-shredding with its certificate.
//!
//! It knows nothing of HTTP or SQL: the app layer seals and opens personal data with the keys
//! it gets through [`SubjectStore`] (implemented by `rampart-store`), runs the erasure workflow
//! across domains, and signs exports and certificates with the audit log's key.
#![forbid(unsafe_code)]

mod consent;
mod erasure;
mod ids;
mod keys;
mod store;

pub use rampart_document::{FieldError, Invalid};

pub use consent::{
    ConsentDocument, ConsentFilter, ConsentHolder, ConsentRecord, CurrentConsent, MAX_PURPOSE_LEN,
    MAX_SOURCE_LEN, NewConsent, check_purpose, current,
};
pub use erasure::{
    Confirmation, ConfirmationDocument, ConfirmationError, Erasure, ErasureDocument,
    ErasureEffects, ErasureId, ErasureStatus, MAX_REASON_LEN, MAX_STORE_NAME_LEN, MAX_STORES,
    NewErasure, RAMPART_STORE_PREFIX, check_store_name,
};
pub use keys::{
    LookupKey, MAX_SUBJECT_ID_LEN, Nonces, SealError, StoredSubjectKey, SubjectKey, SubjectKeyId,
    SubjectLookup, check_subject_id, seal_context, subject_id_sha256,
};
pub use store::{ErasureWrite, LinkedCard, LinkedPrincipal, SubjectStore, record_effects};
