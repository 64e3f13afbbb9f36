//! Compliance reports as the deployment makes them (API.md "Compliance reports"): facts
//! gathered from every domain (`facts`), judged by `rampart-compliance`'s frameworks; reports
//! signed with the audit log's key, stored and listed; waivers; every control's history, from
//! each report and from the daily evaluation (a leased job that also verifies the audit log in
//! full, so the incremental verification of each report rests on a recent full one); and the
//! evidence package (`evidence`).

mod evidence;
mod facts;

use std::sync::Arc;
use std::time::Duration;

use rampart_audit::AuditLog;
use rampart_compliance::{
    AuditPeriod, ComplianceStore, FrameworkId, HistoryEntry, Invalid, Report, ReportId,
    StoredReport, Waiver, WaiverDocument, frameworks,
};
use rampart_store::Store;
use rampart_threat::ThreatGuard;
use serde_json::Value;
use time::OffsetDateTime;

pub use evidence::EvidencePackage;

use crate::config::Settings;
use crate::jobs::{Job, TickError};
use crate::monitor::MonitorService;

/// Why a compliance request failed.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// A body or parameter the rules refuse (422 naming the fields).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// No such report, waiver or control.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Storage failed.
    #[error("compliance storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A fact could not be gathered.
    #[error("cannot gather a compliance fact: {0}")]
    Facts(String),
    /// Signing or packaging failed.
    #[error("cannot sign the report: {0}")]
    Signing(String),
}

impl ComplianceError {
    pub(crate) fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self::Store(Box::new(error))
    }
}

/// A report just made: its stored form and the report itself.
#[derive(Debug, Clone)]
pub struct Generated {
    /// As stored (the signed document's text).
    pub stored: StoredReport,
    /// The report.
    pub report: Report,
}

/// What the daily evaluation found.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Each framework's counts.
    pub summaries: Vec<(FrameworkId, rampart_compliance::Summary)>,
    /// The full verification of the audit log it began with (`ok`, `tree_size`, `root_hash`,
    /// `checked_entries`, `problems`): recorded in its `compliance.evaluated` entry, where a
    /// failure is found again by every report until a full verification passes.
    pub verification: Value,
}

/// Compliance over the deployment's store.
pub struct ComplianceService {
    store: Store,
    audit: AuditLog<Store>,
    settings: Settings,
    master_key_source: &'static str,
    monitor: Arc<MonitorService<Store>>,
    threat: Arc<ThreatGuard<Store>>,
}

impl ComplianceService {
    /// The service. `master_key_source` says where the master key was read (`file`, `env`).
    pub fn new(
        store: Store,
        audit: AuditLog<Store>,
        settings: Settings,
        master_key_source: &'static str,
        monitor: Arc<MonitorService<Store>>,
        threat: Arc<ThreatGuard<Store>>,
    ) -> Self {
        Self {
            store,
            audit,
            settings,
            master_key_source,
            monitor,
            threat,
        }
    }

    /// The audit log reports are signed with.
    pub fn audit(&self) -> &AuditLog<Store> {
        &self.audit
    }

