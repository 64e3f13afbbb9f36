//! The export (Art. 20): one JSON document of everything Rampart holds about a subject, signed
//! with the audit log's key over its RFC 8785 form.

use rampart_audit::export::checkpoint_json;
use rampart_audit::tree::to_hex;
use rampart_audit::{AuditStore, EntryFilter};
use rampart_monitor::MonitorStore;
use rampart_subjects::SubjectStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::consents::consents_json;
use super::{SubjectError, SubjectService, subject_id};
use crate::monitor::rfc3339;

/// Entries read per page.
const PAGE: u32 = 1_000;
/// Most audit entries one export holds.
pub const MAX_EXPORT_ENTRIES: usize = 100_000;

impl<S> SubjectService<S>
where
    S: SubjectStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// The subject's export: `{"subject_id", "generated_at", "consents": {"current",
    /// "history"}, "audit_entries": [entry with leaf_hash and personal_plain], "principals",
    /// "card_tokens", "checkpoint", "signature_b64"}`. More than [`MAX_EXPORT_ENTRIES`] entries
    /// is a conflict (export a range of the audit log instead).
    pub async fn export(&self, subject: &str, now: OffsetDateTime) -> Result<Value, SubjectError> {
        subject_id("subject_id", subject)?;
        let history = self.consents(subject).await?;
        let (principals, cards) = self
            .store
            .linked_records(subject)
            .await
            .map_err(SubjectError::store)?;
        let log = &self.audit;
        let signed = log.latest_checkpoint().await.map_err(SubjectError::store)?;
        let mut entries = Vec::new();
        let mut after = None;
        // Entries up to the checkpoint's tree (none in an empty log).
        while let Some(to_seq) = signed.tree_size.checked_sub(1) {
            let filter = EntryFilter {
                subject_id: Some(subject.to_owned()),
                to_seq: Some(to_seq),
                after_seq: after,
                limit: PAGE,
                ..EntryFilter::default()
            };
            let page = log
                .entries_for(filter, None)
                .await
                .map_err(SubjectError::store)?;
            let mut values = Vec::with_capacity(page.len());
            // Entries pruned under retention are gone (and no longer name the subject): a
            // query returns none, and none would be shown.
            for row in page.iter().filter(|row| row.pruned.is_none()) {
                let mut value: Value =
                    serde_json::from_str(&row.body).map_err(SubjectError::store)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("leaf_hash".into(), Value::String(to_hex(&row.leaf_hash)));
                }
                values.push(value);
            }
            let refs: Vec<&Value> = values.iter().collect();
            let plains = self.reveal(&refs).await?;
            for (mut value, plain) in values.into_iter().zip(plains) {
                if let (Some(object), Some(plain)) = (value.as_object_mut(), plain) {
                    object.insert("personal_plain".into(), plain);
                }
                entries.push(value);
            }
            if entries.len() > MAX_EXPORT_ENTRIES {
                return Err(SubjectError::Conflict(format!(
                    "the subject has more than {MAX_EXPORT_ENTRIES} audit entries; export the audit log by range instead"
                )));
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.seq),
                _ => break,
            }
        }
        let checkpoint =
            serde_json::to_value(checkpoint_json(log.origin(), &signed, log.verifier()))
                .map_err(SubjectError::store)?;
        let mut document = json!({
            "subject_id": subject,
            "generated_at": rfc3339(now),
            "consents": consents_json(&history),
            "audit_entries": entries,
            "principals": principals.iter().map(|p| json!({
                "id": p.id, "type": p.kind, "name": p.name, "email": p.email,
                "disabled": p.disabled, "created_at": rfc3339(p.created_at),
            })).collect::<Vec<_>>(),
            "card_tokens": cards.iter().map(|c| json!({
                "token": c.token, "brand": c.brand, "last_four": c.last_four,
                "fingerprint": c.fingerprint, "created_at": rfc3339(c.created_at),
            })).collect::<Vec<_>>(),
            "checkpoint": checkpoint,
        });
        log.sign_document(&mut document)
            .map_err(|e| SubjectError::Crypto(e.to_string()))?;
        Ok(document)
    }
}
