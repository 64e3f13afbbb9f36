//! Rampart's PII detection and redaction: detectors with validators that cut false positives
//! (Luhn, IBAN mod-97, SSN rules, IP parsing, key checksums), sensitive JSON key names and URL
//! query parameters, actions per type (redact, keyed hash, mask, keep), and walkers for JSON
//! documents, text and NDJSON streams.
//!
//! It is usable without the server: no HTTP, no storage. Findings never carry the value found.
#![forbid(unsafe_code)]

mod card;
mod detect;
mod keys;
mod policy;
mod redact;
mod stream;
mod types;
mod validate;

pub use card::{Pan, PanError};
pub use detect::Detector;
pub use keys::is_sensitive_key;
pub use policy::{Action, Policy, PolicyError};
pub use redact::{
    HashKey, MAX_LINE_BYTES, ProtectError, Protector, Redacted, Redactor, Stats, Unsupported,
};
pub use types::{Finding, PiiType};
