//! The offline verifier against every kind of tampering with an export.

use rampart_audit::checkpoint::{Checkpoint, LogSigner};
use rampart_audit::entry::{NewEntry, Personal, SealedPersonal, SubmittedBy};
use rampart_audit::export::{checkpoint_json, entry_line, trailer_line};
use rampart_audit::store::SignedCheckpoint;
use rampart_audit::tree::{CompactRange, Hash, LeafList, decomposition, leaf_hash};
use rampart_audit::{Verifier, VerifyReport};
use serde_json::json;

const ORIGIN: &str = "rampart.test/log";

fn signer(seed: u8) -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

/// A log of `n` entries as export lines (without trailer), with its leaf hashes.
fn log(n: u64) -> (Vec<String>, Vec<Hash>) {
    log_with(n, false)
}

/// As [`log`]; with `personal`, every other entry carries sealed personal data.
fn log_with(n: u64, personal: bool) -> (Vec<String>, Vec<Hash>) {
    let mut lines = Vec::new();
    let mut leaves = Vec::new();
    for seq in 0..n {
        let event = json!({"actor": {"type": "user", "id": format!("u{seq}")}, "action": "record.read",
            "resource": {"type": "record", "id": format!("r{}", seq % 3)}, "status": "success",
            "details": {"n": seq, "note": "ünïcödé ✓"}, "compliance_tags": ["hipaa"]});
        let mut new = NewEntry::from_json(&event, "").unwrap();
        if personal && seq % 2 == 0 {
            new.subject_id = Some(format!("subject-{}", seq % 4));
            new.personal = Some(Personal::Sealed(SealedPersonal {
                sealed: format!("rampart:v1:AbCd-_{seq}xYz"),
                subject_key: format!("sk_{:032x}", seq % 4),
            }));
        }
        let entry = new
            .into_entry(
                seq,
                uuid::Uuid::now_v7(),
                time::OffsetDateTime::now_utc(),
                SubmittedBy {
                    principal_id: "p".into(),
                    credential_id: Some("c".into()),
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

fn trailer(signer: &LogSigner, leaves: &[Hash], first: u64) -> String {
    let mut range = CompactRange::empty();
    for leaf in leaves {
        range.push(*leaf, |_| {});
    }
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        tree_size: range.size(),
        root_hash: range.root(),
    };
    let (note, signature) = signer.sign(&checkpoint);
    let signed = SignedCheckpoint {
        tree_size: range.size(),
        root_hash: range.root(),
        timestamp: time::OffsetDateTime::now_utc(),
        note,
        signature,
    };
    let left: Vec<Hash> = decomposition(first)
        .into_iter()
        .map(|(level, index)| {
            rampart_audit::tree::SubtreeSource::subtree(&mut LeafList(leaves), level, index)
                .unwrap()
        })
        .collect();
    trailer_line(checkpoint_json(ORIGIN, &signed, &signer.verifier()), &left).unwrap()
}

fn verify(lines: &[String], key_seed: Option<u8>) -> VerifyReport {
    let mut verifier = Verifier::new();
    for line in lines {
        verifier.line(line);
    }
    let key = key_seed.map(|s| signer(s).verifier());
    verifier.finish(key.as_ref())
}

fn file(n: u64) -> Vec<String> {
    let (mut lines, leaves) = log(n);
    lines.push(trailer(&signer(1), &leaves, 0));
    lines
}

fn assert_problem(report: &VerifyReport, seq: Option<u64>, words: &str) {
    assert!(!report.ok, "tampering went unnoticed");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.problem.contains(words) && (seq.is_none() || p.seq == seq)),
        "expected a problem at {seq:?} containing '{words}', got {:#?}",
        report.problems
    );
}

#[test]
fn an_untouched_export_verifies() {
    let report = verify(&file(20), Some(1));
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.checked_entries, 20);
    assert_eq!(report.tree_size, 20);
    let empty = verify(&file(0), Some(1));
    assert!(empty.ok, "{:#?}", empty.problems);
}

