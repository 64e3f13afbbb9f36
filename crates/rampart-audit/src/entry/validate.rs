//! Validation of a client's event, field by field: every problem named by its path, never
//! quoting a value, and no more than [`MAX_FIELD_ERRORS`] of them.

use serde_json::{Map, Value};

use super::{
    Actor, Context, FieldError, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_FIELD_ERRORS,
    MAX_QUOTED_KEY_CHARS, MAX_SAFE_INTEGER, MAX_TAGS, Personal, Resource,
};

/// Collects the problems of one event (`prefix` is its path in a batch, e.g. `events[3].`).
pub(super) struct Validator<'a> {
    pub(super) prefix: &'a str,
    pub(super) errors: Vec<FieldError>,
}

impl Validator<'_> {
    /// Whether enough errors were found: the rest of the event is not looked at.
    pub(super) fn full(&self) -> bool {
        self.errors.len() > MAX_FIELD_ERRORS
    }

    pub(super) fn error(&mut self, field: &str, message: &str) {
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

    pub(super) fn string_of(
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
    pub(super) fn required_string(
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

    pub(super) fn optional_string(
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

    pub(super) fn object<'v>(
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

    pub(super) fn actor(&mut self, value: Option<&Value>) -> Option<Actor> {
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

    pub(super) fn resource(&mut self, value: Option<&Value>) -> Option<Resource> {
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

    pub(super) fn context(&mut self, value: Option<&Value>) -> Option<Context> {
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

    pub(super) fn document(&mut self, object: &Map<String, Value>, field: &str) -> Option<Value> {
        let value = object.get(field)?;
        if value.is_null() || !self.within_limits(value, field) {
            return None;
        }
        Some(value.clone())
    }

    /// Whether a free-form document keeps to the depth, number and size limits.
    fn within_limits(&mut self, value: &Value, field: &str) -> bool {
        if depth(value) > MAX_DEPTH {
            self.error(field, &format!("is nested deeper than {MAX_DEPTH} levels"));
            return false;
        }
        if let Some(problem) = unsafe_number(value) {
            self.error(field, &problem);
            return false;
        }
        let size = serialized_len(value);
        if size > MAX_DOCUMENT_BYTES {
            self.error(field, &format!("is larger than {MAX_DOCUMENT_BYTES} bytes"));
            return false;
        }
        true
    }

    /// `personal`: a JSON object within the limits of `details`, only with a subject. Whatever
    /// it holds, a client's object is plain data.
    pub(super) fn personal(
        &mut self,
        value: Option<&Value>,
        has_subject: bool,
    ) -> Option<Personal> {
        let map = match value {
            None | Some(Value::Null) => return None,
            Some(Value::Object(map)) => map,
            Some(_) => {
                self.error("personal", "must be a JSON object");
                return None;
            }
        };
        if !has_subject {
            self.error(
                "personal",
                "requires subject_id: personal data is sealed with the subject's key",
            );
            return None;
        }
        if depth(value?) > MAX_DEPTH {
            self.error(
                "personal",
                &format!("is nested deeper than {MAX_DEPTH} levels"),
            );
            return None;
        }
        if let Some(problem) = unsafe_number(value?) {
            self.error("personal", &problem);
            return None;
        }
        // Kept as its JSON text: what is sealed, serialized once.
        let json = zeroize::Zeroizing::new(serde_json::to_vec(map).unwrap_or_default());
        if json.len() > MAX_DOCUMENT_BYTES {
            self.error(
                "personal",
                &format!("is larger than {MAX_DOCUMENT_BYTES} bytes"),
            );
            return None;
        }
        Some(Personal::Plain(json))
    }

    pub(super) fn tags(&mut self, value: Option<&Value>) -> Vec<String> {
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
pub(super) fn quoted_key(key: &str) -> String {
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
pub(super) fn unsafe_number(value: &Value) -> Option<String> {
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

/// The length of `value` serialized, counted without building it.
fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}