    /// The settings facts are read from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Evaluates `framework` against the deployment now, signs, stores and records the
    /// report (every control's result goes into its history). Auditing the request is the
    /// caller's (the API's audit trail, or the CLI's system entry).
    pub async fn generate(
        &self,
        framework: FrameworkId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Generated, ComplianceError> {
        let (facts, seen) = self.gather(now).await?;
        let waivers = self.store.waivers().await.map_err(ComplianceError::store)?;
        let previous = self
            .store
            .latest_report(framework)
            .await
            .map_err(ComplianceError::store)?;
        // The period starts where the previous report of the framework ended (at least one
        // entry: the log always holds the deployment's first entries).
        let from_seq = previous
            .map_or(0, |p| p.tree_size)
            .min(seen.tree_size.saturating_sub(1));
        let period = AuditPeriod {
            from_seq,
            tree_size: seen.tree_size,
            root_hash: seen.root_hash,
        };
        let mut report = Report::build(
            frameworks::framework(framework),
            &facts,
            &waivers,
            period,
            by,
            now,
        );
        let mut document = report.to_value();
        self.audit
            .sign_document(&mut document)
            .map_err(|e| ComplianceError::Signing(e.to_string()))?;
        report.signature_b64 = document
            .get(rampart_audit::SIGNATURE_MEMBER)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let stored = StoredReport {
            id: report.id.clone(),
            framework,
            generated_at: now,
            tree_size: report.audit.tree_size,
            document: document.to_string(),
        };
        self.store
            .insert_report(&stored)
            .await
            .map_err(ComplianceError::store)?;
        let results: Vec<_> = report
            .controls
            .iter()
            .map(|c| (c.id.clone(), c.status))
            .collect();
        self.store
            .record_results(framework, now, Some(&report.id), &results)
            .await
            .map_err(ComplianceError::store)?;
        Ok(Generated { stored, report })
    }

    /// A stored report.
    pub async fn report(&self, id: &str) -> Result<(StoredReport, Report), ComplianceError> {
        let id = ReportId::parse(id).ok_or(ComplianceError::NotFound("report"))?;
        let stored = self
            .store
            .report(&id)
            .await
            .map_err(ComplianceError::store)?
            .ok_or(ComplianceError::NotFound("report"))?;
        let report: Report = serde_json::from_str(&stored.document)
            .map_err(|e| ComplianceError::Store(Box::new(e)))?;
        Ok((stored, report))
    }

    /// Reports newest first (of one framework when given), at most `limit`.
    pub async fn reports(
        &self,
        framework: Option<FrameworkId>,
        limit: u32,
    ) -> Result<Vec<StoredReport>, ComplianceError> {
        self.store
            .list_reports(framework, limit.clamp(1, 1000))
            .await
            .map_err(ComplianceError::store)
    }

    /// Grants a waiver.
    pub async fn add_waiver(
        &self,
        document: &WaiverDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Waiver, ComplianceError> {
        let waiver = document.check(by, now)?;
        self.store
            .insert_waiver(&waiver)
            .await
            .map_err(ComplianceError::store)?;
        Ok(waiver)
    }

    /// Every waiver not revoked (expired ones too).
    pub async fn waivers(&self) -> Result<Vec<Waiver>, ComplianceError> {
        self.store.waivers().await.map_err(ComplianceError::store)
    }

    /// Revokes a waiver.
    pub async fn revoke_waiver(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(), ComplianceError> {
        if self
            .store
            .revoke_waiver(id, by, now)
            .await
            .map_err(ComplianceError::store)?
        {
            Ok(())
        } else {
            Err(ComplianceError::NotFound("waiver"))
        }
    }

    /// A control's past results, newest first.
    pub async fn history(
        &self,
        framework: &str,
        control: &str,
        before: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, ComplianceError> {
        let framework: FrameworkId = framework
            .parse()
            .map_err(|_| ComplianceError::NotFound("framework"))?;
        if frameworks::framework(framework).control(control).is_none() {
            return Err(ComplianceError::NotFound("control"));
        }
        self.store
            .control_history(framework, control, before, limit.clamp(1, 10_000))
            .await
            .map_err(ComplianceError::store)
    }

    /// The daily evaluation: verifies the audit log in full (recorded, so reports verify
    /// incrementally from it), then evaluates every framework and records each control's
    /// result. Returns the frameworks' summaries.
    pub async fn evaluate_all(&self, now: OffsetDateTime) -> Result<Evaluation, ComplianceError> {
        let full = self.audit.verify().await.map_err(ComplianceError::store)?;
        if !full.ok {
            tracing::error!(
                problems = full.problems.len(),
                "the daily full verification found the audit log changed"
            );
        }
        let verification = serde_json::json!({
            "ok": full.ok,
            "tree_size": full.tree_size,
            "root_hash": full.root_hash,
            "checked_entries": full.checked_entries,
            "problems": facts::problem_lines(&full.problems),
        });
        let (facts, _) = self.gather(now).await?;
        let waivers = self.store.waivers().await.map_err(ComplianceError::store)?;
        let mut summaries = Vec::new();
        for framework in frameworks::all() {
            let results = rampart_compliance::evaluate(framework, &facts, &waivers, now);
            let rows: Vec<_> = results.iter().map(|c| (c.id.clone(), c.status)).collect();
            self.store
                .record_results(framework.id, now, None, &rows)
                .await
                .map_err(ComplianceError::store)?;
            summaries.push((framework.id, rampart_compliance::Summary::of(&results)));
        }
        Ok(Evaluation {
            summaries,
            verification,
        })
    }
}

/// The daily evaluation as a leased job: checks every minute whether `interval` has passed
/// since the last evaluation recorded (by any node; for a new deployment, since it was
/// created), and if so evaluates.
pub fn evaluation_job(service: Arc<ComplianceService>, interval: Duration) -> Job {
    let tick = Duration::from_secs(60).min(interval);
    Job::leased("compliance-evaluation", tick, move || {
        let service = Arc::clone(&service);
        async move {
            let now = OffsetDateTime::now_utc();
            let last = service
                .store
                .last_evaluation()
                .await
                .map_err(|e| TickError::new("cannot read the last compliance evaluation", e))?;
            // A new deployment is first evaluated one interval after it was created.
            let since = match last {
                Some(at) => at,
                None => match service.store.deployment().await {
                    Ok(Some(deployment)) => deployment.created_at,
                    Ok(None) => now,
                    Err(e) => return Err(TickError::new("cannot read the deployment record", e)),
                },
            };
            let due =
                now - since >= time::Duration::try_from(interval).unwrap_or(time::Duration::DAY);
            if !due {
                return Ok(());
            }
            let evaluation = service
                .evaluate_all(now)
                .await
                .map_err(|e| TickError::new("the compliance evaluation failed", e))?;
            let summaries: serde_json::Map<_, _> = evaluation
                .summaries
                .iter()
                .map(|(f, s)| (f.as_str().to_owned(), serde_json::json!(s)))
                .collect();
            let details = serde_json::json!({
                "summaries": summaries,
                "audit_verification": evaluation.verification,
            });
            crate::system_audit::record(
                &service.audit,
                "compliance-evaluation",
                "compliance.evaluated",
                ("compliance", "all"),
                details,
            )
            .await;
            Ok(())
        }
    })
}
