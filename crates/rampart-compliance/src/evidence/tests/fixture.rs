//! The package the tests start from: a real small audit log (fixed ids and times), its export
//! from seq 2 with left hashes, the checkpoint and the report signed with a test key; and
//! helpers to take a zip apart and put it back together.

use std::io::{Read as _, Write as _};
use std::ops::Range;
use std::sync::OnceLock;

use base64::Engine as _;
use rampart_audit::checkpoint::{Checkpoint, LogSigner};
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::export::{checkpoint_json, entry_line, trailer_line};
use rampart_audit::store::SignedCheckpoint;
use rampart_audit::tree::{
    CompactRange, Hash, LeafList, SubtreeSource, decomposition, leaf_hash, to_hex,
};
use serde_json::json;

use super::super::*;
use crate::render::tests::sample_report;
use crate::report::Report;

pub(super) const ORIGIN: &str = "rampart.test/log";
pub(super) const ENTRIES: u64 = 5;
pub(super) const FROM_SEQ: u64 = 2;

pub(super) fn signer(seed: u8) -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

/// A log of `n` entries (fixed ids and times): its export lines and leaf hashes.
pub(super) fn log(n: u64) -> (Vec<String>, Vec<Hash>) {
    let at = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
    let mut lines = Vec::new();
    let mut leaves = Vec::new();
    for seq in 0..n {
        let event = json!({"actor": {"type": "user", "id": format!("u{seq}")},
            "action": "compliance.report", "resource": {"type": "report", "id": format!("r{seq}")},
            "status": "success", "details": {"n": seq}});
        let id = uuid::Uuid::from_u128(0x0193_a6f2_0000_7000_8000_0000_0000_0000 + u128::from(seq));
        let entry = NewEntry::from_json(&event, "")
            .unwrap()
            .into_entry(
                seq,
                id,
                at,
                SubmittedBy {
                    principal_id: "p".into(),
                    credential_id: None,
                },
            )
            .unwrap();
        let body = String::from_utf8(entry.canonical_json().unwrap()).unwrap();
        let leaf = leaf_hash(body.as_bytes());
        lines.push(entry_line(&body, &leaf));
        leaves.push(leaf);
    }
    (lines, leaves)
}

/// The checkpoint signed by `signer` at the size of `leaves`.
pub(super) fn checkpoint(signer: &LogSigner, leaves: &[Hash]) -> SignedCheckpoint {
    let mut range = CompactRange::empty();
    for leaf in leaves {
        range.push(*leaf, |_| {});
    }
    let (note, signature) = signer.sign(&Checkpoint {
        origin: ORIGIN.into(),
        tree_size: range.size(),
        root_hash: range.root(),
    });
    SignedCheckpoint {
        tree_size: range.size(),
        root_hash: range.root(),
        timestamp: time::OffsetDateTime::from_unix_timestamp(1_780_000_100).unwrap(),
        note,
        signature,
    }
}

/// The members of a real package signed by `signer`; `tweak` changes the report before it is
/// signed.
pub(super) fn members_with(signer: &LogSigner, tweak: impl FnOnce(&mut Report)) -> Vec<Member> {
    let (lines, leaves) = log(ENTRIES);
    let signed = checkpoint(signer, &leaves);
    let left: Vec<Hash> = decomposition(FROM_SEQ)
        .into_iter()
        .map(|(level, index)| LeafList(&leaves).subtree(level, index).unwrap())
        .collect();
    let mut export = String::new();
    for line in &lines[usize::try_from(FROM_SEQ).unwrap()..] {
        export.push_str(line);
        export.push('\n');
    }
    export.push_str(
        &trailer_line(checkpoint_json(ORIGIN, &signed, &signer.verifier()), &left).unwrap(),
    );
    export.push('\n');

    let mut report = sample_report();
    report.audit.from_seq = FROM_SEQ;
    report.audit.tree_size = ENTRIES;
    report.audit.root_hash = to_hex(&signed.root_hash);
    tweak(&mut report);
    let mut report = report.to_value();
    signer.sign_document(&mut report).unwrap();

    let verifier = signer.verifier();
    let keys = json!({"audit_log": {"verifier_key": verifier.verifier_key(),
        "public_key_b64": base64::engine::general_purpose::STANDARD.encode(verifier.public_key)}});
    let configuration = json!({"listen_address": "0.0.0.0:8443", "master_key_source": "file",
        "database_url": "[redacted]", "tls": {"cert": "/etc/rampart/tls.crt", "key": "[redacted]"}});
    let member = |name: &str, bytes: Vec<u8>| Member {
        name: name.into(),
        bytes,
    };
    vec![
        member(REPORT, serde_json::to_vec_pretty(&report).unwrap()),
        member(AUDIT_EXPORT, export.into_bytes()),
        member(CHECKPOINT, signed.note.into_bytes()),
        member(
            CONFIGURATION,
            serde_json::to_vec_pretty(&configuration).unwrap(),
        ),
        member(PUBLIC_KEYS, serde_json::to_vec_pretty(&keys).unwrap()),
    ]
}

pub(super) fn members(signer: &LogSigner) -> Vec<Member> {
    members_with(signer, |_| {})
}

pub(super) fn build(signer: &LogSigner, members: Vec<Member>) -> Vec<u8> {
    let id = sample_report().id;
    build_package(id.as_str(), "soc2", "2026-06-01T12:00:00Z", members, |m| {
        signer.sign_document(m)
    })
    .unwrap()
}

/// The valid package every test starts from (signed with seed 1).
pub(super) fn package() -> &'static [u8] {
    static PACKAGE: OnceLock<Vec<u8>> = OnceLock::new();
    PACKAGE.get_or_init(|| build(&signer(1), members(&signer(1))))
}

pub(super) fn key() -> String {
    signer(1).verifier().verifier_key()
}

/// Every member of a zip, in order.
pub(super) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().to_string(), content)
        })
        .collect()
}

/// A zip of `entries` as given (no manifest added).
pub(super) fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Where each member's compressed data lies in the zip.
pub(super) fn data_regions(bytes: &[u8]) -> Vec<(String, Range<usize>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let file = archive.by_index_raw(i).unwrap();
            let start = usize::try_from(file.data_start().unwrap()).unwrap();
            let len = usize::try_from(file.compressed_size()).unwrap();
            (file.name().unwrap().to_string(), start..start + len)
        })
        .collect()
}

/// Every member's content, read with the zip reader's own checks; `None` when it fails.
pub(super) fn contents(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).ok()?;
            let mut content = Vec::new();
            file.read_to_end(&mut content).ok()?;
            Some((file.name().ok()?.to_string(), content))
        })
        .collect()
}
