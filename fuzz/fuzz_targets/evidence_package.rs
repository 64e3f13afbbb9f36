//! The evidence package verifier (`rampart compliance verify PACKAGE.zip`) over arbitrary
//! bytes: a package is untrusted input. It must never panic, and never inflate or hold more
//! than its limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verdict = rampart_compliance::verify_package(data, None);
    // A verdict is consistent: ok only without problems, and every member named.
    assert!(!verdict.ok || verdict.problems.is_empty());
    assert!(verdict.members.iter().all(|m| m.ok == m.problem.is_none()));
});
