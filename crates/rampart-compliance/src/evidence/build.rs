//! Writing a package: the members in the order given, then the signed manifest. The same
//! input gives the same bytes (fixed timestamps and permissions, deterministic deflate).

use std::collections::BTreeSet;
use std::io::Write as _;

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{
    MANIFEST, MAX_DOCUMENT_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, Member, PACKAGE_FORMAT,
    PackageError, REQUIRED_MEMBERS, is_document, name_problem, sha256_hex,
};

/// Builds the evidence package of report `report_id` (of `framework`, made at `created_at`):
/// a zip of `members` in order, then `manifest.json`
/// (`{"format", "report_id", "framework", "created_at", "files": [{"name", "sha256", "size"}],
/// "signature_b64"}`) signed by `sign` as a signed document (`LogSigner::sign_document` or
/// `AuditLog::sign_document`: the audit log's key). Refuses what
/// [`verify_package`](super::verify_package) would refuse: invalid, duplicate or missing
/// names, too many members, too many bytes.
pub fn build_package(
    report_id: &str,
    framework: &str,
    created_at: &str,
    members: Vec<Member>,
    sign: impl FnOnce(&mut Value) -> Result<(), rampart_audit::SignedDocumentError>,
) -> Result<Vec<u8>, PackageError> {
    check_members(&members)?;
    let files: Vec<Value> = members
        .iter()
        .map(|m| json!({"name": m.name, "sha256": sha256_hex(&m.bytes), "size": m.bytes.len()}))
        .collect();
    let mut manifest = json!({
        "format": PACKAGE_FORMAT,
        "report_id": report_id,
        "framework": framework,
        "created_at": created_at,
        "files": files,
    });
    sign(&mut manifest)?;
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Zip(e.to_string()))?;
    manifest_bytes.push(b'\n');

    let zip_error = |e: zip::result::ZipError| PackageError::Zip(e.to_string());
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let written = members
        .iter()
        .map(|m| (m.name.as_str(), m.bytes.as_slice()));
    for (name, bytes) in written.chain(std::iter::once((MANIFEST, manifest_bytes.as_slice()))) {
        let large = u32::try_from(bytes.len()).is_err();
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(0o644)
            .large_file(large);
        zip.start_file(name, options).map_err(zip_error)?;
        zip.write_all(bytes)
            .map_err(|e| PackageError::Zip(e.to_string()))?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

fn check_members(members: &[Member]) -> Result<(), PackageError> {
    let count = members.len().saturating_add(1);
    if count > MAX_MEMBERS {
        return Err(PackageError::TooManyMembers(count));
    }
    let mut names = BTreeSet::new();
    let mut total = 0u64;
    for member in members {
        if let Some(problem) = name_problem(&member.name) {
            return Err(PackageError::InvalidName {
                name: member.name.clone(),
                problem,
            });
        }
        if member.name == MANIFEST {
            return Err(PackageError::ReservedName);
        }
        if !names.insert(member.name.as_str()) {
            return Err(PackageError::DuplicateName(member.name.clone()));
        }
        let size = u64::try_from(member.bytes.len()).unwrap_or(u64::MAX);
        total = total.saturating_add(size);
        let document_too_large = is_document(&member.name) && size > MAX_DOCUMENT_BYTES;
        if total > MAX_TOTAL_BYTES || document_too_large {
            return Err(PackageError::TooLarge(member.name.clone()));
        }
    }
    match REQUIRED_MEMBERS.into_iter().find(|r| !names.contains(r)) {
        Some(missing) => Err(PackageError::MissingMember(missing)),
        None => Ok(()),
    }
}
