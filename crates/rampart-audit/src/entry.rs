//! The audit entry: what a client sends ([`NewEntry`], validated once here) and what the log
//! stores ([`Entry`]: the client's fields plus `seq`, `id`, `timestamp` and `submitted_by`).
//!
//! The serialized [`Entry`] is the contract: its RFC 8785 canonical JSON is the Merkle leaf, and
//! `GET /v1/audit/entries/{seq}` returns exactly it (plus `leaf_hash`). Optional objects and
//! scalars are present as `null`, absent arrays as `[]`, so every entry has one canonical form.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Most bytes one of `details`, `previous_state`, `new_state` may take, serialized.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted in `details`, `previous_state`, `new_state`.
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
    /// Gives the entry its place in the log.
    pub fn into_entry(
        self,
        seq: u64,
        id: Uuid,
        at: OffsetDateTime,
        submitted_by: SubmittedBy,
    ) -> Entry {
        Entry {
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
            submitted_by,
        }
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
                })
            }
            _ => Err(v.errors),
        }
    }
}

struct Validator<'a> {
    prefix: &'a str,
    errors: Vec<FieldError>,
}

impl Validator<'_> {
    /// Whether enough errors were found: the rest of the event is not looked at.
    fn full(&self) -> bool {
        self.errors.len() > MAX_FIELD_ERRORS
    }

    fn error(&mut self, field: &str, message: &str) {
        if self.full() {
            return;
        }
        self.errors.push(FieldError {
            field: format!("{}{field}", self.prefix)
                .trim_end_matches('.')
                .to_owned(),
            message: message.to_owned(),
        });
    }

    fn string_of(
        &mut self,
        value: &Value,
        field: &str,
        max: usize,
        required: bool,
    ) -> Option<String> {
        match value {
            Value::String(s) if s.is_empty() && required => {
                self.error(field, "must not be empty");
                None
            }
            Value::String(s) if s.chars().count() > max => {
                self.error(field, &format!("must be at most {max} characters"));
                None
            }
            Value::String(s) if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                self.error(field, "must not contain control characters");
                None
            }
            Value::String(s) => Some(s.clone()),
            _ => {
                self.error(field, "must be a string");
                None
            }
        }
    }

    /// The string at `key` of `object`, reported as `path` in errors.
    fn required_string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        max: usize,
    ) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => {
                self.error(path, "is required");
                None
            }
            Some(value) => self.string_of(value, path, max, true),
        }
    }

    fn optional_string(
        &mut self,
        value: Option<&Value>,
        field: &str,
        max: usize,
    ) -> Option<String> {
        match value {
            None | Some(Value::Null) => None,
            Some(value) => self.string_of(value, field, max, false),
        }
    }

    fn object<'v>(
        &mut self,
        value: Option<&'v Value>,
        field: &str,
        allowed: &[&str],
        required: bool,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            None | Some(Value::Null) => {
                if required {
                    self.error(field, "is required");
                }
                None
            }
            Some(Value::Object(map)) => {
                for key in map.keys() {
                    if self.full() {
                        break;
                    }
                    if !allowed.contains(&key.as_str()) {
                        self.error(
                            &format!("{field}.{}", quoted_key(key)),
                            &format!("is not a field of {field}"),
                        );
                    }
                }
                Some(map)
            }
            Some(_) => {
                self.error(field, "must be an object");
                None
            }
        }
    }

    fn actor(&mut self, value: Option<&Value>) -> Option<Actor> {
        let map = self.object(
            value,
            "actor",
            &["type", "id", "email", "ip", "user_agent"],
            true,
        )?;
        let kind = self
            .required_string(map, "type", "actor.type", 16)
            .filter(|k| {
                let ok = ["user", "service", "ai_agent", "device", "system"].contains(&k.as_str());
                if !ok {
                    self.error(
                        "actor.type",
                        "must be user, service, ai_agent, device or system",
                    );
                }
                ok
            });
        let id = self.required_string(map, "id", "actor.id", 256);
        let email = self.optional_string(map.get("email"), "actor.email", 320);
        let ip = self
            .optional_string(map.get("ip"), "actor.ip", 64)
            .filter(|ip| {
                let ok = ip.parse::<std::net::IpAddr>().is_ok();
                if !ok {
                    self.error("actor.ip", "must be an IPv4 or IPv6 address");
                }
                ok
            });
        let user_agent = self.optional_string(map.get("user_agent"), "actor.user_agent", 1024);
        Some(Actor {
            kind: kind?,
            id: id?,
            email,
            ip,
            user_agent,
        })
    }

    fn resource(&mut self, value: Option<&Value>) -> Option<Resource> {
        let map = self.object(value, "resource", &["type", "id", "name"], true)?;
        let kind = self.required_string(map, "type", "resource.type", 128);
        let id = self.optional_string(map.get("id"), "resource.id", 256);
        let name = self.optional_string(map.get("name"), "resource.name", 512);
        Some(Resource {
            kind: kind?,
            id,
            name,
        })
    }

    fn context(&mut self, value: Option<&Value>) -> Option<Context> {
        let map = self.object(
            value,
            "context",
            &["request_id", "session_id", "team_id"],
            false,
        )?;
        Some(Context {
            request_id: self.optional_string(map.get("request_id"), "context.request_id", 256),
            session_id: self.optional_string(map.get("session_id"), "context.session_id", 256),
            team_id: self.optional_string(map.get("team_id"), "context.team_id", 256),
        })
    }

    fn document(&mut self, object: &Map<String, Value>, field: &str) -> Option<Value> {
        let value = object.get(field)?;
        if value.is_null() {
            return None;
        }
        if depth(value) > MAX_DEPTH {
            self.error(field, &format!("is nested deeper than {MAX_DEPTH} levels"));
            return None;
        }
        if let Some(problem) = unsafe_number(value) {
            self.error(field, &problem);
            return None;
        }
        let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        if size > MAX_DOCUMENT_BYTES {
            self.error(field, &format!("is larger than {MAX_DOCUMENT_BYTES} bytes"));
            return None;
        }
        Some(value.clone())
    }

    fn tags(&mut self, value: Option<&Value>) -> Vec<String> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() > MAX_TAGS => {
                self.error("compliance_tags", &format!("holds at most {MAX_TAGS} tags"));
                Vec::new()
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(s)
                        if !s.is_empty()
                            && s.len() <= 64
                            && s.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) =>
                    {
                        Some(s.clone())
                    }
                    _ => {
                        self.error(
                            &format!("compliance_tags[{i}]"),
                            "must be 1-64 characters of letters, digits, '-', '_', '.', ':'",
                        );
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.error("compliance_tags", "must be an array of strings");
                Vec::new()
            }
        }
    }
}

