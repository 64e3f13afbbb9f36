//! Rampart's retention (API.md "Retention and legal hold"): policies per data type with their
//! governance and compliance modes, legal holds, which keep what they cover from ever being
//! disposed of or erased while they last, and the model of disposal runs, their steps and
//! their certificates. The run itself spans domains and is the app layer's job.
//!
//! It knows nothing of HTTP or SQL: storage is the [`RetentionStore`] trait, implemented by
//! `rampart-store`; time is always a parameter.
#![forbid(unsafe_code)]

mod audit;
mod holds;
mod policy;
mod run;
mod store;

pub use audit::AuditRecord;
pub use holds::{
    HoldDocument, HoldId, HoldScope, LegalHold, MAX_HOLD_NAME_LEN, MAX_HOLD_REASON_LEN,
    ScopeDocument,
};
pub use policy::{
    DataType, MAX_RETAIN_SECONDS, Mode, Policy, PolicyChange, PolicyDocument, PolicyRefusal,
    audit_retention, cutoff, judge_change, judge_removal,
};
pub use rampart_document::{FieldError, Invalid};
pub use run::{
    AppConfirmation, BatchProgress, CertificateId, Record, Run, RunId, Step, StepState,
    StoredCertificate,
};
pub use store::RetentionStore;
