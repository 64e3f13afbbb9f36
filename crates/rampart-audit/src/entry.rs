//! The audit entry: what a client sends ([`NewEntry`], validated once here) and what the log
//! stores ([`Entry`]: the client's fields plus `seq`, `id`, `timestamp` and `submitted_by`).
//!
//! The serialized [`Entry`] is the contract: its RFC 8785 canonical JSON is the Merkle leaf, and
//! `GET /v1/audit/entries/{seq}` returns exactly it (plus `leaf_hash`). Optional objects and
//! scalars are present as `null`, absent arrays as `[]`, so every entry has one canonical form.
//! The one exception is `personal` (see [`personal`]): it is absent, not `null`, when the entry
//! has none, so the canonical form and leaf hash of every entry written before it existed are
//! unchanged; when present it is only ever the sealed form.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

mod leaf;
pub mod personal;
#[cfg(test)]
mod tests;
mod validate;

pub use personal::{Personal, SealedPersonal, UnsealedPersonal};

pub use validate::depth;
use validate::{Validator, quoted_key};

/// Most bytes one of `details`, `previous_state`, `new_state`, `personal` may take, serialized.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted in `details`, `previous_state`, `new_state`, `personal`.
pub const MAX_DEPTH: usize = 32;
/// Most compliance tags on one entry.
pub const MAX_TAGS: usize = 32;
/// Most field errors reported for one event: validation stops once it has found one more (so a
/// caller can tell the list was cut), whatever the event holds.
pub const MAX_FIELD_ERRORS: usize = 100;
/// Longest key name quoted in an error; a longer one is cut and ends in `…`.
const MAX_QUOTED_KEY_CHARS: usize = 64;
/// Largest integer magnitude that survives RFC 8785 (I-JSON: IEEE 754 doubles).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One invalid field of a submitted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field (`actor.type`, `events[2].status`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Who acted, as the client states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// `user`, `service`, `ai_agent`, `device` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The actor's id in the client's system.
    pub id: String,
    /// Contact address.
    pub email: Option<String>,
    /// Network address the actor acted from.
    pub ip: Option<String>,
    /// The actor's user agent.
    pub user_agent: Option<String>,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Kind of resource.
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource's id.
    pub id: Option<String>,
    /// Human-readable name.
    pub name: Option<String>,
}

/// Where the action happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The request that caused it.
    pub request_id: Option<String>,
    /// The session it happened in.
    pub session_id: Option<String>,
    /// The team that owns the resource.
    pub team_id: Option<String>,
}

/// The outcome of the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It succeeded.
    Success,
    /// It failed.
    Failure,
    /// It was refused.
    Denied,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// Who really wrote the entry, from the credential (never from the client's word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmittedBy {
    /// The principal, or `rampart` for entries Rampart writes itself.
    pub principal_id: String,
    /// The credential, or `null` for Rampart's own entries.
    pub credential_id: Option<String>,
}

impl SubmittedBy {
    /// Rampart itself.
    pub fn rampart() -> Self {
        Self {
            principal_id: "rampart".to_owned(),
            credential_id: None,
        }
    }
}

/// A validated entry as the client sent it, before the log assigns its place.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Who acted.
    pub actor: Actor,
    /// What they did, e.g. `payment.authorize`.
    pub action: String,
    /// What it was done to.
    pub resource: Resource,
    /// Where.
    pub context: Option<Context>,
    /// Free-form details.
    pub details: Option<Value>,
    /// State before.
    pub previous_state: Option<Value>,
    /// State after.
    pub new_state: Option<Value>,
    /// Outcome.
    pub status: Status,
    /// Error text for failures.
    pub error_message: Option<String>,
    /// `public`, `internal`, `confidential` or `restricted`.
    pub data_classification: Option<String>,
    /// Compliance frameworks the entry is evidence for.
    pub compliance_tags: Vec<String>,
    /// The data subject (GDPR linkage).
    pub subject_id: Option<String>,
    /// Personal data about the subject: plain as sent, sealed before it is appended.
    pub personal: Option<Personal>,
}

/// A stored entry: exactly the shape of the leaf and of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Leaf index in the tree.
    pub seq: u64,
    /// UUIDv7.
    pub id: String,
    /// RFC 3339 UTC with microseconds.
    pub timestamp: String,
    /// Who acted.
    pub actor: Actor,
    /// What they did.
    pub action: String,
    /// What it was done to.
    pub resource: Resource,
    /// Where.
    pub context: Option<Context>,
    /// Free-form details.
    pub details: Option<Value>,
    /// State before.
    pub previous_state: Option<Value>,
    /// State after.
    pub new_state: Option<Value>,
    /// Outcome.
    pub status: Status,
    /// Error text.
    pub error_message: Option<String>,
    /// Classification.
    pub data_classification: Option<String>,
    /// Compliance tags.
    pub compliance_tags: Vec<String>,
    /// Data subject.
    pub subject_id: Option<String>,
    /// Personal data about the subject, sealed with their key; absent (not `null`) when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<SealedPersonal>,
    /// Who wrote it.
    pub submitted_by: SubmittedBy,
}

