//! The offline verifier over arbitrary bytes: an export file is untrusted input. It must never
//! panic, hang or hold more than a line's worth of memory.
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
    }
});
