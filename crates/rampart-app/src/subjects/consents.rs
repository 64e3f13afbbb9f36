//! The consent ledger through the service: record, read (current and history), list holders.

use rampart_audit::AuditStore;
use rampart_monitor::MonitorStore;
use rampart_subjects::{
    ConsentDocument, ConsentFilter, ConsentHolder, ConsentRecord, SubjectStore, current,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{SubjectError, SubjectService, subject_id};
use crate::monitor::rfc3339;

/// A consent record as the API shows it.
pub fn consent_json(record: &ConsentRecord) -> Value {
    json!({
        "id": record.id,
        "purpose": record.purpose,
        "given": record.given,
        "source": record.source,
        "policy_version": record.policy_version,
        "at": rfc3339(record.recorded_at),
        "recorded_by": record.recorded_by,
        "erased": record.erased_at.is_some(),
    })
}

/// `{"current": {purpose: {"given", "at"}}, "history": [...]}`.
pub fn consents_json(history: &[ConsentRecord]) -> Value {
    let current: Map<String, Value> = current(history)
        .into_iter()
        .map(|(purpose, c)| (purpose, json!({"given": c.given, "at": rfc3339(c.at)})))
        .collect();
    json!({
        "current": current,
        "history": history.iter().map(consent_json).collect::<Vec<_>>(),
    })
}

impl<S> SubjectService<S>
where
    S: SubjectStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// Records a consent change of `subject`.
    pub async fn record_consent(
        &self,
        subject: &str,
        document: ConsentDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<ConsentRecord, SubjectError> {
        subject_id("subject_id", subject)?;
        let consent = document.validate()?;
        let lookup = self.lookup_key.lookup(subject);
        self.store
            .record_consent(&lookup, subject, &consent, by, now)
            .await
            .map_err(SubjectError::store)
    }

    /// A subject's consent records, in ledger order.
    pub async fn consents(&self, subject: &str) -> Result<Vec<ConsentRecord>, SubjectError> {
        subject_id("subject_id", subject)?;
        let lookup = self.lookup_key.lookup(subject);
        self.store
            .consents(&lookup)
            .await
            .map_err(SubjectError::store)
    }

    /// Subjects by their current consent to a purpose.
    pub async fn consent_holders(
        &self,
        filter: &ConsentFilter,
    ) -> Result<Vec<ConsentHolder>, SubjectError> {
        rampart_subjects::check_purpose(&filter.purpose)
            .map_err(|message| SubjectError::field("purpose", message))?;
        self.store
            .consent_holders(filter)
            .await
            .map_err(SubjectError::store)
    }
}