/// `2026-11-22T14:03:07.123456Z`: UTC, always six fractional digits.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Parses an RFC 3339 timestamp.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

impl NewEntry {
    /// Gives the entry its place in the log; refused while its personal data is plain.
    pub fn into_entry(
        self,
        seq: u64,
        id: Uuid,
        at: OffsetDateTime,
        submitted_by: SubmittedBy,
    ) -> Result<Entry, UnsealedPersonal> {
        let personal = match self.personal {
            None => None,
            Some(Personal::Sealed(sealed)) => Some(sealed),
            Some(Personal::Plain(_)) => return Err(UnsealedPersonal),
        };
        Ok(Entry {
            seq,
            id: id.to_string(),
            timestamp: format_timestamp(at),
            actor: self.actor,
            action: self.action,
            resource: self.resource,
            context: self.context,
            details: self.details,
            previous_state: self.previous_state,
            new_state: self.new_state,
            status: self.status,
            error_message: self.error_message,
            data_classification: self.data_classification,
            compliance_tags: self.compliance_tags,
            subject_id: self.subject_id,
            personal,
            submitted_by,
        })
    }

    /// Validates one submitted event; `prefix` names it in errors (`""` or `events[3].`).
    ///
    /// Returns at most [`MAX_FIELD_ERRORS`] + 1 errors: more than [`MAX_FIELD_ERRORS`] means
    /// validation stopped there and the event holds more.
    pub fn from_json(value: &Value, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let mut v = Validator {
            prefix,
            errors: Vec::new(),
        };
        let Some(object) = value.as_object() else {
            v.error("", "an event is a JSON object");
            return Err(v.errors);
        };
        const FIELDS: &[&str] = &[
            "actor",
            "action",
            "resource",
            "context",
            "details",
            "previous_state",
            "new_state",
            "status",
            "error_message",
            "data_classification",
            "compliance_tags",
            "subject_id",
            "personal",
        ];
        for key in object.keys() {
            if v.full() {
                return Err(v.errors);
            }
            if ["seq", "id", "timestamp", "submitted_by", "leaf_hash"].contains(&key.as_str()) {
                v.error(key, "is assigned by the server; do not send it");
            } else if !FIELDS.contains(&key.as_str()) {
                v.error(&quoted_key(key), "is not a field of an audit event");
            }
        }
        let actor = v.actor(object.get("actor"));
        let action = v
            .required_string(object, "action", "action", 256)
            .inspect(|action| {
                if action.chars().any(char::is_whitespace) || action.ends_with('*') {
                    v.error("action", "has no whitespace and does not end in '*'");
                }
            });
        let resource = v.resource(object.get("resource"));
        let context = v.context(object.get("context"));
        let details = v.document(object, "details");
        let previous_state = v.document(object, "previous_state");
        let new_state = v.document(object, "new_state");
        let status = match object.get("status") {
            Some(Value::String(s)) if s == "success" => Some(Status::Success),
            Some(Value::String(s)) if s == "failure" => Some(Status::Failure),
            Some(Value::String(s)) if s == "denied" => Some(Status::Denied),
            None | Some(Value::Null) => {
                v.error("status", "is required");
                None
            }
            Some(_) => {
                v.error("status", "must be success, failure or denied");
                None
            }
        };
        let error_message = v.optional_string(object.get("error_message"), "error_message", 4096);
        let data_classification = v
            .optional_string(object.get("data_classification"), "data_classification", 32)
            .filter(|c| {
                let ok = ["public", "internal", "confidential", "restricted"].contains(&c.as_str());
                if !ok {
                    v.error(
                        "data_classification",
                        "must be public, internal, confidential or restricted",
                    );
                }
                ok
            });
        let compliance_tags = v.tags(object.get("compliance_tags"));
        let subject_id = v.optional_string(object.get("subject_id"), "subject_id", 256);
        let has_subject = object.get("subject_id").is_some_and(|s| !s.is_null());
        let personal = v.personal(object.get("personal"), has_subject);
        match (actor, action, resource, status) {
            (Some(actor), Some(action), Some(resource), Some(status)) if v.errors.is_empty() => {
                Ok(Self {
                    actor,
                    action,
                    resource,
                    context,
                    details,
                    previous_state,
                    new_state,
                    status,
                    error_message,
                    data_classification,
                    compliance_tags,
                    subject_id,
                    personal,
                })
            }
            _ => Err(v.errors),
        }
    }
}
