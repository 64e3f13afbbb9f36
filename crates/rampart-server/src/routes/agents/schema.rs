//! The OpenAPI shapes of agent governance's requests and answers (API.md's). Guardrails and
//! actions are read by `rampart_agents`' documents, which name every wrong field; the small
//! bodies read here (`AnswerBody`, `VerifyTokenBody`, `ResultBody`) are read as declared.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// An agent's guardrails.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only: read by rampart_agents")]
pub struct GuardrailsBody {
    /// At most this many actions (not denied) in any hour; absent: no cap.
    pub max_actions_per_hour: Option<u64>,
    /// Never allowed, whatever else says so (`drop_database`).
    pub forbidden_actions: Vec<String>,
    /// Allowed only once approved (`rollback`).
    pub require_approval: Vec<String>,
    /// Allowed at once (`create_ticket`).
    pub auto_approve: Vec<String>,
    /// The most an action may declare per dimension (`{"traffic_percent": 10}`).
    #[schema(value_type = Object)]
    pub max_blast_radius: Value,
    /// Distinct approvers an action needs (1 to 10; 1 by default).
    pub approvals_required: Option<u32>,
    /// How long an action waits for approval (1 s to 7 days; 3600 by default).
    pub approval_timeout_seconds: Option<u64>,
    /// `deny` (default) or `require_approval`: what happens to an action no list names.
    pub otherwise: Option<String>,
}

/// `POST /v1/agents/{id}/actions`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only: read by rampart_agents")]
pub struct SubmitBody {
    /// The action (`rollback`); the agent's roles must grant `actions:<action>`.
    pub action: String,
    /// `{"type": "deployment", "id": "checkout", "team_id": "payments"}`.
    #[schema(value_type = Object)]
    pub target: Value,
    /// The arguments (an object); the execution token is bound to their RFC 8785 form.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// What it could affect (`{"traffic_percent": 5}`); a dimension left out counts as 0.
    #[schema(value_type = Option<Object>)]
    pub blast_radius: Option<Value>,
    /// Why (stored in the audit entry after PII redaction).
    pub reasoning: Option<String>,
    /// The tool calls that led here (stored in the audit entry after PII redaction).
    #[schema(value_type = Vec<Object>)]
    pub tool_calls: Option<Vec<Value>>,
}

/// The decision on a submitted action.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct DecisionBody {
    /// `act_…`.
    pub id: String,
    /// `allowed`, `pending_approval` or `denied`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// The step that decided: `no_guardrails`, `forbidden`, `permission`, `hourly_cap`,
    /// `blast_radius`, `require_approval`, `auto_approve`, `otherwise`.
    pub rule: String,
    /// The action's state (as `decision`).
    pub status: String,
    /// PASETO v4.public, for an allowed action (valid 5 minutes, once).
    pub execution_token: Option<String>,
    /// When the token expires (allowed) or the approval period ends (pending).
    pub expires_at: Option<String>,
    /// Distinct approvers needed (pending).
    pub approvals_required: u32,
    /// SHA-256 of the parameters' RFC 8785 form, hex.
    pub parameters_sha256: String,
}

/// An action.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct ActionView {
    /// `act_…`.
    pub id: String,
    /// The agent.
    pub agent_id: String,
    /// Who submitted it.
    pub submitted_by: String,
    /// The agent's owner when it was submitted.
    pub owner_id: Option<String>,
    /// The action.
    pub action: String,
    /// What it acts on.
    #[schema(value_type = Object)]
    pub target: Value,
    /// Its arguments, as sent (for its approvers).
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// SHA-256 of their RFC 8785 form, hex.
    pub parameters_sha256: String,
    /// What it declared it could affect.
    #[schema(value_type = Object)]
    pub blast_radius: Value,
    /// `allowed`, `pending_approval`, `approved`, `rejected`, `expired`, `denied`,
    /// `executed`, `failed`.
    pub status: String,
    /// Why it was decided so.
    pub reason: String,
    /// Distinct approvers needed.
    pub approvals_required: u32,
    /// `[{"approver_id", "verdict", "comment", "at"}]`, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub approvals: Vec<Value>,
    /// When it was submitted.
    pub created_at: String,
    /// When the approval period ends (pending) or the first token expired (allowed).
    pub expires_at: Option<String>,
    /// When its state last changed.
    pub updated_at: String,
    /// When its execution token was accepted.
    pub token_used_at: Option<String>,
    /// `{"status", "details", "reported_by", "at"}`.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

/// A page of actions, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct ActionList {
    /// The actions.
    pub items: Vec<ActionView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/actions/{id}/approve` and `reject`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// Why (at most 2,000 characters; stored after PII redaction).
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /v1/actions/verify-token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyTokenBody {
    /// The execution token.
    pub token: String,
    /// The parameters the application is about to use (`{}` when left out).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// The action the application is about to carry out: when given, it must be the token's.
    #[serde(default)]
    pub action: Option<String>,
    /// Its target (`{"type", "id", "team_id"}`): when given, it must be the token's.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub target: Option<rampart_agents::Target>,
}

/// Whether an execution token allows the action now.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct TokenCheckBody {
    /// Valid: the action may be carried out now, with these parameters (once).
    pub valid: bool,
    /// `valid`, or why not (`already used`, the parameters differ, expired, forged).
    pub reason: String,
    /// The action the token names, when it is Rampart's and unexpired.
    pub action_id: Option<String>,
    /// What the token allows (carry out exactly this): the action's name.
    pub action: Option<String>,
    /// Its target.
    #[schema(value_type = Option<Object>)]
    pub target: Option<Value>,
    /// The agent.
    pub agent_id: Option<String>,
}

/// `POST /v1/actions/{id}/result`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    /// `succeeded` or `failed`.
    pub status: String,
    /// What happened (at most 16 KiB of JSON; stored after PII redaction).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// A new execution token.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct IssuedTokenBody {
    /// The action.
    pub action_id: String,
    /// PASETO v4.public, valid 5 minutes.
    pub execution_token: String,
    /// When it expires.
    pub expires_at: String,
}

/// The execution tokens' public key.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "schema only")]
pub struct TokenKeyBody {
    /// `v4.public`.
    pub version: String,
    /// `Ed25519`.
    pub algorithm: String,
    /// The 32-byte key, base64.
    pub public_key_b64: String,
    /// The key as a PASERK (`k4.public.…`).
    pub paserk: String,
}
