//! The offline verifiers over arbitrary bytes: an export file, a subject's export or an erasure
//! certificate is untrusted input. They must never panic, hang or hold more than a line's worth
//! of memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut verifier = rampart_audit::Verifier::new();
    let _ = verifier.read_all(data, |_| {});
    let _ = verifier.finish_with_key_text(Some("rampart.dev/audit/x+00000000+AQ=="));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rampart_audit::export::parse_line(text);
        let _ = rampart_audit::LogVerifier::parse_verifier_key(text);
        let _ = rampart_audit::Checkpoint::parse_body(text);
        let _ = rampart_audit::verifier_from_key_text(text);
    }
    // A signed document (`rampart gdpr verify-export|verify-certificate`).
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) {
        let key = rampart_audit::LogVerifier {
            name: String::new(),
            public_key: [7; 32],
        };
        let _ = key.verify_document(&document);
        let _ = rampart_audit::document_signing_input(&document);
    }
});
