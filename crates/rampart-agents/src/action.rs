//! Actions an agent proposes, as sent and as stored, with their states and approvals.

use std::collections::BTreeMap;

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::guardrails::check_dimension;

/// Longest action name.
pub const MAX_ACTION_NAME_LEN: usize = 64;
/// Longest `reasoning`, in bytes. With the tool calls and parameters it normally fits one audit
/// entry (64 KiB); what does not fit once escaped and redacted is refused (422), never cut.
const MAX_REASONING: usize = 16 * 1024;
/// Most `tool_calls`.
const MAX_TOOL_CALLS: usize = 100;
/// Longest `tool_calls`, as JSON.
const MAX_TOOL_CALLS_BYTES: usize = 16 * 1024;
/// Longest `parameters`, as JSON.
const MAX_PARAMETERS_BYTES: usize = 8 * 1024;
/// Longest target type or id.
const MAX_TARGET_FIELD: usize = 256;

/// Whether `name` can be an action: 1 to 64 of `a-z`, `0-9`, `_`, `.`, `-` (it becomes the
/// permission `actions:<name>`), and not `approve` or `reject`, whose permissions are the
/// approvers' (`actions:approve`, `actions:reject`).
pub fn check_action_name(name: &str) -> Result<(), &'static str> {
    if matches!(name, "approve" | "reject") {
        return Err("'approve' and 'reject' are not actions: their permissions are the approvers'");
    }
    if name.is_empty()
        || name.len() > MAX_ACTION_NAME_LEN
        || !name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
    {
        return Err("an action's name has 1 to 64 of a-z, 0-9, _, . and -");
    }
    Ok(())
}

/// An action's id: `act_` and 32 hex digits (a UUIDv7).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(String);

impl ActionId {
    /// A new id.
    pub fn generate() -> Self {
        Self(format!("act_{}", Uuid::now_v7().simple()))
    }

