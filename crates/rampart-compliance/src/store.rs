//! What compliance needs from storage: the [`ComplianceStore`] trait, implemented by
//! `rampart-store` on SQLite and PostgreSQL.

use std::future::Future;

use time::OffsetDateTime;

use crate::control::{FrameworkId, Status};
use crate::report::ReportId;
use crate::waiver::Waiver;

/// A report as stored: the signed JSON document and what it is listed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// Its id.
    pub id: ReportId,
    /// The framework.
    pub framework: FrameworkId,
    /// When it was made.
    pub generated_at: OffsetDateTime,
    /// The audit tree size it verified (its period ends before it).
    pub tree_size: u64,
    /// The signed report, JSON text exactly as served.
    pub document: String,
}

/// One past result of a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it was evaluated.
    pub evaluated_at: OffsetDateTime,
    /// The result, waivers applied.
    pub status: Status,
    /// The report it was part of (`None` for the daily evaluation).
    pub report_id: Option<ReportId>,
}

/// Counts and lists other domains keep, read for facts in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Tokenized cards stored.
    pub cards_stored: u64,
    /// Consent records (given or withdrawn) not erased.
    pub consents: u64,
    /// Subjects whose personal data is sealed under a live key.
    pub live_subjects: u64,
    /// Erasures completed.
    pub erasures_completed: u64,
    /// Erasures requested and not completed.
    pub erasures_pending: u64,
    /// Agents (principals with an owner) by name, and whether each has guardrails.
    pub agents: Vec<(String, bool)>,
    /// Each principal's newest session (login), by principal id (text), when it has one.
    pub last_logins: Vec<(String, OffsetDateTime)>,
    /// When the audit log was last verified in full (every entry re-hashed) and found intact.
    pub last_full_verification: Option<OffsetDateTime>,
}

/// Storage of reports, waivers and every control's history. Reports and history are never
/// changed or deleted; waivers are revoked, never deleted.
pub trait ComplianceStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores a report.
    fn insert_report(
        &self,
        report: &StoredReport,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A report by id.
    fn report(
        &self,
        id: &ReportId,
    ) -> impl Future<Output = Result<Option<StoredReport>, Self::Error>> + Send;

    /// The newest report of `framework`, if any.
    fn latest_report(
        &self,
        framework: FrameworkId,
    ) -> impl Future<Output = Result<Option<StoredReport>, Self::Error>> + Send;

    /// Reports newest first (of one framework when given), at most `limit`, without their
    /// documents' text (empty).
    fn list_reports(
        &self,
        framework: Option<FrameworkId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredReport>, Self::Error>> + Send;

    /// Stores a waiver.
    fn insert_waiver(
        &self,
        waiver: &Waiver,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Every waiver not revoked (expired ones too: they count as `fail`).
    fn waivers(&self) -> impl Future<Output = Result<Vec<Waiver>, Self::Error>> + Send;

    /// Revokes a waiver; `false` when there is none with that id not revoked.
    fn revoke_waiver(
        &self,
        id: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Records the results of one evaluation of `framework` at `at`.
    fn record_results(
        &self,
        framework: FrameworkId,
        at: OffsetDateTime,
        report_id: Option<&ReportId>,
        results: &[(String, Status)],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A control's results, newest first, at most `limit`, before `before` when given.
    fn control_history(
        &self,
        framework: FrameworkId,
        control: &str,
        before: Option<OffsetDateTime>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, Self::Error>> + Send;

    /// What other domains keep that facts are made of (see [`Inventory`]).
    fn inventory(&self) -> impl Future<Output = Result<Inventory, Self::Error>> + Send;

    /// When the daily evaluation last ran (the newest history entry without a report).
    fn last_evaluation(
        &self,
    ) -> impl Future<Output = Result<Option<OffsetDateTime>, Self::Error>> + Send;
}
