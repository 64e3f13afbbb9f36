//! Applying a policy: the JSON walker (paths in the `a.b[2].c` style), the text redactor, and
//! the NDJSON stream redactor that runs in constant memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::Arc;

use ring::hmac;
use secrecy::{ExposeSecret, SecretBox};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroize as _;

use crate::detect::Detector;
use crate::keys::is_sensitive_key;
use crate::policy::{Action, Policy};
use crate::types::{Finding, PiiType};

/// Longest NDJSON line redacted as such; a longer line is replaced whole, never passed on.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// The key of the `hash` action (the deployment's PII pepper, sealed by the KEK in storage).
///
/// The HMAC key is prepared once (its padded inner and outer states), not per value hashed.
pub struct HashKey {
    bytes: SecretBox<[u8; 32]>,
    hmac: hmac::Key,
}

impl HashKey {
    /// Name under which the sealed pepper is stored.
    pub const SECRET_NAME: &'static str = "pii_hash_pepper";

    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        let hmac = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let mut bytes = bytes;
        let key = Self {
            bytes: SecretBox::new(Box::new(bytes)),
            hmac,
        };
        bytes.zeroize();
        key
    }

    /// The key bytes, for sealing.
    pub fn expose(&self) -> &[u8; 32] {
        self.bytes.expose_secret()
    }

    fn tag(&self, value: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let tag = hmac::sign(&self.hmac, value);
        let mut out = String::with_capacity(28);
        out.push_str("hmac-sha256:");
        for byte in tag.as_ref().iter().take(8) {
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
        out
    }
}

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey([REDACTED])")
    }
}

/// Carries out the actions that need keys: `encrypt` with a named key and `tokenize` (cards).
/// The server supplies one backed by its keys service and card vault; without one, policies
/// that use these actions are refused ([`Unsupported`]).
pub trait Protector: Send + Sync {
    /// The replacement of `value` encrypted with the key named `key`.
    fn encrypt(&self, key: &str, value: &str) -> Result<String, ProtectError>;
    /// The replacement of a card number: its vault token.
    fn tokenize(&self, value: &str) -> Result<String, ProtectError>;
}

/// Why a [`Protector`] could not protect a value. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtectError(pub String);

#[derive(Clone)]
struct SharedProtector(Arc<dyn Protector>);

impl std::fmt::Debug for SharedProtector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Protector")
    }
}

/// An action this redactor cannot carry out here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the '{action}' action for {kind} needs the keys service and card vault, which are not available here"
)]
pub struct Unsupported {
    /// The type.
    pub kind: PiiType,
    /// The action.
    pub action: &'static str,
}

/// The result of redacting one value or text.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted<T> {
    /// The redacted value.
    pub value: T,
    /// What was found, in order.
    pub findings: Vec<Finding>,
}

/// Counters of a stream redaction (`rampart redact --stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Lines that were JSON.
    pub json_lines: u64,
    /// Lines that were not JSON and were redacted as text.
    pub text_lines: u64,
    /// Lines longer than the limit, replaced whole.
    pub oversized_lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Findings per type.
    pub findings: BTreeMap<&'static str, u64>,
}

/// Detects and redacts by a policy. Cheap to clone: the compiled detector and the key are
/// shared.
#[derive(Debug, Clone)]
pub struct Redactor {
    detector: Arc<Detector>,
    policy: Policy,
    key: Arc<HashKey>,
    protector: Option<SharedProtector>,
}

fn check(policy: &Policy, protector: Option<&SharedProtector>) -> Result<(), Unsupported> {
    if protector.is_some() {
        return Ok(());
    }
    for kind in PiiType::ALL {
        let action = policy.action(kind);
        if matches!(action, Action::Encrypt { .. } | Action::Tokenize) {
            return Err(Unsupported {
                kind,
                action: action.as_str(),
            });
        }
    }
    Ok(())
}

impl Redactor {
    /// A redactor with `policy`, hashing with `key` (compiles the detector: build once, reuse).
    pub fn new(policy: Policy, key: HashKey) -> Result<Self, Unsupported> {
        Self::with_protector(policy, key, None)
    }

    /// A redactor whose `encrypt` and `tokenize` actions go to `protector`.
    pub fn with_protector(
        policy: Policy,
        key: HashKey,
        protector: Option<Arc<dyn Protector>>,
    ) -> Result<Self, Unsupported> {
        let protector = protector.map(SharedProtector);
        check(&policy, protector.as_ref())?;
        Ok(Self {
            detector: Arc::new(Detector::new()),
            policy,
            key: Arc::new(key),
            protector,
        })
    }

