//! Evidence packages: a real one (a small audit log, its export from seq 2 with left hashes,
//! the signed checkpoint, the signed report) verifies; changing, corrupting, removing or adding
//! anything is caught and names the member; hostile archives are refused; nothing panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixture;
mod stream;

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::render::tests::sample_report;
use fixture::*;

/// `verdict` is not ok, and a problem and the member's own check name `member`.
#[track_caller]
fn assert_names(verdict: &PackageVerification, member: &str, words: &str) {
    assert!(!verdict.ok, "accepted: {verdict:#?}");
    assert!(
        verdict
            .problems
            .iter()
            .any(|p| p.starts_with(&format!("{member}: ")) && p.contains(words)),
        "no problem naming {member} with {words:?}: {:#?}",
        verdict.problems
    );
    assert!(
        verdict
            .members
            .iter()
            .any(|m| m.name == member && !m.ok && m.problem.is_some()),
        "{member} is not marked bad: {:#?}",
        verdict.members
    );
    assert_every_problem_names_its_subject(verdict);
}

#[track_caller]
fn assert_every_problem_names_its_subject(verdict: &PackageVerification) {
    for problem in &verdict.problems {
        let named = verdict
            .members
            .iter()
            .any(|m| problem.starts_with(&format!("{}: ", m.name)))
            || problem.starts_with("the zip archive: ")
            || problem.starts_with("the public key given: ");
        assert!(named, "{problem:?} names no member");
    }
}

#[test]
fn a_package_verifies_with_the_key_in_either_form() {
    let raw = base64::engine::general_purpose::STANDARD.encode(signer(1).verifier().public_key);
    for given in [key(), raw] {
        let verdict = verify_package(package(), Some(&given));
        assert!(verdict.ok, "{verdict:#?}");
        assert!(verdict.problems.is_empty());
        assert_eq!(verdict.key_source, KeySource::Given);
        assert!(verdict.notes.is_empty());
        let names: Vec<&str> = verdict.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                REPORT,
                AUDIT_EXPORT,
                CHECKPOINT,
                CONFIGURATION,
                PUBLIC_KEYS,
                MANIFEST
            ]
        );
        assert!(verdict.members.iter().all(|m| m.ok && m.problem.is_none()));
        assert_eq!(
            verdict.report_id.as_deref(),
            Some(sample_report().id.as_str())
        );
        assert_eq!(verdict.framework.as_deref(), Some("soc2"));
        assert_eq!(verdict.tree_size, Some(ENTRIES));
    }
}

#[test]
fn without_a_key_the_package_key_is_used_and_the_verdict_says_so() {
    let verdict = verify_package(package(), None);
    assert!(verdict.ok, "{verdict:#?}");
    assert_eq!(verdict.key_source, KeySource::Package);
    assert!(verdict.notes[0].contains("not who made it"));
    // A package wholly made with another key is consistent on its own, but not Rampart's.
    let forged = build(&signer(9), members(&signer(9)));
    assert!(verify_package(&forged, None).ok);
    let verdict = verify_package(&forged, Some(&key()));
    assert_names(&verdict, MANIFEST, "signature does not verify");
    assert_names(&verdict, REPORT, "signature does not verify");
    assert_names(&verdict, AUDIT_EXPORT, "");
    assert_names(&verdict, CHECKPOINT, "carries no signature");
    assert_names(&verdict, PUBLIC_KEYS, "not the public key given");
}

#[test]
fn the_same_input_gives_the_same_bytes_and_a_signed_manifest() {
    assert_eq!(build(&signer(1), members(&signer(1))), package());
    let entries = unzip(package());
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            REPORT,
            AUDIT_EXPORT,
            CHECKPOINT,
            CONFIGURATION,
            PUBLIC_KEYS,
            MANIFEST
        ]
    );
    let manifest: Value = serde_json::from_slice(&entries[5].1).unwrap();
    assert_eq!(signer(1).verifier().verify_document(&manifest), Ok(()));
    assert_eq!(manifest["format"], PACKAGE_FORMAT);
    assert_eq!(manifest["framework"], "soc2");
    for ((name, bytes), file) in entries.iter().zip(manifest["files"].as_array().unwrap()) {
        assert_eq!(file["name"], name.as_str());
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["sha256"], sha256_hex(bytes));
    }
    assert_eq!(manifest["files"].as_array().unwrap().len(), 5);
}

#[test]
fn changing_one_byte_of_any_member_is_caught_and_named() {
    let entries = unzip(package());
    for index in 0..entries.len() {
        let mut changed = entries.clone();
        let (name, bytes) = &mut changed[index];
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        let name = name.clone();
        let verdict = verify_package(&rezip(&changed), Some(&key()));
        let words = if name == MANIFEST {
            ""
        } else {
            "differs from the manifest"
        };
        assert_names(&verdict, &name, words);
        // Nothing else is blamed for it but what it breaks.
        assert!(
            verdict.members.iter().filter(|m| !m.ok).count() <= 2,
            "{verdict:#?}"
        );
    }
}

