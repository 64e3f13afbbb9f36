//! Proofs and roots served by [`AuditLog`] (tiles from memory where cached) against the same
//! computed from every leaf, on a log whose writer filled the cache and on a fresh log over
//! the same storage (everything read), at tile boundaries and random sizes.

use std::sync::Arc;

use proptest::prelude::*;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::tree::{Hash, LeafList, consistency_proof, inclusion_proof, range_hash};
use rampart_audit::{AuditLog, Clock};
use serde_json::json;

use crate::mem_store::MemStore;

fn clock() -> Clock {
    Arc::new(time::OffsetDateTime::now_utc)
}

async fn open(store: &MemStore) -> AuditLog<MemStore> {
    let signer = LogSigner::from_seed("rampart.test/log", &[7; 32]).unwrap();
    AuditLog::open(store.clone(), signer, clock())
        .await
        .unwrap()
}

fn event(i: usize) -> NewEntry {
    NewEntry::from_json(
        &json!({"actor": {"type": "service", "id": "svc"}, "action": "record.read",
            "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"}),
        "",
    )
    .unwrap()
}

/// Appends batches of the given sizes; returns every leaf hash in order.
async fn fill(log: &AuditLog<MemStore>, batches: &[usize]) -> Vec<Hash> {
    let mut leaves = Vec::new();
    for &n in batches {
        let receipt = log
            .append((0..n).map(event).collect(), SubmittedBy::rampart())
            .await
            .unwrap();
        leaves.extend(receipt.entries.iter().map(|e| e.leaf_hash));
    }
    leaves
}

/// Every proof and root `log` serves for the `(seq or from, size)` pairs equals the one
/// computed from the leaves.
async fn assert_matches(log: &AuditLog<MemStore>, leaves: &[Hash], pairs: &[(u64, u64)]) {
    for &(a, size) in pairs {
        let reference = &mut LeafList(&leaves[..usize::try_from(size).unwrap()]);
        if a < size {
            let proof = log.prove_inclusion(a, Some(size)).await.unwrap();
            let expected = inclusion_proof(reference, a, size).unwrap().unwrap();
            assert_eq!(proof.hashes, expected, "inclusion of {a} at {size}");
            assert_eq!(proof.leaf_hash, leaves[usize::try_from(a).unwrap()]);
        }
        if (1..=size).contains(&a) {
            let proof = log.prove_consistency(a, Some(size)).await.unwrap();
            let expected = consistency_proof(reference, a, size).unwrap().unwrap();
            assert_eq!(proof.hashes, expected, "consistency from {a} to {size}");
        }
        if size > 0 {
            let checkpoint = log.checkpoint_at(size).await.unwrap();
            let root = range_hash(reference, 0, size).unwrap();
            assert_eq!(checkpoint.root_hash, root, "root at {size}");
        }
    }
}

/// Sizes and seqs around every tile edge below `total`, and the ends.
fn boundary_pairs(total: u64) -> Vec<(u64, u64)> {
    let mut points: Vec<u64> = vec![0, 1, total - 1, total];
    for edge in (256..total).step_by(256) {
        points.extend([edge - 1, edge, edge + 1]);
    }
    points.retain(|p| *p <= total);
    let mut pairs = Vec::new();
    for &size in &points {
        for &a in points.iter().filter(|&&a| a <= size).take(12) {
            pairs.push((a, size));
        }
        pairs.push((size / 2, size));
    }
    pairs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn proofs_from_the_cache_equal_proofs_from_storage(
        batches in prop::collection::vec(1usize..400, 1..6),
        picks in prop::collection::vec((any::<u64>(), any::<u64>()), 20),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = MemStore::default();
            let warm = open(&store).await;
            let leaves = fill(&warm, &batches).await;
            let total = u64::try_from(leaves.len()).unwrap();
            let mut pairs = boundary_pairs(total);
            pairs.extend(picks.iter().map(|(a, b)| {
                let size = b % (total + 1);
                (a % (size + 1), size)
            }));
            assert_matches(&warm, &leaves, &pairs).await;
            // A fresh log on the same storage has nothing cached: everything is read.
            let cold = open(&store).await;
            assert_matches(&cold, &leaves, &pairs).await;
            // And after a few more entries, both agree with the longer log.
            let more = fill(&cold, &[300]).await;
            let leaves: Vec<Hash> = leaves.into_iter().chain(more).collect();
            let total = u64::try_from(leaves.len()).unwrap();
            assert_matches(&cold, &leaves, &[(0, total), (total - 1, total), (total / 3, total)]).await;
        });
    }
}

/// Past the first complete level-8 subtree (65,536 entries): proofs from the cache equal those
/// from storage, and a proof of a recent entry (its leaf tile cached by the writer, the upper
/// levels from the writer's edge) reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_across_upper_tiles_read_nothing_when_cached() {
    let store = MemStore::default();
    let warm = open(&store).await;
    let mut batches = vec![4096; 16];
    batches.push(700);
    let leaves = fill(&warm, &batches).await;
    let total = u64::try_from(leaves.len()).unwrap();
    let pairs: Vec<(u64, u64)> = vec![
        (0, total),
        (65_535, total),
        (65_536, total),
        (total - 1, total),
        (1_000, 65_536),
        (65_535, 65_536),
        (65_536, 65_537),
        (40_000, 65_792),
        (65_791, total),
        (12_345, 66_000),
    ];
    assert_matches(&warm, &leaves, &pairs).await;
    let reads = store.reads();
    let proof = warm
        .prove_inclusion(total - 1_000, Some(total))
        .await
        .unwrap();
    let consistency = warm
        .prove_consistency(total - 2_000, Some(total))
        .await
        .unwrap();
    assert_eq!(
        store.reads(),
        reads,
        "proofs over tiles the writer cached read storage"
    );
    let cold = open(&store).await;
    assert_matches(&cold, &leaves, &pairs).await;
    assert_eq!(
        cold.prove_inclusion(total - 1_000, Some(total))
            .await
            .unwrap(),
        proof
    );
    assert_eq!(
        cold.prove_consistency(total - 2_000, Some(total))
            .await
            .unwrap(),
        consistency
    );
}