    /// The same detector, key and protector with another policy (per-request overrides).
    pub fn with_policy(&self, policy: Policy) -> Result<Self, Unsupported> {
        check(&policy, self.protector.as_ref())?;
        Ok(Self {
            detector: Arc::clone(&self.detector),
            policy,
            key: Arc::clone(&self.key),
            protector: self.protector.clone(),
        })
    }

    /// The same detector, key and policy with another protector (e.g. one bound to a request).
    pub fn with_request_protector(&self, protector: Arc<dyn Protector>) -> Self {
        Self {
            detector: Arc::clone(&self.detector),
            policy: self.policy.clone(),
            key: Arc::clone(&self.key),
            protector: Some(SharedProtector(protector)),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The findings of a document or text without changing it (`POST /v1/detect`).
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The replacement of `value` and the action actually taken: `encrypt` or `tokenize` that
    /// fail fall back to `redact`, so a value is never left in clear by an error.
    fn replacement(&self, kind: PiiType, value: &str) -> (Option<String>, &'static str) {
        let action = self.policy.action(kind);
        let redacted = || kind.redacted_label().to_owned();
        let protected = match (action, &self.protector) {
            (Action::Encrypt { key }, Some(p)) => Some(p.0.encrypt(key, value)),
            (Action::Tokenize, Some(p)) => Some(p.0.tokenize(value)),
            (Action::Encrypt { .. } | Action::Tokenize, None) => {
                Some(Err(ProtectError("no protector".to_owned())))
            }
            _ => None,
        };
        match protected {
            Some(Ok(replacement)) => (Some(replacement), action.as_str()),
            Some(Err(_)) => (Some(redacted()), Action::Redact.as_str()),
            None => (self.simple_replacement(kind, value), action.as_str()),
        }
    }

    fn simple_replacement(&self, kind: PiiType, value: &str) -> Option<String> {
        match self.policy.action(kind) {
            Action::Redact => Some(kind.redacted_label().to_owned()),
            Action::Hash => Some(self.key.tag(value.as_bytes())),
            Action::Mask => {
                let count = value.chars().count();
                Some(
                    value
                        .chars()
                        .enumerate()
                        .map(|(i, c)| if i + 4 < count { '*' } else { c })
                        .collect(),
                )
            }
            Action::Keep | Action::Encrypt { .. } | Action::Tokenize => None,
        }
    }

    /// Redacts `text`; offsets in findings are bytes of the original.
    pub fn redact_text(&self, text: &str) -> Redacted<String> {
        self.redact_str(text, None).unwrap_or_else(|| Redacted {
            value: text.to_owned(),
            findings: Vec::new(),
        })
    }

    /// The redacted text, or `None` when nothing was found (and nothing was copied).
    fn redact_str(&self, text: &str, path: Option<&str>) -> Option<Redacted<String>> {
        let spans = self.detector.spans(text);
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut findings = Vec::with_capacity(spans.len());
        let mut cursor = 0;
        for (kind, start, end) in spans {
            out.push_str(text.get(cursor..start).unwrap_or_default());
            let found = text.get(start..end).unwrap_or_default();
            let (replacement, action) = self.replacement(kind, found);
            match replacement {
                Some(replacement) => out.push_str(&replacement),
                None => out.push_str(found),
            }
            cursor = end;
            findings.push(Finding {
                path: path.map(str::to_owned),
                kind,
                action,
                start,
                end,
            });
        }
        out.push_str(text.get(cursor..).unwrap_or_default());
        Some(Redacted {
            value: out,
            findings,
        })
    }

    /// Redacts a JSON document: sensitive keys whole, and every string (and number) by the
    /// detectors. Paths read `a.b[2].c`, or `a["api-key"]` for keys that are not identifiers.
    pub fn redact_json(&self, document: &Value) -> Redacted<Value> {
        let mut value = document.clone();
        let findings = self.redact_json_in_place(&mut value);
        Redacted { value, findings }
    }

    /// Like [`Redactor::redact_json`], changing only the values that hold something.
    pub fn redact_json_in_place(&self, document: &mut Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut path = String::new();
        self.walk(document, &mut path, &mut findings);
        findings
    }

    fn walk(&self, value: &mut Value, path: &mut String, findings: &mut Vec<Finding>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let saved = path.len();
                    push_key(path, key);
                    if is_sensitive_key(key) && !child.is_null() {
                        *child = self.sensitive(child, path, findings);
                    } else {
                        self.walk(child, path, findings);
                    }
                    path.truncate(saved);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let saved = path.len();
                    let _ = write!(path, "[{i}]");
                    self.walk(item, path, findings);
                    path.truncate(saved);
                }
            }
            Value::String(text) => {
                // Nothing shorter than the loopback address `::1` is personal data.
                if text.len() < 3 {
                    return;
                }
                if let Some(redacted) = self.redact_str(text, Some(path.as_str())) {
                    findings.extend(redacted.findings);
                    *text = redacted.value;
                }
            }
            Value::Number(number) => {
                if !(number.is_u64() || number.is_i64()) {
                    return;
                }
                let text = number.to_string();
                if text.len() < 7 {
                    return;
                }
                if let Some(redacted) = self.redact_str(&text, Some(path.as_str())) {
                    findings.extend(redacted.findings);
                    *value = Value::String(redacted.value);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Redacts a string for the stream scanner: the new text and the types found, or `None`.
    pub(crate) fn redact_for_stream(&self, text: &str) -> Option<(String, Vec<PiiType>)> {
        let redacted = self.redact_str(text, None)?;
        Some((
            redacted.value,
            redacted.findings.iter().map(|f| f.kind).collect(),
        ))
    }

    /// The replacement of a value under a sensitive key, for the stream scanner.
    pub(crate) fn sensitive_for_stream(&self, value: &Value) -> Value {
        let mut findings = Vec::new();
        self.sensitive(value, "", &mut findings)
    }

    /// A value under a sensitive key: the whole value is the finding.
    fn sensitive(&self, value: &Value, path: &str, findings: &mut Vec<Finding>) -> Value {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let kind = PiiType::SensitiveKey;
        let (replacement, action) = self.replacement(kind, &text);
        findings.push(Finding {
            path: Some(path.to_owned()),
            kind,
            action,
            start: 0,
            end: text.len(),
        });
        match replacement {
            Some(replacement) => Value::String(replacement),
            None => value.clone(),
        }
    }

    /// Redacts an NDJSON stream line by line: JSON lines as documents, other lines as text.
    /// Memory stays bounded by the longest line (at most [`MAX_LINE_BYTES`]).
    pub fn redact_stream(
        &self,
        mut input: impl BufRead,
        mut output: impl Write,
        stats: &mut Stats,
    ) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(8192);
        loop {
            line.clear();
            let mut oversized = false;
            loop {
                let available = input.fill_buf()?;
                if available.is_empty() {
                    break;
                }
                let (take, done) = match memchr::memchr(b'\n', available) {
                    Some(i) => (i + 1, true),
                    None => (available.len(), false),
                };
                if !oversized {
                    if line.len() + take > MAX_LINE_BYTES {
                        oversized = true;
                        line.clear();
                    } else {
                        line.extend_from_slice(available.get(..take).unwrap_or_default());
                    }
                }
                input.consume(take);
                stats.bytes += u64::try_from(take).unwrap_or(0);
                if done {
                    break;
                }
            }
            if oversized {
                stats.lines += 1;
                stats.oversized_lines += 1;
                output.write_all(b"[REDACTED:OVERSIZED_LINE]\n")?;
                continue;
            }
            if line.is_empty() {
                return output.flush();
            }
            stats.lines += 1;
            let had_newline = line.last() == Some(&b'\n');
            let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
            // Valid UTF-8 is the rule: check it fast, and repair only the rare invalid line.
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            };
            let text = text.strip_suffix('\r').unwrap_or(&text);
            let counts = match crate::stream::Scanner::new(self, text).run() {
                Some((redacted, counts)) if !text.trim().is_empty() => {
                    stats.json_lines += 1;
                    output.write_all(&redacted)?;
                    counts
                }
                _ => {
                    stats.text_lines += 1;
                    let redacted = self.redact_text(text);
                    output.write_all(redacted.value.as_bytes())?;
                    let mut counts = BTreeMap::new();
                    for finding in redacted.findings {
                        *counts.entry(finding.kind.as_str()).or_default() += 1;
                    }
                    counts
                }
            };
            if had_newline {
                output.write_all(b"\n")?;
            }
            for (kind, count) in counts {
                *stats.findings.entry(kind).or_default() += count;
            }
        }
    }
}

fn push_key(path: &mut String, key: &str) {
    let identifier = !key.is_empty()
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}