#[test]
fn flipping_a_byte_in_any_member_compressed_data_is_caught_and_named() {
    for (name, region) in data_regions(package()) {
        for at in [
            region.start,
            region.start + region.len() / 2,
            region.end - 1,
        ] {
            let mut corrupt = package().to_vec();
            corrupt[at] ^= 0xFF;
            let verdict = verify_package(&corrupt, Some(&key()));
            assert_names(&verdict, &name, "");
        }
    }
}

#[test]
fn a_wrong_or_unusable_key_fails() {
    let verdict = verify_package(package(), Some(&signer(2).verifier().verifier_key()));
    assert_names(&verdict, MANIFEST, "signature does not verify");
    assert_names(&verdict, REPORT, "signature does not verify");
    let verdict = verify_package(package(), Some("not a key"));
    assert!(!verdict.ok);
    assert!(
        verdict
            .problems
            .iter()
            .any(|p| p.starts_with("the public key given: "))
    );
    assert_every_problem_names_its_subject(&verdict);
}

#[test]
fn missing_extra_and_hostile_members_are_named() {
    let entries = unzip(package());
    let without: Vec<_> = entries
        .iter()
        .filter(|(n, _)| n != CHECKPOINT)
        .cloned()
        .collect();
    assert_names(
        &verify_package(&rezip(&without), Some(&key())),
        CHECKPOINT,
        "missing from the package (the manifest lists it)",
    );
    let no_manifest: Vec<_> = entries
        .iter()
        .filter(|(n, _)| n != MANIFEST)
        .cloned()
        .collect();
    assert_names(
        &verify_package(&rezip(&no_manifest), Some(&key())),
        MANIFEST,
        "missing",
    );

    let with = |name: &str| {
        let mut more = entries.clone();
        more.insert(2, (name.to_owned(), b"extra".to_vec()));
        verify_package(&rezip(&more), Some(&key()))
    };
    assert_names(
        &with("notes.txt"),
        "notes.txt",
        "not listed in the manifest",
    );
    assert_names(&with("../evil.sh"), "\"../evil.sh\"", "climbs out");
    assert_names(&with("/etc/passwd"), "\"/etc/passwd\"", "absolute");
    assert_names(&with("a/../../b"), "\"a/../../b\"", "climbs out");
    assert_names(&with("C:\\evil"), "\"C:\\\\evil\"", "Windows");
    assert_names(
        &with(&"n".repeat(MAX_NAME_BYTES + 1)),
        &format!("{:?}", "n".repeat(MAX_NAME_BYTES + 1)),
        "longer than 256",
    );

    let mut many = entries.clone();
    for i in 0..(MAX_MEMBERS + 1 - entries.len()) {
        many.push((format!("extra-{i}.txt"), Vec::new()));
    }
    let verdict = verify_package(&rezip(&many), Some(&key()));
    assert!(!verdict.ok);
    assert_eq!(
        verdict.problems,
        ["the zip archive: holds 65 members, more than the 64 a package may hold"]
    );
}

#[test]
fn duplicate_names_are_named() {
    // The zip writer refuses duplicates: write a same-length name, then rename it in both
    // headers.
    let mut entries = unzip(package());
    entries.insert(1, ("report.jsoX".into(), b"{}".to_vec()));
    let mut bytes = rezip(&entries);
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(11).position(|w| w == b"report.jsoX") {
        bytes[at + found + 10] = b'n';
        at += found + 11;
    }
    let verdict = verify_package(&bytes, Some(&key()));
    assert_names(&verdict, REPORT, "appears 2 times");
}

#[test]
fn broken_archives_are_refused_without_panicking() {
    let mut cut = package().to_vec();
    cut.truncate(cut.len() - 30);
    for bytes in [
        &b""[..],
        b"PK\x05\x06",
        b"not a zip at all",
        &cut,
        &package()[..100],
    ] {
        let verdict = verify_package(bytes, Some(&key()));
        assert!(!verdict.ok);
        assert!(
            verdict.problems[0].starts_with("the zip archive: "),
            "{verdict:#?}"
        );
        assert_every_problem_names_its_subject(&verdict);
    }
}

