//! Facts of the audit log: its verification from the last verified checkpoint (with a failed
//! daily full verification standing until one passes) and its latest checkpoint's age.

use rampart_audit::{ActionFilter, AuditStore, EntryFilter};
use rampart_compliance::{Facts, catalog};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{AuditSeen, err};
use crate::compliance::{ComplianceError, ComplianceService};

/// At most 20 of a verification's problems, each as one line naming its entry.
pub(crate) fn problem_lines(problems: &[rampart_audit::VerifyProblem]) -> Vec<String> {
    problems
        .iter()
        .take(20)
        .map(|p| match p.seq {
            Some(seq) => format!("entry {seq}: {}", p.problem),
            None => p.problem.clone(),
        })
        .collect()
}

impl ComplianceService {
    pub(super) async fn audit_facts(
        &self,
        facts: &mut Facts,
        last_full: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<AuditSeen, ComplianceError> {
        let verified = self.audit.verify_since_last().await.map_err(err)?;
        let report = &verified.report;
        let mut verification = json!({
            "ok": report.ok,
            "tree_size": report.tree_size,
            "root_hash": report.root_hash,
            "checked_entries": report.checked_entries,
            "pruned_entries": report.pruned_entries,
            "from_tree_size": verified.from_tree_size,
            "problems": problem_lines(&report.problems),
        });
        let mut source = "audit log: verified from the last verified checkpoint (entries \
                          re-hashed, tree, signed checkpoint)"
            .to_owned();
        // A full verification that failed (the daily evaluation's) is not undone by an
        // incremental one that starts above the changed entry: it stands until one passes.
        if let (Some((at, failed)), Some(object)) = (
            self.failed_full_verification(last_full).await?,
            verification.as_object_mut(),
        ) {
            object.insert("ok".into(), Value::Bool(false));
            object.insert(
                "problems".into(),
                failed.get("problems").cloned().unwrap_or_default(),
            );
            object.insert(
                "full_verification_failed_at".into(),
                Value::String(at.clone()),
            );
            source = format!("audit log: the full verification at {at} (daily evaluation) failed");
        }
        facts.insert(catalog::AUDIT_VERIFICATION, verification, source);
        let checkpoint = self.store.latest_checkpoint().await.map_err(err)?;
        facts.insert(
            catalog::AUDIT_CHECKPOINT_AGE_SECONDS,
            checkpoint.map(|c| (now - c.timestamp).whole_seconds().max(0)),
            "audit log: the latest signed checkpoint",
        );
        Ok(AuditSeen {
            tree_size: report.tree_size,
            root_hash: report.root_hash.clone(),
        })
    }

    /// The newest daily evaluation's full verification, when it failed and no full
    /// verification passed after it: its time and its `audit_verification` details.
    async fn failed_full_verification(
        &self,
        last_passed: Option<OffsetDateTime>,
    ) -> Result<Option<(String, Value)>, ComplianceError> {
        let filter = EntryFilter {
            action: Some(ActionFilter::Exact("compliance.evaluated".to_owned())),
            actor_type: Some("system".to_owned()),
            descending: true,
            limit: 50,
            ..EntryFilter::default()
        };
        // Only Rampart's own entries count (an application may append anything it likes).
        let newest = self
            .store
            .query(&filter)
            .await
            .map_err(err)?
            .into_iter()
            .map(|entry| {
                let body: Value = serde_json::from_str(&entry.body).unwrap_or_default();
                (entry, body)
            })
            .find(|(_, body)| {
                body.pointer("/submitted_by/principal_id")
                    .is_some_and(|id| id == "rampart")
            });
        let Some((entry, body)) = newest else {
            return Ok(None);
        };
        let Some(verification) = body.pointer("/details/audit_verification") else {
            return Ok(None);
        };
        if verification.get("ok") != Some(&Value::Bool(false)) {
            return Ok(None);
        }
        let at = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(entry.timestamp_micros).saturating_mul(1000),
        )
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        if last_passed.is_some_and(|passed| passed > at) {
            return Ok(None);
        }
        Ok(Some((
            rampart_compliance::rfc3339(at),
            verification.clone(),
        )))
    }
}