#[test]
fn an_export_with_sealed_personal_data_verifies() {
    let (mut lines, leaves) = log_with(12, true);
    lines.push(trailer(&signer(1), &leaves, 0));
    assert!(lines[0].contains(",\"personal\":{\"sealed\":\"rampart:v1:"));
    assert!(!lines[1].contains("personal"));
    let report = verify(&lines, Some(1));
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.checked_entries, 12);
    // Not as Rampart writes it (`leaf_hash` first): the parsing path accepts sealed entries too.
    let mut spaced = lines.clone();
    let (body, leaf) = spaced[2].split_once(",\"leaf_hash\":").unwrap();
    let leaf = leaf.strip_suffix('}').unwrap();
    spaced[2] = format!("{{\"leaf_hash\": {leaf}, {}}}", &body[1..]);
    assert!(spaced[2].contains("\"personal\""));
    let report = verify(&spaced, Some(1));
    assert!(report.ok, "{:#?}", report.problems);
    // One byte of the ciphertext changed, on either path.
    for line in [&lines[4], &spaced[2]] {
        let mut tampered = lines.clone();
        let seq = if line == &lines[4] { 4 } else { 2 };
        tampered[seq] = line.replacen(&format!("AbCd-_{seq}xYz"), &format!("AbCd-_{seq}xYZ"), 1);
        assert_ne!(&tampered[seq], line);
        assert_problem(
            &verify(&tampered, Some(1)),
            Some(seq as u64),
            "does not match its leaf_hash",
        );
    }
    // A plaintext `personal` is not a sealed entry.
    let mut plain = lines.clone();
    plain[4] = plain[4].replacen(
        "\"personal\":{\"sealed\":",
        "\"personal\":{\"email\":\"a@example.com\",\"sealed\":",
        1,
    );
    let report = verify(&plain, Some(1));
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .all(|p| !p.problem.contains("example.com")),
        "{:#?}",
        report.problems
    );
}

#[test]
fn without_a_key_nothing_is_fully_verified() {
    assert_problem(&verify(&file(3), None), None, "no public key");
}

#[test]
fn an_edited_field_is_named() {
    let mut lines = file(10);
    lines[4] = lines[4].replace("\"u4\"", "\"mallory\"");
    assert_problem(
        &verify(&lines, Some(1)),
        Some(4),
        "does not match its leaf_hash",
    );
}

#[test]
fn an_edit_with_a_forged_leaf_hash_breaks_the_root() {
    let (mut lines, leaves) = log(10);
    let trailer = trailer(&signer(1), &leaves, 0);
    let mut value: serde_json::Value = serde_json::from_str(&lines[4]).unwrap();
    value["action"] = json!("record.delete");
    value.as_object_mut().unwrap().remove("leaf_hash");
    let body = String::from_utf8(serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap();
    lines[4] = entry_line(&body, &leaf_hash(body.as_bytes()));
    lines.push(trailer);
    assert_problem(
        &verify(&lines, Some(1)),
        None,
        "differs from the checkpoint's root",
    );
}

#[test]
fn a_deleted_entry_is_named() {
    let mut lines = file(10);
    lines.remove(6);
    let report = verify(&lines, Some(1));
    assert_problem(&report, Some(7), "entries 6..6 are missing");
}

#[test]
fn swapped_entries_are_named() {
    let mut lines = file(10);
    lines.swap(2, 3);
    assert_problem(&verify(&lines, Some(1)), Some(3), "missing");
    assert_problem(&verify(&lines, Some(1)), Some(2), "out of order");
}

#[test]
fn a_truncated_tail_is_caught() {
    let mut lines = file(10);
    let trailer = lines.pop().unwrap();
    lines.truncate(7);
    lines.push(trailer);
    assert_problem(
        &verify(&lines, Some(1)),
        None,
        "covers 10 entries but the file reaches 7",
    );
    // Cut without the trailer.
    let mut cut = file(10);
    cut.truncate(5);
    assert_problem(&verify(&cut, Some(1)), None, "no checkpoint line");
}

#[test]
fn a_replaced_checkpoint_is_caught() {
    let (mut lines, leaves) = log(10);
    // Re-signed by another key: the real key finds no signature of its own.
    lines.push(trailer(&signer(2), &leaves, 0));
    assert_problem(&verify(&lines, Some(1)), None, "no signature by key");
    // Fields edited next to a genuine note.
    let (mut lines, leaves) = log(10);
    let mut t: serde_json::Value = serde_json::from_str(&trailer(&signer(1), &leaves, 0)).unwrap();
    t["checkpoint"]["root_hash"] = json!("00".repeat(32));
    lines.push(t.to_string());
    assert_problem(&verify(&lines, Some(1)), None, "root");
}

#[test]
fn partial_exports_verify_with_left_hashes() {
    let (lines, leaves) = log(50);
    let mut part: Vec<String> = lines[13..40].to_vec();
    part.push(trailer(&signer(1), &leaves[..40], 13));
    let report = verify(&part, Some(1));
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.checked_entries, 27);
    // A forged left hash changes the root.
    let mut t: serde_json::Value = serde_json::from_str(part.last().unwrap()).unwrap();
    t["left_hashes"][0] = json!("11".repeat(32));
    let last = part.len() - 1;
    part[last] = t.to_string();
    assert_problem(&verify(&part, Some(1)), None, "root");
}

