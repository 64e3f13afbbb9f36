//! Policies: listed, set and removed under the rules of their modes (a compliance policy is
//! never shortened, weakened or removed: `409`; a governance one is shortened only with
//! `retention:override`: `403` without).

use rampart_audit::AuditStore;
use rampart_monitor::MonitorStore;
use rampart_retention::{
    DataType, Policy, PolicyChange, PolicyDocument, PolicyRefusal, RetentionStore, judge_change,
    judge_removal,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{RetentionError, RetentionService};
use crate::monitor::rfc3339;

/// A policy as the API shows it.
pub fn policy_json(policy: &Policy) -> Value {
    json!({
        "data_type": policy.data_type.to_string(),
        "retain_seconds": policy.retain_seconds,
        "retain_days": policy.retain_seconds.is_multiple_of(86_400).then_some(policy.retain_seconds / 86_400),
        "mode": policy.mode.as_str(),
        "updated_at": rfc3339(policy.updated_at),
        "updated_by": policy.updated_by,
    })
}

fn refusal(refusal: PolicyRefusal) -> RetentionError {
    match refusal {
        PolicyRefusal::Compliance => RetentionError::Conflict(refusal.to_string()),
        PolicyRefusal::NeedsOverride => RetentionError::Forbidden(refusal.to_string()),
    }
}

/// A storage error of a policy change: the database's own refusal of a compliance policy's
/// shortening or removal (a change raced in after the check) is the `409` it is.
fn stored<E: std::error::Error + Send + Sync + 'static>(error: E) -> RetentionError {
    if error.to_string().contains("compliance retention policy") {
        refusal(PolicyRefusal::Compliance)
    } else {
        RetentionError::store(error)
    }
}

/// A data type from a path, or a 422 naming it.
pub fn parse_data_type(text: &str) -> Result<DataType, RetentionError> {
    DataType::parse(text).ok_or_else(|| {
        RetentionError::field(
            "data_type",
            "must be audit_entries, audit_entries:<tag>, consents, alerts, incidents, sessions, \
             webhook_deliveries, erasures or app:<name>",
        )
    })
}

impl<S> RetentionService<S>
where
    S: RetentionStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// Every policy, by data type.
    pub async fn policies(&self) -> Result<Vec<Policy>, RetentionError> {
        RetentionStore::policies(&self.store)
            .await
            .map_err(RetentionError::store)
    }

    /// Sets the policy of `data_type`: returns the policy before (if any), the new one, and
    /// what the change did. `can_override`: the caller holds `retention:override`.
    pub async fn set_policy(
        &self,
        data_type: &str,
        document: &PolicyDocument,
        can_override: bool,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(Option<Policy>, Policy, PolicyChange), RetentionError> {
        let data_type = parse_data_type(data_type)?;
        let (retain_seconds, mode) = document.validate()?;
        let old = self
            .policies()
            .await?
            .into_iter()
            .find(|p| p.data_type == data_type);
        let change =
            judge_change(old.as_ref(), (retain_seconds, mode), can_override).map_err(refusal)?;
        let policy = Policy {
            data_type,
            retain_seconds,
            mode,
            updated_at: now,
            updated_by: by.to_owned(),
        };
        // The database refuses a compliance policy's shortening too: a change raced in
        // between is refused there.
        self.store.put_policy(&policy).await.map_err(stored)?;
        Ok((old, policy, change))
    }

    /// Removes the policy of `data_type` (its records are then kept); returns it.
    pub async fn remove_policy(&self, data_type: &str) -> Result<Policy, RetentionError> {
        let data_type = parse_data_type(data_type)?;
        let old = self
            .policies()
            .await?
            .into_iter()
            .find(|p| p.data_type == data_type)
            .ok_or(RetentionError::NotFound("retention policy"))?;
        judge_removal(&old).map_err(refusal)?;
        let removed = self.store.remove_policy(&data_type).await.map_err(stored)?;
        if removed {
            Ok(old)
        } else {
            Err(RetentionError::NotFound("retention policy"))
        }
    }
}
