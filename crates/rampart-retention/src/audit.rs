//! What a disposal run reads of an audit entry to decide whether it is due or held.

use time::OffsetDateTime;

/// An audit entry not pruned yet, as a disposal run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Leaf index.
    pub seq: u64,
    /// When it was appended.
    pub at: OffsetDateTime,
    /// `context.team_id`.
    pub team_id: Option<String>,
    /// `subject_id`.
    pub subject_id: Option<String>,
    /// `compliance_tags`.
    pub tags: Vec<String>,
}
