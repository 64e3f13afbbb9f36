//! Rampart's compliance reports (API.md "Compliance reports"): frameworks (SOC 2, PCI DSS,
//! HIPAA, GDPR, MiFID II) as data, each control mapped to the requirement it serves and judged
//! over named facts of the running deployment; waivers with an end; reports; and the signed
//! evidence package with its offline verification.
//!
//! Gathering facts from every domain is the app layer's job; this crate knows nothing of HTTP
//! or SQL: storage is the [`ComplianceStore`] trait, implemented by `rampart-store`; time is
//! always a parameter. A control Rampart cannot judge is `manual`, never `pass`; a fact that
//! was not gathered makes its control `manual` too.
#![forbid(unsafe_code)]

mod checks;
mod control;
pub mod evidence;
mod facts;
pub mod frameworks;
mod render;
mod report;
mod store;
mod waiver;

pub use control::{
    Control, Evidence, Framework, FrameworkId, Judge, Judgment, Status, UnknownFramework,
};
pub use evidence::{
    KeySource, Member, MemberCheck, MemberContent, MemberSource, PackageError, PackageVerification,
    build_package, verify_package, verify_package_reader, write_package,
};
pub use facts::{Fact, FactKey, Facts, catalog};
pub use rampart_document::{FieldError, Invalid};
pub use render::{OSCAL_VERSION, RAMPART_OSCAL_NS, html, oscal};
pub use report::{
    AuditPeriod, ControlResult, FactRecord, Report, ReportId, Summary, WaiverApplied, evaluate,
};
pub use store::{ComplianceStore, HistoryEntry, Inventory, StoredReport};
pub use waiver::{MAX_REASON_LEN, Waiver, WaiverDocument};

/// `at` as RFC 3339 (UTC, as stored).
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