#[test]
fn garbage_lines_are_problems_not_panics() {
    let mut lines = file(3);
    lines.insert(1, "{not json".into());
    lines.insert(2, "[1,2]".into());
    lines.insert(3, "{\"seq\": 1}".into());
    let report = verify(&lines, Some(1));
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.problem.contains("not JSON"))
    );
}

mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The same property as the cargo-fuzz target, run on every `cargo nextest run`.
        #[test]
        fn arbitrary_bytes_never_panic_the_verifier(data in prop::collection::vec(any::<u8>(), 0..4096)) {
            let mut verifier = rampart_audit::Verifier::new();
            verifier.read_all(data.as_slice(), |_| {}).unwrap();
            let report = verifier.finish_with_key_text(None);
            prop_assert!(!report.ok);
        }

        #[test]
        fn mangled_export_lines_never_panic(line in r#"\{"(seq|checkpoint|leaf_hash|action|pruned)":[0-9a-z\[\]{}",:]{0,80}"#) {
            let _ = rampart_audit::export::parse_line(&line);
        }
    }

    #[test]
    fn an_overlong_line_is_refused_without_being_held() {
        let mut data = vec![b'x'; rampart_audit::export::MAX_LINE_BYTES + 10];
        data.push(b'\n');
        let mut verifier = rampart_audit::Verifier::new();
        verifier.read_all(data.as_slice(), |_| {}).unwrap();
        let report = verifier.finish_with_key_text(None);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.problem.contains("longer than"))
        );
    }
}

mod withheld {
    use proptest::prelude::*;
    use rampart_audit::export::withheld_line;

    use super::{assert_problem, log, signer, trailer, verify};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// An export whose entries a team-isolated reader may not see carries them as withheld
        /// lines: whichever are withheld, the file verifies against the same signed checkpoint,
        /// counts them, and shows none of their content.
        #[test]
        fn any_subset_withheld_still_verifies(n in 1u64..40, mask in any::<u64>()) {
            let (lines, leaves) = log(n);
            let mut file: Vec<String> = lines
                .iter()
                .zip(&leaves)
                .enumerate()
                .map(|(i, (line, leaf))| {
                    if mask >> (i % 64) & 1 == 1 {
                        withheld_line(i as u64, leaf)
                    } else {
                        line.clone()
                    }
                })
                .collect();
            file.push(trailer(&signer(1), &leaves, 0));
            let withheld = (0..n).filter(|i| mask >> (i % 64) & 1 == 1).count() as u64;
            let report = verify(&file, Some(1));
            prop_assert!(report.ok, "{:?}", report.problems);
            prop_assert_eq!(report.withheld_entries, withheld);
            prop_assert_eq!(report.checked_entries, n - withheld);
        }
    }

    #[test]
    fn a_withheld_line_with_a_forged_leaf_breaks_the_root() {
        let (mut lines, leaves) = log(8);
        let mut forged = *leaves.get(3).unwrap();
        forged[0] ^= 1;
        lines[3] = withheld_line(3, &forged);
        lines.push(trailer(&signer(1), &leaves, 0));
        assert_problem(&verify(&lines, Some(1)), None, "root");
    }

    #[test]
    fn malformed_withheld_lines_are_named() {
        let (mut lines, leaves) = log(4);
        lines[1] = r#"{"seq":1,"withheld":true,"leaf_hash":"zz"}"#.to_owned();
        lines[2] = r#"{"seq":2,"withheld":true,"leaf_hash":"00","extra":1}"#.to_owned();
        lines.push(trailer(&signer(1), &leaves, 0));
        let report = verify(&lines, Some(1));
        assert_problem(&report, Some(1), "malformed withheld line");
        let named = report
            .problems
            .iter()
            .filter(|p| p.problem.contains("malformed withheld line"))
            .count();
        assert_eq!(named, 2, "{:#?}", report.problems);
    }
}

mod pruned {
    use proptest::prelude::*;
    use rampart_audit::ExportLine;
    use rampart_audit::export::{parse_line, pruned_line, withheld_line};
    use rampart_audit::tree::to_hex;