    /// Parses an id from a path, a token or storage.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("act_")?;
        (hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an action acts on: `{"type": "deployment", "id": "checkout", "team_id": "payments"}`.
/// With a `team_id`, team isolation applies to the agent's permission and to its approvers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The kind of thing (`deployment`).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Which one (`checkout`).
    #[serde(default)]
    pub id: String,
    /// The team it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

/// What an action declares it could affect, per dimension (`{"traffic_percent": 5}`).
pub type BlastRadius = BTreeMap<String, f64>;

/// `POST /v1/agents/{id}/actions`' body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The action's name (`rollback`).
    #[serde(default)]
    pub action: String,
    /// What it acts on.
    #[serde(default)]
    pub target: Target,
    /// Its arguments (a JSON object); the execution token is bound to their RFC 8785 form.
    #[serde(default = "empty_object")]
    pub parameters: serde_json::Value,
    /// What it could affect; a dimension left out counts as 0.
    #[serde(default)]
    pub blast_radius: BlastRadius,
    /// Why the agent proposes it (stored in the audit entry after PII redaction).
    #[serde(default)]
    pub reasoning: Option<String>,
    /// The tool calls that led to it (stored in the audit entry after PII redaction).
    #[serde(default)]
    pub tool_calls: Vec<serde_json::Value>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl ActionRequest {
    /// Checks every field; each bad one is named, never quoted.
    pub fn check(&self) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        if let Err(message) = check_action_name(&self.action) {
            errors.push(FieldError::new("action", message));
        }
        for (path, value) in [
            ("target.type", &self.target.kind),
            ("target.id", &self.target.id),
        ] {
            if value.is_empty() || value.len() > MAX_TARGET_FIELD {
                errors.push(FieldError::new(
                    path,
                    format!("has 1 to {MAX_TARGET_FIELD} bytes"),
                ));
            } else if value.chars().any(char::is_control) {
                errors.push(FieldError::new(path, "has no control characters"));
            }
        }
        if let Some(team) = &self.target.team_id
            && (team.is_empty()
                || team.len() > 64
                || team.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            errors.push(FieldError::new(
                "target.team_id",
                "has 1 to 64 bytes, no spaces or control characters",
            ));
        }
        if !self.parameters.is_object() {
            errors.push(FieldError::new("parameters", "is a JSON object"));
        } else if has_unsafe_integer(&self.parameters) {
            errors.push(FieldError::new(
                "parameters",
                "holds an integer beyond ±(2^53 - 1), which RFC 8785 cannot keep exact: send it as a string",
            ));
        } else if json_len(&self.parameters) > MAX_PARAMETERS_BYTES {
            errors.push(FieldError::new(
                "parameters",
                format!("has at most {MAX_PARAMETERS_BYTES} bytes as JSON"),
            ));
        }
        for (dimension, value) in &self.blast_radius {
            let path = format!("blast_radius.{dimension}");
            if let Err(message) = check_dimension(dimension) {
                errors.push(FieldError::new(path, message));
            } else if !value.is_finite() || *value < 0.0 {
                errors.push(FieldError::new(path, "is a number of at least 0"));
            }
        }
        if self
            .reasoning
            .as_ref()
            .is_some_and(|r| r.len() > MAX_REASONING)
        {
            errors.push(FieldError::new(
                "reasoning",
                format!("has at most {MAX_REASONING} bytes"),
            ));
        }
        if self.tool_calls.len() > MAX_TOOL_CALLS {
            errors.push(FieldError::new(
                "tool_calls",
                format!("has at most {MAX_TOOL_CALLS} calls"),
            ));
        } else if self.tool_calls.iter().map(json_len).sum::<usize>() > MAX_TOOL_CALLS_BYTES {
            errors.push(FieldError::new(
                "tool_calls",
                format!("has at most {MAX_TOOL_CALLS_BYTES} bytes as JSON"),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid::Fields(errors))
        }
    }
}

/// Whether `value` holds an integer beyond ±(2^53 - 1): RFC 8785 writes numbers as IEEE 754
/// doubles, so two such integers could share one canonical form (and one parameters hash).
pub fn has_unsafe_integer(value: &serde_json::Value) -> bool {
    const MAX_SAFE: u64 = (1 << 53) - 1;
    match value {
        serde_json::Value::Number(n) => {
            n.as_u64().is_some_and(|u| u > MAX_SAFE)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > MAX_SAFE)
        }
        serde_json::Value::Array(items) => items.iter().any(has_unsafe_integer),
        serde_json::Value::Object(map) => map.values().any(has_unsafe_integer),
        _ => false,
    }
}

/// The length of `value` as compact JSON.
fn json_len(value: &serde_json::Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Allowed at once; its execution token was issued.
    Allowed,
    /// Waiting for its approvals.
    PendingApproval,
    /// Approved by its quorum; the agent may fetch its execution token.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Not approved in time (a denial).
    Expired,
    /// Denied by the guardrails or the role policy.
    Denied,
    /// Carried out: the application reported success.
    Executed,
    /// Attempted: the application reported failure.
    Failed,
}

impl Status {
    /// Every state.
    pub const ALL: [Self; 8] = [
        Self::Allowed,
        Self::PendingApproval,
        Self::Approved,
        Self::Rejected,
        Self::Expired,
        Self::Denied,
        Self::Executed,
        Self::Failed,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Denied => "denied",
            Self::Executed => "executed",
            Self::Failed => "failed",
        }
    }

    /// Reads a wire name (`pending` is accepted for `pending_approval`, as API.md's
    /// `GET /v1/approvals?status=pending` writes it).
    pub fn parse(name: &str) -> Option<Self> {
        if name == "pending" {
            return Some(Self::PendingApproval);
        }
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the action may be carried out (an execution token may be issued and used).
    pub fn may_execute(self) -> bool {
        matches!(self, Self::Allowed | Self::Approved)
    }
}

/// An approver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalVerdict {
    /// Approved.
    Approve,
    /// Rejected.
    Reject,
}

impl ApprovalVerdict {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    /// Reads a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

/// One approver's answer on an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Who answered.
    pub approver_id: Uuid,
    /// Approve or reject.
    pub verdict: ApprovalVerdict,
    /// Their comment.
    pub comment: Option<String>,
    /// When.
    pub at: OffsetDateTime,
}

