//! A log with entries pruned under retention (their bodies deleted, their leaf hashes kept):
//! verification takes their stored leaf hashes, proofs and checkpoints still verify, a read
//! of one says it is gone, and an export carries pruned lines the offline verifier accepts.

use std::sync::Arc;

use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::tree::{Hash, verify_consistency, verify_inclusion};
use rampart_audit::{AuditLog, Pruned, ReadError, Verifier};
use serde_json::json;
use time::OffsetDateTime;

use crate::mem_store::MemStore;

async fn open(store: &MemStore) -> AuditLog<MemStore> {
    let signer = LogSigner::from_seed("rampart.test/log", &[7; 32]).unwrap();
    AuditLog::open(store.clone(), signer, Arc::new(OffsetDateTime::now_utc))
        .await
        .unwrap()
}

fn event(i: usize) -> NewEntry {
    NewEntry::from_json(
        &json!({"actor": {"type": "service", "id": "svc"}, "action": "record.read",
            "resource": {"type": "record", "id": format!("r{i}")}, "status": "success",
            "context": {"team_id": "care"}, "subject_id": format!("s{i}")}),
        "",
    )
    .unwrap()
}

async fn fill(log: &AuditLog<MemStore>, n: usize) -> Vec<Hash> {
    log.append((0..n).map(event).collect(), SubmittedBy::rampart())
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.leaf_hash)
        .collect()
}

fn pruned_at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// Prunes `seqs` as storage does: everything but seq, id, time and leaf hash is cleared.
fn prune(store: &MemStore, seqs: &[u64]) {
    let mut state = store.state.lock().unwrap();
    for entry in state.entries.iter_mut().filter(|e| seqs.contains(&e.seq)) {
        entry.body.clear();
        entry.actor_type.clear();
        entry.actor_id.clear();
        entry.action.clear();
        entry.resource_type.clear();
        entry.resource_id = None;
        entry.team_id = None;
        entry.status.clear();
        entry.subject_id = None;
        entry.tags.clear();
        entry.pruned = Some(Pruned {
            pruned_at: pruned_at(),
            certificate_id: "dc_1".to_owned(),
        });
    }
}

/// Seqs in a full leaf tile (read from its packed blob) and in the partial one at the edge.
const PRUNED: [u64; 5] = [3, 10, 255, 256, 590];

#[tokio::test]
async fn a_pruned_log_still_verifies_and_proves() {
    let store = MemStore::default();
    let log = open(&store).await;
    let leaves = fill(&log, 600).await;
    let before = log.latest_checkpoint().await.unwrap();
    prune(&store, &PRUNED);

    let report = log.verify().await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.pruned_entries, 5);
    assert_eq!(report.checked_entries, 595);
    assert_eq!(report.tree_size, 600);

    // Inclusion proofs of a pruned and of a kept entry verify against the same root.
    for seq in [10u64, 11, 590] {
        let proof = log.prove_inclusion(seq, None).await.unwrap();
        assert_eq!(proof.leaf_hash, leaves[usize::try_from(seq).unwrap()]);
        assert!(
            verify_inclusion(&proof.leaf_hash, seq, 600, &proof.hashes, &before.root_hash),
            "seq {seq}"
        );
    }
    // The log grows past the prune, consistent with the checkpoint taken before it.
    fill(&log, 50).await;
    let after = log.latest_checkpoint().await.unwrap();
    let proof = log.prove_consistency(600, None).await.unwrap();
    assert!(verify_consistency(
        600,
        650,
        &before.root_hash,
        &after.root_hash,
        &proof.hashes
    ));
    let incremental = log.verify_since_last().await.unwrap();
    assert!(incremental.report.ok, "{:#?}", incremental.report.problems);
    assert_eq!(
        (
            incremental.from_tree_size,
            incremental.report.checked_entries
        ),
        (600, 50)
    );
}

#[tokio::test]
async fn a_pruned_entry_reads_as_gone_for_every_reader() {
    let store = MemStore::default();
    let log = open(&store).await;
    let leaves = fill(&log, 20).await;
    prune(&store, &[10]);
    for teams in [None, Some(&["care".to_owned()][..]), Some(&[][..])] {
        match log.entry_for(10, teams).await {
            Err(ReadError::Pruned {
                seq,
                leaf_hash,
                pruned,
            }) => {
                assert_eq!(seq, 10);
                assert_eq!(leaf_hash, leaves[10]);
                assert_eq!(pruned.pruned_at, pruned_at());
                assert_eq!(pruned.certificate_id, "dc_1");
            }
            other => panic!("{teams:?}: {other:?}"),
        }
    }
    let kept = log.entry_for(11, None).await.unwrap();
    assert_eq!((kept.seq, kept.pruned), (11, None));
    assert!(matches!(
        log.entry_for(20, None).await,
        Err(ReadError::NoEntry(20))
    ));
}

#[tokio::test]
async fn an_export_carries_pruned_lines_that_verify_offline() {
    let store = MemStore::default();
    let log = open(&store).await;
    let leaves = fill(&log, 300).await;
    prune(&store, &PRUNED[..4]);
    for (teams, withheld) in [(None, 0), (Some(&["other".to_owned()][..]), 296)] {
        let plan = log.plan_export(None, None).await.unwrap();
        let text = log.export_lines(plan.range.clone(), teams).await.unwrap() + &plan.trailer;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 301);
        let hex = rampart_audit::tree::to_hex(&leaves[10]);
        assert_eq!(
            lines[10],
            format!("{{\"leaf_hash\":\"{hex}\",\"pruned\":true,\"seq\":10}}")
        );
        let mut verifier = Verifier::new();
        verifier.read_all(text.as_bytes(), |_| {}).unwrap();
        let report = verifier.finish(Some(log.verifier()));
        assert!(report.ok, "{:#?}", report.problems);
        assert_eq!(report.pruned_entries, 4);
        assert_eq!(report.withheld_entries, withheld);
        assert_eq!(report.checked_entries, 296 - withheld);
    }
}

/// Only the pruned mark makes an empty body acceptable, and a pruned entry keeps no body.
#[tokio::test]
async fn bodies_emptied_or_kept_behind_the_mark_are_named() {
    let store = MemStore::default();
    let log = open(&store).await;
    fill(&log, 20).await;
    prune(&store, &[4]);
    {
        let mut state = store.state.lock().unwrap();
        // Emptied without the mark: an edit.
        state.entries[7].body.clear();
        // Marked pruned, body left in place.
        state.entries[9].pruned = Some(Pruned {
            pruned_at: pruned_at(),
            certificate_id: "dc_1".to_owned(),
        });
    }
    let report = log.verify().await.unwrap();
    assert!(!report.ok);
    let at = |seq: u64, words: &str| {
        report
            .problems
            .iter()
            .any(|p| p.seq == Some(seq) && p.problem.contains(words))
    };
    assert!(
        at(7, "does not match its leaf hash"),
        "{:#?}",
        report.problems
    );
    assert!(
        at(9, "marked pruned but still holds a body"),
        "{:#?}",
        report.problems
    );
    assert!(
        !report.problems.iter().any(|p| p.seq == Some(4)),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.pruned_entries, 2);

    // A pruned entry whose kept leaf hash was changed no longer gives the head's root.
    let store = MemStore::default();
    let log = open(&store).await;
    fill(&log, 20).await;
    prune(&store, &[4]);
    store.state.lock().unwrap().entries[4].leaf_hash[0] ^= 1;
    let report = log.verify().await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.problem.contains("differs from the stored head")),
        "{:#?}",
        report.problems
    );
}
