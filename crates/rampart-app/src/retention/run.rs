//! Disposal runs. A run fixes each data type's cutoff when it starts (and keeps the policies
//! then in force), then takes the data types one after the other, in batches: each batch reads
//! the holds in force, skips what they cover, and disposes of the rest with its progress in
//! one transaction, so a run interrupted by a crash is resumed (by the next run request or the
//! `retention` job) without disposing of anything twice or miscounting. Audit entries are
//! pruned below a horizon that never moves backwards; an application's data types get a
//! `retention.due` webhook instead. Each data type disposed of gets a certificate signed with
//! the audit log's key, naming the checkpoint after the run.

use rampart_audit::AuditStore;
use rampart_monitor::{EventType, MonitorStore};
use rampart_retention::{
    AppConfirmation, BatchProgress, CertificateId, DataType, LegalHold, Policy, RetentionStore,
    Run, RunId, Step, StepState, audit_retention, cutoff,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{RetentionError, RetentionService};
use crate::monitor::rfc3339;

/// How long a claim to execute runs lasts without renewal (renewed every batch): a process
/// that died holding it is replaced this long after.
const RUN_CLAIM: time::Duration = time::Duration::seconds(10);

/// How often an executor renews its claim while it works.
const RUN_CLAIM_RENEWAL: std::time::Duration = std::time::Duration::from_secs(2);

/// This executor's claim: its holder name and when it was last renewed.
struct Claim {
    holder: String,
    renewed: std::sync::Mutex<std::time::Instant>,
}

/// How long an executor waits for another's claim before giving up.
const RUN_CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What a run has done so far, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    /// Records looked at so far (audit entries: seqs passed).
    pub done: u64,
    /// Records to look at, as far as known (audit entries: the scan's length).
    pub total: u64,
}

/// A run as the API shows it (`GET /v1/retention/runs/{id}`).
pub fn run_json(run: &Run, confirmations: &[AppConfirmation]) -> Value {
    let steps: Vec<Value> = run
        .steps
        .iter()
        .map(|s| {
            json!({
                "data_type": s.data_type.to_string(),
                "cutoff": rfc3339(s.cutoff),
                "state": s.state.as_str(),
                "due": s.due,
                "disposed": s.disposed,
                "held_back": s.held_back,
                "first_seq": s.first_seq,
                "last_seq": s.last_seq,
                "progress": s.data_type.is_audit().then(|| json!({
                    "next_seq": s.next_seq, "end_seq": s.end_seq,
                })),
                "certificate_id": (s.disposed > 0 && !run.dry_run).then(|| s.certificate_id.as_str()),
            })
        })
        .collect();
    let unconfirmed: Vec<String> = run
        .steps
        .iter()
        .filter(|s| {
            matches!(s.data_type, DataType::App(_))
                && s.held_back == 0
                && !run.dry_run
                && !confirmations.iter().any(|c| c.data_type == s.data_type)
        })
        .map(|s| s.data_type.to_string())
        .collect();
    json!({
        "id": run.id.as_str(),
        "dry_run": run.dry_run,
        "state": if run.finished_at.is_some() { "finished" } else { "running" },
        "requested_by": run.requested_by,
        "started_at": rfc3339(run.started_at),
        "finished_at": run.finished_at.map(rfc3339),
        "steps": steps,
        "unconfirmed": unconfirmed,
        "confirmations": confirmations.iter().map(|c| json!({
            "data_type": c.data_type.to_string(),
            "records_deleted": c.records_deleted,
            "deleted_before": rfc3339(c.deleted_before),
            "confirmed_at": rfc3339(c.confirmed_at),
            "confirmed_by": c.confirmed_by,
        })).collect::<Vec<_>>(),
    })
}

/// The step of a policy's data type (audit tags share the `audit_entries` step).
fn step_type(policy: &Policy) -> DataType {
    match &policy.data_type {
        DataType::AuditTag(_) => DataType::AuditEntries,
        other => other.clone(),
    }
}

