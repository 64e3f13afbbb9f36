//! The wire shapes of audit events and entries (API.md "Audit log"), for the OpenAPI document.
//!
//! A submitted event is validated by the domain (`NewEntry::from_json`, every error named by
//! its path), and a stored entry is returned exactly as its canonical leaf form: these types
//! describe both for clients generated from the document; the handlers do not go through them.
#![allow(
    dead_code,
    reason = "schema-only types: they describe the wire in the OpenAPI document and are never built"
)]

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Who acted, as the client states it (on whose behalf).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    /// `user`, `service`, `ai_agent`, `device` or `system`.
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The actor's id in the client's system.
    pub id: String,
    /// Contact address.
    pub email: Option<String>,
    /// Network address the actor acted from.
    pub ip: Option<String>,
    /// The actor's user agent.
    pub user_agent: Option<String>,
}

/// The kinds of actor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    /// A person.
    User,
    /// A service.
    Service,
    /// An AI agent.
    AiAgent,
    /// A device.
    Device,
    /// The system itself.
    System,
}

/// What was acted on.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResource {
    /// Kind of resource.
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource's id.
    pub id: Option<String>,
    /// Human-readable name.
    pub name: Option<String>,
}

/// Where the action happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditContext {
    /// The request that caused it.
    pub request_id: Option<String>,
    /// The session it happened in.
    pub session_id: Option<String>,
    /// The team that owns the resource (a writer under team isolation names one of its own).
    pub team_id: Option<String>,
}

/// The outcome of the action.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// It succeeded.
    Success,
    /// It failed.
    Failure,
    /// It was refused.
    Denied,
}

/// How sensitive the entry's data is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataClassification {
    /// Public.
    Public,
    /// Internal.
    Internal,
    /// Confidential.
    Confidential,
    /// Restricted.
    Restricted,
}

/// One audit event as a client submits it: `actor.type`, `actor.id`, `action`,
/// `resource.type` and `status` are required, the rest optional.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Who acted.
    pub actor: AuditActor,
    /// What they did, e.g. `payment.authorize`.
    pub action: String,
    /// What it was done to.
    pub resource: AuditResource,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<AuditContext>,
    /// Free-form details, any JSON (at most 64 KiB, 32 levels deep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// State before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<Value>,
    /// State after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_state: Option<Value>,
    /// Outcome.
    pub status: AuditStatus,
    /// Error text for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// How sensitive the data is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_classification: Option<DataClassification>,
    /// Compliance frameworks the entry is evidence for (at most 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_tags: Option<Vec<String>>,
    /// The data subject (GDPR linkage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// Personal data about the subject (any JSON object; needs `subject_id`): sealed with the
    /// subject's own key before the leaf is computed, destroyed by the subject's erasure.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub personal: Option<serde_json::Value>,
}

/// Many events, appended as one all-or-nothing batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEventBatch {
    /// 1 to 10,000 events.
    pub events: Vec<AuditEvent>,
}

/// The body of `POST /v1/audit/entries`: one event, or `{"events": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AppendRequest {
    /// One event.
    Event(Box<AuditEvent>),
    /// A batch of events.
    Batch(AuditEventBatch),
}

/// Who really wrote an entry, from the credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSubmitter {
    /// The principal, or `rampart` for entries Rampart writes itself.
    pub principal_id: String,
    /// The credential, or `null` for Rampart's own entries.
    pub credential_id: Option<String>,
}

/// A stored entry as `GET` returns it: the event with every optional field present (`null`,
/// or `[]` for tags), the server's `seq`, `id`, `timestamp` and `submitted_by`, and
/// `leaf_hash`. Its RFC 8785 form without `leaf_hash` is the Merkle leaf.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Leaf index.
    pub seq: u64,
    /// UUIDv7.
    pub id: String,
    /// RFC 3339 UTC with microseconds.
    pub timestamp: String,
    /// Who acted.
    pub actor: AuditActor,
    /// What they did.
    pub action: String,
    /// What it was done to.
    pub resource: AuditResource,
    /// Where.
    pub context: Option<AuditContext>,
    /// Free-form details.
    pub details: Option<Value>,
    /// State before.
    pub previous_state: Option<Value>,
    /// State after.
    pub new_state: Option<Value>,
    /// Outcome.
    pub status: AuditStatus,
    /// Error text.
    pub error_message: Option<String>,
    /// Classification.
    pub data_classification: Option<DataClassification>,
    /// Compliance tags.
    pub compliance_tags: Vec<String>,
    /// Data subject.
    pub subject_id: Option<String>,
    /// Present only on entries with personal data: `{"sealed": "rampart:v1:…", "subject_key":
    /// "sk_…"}` (part of the leaf).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal: Option<SealedPersonalBody>,
    /// For callers holding `gdpr:read`: the personal data opened, or `"[ERASED]"` once the
    /// subject was erased. Not part of the leaf.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub personal_plain: Option<serde_json::Value>,
    /// Who wrote it.
    pub submitted_by: AuditSubmitter,
    /// `SHA-256(0x00 || leaf)`, hex.
    pub leaf_hash: String,
}

/// A stored entry with its `leaf_hash`, passed through as stored: its schema is
/// [`AuditEntry`]'s, under that name.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct EntryJson(pub Value);

impl PartialSchema for EntryJson {
    fn schema() -> RefOr<Schema> {
        <AuditEntry as PartialSchema>::schema()
    }
}

impl ToSchema for EntryJson {
    fn name() -> Cow<'static, str> {
        <AuditEntry as ToSchema>::name()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <AuditEntry as ToSchema>::schemas(schemas);
    }
}

/// Personal data as stored: sealed with the subject's key.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedPersonalBody {
    /// `rampart:v1:<base64url(nonce || ciphertext || tag)>` (AES-256-GCM).
    pub sealed: String,
    /// The subject key's id (`sk_…`).
    pub subject_key: String,
}

/// `410` of `GET /v1/audit/entries/{seq}`: the entry was pruned under retention. A problem
/// (RFC 9457) of type `gone` whose extension members say what is left of the entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrunedEntryProblem {
    /// `https://rampart.dev/problems/gone`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Gone`.
    pub title: String,
    /// `410`.
    pub status: u16,
    /// What happened to the entry.
    pub detail: String,
    /// The entry's leaf index.
    pub seq: u64,
    /// Its leaf hash, hex: kept, so its inclusion proof still verifies.
    pub leaf_hash: String,
    /// When it was pruned (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub pruned_at: String,
    /// The disposal certificate that covers it (`GET /v1/retention/certificates`).
    pub certificate_id: String,
}
