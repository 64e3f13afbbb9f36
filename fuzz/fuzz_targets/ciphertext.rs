//! The Fernet token, `rampart:v<version>:<body>` envelope and sealed personal data parsers over
//! arbitrary bytes: ciphertexts arrive from clients and are untrusted input. They must never
//! panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rampart_crypto::fernet::{self, FernetKey};
use rampart_crypto::{BodyEncoding, Envelope};
use rampart_subjects::{SubjectKey, SubjectKeyId};

static KEY: LazyLock<FernetKey> = LazyLock::new(|| FernetKey::from_bytes(&[7; 32]));
static SUBJECT_KEY: LazyLock<SubjectKey> = LazyLock::new(|| {
    SubjectKey::from_parts(
        SubjectKeyId::parse("sk_0123456789abcdef0123456789abcdef").expect("an id"),
        &[7; 32],
    )
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = fernet::parse_token(&text);
    let _ = KEY.decrypt(&text, Some(60), 1_000_000);
    let _ = KEY.decrypt(&text, None, 1_000_000);
    let _ = Envelope::parse(&text, BodyEncoding::UrlSafe);
    let _ = Envelope::parse(&text, BodyEncoding::Standard);
    let _ = Envelope::peek_version(&text);
    // Personal data sealed with a subject key (stored, but read back from storage).
    let _ = SUBJECT_KEY.open(&text);
});
