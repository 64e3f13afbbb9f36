//! Retention as the deployment runs it (API.md "Retention and legal hold"): legal holds,
//! policies per data type with their modes (`policies`), and disposal runs (`run`): each
//! data type past its policy is disposed of in batches that record their progress with them,
//! held records are skipped, audit entries are pruned (their leaf hashes kept), and each data
//! type disposed of gets a signed certificate. Erasure asks the holds first
//! (`subjects::erasure`): a subject under a hold is not erased.

mod certificates;
mod policies;
mod run;

use std::sync::Arc;

use rampart_audit::{AuditLog, AuditStore};
use rampart_monitor::MonitorStore;
use rampart_retention::{HoldDocument, HoldId, Invalid, LegalHold, RetentionStore};
use time::OffsetDateTime;

use crate::monitor::MonitorService;
use crate::subjects::SubjectError;

pub use policies::{parse_data_type, policy_json};
/// The store a deployment runs retention on (for callers that name the service's type).
pub use rampart_store::Store as DeploymentStore;
pub use run::{RunProgress, run_json};

/// Why a retention request failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// A body, data type or id the rules refuse (422 naming the fields).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// No such policy, run or certificate.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The change conflicts with the policy's mode or the state (409).
    #[error("{0}")]
    Conflict(String),
    /// The caller lacks a permission the change needs (403).
    #[error("{0}")]
    Forbidden(String),
    /// Storage failed.
    #[error("retention storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Signing a certificate failed.
    #[error("cannot sign a disposal certificate: {0}")]
    Signing(String),
}

impl RetentionError {
    pub(crate) fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self::Store(Box::new(error))
    }

    /// A 422 naming one field.
    pub fn field(path: &str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid::Fields(vec![rampart_retention::FieldError::new(
            path, message,
        )]))
    }
}

/// Retention over a store `S`.
pub struct RetentionService<S>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    store: S,
    audit: AuditLog<S>,
    monitor: Arc<MonitorService<S>>,
    /// Held while this node executes a run.
    running: tokio::sync::Mutex<()>,
    /// Records per batch.
    batch: u32,
}

/// The holds in force that keep `subject_id` from being erased.
pub async fn holds_on_subject<S: RetentionStore>(
    store: &S,
    subject_id: &str,
) -> Result<Vec<LegalHold>, SubjectError> {
    Ok(store
        .holds()
        .await
        .map_err(SubjectError::store)?
        .into_iter()
        .filter(|hold| hold.scope.holds_subject(subject_id))
        .collect())
}

impl<S> RetentionService<S>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// The service; runs dispose of `batch` records per transaction.
    pub fn new(store: S, audit: AuditLog<S>, monitor: Arc<MonitorService<S>>, batch: u32) -> Self {
        Self {
            store,
            audit,
            monitor,
            running: tokio::sync::Mutex::new(()),
            batch: batch.max(1),
        }
    }

    /// Places a hold.
    pub async fn place_hold(
        &self,
        document: HoldDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<LegalHold, SubjectError> {
        let (name, reason, scope) = document.validate()?;
        let hold = LegalHold {
            id: HoldId::generate(),
            name,
            reason,
            scope,
            created_at: now,
            created_by: by.to_owned(),
        };
        self.store
            .insert_hold(&hold)
            .await
            .map_err(SubjectError::store)?;
        Ok(hold)
    }

    /// The holds in force, oldest first.
    pub async fn holds(&self) -> Result<Vec<LegalHold>, SubjectError> {
        self.store.holds().await.map_err(SubjectError::store)
    }

    /// Releases a hold in force.
    pub async fn release_hold(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(), SubjectError> {
        let id = HoldId::parse(id).ok_or(SubjectError::NotFound("legal hold"))?;
        if self
            .store
            .release_hold(&id, by, now)
            .await
            .map_err(SubjectError::store)?
        {
            Ok(())
        } else {
            Err(SubjectError::NotFound("legal hold"))
        }
    }
}

/// Starts (or resumes) a run and executes it to its end, with its audit entries: the run's
/// start by `by`, and its end by `rampart` (`retention.run_finished`, with each data type's
/// counts and certificate). What the CLI, the API and the `retention` job call.
pub async fn run_to_end<S>(
    service: &RetentionService<S>,
    audit: &AuditLog<rampart_store::Store>,
    dry_run: bool,
    by: &str,
    progress: impl FnMut(&rampart_retention::Run, RunProgress) + Send,
) -> Result<rampart_retention::Run, RetentionError>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    let run = service
        .start_run(dry_run, by, OffsetDateTime::now_utc())
        .await?;
    let run = service.execute(&run.id, progress).await?;
    let steps: Vec<serde_json::Value> = run
        .steps
        .iter()
        .map(|s| {
            serde_json::json!({
                "data_type": s.data_type.to_string(), "due": s.due, "disposed": s.disposed,
                "held_back": s.held_back,
                "certificate_id": (s.disposed > 0 && !run.dry_run).then(|| s.certificate_id.as_str()),
            })
        })
        .collect();
    crate::system_audit::record(
        audit,
        "retention",
        "retention.run_finished",
        ("retention_run", run.id.as_str()),
        serde_json::json!({"dry_run": run.dry_run, "requested_by": run.requested_by, "steps": steps}),
    )
    .await;
    Ok(run)
}
