//! The JSON, text and NDJSON walkers over arbitrary bytes: log lines are untrusted input. They
//! must never panic, and deep nesting must not exhaust the stack.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rampart_privacy::{HashKey, Policy, Redactor, Stats};

static REDACTOR: LazyLock<Redactor> =
    LazyLock::new(|| Redactor::new(Policy::default_policy(), HashKey::new([1; 32])).expect("default policy"));

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let mut stats = Stats::default();
    let _ = REDACTOR.redact_stream(data, &mut out, &mut stats);
    if let Ok(text) = std::str::from_utf8(data) {
        let redacted = REDACTOR.redact_text(text);
        assert!(redacted.findings.iter().all(|f| f.start <= f.end && f.end <= text.len()));
        if let Ok(document) = serde_json::from_str::<serde_json::Value>(text) {
            let _ = REDACTOR.redact_json(&document);
        }
    }
});