impl<S> RetentionService<S>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// Starts a run at `now`: one step per data type with a policy, each cutoff fixed. A run
    /// that is not finished (a crash interrupted it) is returned instead of a new one, to be
    /// resumed; a dry run is always new.
    pub async fn start_run(
        &self,
        dry_run: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Run, RetentionError> {
        if !dry_run
            && let Some(run) = self
                .store
                .unfinished_runs()
                .await
                .map_err(RetentionError::store)?
                .into_iter()
                .find(|r| !r.dry_run)
        {
            return Ok(run);
        }
        let policies = self.policies().await?;
        let mut steps: Vec<Step> = Vec::new();
        for policy in &policies {
            let data_type = step_type(policy);
            let at = cutoff(now, policy.retain_seconds);
            match steps.iter_mut().find(|s| s.data_type == data_type) {
                // The audit step scans up to the latest cutoff of any audit policy.
                Some(step) => step.cutoff = step.cutoff.max(at),
                None => steps.push(Step {
                    data_type,
                    cutoff: at,
                    state: StepState::Pending,
                    due: 0,
                    disposed: 0,
                    held_back: 0,
                    next_seq: 0,
                    end_seq: 0,
                    cursor: None,
                    first_seq: None,
                    last_seq: None,
                    certificate_id: CertificateId::generate(),
                }),
            }
        }
        for step in &mut steps {
            if step.data_type.is_audit() {
                step.end_seq = self
                    .store
                    .audit_seq_at(step.cutoff)
                    .await
                    .map_err(RetentionError::store)?;
            }
        }
        steps.sort_by(|a, b| a.data_type.cmp(&b.data_type));
        let run = Run {
            id: RunId::generate(),
            dry_run,
            requested_by: by.to_owned(),
            started_at: now,
            finished_at: None,
            policies,
            steps,
        };
        self.store
            .insert_run(&run)
            .await
            .map_err(RetentionError::store)?;
        Ok(run)
    }

    /// A run with its confirmations.
    pub async fn run(&self, id: &str) -> Result<(Run, Vec<AppConfirmation>), RetentionError> {
        let id = RunId::parse(id).ok_or(RetentionError::NotFound("retention run"))?;
        let run = self
            .store
            .run(&id)
            .await
            .map_err(RetentionError::store)?
            .ok_or(RetentionError::NotFound("retention run"))?;
        let confirmations = self
            .store
            .app_confirmations(&id)
            .await
            .map_err(RetentionError::store)?;
        Ok((run, confirmations))
    }

    /// The latest runs, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<Run>, RetentionError> {
        self.store
            .recent_runs(limit)
            .await
            .map_err(RetentionError::store)
    }

    /// Runs not finished, oldest first (the `retention` job resumes them).
    pub async fn unfinished_runs(&self) -> Result<Vec<Run>, RetentionError> {
        self.store
            .unfinished_runs()
            .await
            .map_err(RetentionError::store)
    }

    /// Executes (or resumes) a run to its end, calling `progress` after each batch; returns
    /// the run as finished. One executor at a time in the deployment: this one waits for
    /// another's claim to end (or lapse, when its process died) and then finds the run finished
    /// or resumes it.
    pub async fn execute(
        &self,
        id: &RunId,
        progress: impl FnMut(&Run, RunProgress) + Send,
    ) -> Result<Run, RetentionError> {
        let _running = self.running.lock().await;
        let holder = uuid::Uuid::now_v7().to_string();
        let waited = std::time::Instant::now();
        while !self
            .store
            .claim_runs(&holder, OffsetDateTime::now_utc(), RUN_CLAIM)
            .await
            .map_err(RetentionError::store)?
        {
            if waited.elapsed() > RUN_CLAIM_WAIT {
                return Err(RetentionError::Conflict(
                    "another process is executing a disposal run".to_owned(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let claim = Claim {
            holder: holder.clone(),
            renewed: std::sync::Mutex::new(std::time::Instant::now()),
        };
        let result = self.execute_claimed(id, &claim, progress).await;
        if let Err(error) = self.store.release_runs(&holder).await {
            tracing::warn!(error = %error, "cannot give back the disposal run claim; it lapses");
        }
        result
    }

    async fn execute_claimed(
        &self,
        id: &RunId,
        claim: &Claim,
        mut progress: impl FnMut(&Run, RunProgress) + Send,
    ) -> Result<Run, RetentionError> {
        let run = self
            .store
            .run(id)
            .await
            .map_err(RetentionError::store)?
            .ok_or(RetentionError::NotFound("retention run"))?;
        if run.finished_at.is_some() {
            return Ok(run);
        }
        for step in run.steps.iter().filter(|s| s.state != StepState::Done) {
            self.still_claimed(claim).await?;
            match &step.data_type {
                DataType::AuditEntries | DataType::AuditTag(_) => {
                    self.prune_audit(&run, step, claim, &mut progress).await?;
                }
                DataType::App(_) => self.notify_app(&run, step).await?,
                _ => self.dispose(&run, step, claim, &mut progress).await?,
            }
        }
        let now = OffsetDateTime::now_utc();
        let run = self
            .store
            .run(id)
            .await
            .map_err(RetentionError::store)?
            .ok_or(RetentionError::NotFound("retention run"))?;
        if !run.dry_run {
            for step in run.steps.iter().filter(|s| s.disposed > 0) {
                if !matches!(step.data_type, DataType::App(_)) {
                    self.issue_certificate(&run, step, None, now).await?;
                }
            }
        }
        self.store
            .finish_run(id, now)
            .await
            .map_err(RetentionError::store)?;
        self.store
            .run(id)
            .await
            .map_err(RetentionError::store)?
            .ok_or(RetentionError::NotFound("retention run"))
    }

    async fn holds_in_force(&self) -> Result<Vec<LegalHold>, RetentionError> {
        RetentionStore::holds(&self.store)
            .await
            .map_err(RetentionError::store)
    }

    /// Renews the claim (before a batch, when a fifth of its period has passed since the
    /// last renewal), or fails when another executor took it over.
    async fn still_claimed(&self, claim: &Claim) -> Result<(), RetentionError> {
        let due = claim
            .renewed
            .lock()
            .map_or(true, |at| at.elapsed() >= RUN_CLAIM_RENEWAL);
        if !due {
            return Ok(());
        }
        if self
            .store
            .claim_runs(&claim.holder, OffsetDateTime::now_utc(), RUN_CLAIM)
            .await
            .map_err(RetentionError::store)?
        {
            if let Ok(mut at) = claim.renewed.lock() {
                *at = std::time::Instant::now();
            }
            Ok(())
        } else {
            Err(RetentionError::Conflict(
                "the disposal run claim lapsed and another process took it over".to_owned(),
            ))
        }
    }

    async fn prune_audit(
        &self,
        run: &Run,
        step: &Step,
        claim: &Claim,
        progress: &mut (impl FnMut(&Run, RunProgress) + Send),
    ) -> Result<(), RetentionError> {
        let (end, certificate) = (step.end_seq, &step.certificate_id);
        let mut next = step.next_seq;
        let start = next;
        loop {
            self.still_claimed(claim).await?;
            let holds = self.holds_in_force().await?;
            let records = self
                .store
                .audit_records(next, end, self.batch)
                .await
                .map_err(RetentionError::store)?;
            let (mut due, mut held, mut seqs) = (0u64, 0u64, Vec::new());
            for record in &records {
                let is_due = audit_retention(&run.policies, &record.tags)
                    .is_some_and(|keep| record.at < cutoff(run.started_at, keep));
                if !is_due {
                    continue;
                }
                due += 1;
                if holds.iter().any(|h| h.scope.covers_audit(record)) {
                    held += 1;
                } else {
                    seqs.push(record.seq);
                }
            }
            next = records.last().map_or(end, |r| r.seq + 1);
            let done = records.len() < self.batch as usize || next >= end;
            let batch = BatchProgress {
                run_id: run.id.clone(),
                data_type: DataType::AuditEntries,
                next_seq: next,
                cursor: None,
                due,
                held_back: held,
                done,
            };
            if run.dry_run || seqs.is_empty() {
                self.store
                    .record_progress(&batch)
                    .await
                    .map_err(RetentionError::store)?;
            } else {
                self.store
                    .prune_audit_batch(&batch, end, &seqs, OffsetDateTime::now_utc(), certificate)
                    .await
                    .map_err(RetentionError::store)?;
            }
            progress(
                run,
                RunProgress {
                    done: next.saturating_sub(start),
                    total: end.saturating_sub(start),
                },
            );
            if done {
                return Ok(());
            }
        }
    }

    async fn dispose(
        &self,
        run: &Run,
        step: &Step,
        claim: &Claim,
        progress: &mut (impl FnMut(&Run, RunProgress) + Send),
    ) -> Result<(), RetentionError> {
        let name = step.data_type.to_string();
        let mut cursor = step.cursor.clone();
        let mut looked = 0u64;
        loop {
            self.still_claimed(claim).await?;
            let holds = self.holds_in_force().await?;
            let records = self
                .store
                .due_records(&step.data_type, step.cutoff, cursor.as_deref(), self.batch)
                .await
                .map_err(RetentionError::store)?;
            let (mut held, mut keys) = (0u64, Vec::new());
            for record in &records {
                if holds.iter().any(|h| h.scope.covers_record(&name, record)) {
                    held += 1;
                } else {
                    keys.push(record.key.clone());
                }
            }
            looked += records.len() as u64;
            cursor = records.last().map(|r| r.key.clone()).or(cursor);
            let done = records.len() < self.batch as usize;
            let batch = BatchProgress {
                run_id: run.id.clone(),
                data_type: step.data_type.clone(),
                next_seq: 0,
                cursor: cursor.clone(),
                due: records.len() as u64,
                held_back: held,
                done,
            };
            if run.dry_run || keys.is_empty() {
                self.store
                    .record_progress(&batch)
                    .await
                    .map_err(RetentionError::store)?;
            } else {
                self.store
                    .dispose_batch(&batch, step.cutoff, &keys)
                    .await
                    .map_err(RetentionError::store)?;
            }
            progress(
                run,
                RunProgress {
                    done: looked,
                    total: looked,
                },
            );
            if done {
                return Ok(());
            }
        }
    }

    /// An application's data type: `retention.due` unless a hold covers it.
    async fn notify_app(&self, run: &Run, step: &Step) -> Result<(), RetentionError> {
        let name = step.data_type.to_string();
        let held = self
            .holds_in_force()
            .await?
            .iter()
            .any(|h| h.scope.covers_app(&name));
        let batch = BatchProgress {
            run_id: run.id.clone(),
            data_type: step.data_type.clone(),
            next_seq: 0,
            cursor: None,
            due: 0,
            held_back: u64::from(held),
            done: true,
        };
        if run.dry_run || held {
            return self
                .store
                .record_progress(&batch)
                .await
                .map_err(RetentionError::store);
        }
        let data =
            json!({"run_id": run.id.as_str(), "data_type": name, "cutoff": rfc3339(step.cutoff)});
        let deliveries = self
            .monitor
            .deliveries_of(EventType::RetentionDue, &data, OffsetDateTime::now_utc())
            .await
            .map_err(RetentionError::store)?;
        self.store
            .record_app_due(&batch, &deliveries)
            .await
            .map_err(RetentionError::store)
    }
}
