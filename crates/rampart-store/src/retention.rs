//! `RetentionStore` on both backends: legal holds (`holds`), policies (`policies`), disposal
//! runs with their steps, certificates and the application's confirmations (`runs`), and the
//! disposal itself (`dispose`; audit pruning is in `audit_prune`).

mod dispose;
mod holds;
mod policies;
mod runs;

use rampart_retention::{
    AppConfirmation, AuditRecord, BatchProgress, CertificateId, DataType, HoldId, LegalHold,
    Policy, Record, RetentionStore, Run, RunId, StoredCertificate,
};
use time::OffsetDateTime;

use crate::{Store, StoreError};

/// Records a batch's progress on a run's step inside the transaction `$tx`: `$disposed`
/// records disposed of now, `$first`/`$last` the lowest and highest audit seq pruned now
/// (`Option<i64>`). The same statement on both backends.
///
/// A batch recorded already (the same batch again, when a caller retries after an error
/// that followed the commit) counts nothing again: its due and held records were counted the
/// first time, and it disposes of nothing new. A batch was recorded already when the step is
/// finished, when it names the stored cursor (the other types), or when it names no cursor
/// and does not move the step past its stored `next_seq` (audit entries). The step never
/// moves back, and a finished step stays finished.
macro_rules! record_progress {
    ($tx:ident, $progress:expr, $disposed:expr, $first:expr, $last:expr) => {{
        let progress: &rampart_retention::BatchProgress = $progress;
        sqlx::query(
            "UPDATE retention_run_steps SET
                 state = CASE WHEN $1 OR state = 'done' THEN 'done' ELSE 'running' END,
                 due = due + CASE WHEN state = 'done' OR coalesce(cursor = $3, FALSE)
                     OR ($3 IS NULL AND $2 > 0 AND next_seq >= $2) THEN 0 ELSE $4 END,
                 held_back = held_back + CASE WHEN state = 'done' OR coalesce(cursor = $3, FALSE)
                     OR ($3 IS NULL AND $2 > 0 AND next_seq >= $2) THEN 0 ELSE $5 END,
                 disposed = disposed + $6,
                 next_seq = CASE WHEN next_seq > $2 THEN next_seq ELSE $2 END,
                 cursor = coalesce($3, cursor),
                 first_seq = coalesce(first_seq, $7), last_seq = coalesce($8, last_seq)
             WHERE run_id = $9 AND data_type = $10",
        )
        .bind(progress.done)
        .bind(crate::retention::to_i64(progress.next_seq)?)
        .bind(progress.cursor.as_deref())
        .bind(crate::retention::to_i64(progress.due)?)
        .bind(crate::retention::to_i64(progress.held_back)?)
        .bind(crate::retention::to_i64($disposed)?)
        .bind($first)
        .bind($last)
        .bind(progress.run_id.as_str())
        .bind(progress.data_type.to_string())
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use record_progress;

/// The lease that names the one executor of disposal runs (apart from the `retention` job's
/// own lease, which only schedules them: the CLI and the API execute runs too).
const RUN_LEASE: &str = "retention-run-executor";

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange {
        what: "count or seq",
    })
}

pub(crate) fn to_u64(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

impl RetentionStore for Store {
    type Error = StoreError;

    async fn insert_hold(&self, hold: &LegalHold) -> Result<(), StoreError> {
        self.insert_legal_hold(hold).await
    }

    async fn holds(&self) -> Result<Vec<LegalHold>, StoreError> {
        self.legal_holds().await
    }

    async fn release_hold(
        &self,
        id: &HoldId,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.release_legal_hold(id, by, at).await
    }

    async fn policies(&self) -> Result<Vec<Policy>, StoreError> {
        self.retention_policies().await
    }

    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        self.put_retention_policy(policy).await
    }

    async fn remove_policy(&self, data_type: &DataType) -> Result<bool, StoreError> {
        self.remove_retention_policy(data_type).await
    }

    async fn insert_run(&self, run: &Run) -> Result<(), StoreError> {
        self.insert_retention_run(run).await
    }

    async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        self.retention_run(id).await
    }

    async fn unfinished_runs(&self) -> Result<Vec<Run>, StoreError> {
        self.retention_runs(true, 100).await
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.retention_runs(false, limit).await
    }

    async fn record_progress(&self, progress: &BatchProgress) -> Result<(), StoreError> {
        self.record_retention_progress(progress).await
    }

    async fn record_app_due(
        &self,
        progress: &BatchProgress,
        deliveries: &[rampart_monitor::Delivery],
    ) -> Result<(), StoreError> {
        self.record_retention_due(progress, deliveries).await
    }

    async fn claim_runs(
        &self,
        holder: &str,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        self.try_acquire_lease(RUN_LEASE, holder, now, ttl).await
    }

    async fn release_runs(&self, holder: &str) -> Result<(), StoreError> {
        self.release_lease(RUN_LEASE, holder).await.map(|_| ())
    }

    async fn finish_run(&self, id: &RunId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.finish_retention_run(id, at).await
    }

    async fn audit_seq_at(&self, at: OffsetDateTime) -> Result<u64, StoreError> {
        Store::audit_seq_at(self, at).await
    }

    async fn audit_records(
        &self,
        from: u64,
        to: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Store::audit_records(self, from, to, limit).await
    }

    async fn prune_audit_batch(
        &self,
        progress: &BatchProgress,
        below: u64,
        seqs: &[u64],
        at: OffsetDateTime,
        certificate: &CertificateId,
    ) -> Result<u64, StoreError> {
        self.prune_audit_with_progress(below, seqs, at, certificate.as_str(), Some(progress))
            .await
    }

    async fn due_records(
        &self,
        data_type: &DataType,
        cutoff: OffsetDateTime,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        self.due_retention_records(data_type, cutoff, after, limit)
            .await
    }

    async fn dispose_batch(
        &self,
        progress: &BatchProgress,
        cutoff: OffsetDateTime,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        self.dispose_retention_batch(progress, cutoff, keys).await
    }

    async fn insert_certificate(&self, certificate: &StoredCertificate) -> Result<(), StoreError> {
        self.insert_disposal_certificate(certificate).await
    }

    async fn certificates(
        &self,
        after: Option<&CertificateId>,
        limit: u32,
    ) -> Result<Vec<StoredCertificate>, StoreError> {
        self.disposal_certificates(after, limit).await
    }

    async fn confirm_app(&self, confirmation: &AppConfirmation) -> Result<bool, StoreError> {
        self.confirm_app_disposal(confirmation).await
    }

    async fn app_confirmations(&self, run_id: &RunId) -> Result<Vec<AppConfirmation>, StoreError> {
        self.app_disposal_confirmations(run_id).await
    }
}
