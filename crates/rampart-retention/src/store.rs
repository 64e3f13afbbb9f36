//! What retention needs from storage: the [`RetentionStore`] trait, implemented by
//! `rampart-store` on SQLite and PostgreSQL.

use std::future::Future;

use time::OffsetDateTime;

use crate::audit::AuditRecord;
use crate::holds::{HoldId, LegalHold};
use crate::policy::{DataType, Policy};
use crate::run::{
    AppConfirmation, BatchProgress, CertificateId, Record, Run, RunId, StoredCertificate,
};

/// Storage of policies, legal holds, disposal runs and their certificates, and the disposal
/// itself (each batch with its progress, in one transaction, so a run resumed after a crash
/// neither disposes of anything twice nor miscounts).
pub trait RetentionStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores a new hold.
    fn insert_hold(&self, hold: &LegalHold)
    -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The holds in force (not released), oldest first.
    fn holds(&self) -> impl Future<Output = Result<Vec<LegalHold>, Self::Error>> + Send;

    /// Releases a hold in force; `false` when there is none with that id (or it was released).
    fn release_hold(
        &self,
        id: &HoldId,
        by: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Every policy, by data type.
    fn policies(&self) -> impl Future<Output = Result<Vec<Policy>, Self::Error>> + Send;

    /// Creates or replaces the policy of `policy.data_type` (the database refuses to shorten,
    /// weaken or remove a compliance policy whatever the caller checked).
    fn put_policy(&self, policy: &Policy) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes a policy; `false` when there was none.
    fn remove_policy(
        &self,
        data_type: &DataType,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Stores a new run with its steps.
    fn insert_run(&self, run: &Run) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A run with its steps.
    fn run(&self, id: &RunId) -> impl Future<Output = Result<Option<Run>, Self::Error>> + Send;

    /// Runs not finished (a crash interrupted them), oldest first.
    fn unfinished_runs(&self) -> impl Future<Output = Result<Vec<Run>, Self::Error>> + Send;

    /// The latest runs, newest first, at most `limit`.
    fn recent_runs(&self, limit: u32)
    -> impl Future<Output = Result<Vec<Run>, Self::Error>> + Send;

    /// Records a batch that disposed of nothing (a dry run's, or one whose records were all
    /// held).
    ///
    /// A batch recorded already counts nothing again (a caller may retry a batch after an
    /// error that followed its commit): one on a finished step, one naming the step's stored
    /// cursor, or one naming no cursor that does not move the step past its stored
    /// `next_seq`. A step never moves back, and a finished step stays finished. The same
    /// holds for the progress of [`RetentionStore::prune_audit_batch`] and
    /// [`RetentionStore::dispose_batch`], whose disposal is counted as it happens.
    fn record_progress(
        &self,
        progress: &BatchProgress,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Records an application data type's step as done, and enqueues its `retention.due`
    /// webhook deliveries in the monitor's outbox, in one transaction (so a run resumed after
    /// a crash neither skips nor repeats them).
    fn record_app_due(
        &self,
        progress: &BatchProgress,
        deliveries: &[rampart_monitor::Delivery],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Claims (or renews) the right to execute runs for `holder` until `now + ttl`: only one
    /// executor at a time in the deployment, across nodes and processes. `false` while another
    /// holds it and its claim has not lapsed.
    fn claim_runs(
        &self,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Gives the claim back (when `holder` holds it).
    fn release_runs(&self, holder: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Marks a run finished.
    fn finish_run(
        &self,
        id: &RunId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The first audit seq appended at or after `at`, or the log's size.
    fn audit_seq_at(
        &self,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Audit entries not pruned with seq in `from..to`, at most `limit`, in order.
    fn audit_records(
        &self,
        from: u64,
        to: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, Self::Error>> + Send;

    /// Prunes the audit entries `seqs` (raising the prune horizon to `below` first), marking
    /// them with `certificate`, and records `progress` with the number pruned, in one
    /// transaction. Returns the number pruned now (entries pruned before are not counted).
    fn prune_audit_batch(
        &self,
        progress: &BatchProgress,
        below: u64,
        seqs: &[u64],
        at: OffsetDateTime,
        certificate: &CertificateId,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Records of a built-in `data_type` (not audit entries) due before `cutoff`, after the
    /// key `after`, at most `limit`, in key order.
    fn due_records(
        &self,
        data_type: &DataType,
        cutoff: OffsetDateTime,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Record>, Self::Error>> + Send;

    /// Deletes the records `keys` of `data_type` (each still due before `cutoff`) and records
    /// `progress` with the number deleted, in one transaction. Returns the number deleted.
    fn dispose_batch(
        &self,
        progress: &BatchProgress,
        cutoff: OffsetDateTime,
        keys: &[String],
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Stores a certificate; one already stored with its id is left as it is.
    fn insert_certificate(
        &self,
        certificate: &StoredCertificate,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Certificates in id (time) order after `after`, at most `limit`.
    fn certificates(
        &self,
        after: Option<&CertificateId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredCertificate>, Self::Error>> + Send;

    /// Records an application's confirmation; `false` when that run's data type was confirmed
    /// already.
    fn confirm_app(
        &self,
        confirmation: &AppConfirmation,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// A run's application confirmations.
    fn app_confirmations(
        &self,
        run_id: &RunId,
    ) -> impl Future<Output = Result<Vec<AppConfirmation>, Self::Error>> + Send;
}