    use super::{assert_problem, log, signer, trailer, verify};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Entries pruned under retention are pruned lines: whichever are pruned (and whichever
        /// others withheld), the file verifies against the checkpoint signed before, and the
        /// report counts each kind apart.
        #[test]
        fn any_subset_pruned_still_verifies(n in 1u64..40, pruned in any::<u64>(), withheld in any::<u64>()) {
            let (lines, leaves) = log(n);
            let mut file = Vec::new();
            let (mut pruned_count, mut withheld_count) = (0, 0);
            for (i, (line, leaf)) in lines.iter().zip(&leaves).enumerate() {
                let seq = i as u64;
                if pruned >> (i % 64) & 1 == 1 {
                    pruned_count += 1;
                    file.push(pruned_line(seq, leaf));
                } else if withheld >> (i % 64) & 1 == 1 {
                    withheld_count += 1;
                    file.push(withheld_line(seq, leaf));
                } else {
                    file.push(line.clone());
                }
            }
            file.push(trailer(&signer(1), &leaves, 0));
            let report = verify(&file, Some(1));
            prop_assert!(report.ok, "{:?}", report.problems);
            prop_assert_eq!(report.pruned_entries, pruned_count);
            prop_assert_eq!(report.withheld_entries, withheld_count);
            prop_assert_eq!(report.checked_entries, n - pruned_count - withheld_count);
        }
    }

    #[test]
    fn a_pruned_line_is_canonical_json_and_parses_back() {
        let leaf = [0xab; 32];
        let line = pruned_line(42, &leaf);
        assert_eq!(
            line,
            format!(
                "{{\"leaf_hash\":\"{}\",\"pruned\":true,\"seq\":42}}",
                to_hex(&leaf)
            )
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            serde_json_canonicalizer::to_string(&value).unwrap(),
            line,
            "RFC 8785 form"
        );
        assert_eq!(parse_line(&line), Ok(ExportLine::Pruned { seq: 42, leaf }));
        // The same line in another key order (a file rewritten by a JSON tool) still parses.
        let reordered = format!(
            "{{\"seq\": 42, \"pruned\": true, \"leaf_hash\": \"{}\"}}",
            to_hex(&leaf)
        );
        assert_eq!(
            parse_line(&reordered),
            Ok(ExportLine::Pruned { seq: 42, leaf })
        );
    }

    #[test]
    fn a_pruned_line_with_a_changed_leaf_hash_breaks_the_root() {
        let (mut lines, leaves) = log(8);
        let mut forged = leaves[5];
        forged[31] ^= 1;
        lines[5] = pruned_line(5, &forged);
        lines.push(trailer(&signer(1), &leaves, 0));
        let report = verify(&lines, Some(1));
        assert_problem(&report, None, "differs from the checkpoint's root");
        assert_eq!(report.pruned_entries, 1);
    }

    #[test]
    fn a_pruned_line_replacing_an_entry_at_another_seq_is_named() {
        let (mut lines, leaves) = log(8);
        lines[5] = pruned_line(6, &leaves[5]);
        lines.push(trailer(&signer(1), &leaves, 0));
        let report = verify(&lines, Some(1));
        assert_problem(&report, Some(6), "entries 5..5 are missing");
        assert_problem(&report, Some(6), "out of order");
    }

    #[test]
    fn malformed_pruned_lines_are_refused_by_name() {
        let (mut lines, leaves) = log(6);
        let hex = to_hex(&leaves[0]);
        let cases = [
            // More than seq, leaf hash and the mark: content nobody could check.
            format!(r#"{{"leaf_hash":"{hex}","pruned":true,"seq":0,"action":"record.read"}}"#),
            format!(r#"{{"seq":1,"pruned":true,"leaf_hash":"{hex}","withheld":true}}"#),
            // Not marked true.
            format!(r#"{{"leaf_hash":"{hex}","pruned":false,"seq":2}}"#),
            format!(r#"{{"leaf_hash":"{hex}","pruned":"yes","seq":3}}"#),
            // A hash that is not 64 hex digits.
            r#"{"leaf_hash":"zz","pruned":true,"seq":4}"#.to_owned(),
            format!(r#"{{"leaf_hash":"{}","pruned":true,"seq":5}}"#, &hex[..62]),
        ];
        for (i, case) in cases.iter().enumerate() {
            lines[i] = case.clone();
            let error = parse_line(case).expect_err(case);
            assert!(
                error.starts_with("malformed pruned line"),
                "{case}: {error}"
            );
            assert!(!error.contains("record.read"), "echoes the line: {error}");
        }
        lines.push(trailer(&signer(1), &leaves, 0));
        let report = verify(&lines, Some(1));
        assert!(!report.ok);
        assert_eq!(report.pruned_entries, 0);
        for seq in 0..6u64 {
            assert!(
                report
                    .problems
                    .iter()
                    .any(|p| p.line == Some(seq + 1)
                        && p.problem.starts_with("malformed pruned line")),
                "line {}: {:#?}",
                seq + 1,
                report.problems
            );
        }
        // Without its seq it cannot be placed.
        let no_seq = format!(r#"{{"leaf_hash":"{hex}","pruned":true}}"#);
        assert_eq!(
            parse_line(&no_seq),
            Err("malformed pruned line: seq must be a non-negative integer".to_owned())
        );
    }
}
