//! The audit entries of agent governance, and the API's view of an action.

use rampart_access::PrincipalKind;
use rampart_agents::Action;
use rampart_audit::NewEntry;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AgentError, Origin};
use crate::monitor::rfc3339;

/// One audit entry: who acted (the agent, for everything about its actions), on what, with
/// the request's origin.
pub(crate) struct Event<'a> {
    pub origin: &'a Origin,
    pub actor: (PrincipalKind, Uuid),
    pub action: &'static str,
    pub resource: (&'static str, String),
    /// The target's team: the entry is then visible only to that team's readers.
    pub team: Option<&'a str>,
    pub details: Value,
    /// `success`, `denied` or `failure`.
    pub status: &'static str,
}

impl Event<'_> {
    /// The entry; [`AgentError::TooLarge`] when it exceeds the log's limits (the request is
    /// then refused: what an agent said is recorded whole or not acted on).
    pub fn build(mut self) -> Result<NewEntry, AgentError> {
        let details = std::mem::take(&mut self.details);
        NewEntry::from_json(&self.json(details), "").map_err(|_| AgentError::TooLarge)
    }

    /// The entry, or, when it exceeds the log's limits, the entry without the `bulky` details
    /// (whose hashes the caller put beside them), saying so.
    pub fn build_or_without(self, bulky: &[&str]) -> Result<NewEntry, AgentError> {
        if let Ok(entry) = NewEntry::from_json(&self.json(self.details.clone()), "") {
            return Ok(entry);
        }
        let mut details = self.details.clone();
        if let Some(map) = details.as_object_mut() {
            for key in bulky {
                map.remove(*key);
            }
            map.insert(
                "details_omitted".into(),
                json!(format!(
                    "{} exceed the audit log's limits; their SHA-256 are kept",
                    bulky.join(", ")
                )),
            );
        }
        NewEntry::from_json(&self.json(details), "").map_err(|_| AgentError::TooLarge)
    }

    fn json(&self, mut details: Value) -> Value {
        if let Some(map) = details.as_object_mut() {
            let by = if self.origin.principal_id.is_nil() {
                json!({"principal_id": "rampart"})
            } else {
                json!({"principal_id": self.origin.principal_id.to_string(),
                       "type": self.origin.principal_kind.as_str(),
                       "credential_id": self.origin.credential_id.to_string()})
            };
            map.insert("by".into(), by);
        }
        json!({
            "actor": {"type": self.actor.0.as_str(), "id": self.actor.1.to_string(),
                      "ip": self.origin.ip.map(|ip| ip.to_string()),
                      "user_agent": self.origin.user_agent},
            "action": self.action,
            "resource": {"type": self.resource.0, "id": self.resource.1},
            "context": {"request_id": self.origin.request_id, "team_id": self.team},
            "details": details,
            "status": self.status,
            "data_classification": "confidential",
        })
    }
}

/// An action as the API shows it (`execution_token` is added by the caller when one is due).
pub fn action_json(action: &Action) -> Value {
    let time = |at: Option<OffsetDateTime>| at.map(rfc3339);
    json!({
        "id": action.id.as_str(),
        "agent_id": action.agent_id.to_string(),
        "submitted_by": action.submitted_by.to_string(),
        "owner_id": action.owner_id.map(|o| o.to_string()),
        "action": action.action,
        "target": action.target,
        "parameters": action.parameters,
        "parameters_sha256": action.parameters_sha256,
        "blast_radius": action.blast_radius,
        "status": action.status.as_str(),
        "reason": action.reason,
        "approvals_required": action.approvals_required,
        "approvals": action.approvals.iter().map(|a| json!({
            "approver_id": a.approver_id.to_string(),
            "verdict": a.verdict.as_str(),
            "comment": a.comment,
            "at": rfc3339(a.at),
        })).collect::<Vec<_>>(),
        "created_at": rfc3339(action.created_at),
        "expires_at": time(action.expires_at),
        "updated_at": rfc3339(action.updated_at),
        "token_used_at": time(action.token_used_at),
        "result": action.result.as_ref().map(|r| json!({
            "status": r.status.as_str(),
            "details": r.details,
            "reported_by": r.reported_by.to_string(),
            "at": rfc3339(r.at),
        })),
    })
}
