//! Rampart's retention: legal holds, which keep what they cover from ever being disposed of or
//! erased while they last (API.md "Retention and legal hold"). Retention policies and the
//! disposal run come with the rest of that section.
//!
//! It knows nothing of HTTP or SQL: storage is the [`RetentionStore`] trait, implemented by
//! `rampart-store`; time is always a parameter.
#![forbid(unsafe_code)]

mod audit;
mod holds;
mod store;

pub use audit::AuditRecord;
pub use holds::{
    HoldDocument, HoldId, HoldScope, LegalHold, MAX_HOLD_NAME_LEN, MAX_HOLD_REASON_LEN,
    ScopeDocument,
};
pub use rampart_document::{FieldError, Invalid};
pub use store::RetentionStore;
