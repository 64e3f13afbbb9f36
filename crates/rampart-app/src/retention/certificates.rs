//! Disposal certificates: one per data type a run disposed of, and one per application
//! confirmation, each signed with the audit log's key and naming the checkpoint after the run.

use rampart_audit::AuditStore;
use rampart_audit::export::checkpoint_json;
use rampart_monitor::MonitorStore;
use rampart_retention::{
    AppConfirmation, CertificateId, DataType, RetentionStore, Run, Step, StepState,
    StoredCertificate,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{RetentionError, RetentionService};
use crate::monitor::rfc3339;

impl<S> RetentionService<S>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// Signs and stores the certificate of `step` (with the application's confirmation for
    /// its own data types).
    pub(super) async fn issue_certificate(
        &self,
        run: &Run,
        step: &Step,
        confirmation: Option<&AppConfirmation>,
        now: OffsetDateTime,
    ) -> Result<Value, RetentionError> {
        let log = &self.audit;
        let signed = log
            .latest_checkpoint()
            .await
            .map_err(RetentionError::store)?;
        let checkpoint =
            serde_json::to_value(checkpoint_json(log.origin(), &signed, log.verifier()))
                .map_err(RetentionError::store)?;
        let count = confirmation.map_or(step.disposed, |c| c.records_deleted);
        let mut document = json!({
            "id": step.certificate_id.as_str(),
            "type": "rampart.disposal_certificate.v1",
            "run_id": run.id.as_str(),
            "data_type": step.data_type.to_string(),
            "cutoff": rfc3339(step.cutoff),
            "count": count,
            "first_seq": step.first_seq,
            "last_seq": step.last_seq,
            "held_back": step.held_back,
            "method": match &step.data_type {
                DataType::AuditEntries | DataType::AuditTag(_) => "pruned: body deleted, leaf hash kept",
                DataType::App(_) => "deleted by the application (confirmed)",
                _ => "deleted",
            },
            "confirmation": confirmation.map(|c| json!({
                "records_deleted": c.records_deleted,
                "deleted_before": rfc3339(c.deleted_before),
                "confirmed_at": rfc3339(c.confirmed_at),
                "confirmed_by": c.confirmed_by,
            })),
            "issued_at": rfc3339(now),
            "checkpoint": checkpoint,
        });
        log.sign_document(&mut document)
            .map_err(|e| RetentionError::Signing(e.to_string()))?;
        self.store
            .insert_certificate(&StoredCertificate {
                id: step.certificate_id.clone(),
                run_id: run.id.clone(),
                data_type: step.data_type.clone(),
                issued_at: now,
                document: document.to_string(),
            })
            .await
            .map_err(RetentionError::store)?;
        Ok(document)
    }

    /// Records an application's confirmation for `run_id` and issues its certificate.
    pub async fn confirm(
        &self,
        run_id: &str,
        data_type: &str,
        records_deleted: u64,
        deleted_before: OffsetDateTime,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Value, RetentionError> {
        let (run, _) = self.run(run_id).await?;
        let data_type = super::policies::parse_data_type(data_type)?;
        let step = run
            .steps
            .iter()
            .find(|s| s.data_type == data_type && matches!(s.data_type, DataType::App(_)))
            .ok_or_else(|| {
                RetentionError::field("data_type", "names no application data type of this run")
            })?;
        if run.dry_run || step.held_back > 0 || step.state != StepState::Done {
            return Err(RetentionError::Conflict(
                "this run sent no retention.due for that data type".to_owned(),
            ));
        }
        let confirmation = AppConfirmation {
            run_id: run.id.clone(),
            data_type,
            records_deleted,
            deleted_before,
            confirmed_at: now,
            confirmed_by: by.to_owned(),
        };
        if !self
            .store
            .confirm_app(&confirmation)
            .await
            .map_err(RetentionError::store)?
        {
            return Err(RetentionError::Conflict(
                "that data type was confirmed for this run already".to_owned(),
            ));
        }
        self.issue_certificate(&run, step, Some(&confirmation), now)
            .await
    }

    /// Disposal certificates in id (time) order after `after`, at most `limit`, as signed.
    pub async fn certificates(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Value>, RetentionError> {
        let after = match after {
            Some(text) => Some(
                CertificateId::parse(text)
                    .ok_or_else(|| RetentionError::field("after", "is not a certificate id"))?,
            ),
            None => None,
        };
        self.store
            .certificates(after.as_ref(), limit)
            .await
            .map_err(RetentionError::store)?
            .into_iter()
            .map(|c| serde_json::from_str(&c.document).map_err(RetentionError::store))
            .collect()
    }
}