#[test]
fn a_report_the_export_or_checkpoint_do_not_match_is_named() {
    let signer = signer(1);
    let other_end = members_with(&signer, |r| r.audit.tree_size = 4);
    let verdict = verify_package(&build(&signer, other_end), Some(&key()));
    assert_names(
        &verdict,
        AUDIT_EXPORT,
        "report.json's period ends at tree size 4",
    );
    assert_names(
        &verdict,
        CHECKPOINT,
        "report.json's period ends at tree size 4",
    );
    let other_start = members_with(&signer, |r| r.audit.from_seq = 1);
    let verdict = verify_package(&build(&signer, other_start), Some(&key()));
    assert_names(
        &verdict,
        AUDIT_EXPORT,
        "starts at seq 2, but report.json's period starts at seq 1",
    );
    // A checkpoint for an earlier size, properly signed.
    let mut members = members(&signer);
    members[2].bytes = checkpoint(&signer, &log(ENTRIES).1[..3]).note.into_bytes();
    let verdict = verify_package(&build(&signer, members), Some(&key()));
    assert_names(&verdict, CHECKPOINT, "is for tree size 3");
    assert_eq!(verdict.problems.len(), 1, "{verdict:#?}");
}

#[test]
fn build_refuses_what_verify_would_refuse() {
    let signer = signer(1);
    let try_build = |members: Vec<Member>| {
        build_package("rpt_x", "soc2", "now", members, |m| signer.sign_document(m))
    };
    let mut missing = members(&signer);
    missing.retain(|m| m.name != CHECKPOINT);
    assert!(matches!(
        try_build(missing),
        Err(PackageError::MissingMember(CHECKPOINT))
    ));
    let mut hostile = members(&signer);
    hostile.push(Member {
        name: "../x".into(),
        bytes: vec![],
    });
    assert!(matches!(
        try_build(hostile),
        Err(PackageError::InvalidName { .. })
    ));
    let mut twice = members(&signer);
    twice.push(twice[0].clone());
    assert!(matches!(
        try_build(twice),
        Err(PackageError::DuplicateName(_))
    ));
    let mut reserved = members(&signer);
    reserved.push(Member {
        name: MANIFEST.into(),
        bytes: vec![],
    });
    assert!(matches!(
        try_build(reserved),
        Err(PackageError::ReservedName)
    ));
    let mut many = members(&signer);
    for i in 0..MAX_MEMBERS {
        many.push(Member {
            name: format!("f{i}"),
            bytes: vec![],
        });
    }
    assert!(matches!(
        try_build(many),
        Err(PackageError::TooManyMembers(_))
    ));
}

/// The fuzz target's seed: a tiny valid package, committed. `RAMPART_WRITE_EVIDENCE_SEED=1`
/// writes it anew.
#[test]
fn the_fuzz_seed_is_a_valid_package() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus_seed_evidence/valid.zip");
    if std::env::var_os("RAMPART_WRITE_EVIDENCE_SEED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, package()).unwrap();
    }
    let seed = std::fs::read(&path).unwrap();
    assert_eq!(
        seed,
        package(),
        "regenerate with RAMPART_WRITE_EVIDENCE_SEED=1"
    );
    assert!(verify_package(&seed, None).ok);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A flip anywhere never panics, and a package passes only when every member still reads
    /// as it was: a flip inside a member's data is caught and names the member, unless it hit
    /// bits that do not matter (a deflate stream's final padding); a flip elsewhere may not
    /// matter either (a timestamp, permissions, a header field no reader uses).
    #[test]
    fn random_flips_never_panic_and_never_pass_a_changed_member(at in 0usize..4096, mask in 1u8..=255) {
        let mut bytes = package().to_vec();
        let at = at % bytes.len();
        bytes[at] ^= mask;
        let unchanged = contents(&bytes) == Some(unzip(package()));
        for key in [Some(key()), None] {
            let verdict = verify_package(&bytes, key.as_deref());
            assert_every_problem_names_its_subject(&verdict);
            prop_assert!(!verdict.ok || unchanged, "a flip at {} that changed a member passed", at);
            let in_data = data_regions(package()).into_iter().find(|(_, r)| r.contains(&at));
            if let (Some((name, _)), false) = (in_data, unchanged) {
                prop_assert!(
                    verdict.problems.iter().any(|p| p.starts_with(&format!("{name}: "))),
                    "a flip at {} in {} is not blamed on it: {:?}", at, name, verdict.problems
                );
            }
        }
    }
}

#[test]
fn a_member_that_inflates_past_its_limit_is_refused_and_named() {
    let mut entries = unzip(package());
    let configuration = entries
        .iter_mut()
        .find(|(n, _)| n == CONFIGURATION)
        .unwrap();
    configuration.1 = vec![b' '; usize::try_from(MAX_DOCUMENT_BYTES).unwrap() + 1];
    let bomb = rezip(&entries);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let verdict = verify_package(&bomb, Some(&key()));
    assert_names(
        &verdict,
        CONFIGURATION,
        "inflates to more than 67108864 bytes",
    );
}