/// A client's key name as errors quote it: at most [`MAX_QUOTED_KEY_CHARS`] characters.
fn quoted_key(key: &str) -> String {
    match key.char_indices().nth(MAX_QUOTED_KEY_CHARS) {
        Some((cut, _)) => format!("{}…", key.get(..cut).unwrap_or_default()),
        None => key.to_owned(),
    }
}

/// Nesting depth of a JSON value, without recursion (input is untrusted).
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// A number RFC 8785 cannot carry exactly: an integer beyond ±(2^53 - 1).
fn unsafe_number(value: &Value) -> Option<String> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) => {
                let too_big = n.as_u64().is_some_and(|u| u > MAX_SAFE_INTEGER)
                    || n.as_i64()
                        .is_some_and(|i| i.unsigned_abs() > MAX_SAFE_INTEGER);
                if too_big {
                    return Some(format!(
                        "holds the integer {n}, beyond ±2^53-1; send it as a string (RFC 8785 numbers are IEEE 754 doubles)"
                    ));
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    None
}

impl Entry {
    /// The RFC 8785 canonical JSON of the entry: the leaf input. Members are written in sorted
    /// order by hand (a test holds this to the generic canonicalizer on every field).
    pub fn canonical_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        use crate::canonical::{key, opt_str, opt_value, write_str, write_value};
        let mut out = Vec::with_capacity(512);
        out.push(b'{');
        key("action", &mut out);
        write_str(&self.action, &mut out);
        out.push(b',');
        key("actor", &mut out);
        out.push(b'{');
        key("email", &mut out);
        opt_str(self.actor.email.as_deref(), &mut out);
        out.push(b',');
        key("id", &mut out);
        write_str(&self.actor.id, &mut out);
        out.push(b',');
        key("ip", &mut out);
        opt_str(self.actor.ip.as_deref(), &mut out);
        out.push(b',');
        key("type", &mut out);
        write_str(&self.actor.kind, &mut out);
        out.push(b',');
        key("user_agent", &mut out);
        opt_str(self.actor.user_agent.as_deref(), &mut out);
        out.extend_from_slice(b"},");
        key("compliance_tags", &mut out);
        out.push(b'[');
        for (i, tag) in self.compliance_tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(tag, &mut out);
        }
        out.extend_from_slice(b"],");
        key("context", &mut out);
        match &self.context {
            Some(context) => {
                out.push(b'{');
                key("request_id", &mut out);
                opt_str(context.request_id.as_deref(), &mut out);
                out.push(b',');
                key("session_id", &mut out);
                opt_str(context.session_id.as_deref(), &mut out);
                out.push(b',');
                key("team_id", &mut out);
                opt_str(context.team_id.as_deref(), &mut out);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        key("data_classification", &mut out);
        opt_str(self.data_classification.as_deref(), &mut out);
        out.push(b',');
        key("details", &mut out);
        opt_value(self.details.as_ref(), &mut out);
        out.push(b',');
        key("error_message", &mut out);
        opt_str(self.error_message.as_deref(), &mut out);
        out.push(b',');
        key("id", &mut out);
        write_str(&self.id, &mut out);
        out.push(b',');
        key("new_state", &mut out);
        opt_value(self.new_state.as_ref(), &mut out);
        out.push(b',');
        key("previous_state", &mut out);
        opt_value(self.previous_state.as_ref(), &mut out);
        out.push(b',');
        key("resource", &mut out);
        out.push(b'{');
        key("id", &mut out);
        opt_str(self.resource.id.as_deref(), &mut out);
        out.push(b',');
        key("name", &mut out);
        opt_str(self.resource.name.as_deref(), &mut out);
        out.push(b',');
        key("type", &mut out);
        write_str(&self.resource.kind, &mut out);
        out.extend_from_slice(b"},");
        key("seq", &mut out);
        write_value(&Value::from(self.seq), &mut out);
        out.push(b',');
        key("status", &mut out);
        write_str(self.status.as_str(), &mut out);
        out.push(b',');
        key("subject_id", &mut out);
        opt_str(self.subject_id.as_deref(), &mut out);
        out.push(b',');
        key("submitted_by", &mut out);
        out.push(b'{');
        key("credential_id", &mut out);
        opt_str(self.submitted_by.credential_id.as_deref(), &mut out);
        out.push(b',');
        key("principal_id", &mut out);
        write_str(&self.submitted_by.principal_id, &mut out);
        out.extend_from_slice(b"},");
        key("timestamp", &mut out);
        write_str(&self.timestamp, &mut out);
        out.push(b'}');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({"actor": {"type": "user", "id": "u1"}, "action": "login", "resource": {"type": "session"}, "status": "success"})
    }

    #[test]
    fn minimal_event_gets_nulls_and_empty_arrays() {
        let entry = NewEntry::from_json(&minimal(), "")
            .expect("valid")
            .into_entry(
                0,
                Uuid::nil(),
                time::macros::datetime!(2026-11-22 14:03:07.123456 UTC),
                SubmittedBy::rampart(),
            );
        let value = serde_json::to_value(&entry).expect("serializes");
        assert_eq!(value["timestamp"], "2026-11-22T14:03:07.123456Z");
        assert_eq!(value["details"], Value::Null);
        assert_eq!(value["context"], Value::Null);
        assert_eq!(value["compliance_tags"], json!([]));
        assert_eq!(value["actor"]["email"], Value::Null);
        assert_eq!(
            value["submitted_by"],
            json!({"principal_id": "rampart", "credential_id": null})
        );
        // It reads back into the same entry.
        assert_eq!(
            serde_json::from_value::<Entry>(value).expect("parses"),
            entry
        );
    }

    #[test]
    fn every_kind_of_bad_input_is_named() {
        let cases: Vec<(Value, &str)> = vec![
            (json!("text"), ""),
            (
                json!({"actor": {"type": "user", "id": "u"}, "resource": {"type": "r"}, "status": "success"}),
                "action",
            ),
            (
                json!({"actor": {"type": "robot", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
                "actor.type",
            ),
            (
                json!({"actor": {"type": "user"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
                "actor.id",
            ),
            (
                json!({"actor": {"type": "user", "id": "u", "ip": "999.1.1.1"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
                "actor.ip",
            ),
            (
                json!({"actor": {"type": "user", "id": "u", "role": "x"}, "action": "a", "resource": {"type": "r"}, "status": "success"}),
                "actor.role",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {}, "status": "success"}),
                "resource.type",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "ok"}),
                "status",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}}),
                "status",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a b", "resource": {"type": "r"}, "status": "success"}),
                "action",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "seq": 4}),
                "seq",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "colour": 4}),
                "colour",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "data_classification": "secret"}),
                "data_classification",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "compliance_tags": ["ok", ""]}),
                "compliance_tags[1]",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "details": {"n": 9007199254740993u64}}),
                "details",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a".repeat(257), "resource": {"type": "r"}, "status": "success"}),
                "action",
            ),
            (
                json!({"actor": {"type": "user", "id": "u"}, "action": "a", "resource": {"type": "r"}, "status": "success", "error_message": 5}),
                "error_message",
            ),
        ];
        for (value, field) in cases {
            let errors = NewEntry::from_json(&value, "").expect_err(&format!("{value} accepted"));
            assert!(
                errors.iter().any(|e| e.field == field),
                "{value}: expected an error on '{field}', got {errors:?}"
            );
        }
        let errors = NewEntry::from_json(&json!({"actor": 1}), "events[3].").expect_err("invalid");
        assert!(
            errors.iter().all(|e| e.field.starts_with("events[3]")),
            "{errors:?}"
        );
    }

    #[test]
    fn hand_written_canonical_form_matches_the_generic_one() {
        let full = json!({"actor": {"type": "ai_agent", "id": "a\"é\\", "email": "x@y.z", "ip": "::1", "user_agent": "ua"},
            "action": "model.call", "resource": {"type": "model", "id": "m", "name": "n\u{10000}"},
            "context": {"request_id": "r", "session_id": null, "team_id": "t"},
            "details": {"z": 1, "a": [1.5, -0.0, 1e30, "s"], "é": {"\u{e000}": 1, "\u{10000}": 2}},
            "previous_state": [], "new_state": {"k": null}, "status": "denied", "error_message": "line\nnext\ttab",
            "data_classification": "restricted", "compliance_tags": ["gdpr", "hipaa"], "subject_id": "s"});
        for event in [minimal(), full] {
            let entry = NewEntry::from_json(&event, "").expect("valid").into_entry(
                9_007_199_254_740_991,
                Uuid::now_v7(),
                OffsetDateTime::now_utc(),
                SubmittedBy {
                    principal_id: "p".into(),
                    credential_id: Some("c".into()),
                },
            );
            let generic =
                serde_json_canonicalizer::to_vec(&serde_json::to_value(&entry).expect("value"))
                    .expect("jcs");
            assert_eq!(
                String::from_utf8(entry.canonical_json().expect("writes")).expect("utf8"),
                String::from_utf8(generic).expect("utf8")
            );
        }
    }

    /// Hardening #9: 400,000 unknown keys made 400,000 errors (a 43 MB answer).
    #[test]
    fn validation_stops_after_the_error_cap() {
        let mut event = minimal();
        let object = event.as_object_mut().expect("object");
        for i in 0..10_000 {
            object.insert(format!("unknown_{i}"), json!(1));
        }
        object.insert("x".repeat(10_000), json!(1));
        let errors = NewEntry::from_json(&event, "").expect_err("invalid");
        assert_eq!(errors.len(), MAX_FIELD_ERRORS + 1);
        let mut event = minimal();
        event["actor"]["y".repeat(10_000)] = json!(1);
        let errors = NewEntry::from_json(&event, "").expect_err("invalid");
        assert!(errors[0].field.chars().count() < 100, "{}", errors[0].field);
        for i in 0..500 {
            event["actor"][format!("k{i}")] = json!(1);
        }
        assert_eq!(
            NewEntry::from_json(&event, "").expect_err("invalid").len(),
            MAX_FIELD_ERRORS + 1
        );
    }

    #[test]
    fn deep_documents_are_refused_without_recursion() {
        // serde_json's parser stops at 128 levels, so that is the deepest a request can bring.
        let mut deep = json!(1);
        for _ in 0..120 {
            deep = json!([deep]);
        }
        let mut event = minimal();
        event["details"] = deep;
        let errors = NewEntry::from_json(&event, "").expect_err("too deep");
        assert_eq!(errors[0].field, "details");
    }
}