/// Incremental verification re-hashes only what is new, still notices changed tiles below the
/// recorded size, and `full` notices an edited entry the incremental pass cannot see.
#[tokio::test]
async fn verification_continues_from_the_last_one() {
    let store = MemStore::default();
    let log = open(&store).await;
    fill(&log, &[300, 300]).await;
    let first = log.verify_since_last().await.unwrap();
    assert!(first.report.ok, "{:?}", first.report.problems);
    assert_eq!(
        (first.from_tree_size, first.report.checked_entries),
        (0, 600)
    );
    fill(&log, &[50]).await;
    let second = log.verify_since_last().await.unwrap();
    assert!(second.report.ok, "{:?}", second.report.problems);
    assert_eq!(
        (second.from_tree_size, second.report.checked_entries),
        (600, 50)
    );
    assert_eq!(
        second.report.root_hash,
        log.verify().await.unwrap().root_hash
    );

    // An entry below the recorded size edited with its leaf hash, tiles untouched: only a
    // full verification re-hashes it.
    {
        let mut state = store.state.lock().unwrap();
        let entry = &mut state.entries[10];
        entry.body = entry.body.replace("record.read", "record.wipe");
        entry.leaf_hash = rampart_audit::tree::leaf_hash(entry.body.as_bytes());
    }
    assert!(log.verify_since_last().await.unwrap().report.ok);
    let full = log.verify().await.unwrap();
    assert!(!full.ok);
    assert!(
        full.problems
            .iter()
            .any(|p| p.seq == Some(10) && p.problem.contains("leaf hash (tile)")),
        "{:?}",
        full.problems
    );

    // A changed tile below the recorded size: the incremental pass no longer gets the
    // recorded root, says so, and re-checks everything.
    {
        let mut state = store.state.lock().unwrap();
        let hash = state.tiles.get_mut(&(8, 1)).unwrap();
        hash[0] ^= 1;
    }
    let report = log.verify_since_last().await.unwrap();
    assert!(!report.report.ok);
    assert_eq!(report.from_tree_size, 0);
    assert!(
        report.report.problems.iter().any(|p| p
            .problem
            .contains("no longer gives the root verified there")),
        "{:?}",
        report.report.problems
    );
}

/// Issue 17: plain personal data never reaches the writer; sealed data is stored and hashed.
#[tokio::test]
async fn appends_refuse_unsealed_personal_data() {
    use rampart_audit::LogError;
    use rampart_audit::entry::{Personal, SealedPersonal};

    let store = MemStore::default();
    let log = open(&store).await;
    let with_personal = |i: usize| {
        let mut value = json!({"actor": {"type": "user", "id": "u"}, "action": "profile.update",
            "resource": {"type": "profile"}, "status": "success", "subject_id": "subj-1",
            "personal": {"email": "canary-7f3a@example.com"}});
        value["resource"]["id"] = json!(format!("p{i}"));
        NewEntry::from_json(&value, "").unwrap()
    };
    let refused = log
        .append(vec![event(0), with_personal(1)], SubmittedBy::rampart())
        .await;
    assert!(
        matches!(refused, Err(LogError::UnsealedPersonal { index: 1 })),
        "{refused:?}"
    );
    assert_eq!(log.head().await.unwrap().size, 0, "nothing was written");
    assert!(store.state.lock().unwrap().entries.is_empty());

    let mut sealed = with_personal(1);
    sealed
        .seal_personal(|subject, data| {
            assert_eq!(
                (
                    subject,
                    serde_json::from_slice::<serde_json::Value>(data).unwrap()["email"]
                        .as_str()
                        .map(str::to_owned)
                        .as_deref()
                ),
                ("subj-1", Some("canary-7f3a@example.com"))
            );
            Ok::<_, ()>(SealedPersonal {
                sealed: "rampart:v1:c2VhbGVk".into(),
                subject_key: format!("sk_{}", "ab".repeat(16)),
            })
        })
        .unwrap();
    assert!(matches!(sealed.personal, Some(Personal::Sealed(_))));
    let receipt = log
        .append(vec![event(0), sealed], SubmittedBy::rampart())
        .await
        .unwrap();
    assert_eq!(receipt.tree_size, 2);
    let stored = store.state.lock().unwrap().entries.clone();
    let body = &stored[1].body;
    assert!(body.contains(r#""personal":{"sealed":"rampart:v1:c2VhbGVk","subject_key":"sk_"#));
    assert!(!body.contains("canary-7f3a"));
    assert!(!stored[0].body.contains("personal"));
    assert!(log.verify().await.unwrap().ok);
}
