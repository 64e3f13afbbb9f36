//! The evidence package (API.md "Compliance reports"): a zip an auditor can check offline with
//! the audit log's public key and nothing else.
//!
//! It holds `report.json` (the signed report), `audit-export.ndjson` (the audit export of the
//! report's period, with its signed trailer), `checkpoint.txt` (the signed checkpoint note at
//! the period's end), `configuration.json` (settings, secrets redacted), `public-keys.json`
//! (`{"audit_log": {"verifier_key", "public_key_b64"}, ...}`), and last a `manifest.json`
//! listing every other file with its SHA-256 and size, signed as a signed document
//! ([`rampart_audit::signed`]). The zip itself carries no trust: every check is of the
//! content, so a package re-zipped by any tool still verifies.
//!
//! [`write_package`] streams: each member is copied into the zip in chunks as its digest is
//! computed, so a package of any size is written in constant memory (to a file: a server
//! streams it from there); [`build_package`] is the same in memory.
//!
//! [`verify_package`] reads untrusted bytes: it is bounded (members, name lengths, bytes
//! inflated, counted as they are read rather than taken from headers) and never panics; every
//! problem it reports names the member it is about.

mod build;
mod read;
mod verify;

pub use build::{MemberContent, MemberSource, build_package, write_package};
pub use verify::{
    KeySource, MemberCheck, PackageVerification, verify_package, verify_package_reader,
};

/// The manifest's `format`.
pub const PACKAGE_FORMAT: &str = "rampart-evidence-package/1";
/// The signed list of every other member.
pub const MANIFEST: &str = "manifest.json";
/// The signed report.
pub const REPORT: &str = "report.json";
/// The audit export of the report's period, with its trailer.
pub const AUDIT_EXPORT: &str = "audit-export.ndjson";
/// The signed checkpoint note at the period's end.
pub const CHECKPOINT: &str = "checkpoint.txt";
/// The configuration, secrets redacted.
pub const CONFIGURATION: &str = "configuration.json";
/// The public keys (`{"audit_log": {"verifier_key", "public_key_b64"}}`, maybe more).
pub const PUBLIC_KEYS: &str = "public-keys.json";
/// The members every package holds besides the manifest, in the order they are written.
pub const REQUIRED_MEMBERS: [&str; 5] =
    [REPORT, AUDIT_EXPORT, CHECKPOINT, CONFIGURATION, PUBLIC_KEYS];

/// Most members a package may hold, the manifest included.
pub const MAX_MEMBERS: usize = 64;
/// Longest member name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most bytes all members may inflate to together (4 GiB).
pub const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Most bytes of a member read whole into memory (everything but the audit export, which is
/// streamed).
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// One file of a package: its name in the zip and its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name: a relative path of plain components (no `..`, not absolute).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Member({:?}, {} bytes)", self.name, self.bytes.len())
    }
}

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A member's name is not a plain relative path.
    #[error("member {name:?}: {problem}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two members have one name.
    #[error("member {0:?} is given twice")]
    DuplicateName(String),
    /// A member is named `manifest.json`, which the package writes itself.
    #[error("member {MANIFEST:?} is written by the package itself")]
    ReservedName,
    /// A member every package holds is missing.
    #[error("member {0:?} is missing: a package holds {REQUIRED_MEMBERS:?}")]
    MissingMember(&'static str),
    /// More than [`MAX_MEMBERS`] members (the manifest included).
    #[error("{0} members: a package holds at most {MAX_MEMBERS}, the manifest included")]
    TooManyMembers(usize),
    /// More than [`MAX_TOTAL_BYTES`] together, or a document member over
    /// [`MAX_DOCUMENT_BYTES`] (a verifier would refuse the package).
    #[error("member {0:?} makes the package larger than a verifier accepts")]
    TooLarge(String),
    /// The manifest could not be signed.
    #[error("the manifest cannot be signed: {0}")]
    Sign(#[from] rampart_audit::SignedDocumentError),
    /// A member's content could not be read (a file or reader given to
    /// [`write_package`]).
    #[error("member {name:?} cannot be read: {error}")]
    Read {
        /// The member's name.
        name: String,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// The zip could not be written.
    #[error("the zip cannot be written: {0}")]
    Zip(String),
}

/// What is wrong with `name` as a member name, if anything: it must be at most
/// [`MAX_NAME_BYTES`] bytes of plain relative path components (no empty, `.` or `..`
/// component, no leading `/`, no `\`, `:` or control character).
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.len() > MAX_NAME_BYTES {
        Some("the name is longer than 256 bytes")
    } else if name.starts_with('/') {
        Some("the name is an absolute path")
    } else if name.contains('\\') || name.contains(':') {
        Some("the name holds '\\' or ':' (a Windows path or drive)")
    } else if name.chars().any(char::is_control) {
        Some("the name holds a control character")
    } else if name.split('/').any(|part| part == "..") {
        Some("the name climbs out of the package (..)")
    } else if name.split('/').any(|part| part.is_empty() || part == ".") {
        Some("the name has an empty or '.' component")
    } else {
        None
    }
}

/// Whether member `name` is read whole into memory when verified (every known member but the
/// audit export, which is streamed): such members may hold at most [`MAX_DOCUMENT_BYTES`].
pub(crate) fn is_document(name: &str) -> bool {
    matches!(
        name,
        MANIFEST | REPORT | CHECKPOINT | CONFIGURATION | PUBLIC_KEYS
    )
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 of `bytes`, hex.
#[cfg(test)]
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

#[cfg(test)]
mod tests;