/// What the application reports after carrying out an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// It worked.
    Succeeded,
    /// It did not.
    Failed,
}

impl ResultStatus {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Reads a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An action's reported result.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionResult {
    /// Succeeded or failed.
    pub status: ResultStatus,
    /// What the application said about it.
    pub details: serde_json::Value,
    /// Who reported it.
    pub reported_by: Uuid,
    /// When.
    pub at: OffsetDateTime,
}

/// An action as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// `act_…`.
    pub id: ActionId,
    /// The agent principal whose action it is.
    pub agent_id: Uuid,
    /// Who submitted it (the agent, or a principal holding `agents:submit`).
    pub submitted_by: Uuid,
    /// The agent's owner when it was submitted (who may never approve it).
    pub owner_id: Option<Uuid>,
    /// The action's name.
    pub action: String,
    /// What it acts on.
    pub target: Target,
    /// Its arguments.
    pub parameters: serde_json::Value,
    /// SHA-256 of the parameters' RFC 8785 form, hex.
    pub parameters_sha256: String,
    /// What it declared it could affect.
    pub blast_radius: BlastRadius,
    /// Where it stands.
    pub status: Status,
    /// Why it was decided so.
    pub reason: String,
    /// Distinct approvers it needs (from the guardrails when it was submitted).
    pub approvals_required: u32,
    /// The approvers' answers, oldest first.
    pub approvals: Vec<Approval>,
    /// When it was submitted.
    pub created_at: OffsetDateTime,
    /// When it stops waiting for approval (pending) or its first token expires (allowed).
    pub expires_at: Option<OffsetDateTime>,
    /// When its status last changed.
    pub updated_at: OffsetDateTime,
    /// When its execution token was accepted (once only).
    pub token_used_at: Option<OffsetDateTime>,
    /// What the application reported.
    pub result: Option<ActionResult>,
}

impl Action {
    /// The approvers who approved it.
    pub fn approvers(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.approvals
            .iter()
            .filter(|a| a.verdict == ApprovalVerdict::Approve)
            .map(|a| a.approver_id)
    }

    /// The team of its target, if any.
    pub fn team_id(&self) -> Option<&str> {
        self.target.team_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_their_form() {
        let id = ActionId::generate();
        assert_eq!(ActionId::parse(id.as_str()), Some(id));
        for bad in [
            "act_",
            "act_XYZ",
            "hold_0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert!(ActionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn requests_name_each_bad_field() {
        let request: ActionRequest = rampart_document::read_json(
            r#"{"action": "Roll Back", "target": {"type": "", "id": "x", "team_id": "a b"},
                "parameters": [1], "blast_radius": {"traffic_percent": -1}}"#,
        )
        .unwrap();
        let Err(Invalid::Fields(errors)) = request.check() else {
            panic!("refused")
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "action",
                "target.type",
                "target.team_id",
                "parameters",
                "blast_radius.traffic_percent"
            ]
        );
    }

    #[test]
    fn approver_permissions_are_not_actions_and_big_integers_are_refused() {
        assert!(check_action_name("approve").is_err());
        assert!(check_action_name("reject").is_err());
        assert!(check_action_name("approve_budget").is_ok());
        assert!(has_unsafe_integer(
            &serde_json::json!({"a": [1, {"b": 9_007_199_254_740_992u64}]})
        ));
        assert!(has_unsafe_integer(
            &serde_json::json!({"a": -9_007_199_254_740_992i64})
        ));
        assert!(!has_unsafe_integer(
            &serde_json::json!({"a": 9_007_199_254_740_991u64, "b": 1.5e300})
        ));
        let request: ActionRequest = rampart_document::read_json(
            r#"{"action": "refund", "target": {"type": "o", "id": "1"}, "parameters": {"account": 4000000000000000006}}"#,
        )
        .unwrap();
        let Err(Invalid::Fields(errors)) = request.check() else {
            panic!("refused")
        };
        assert_eq!(errors[0].path, "parameters");
    }

    #[test]
    fn statuses_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("pending"), Some(Status::PendingApproval));
        assert_eq!(Status::parse("done"), None);
    }
}
