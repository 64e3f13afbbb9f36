//! Audit entries for what Rampart does by itself or through its CLI (automatic key rotation,
//! `rampart keys rewrap-all`, `rampart master-key rotate`), as opposed to API requests, which the
//! audit-trail middleware records.

use rampart_audit::{AuditLog, NewEntry, SubmittedBy};
use rampart_store::Store;
use serde_json::{Value, json};

/// Appends one entry with actor `{type: system, id: actor}`. Returns whether it was written;
/// failures are logged (the caller decides whether to go on).
pub async fn record(
    audit: &AuditLog<Store>,
    actor: &str,
    action: &str,
    resource: (&str, &str),
    details: Value,
) -> bool {
    let event = json!({
        "actor": {"type": "system", "id": actor},
        "action": action,
        "resource": {"type": resource.0, "id": resource.1},
        "details": details,
        "status": "success",
        "data_classification": "internal",
    });
    match NewEntry::from_json(&event, "") {
        Ok(entry) => match audit.append(vec![entry], SubmittedBy::rampart()).await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, action, "cannot write a system audit entry");
                false
            }
        },
        Err(errors) => {
            tracing::error!(?errors, action, "cannot build a system audit entry");
            false
        }
    }
}
