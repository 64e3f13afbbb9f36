//! The Merkle tree: published RFC 6962 vectors and properties against a naive reference.

use std::path::PathBuf;

use proptest::prelude::*;
use rampart_audit::tiles::{Recorder, TileSet, is_stored_level};
use rampart_audit::tree::{
    CompactRange, Hash, LeafList, consistency_proof, from_hex, inclusion_proof, leaf_hash,
    node_hash, range_hash, verify_consistency, verify_inclusion,
};
use serde_json::Value;

fn vectors() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/rfc6962/vectors.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(_) if std::env::var("RAMPART_REQUIRE_VECTORS").as_deref() == Ok("1") => {
            panic!("vectors required but {} is missing", path.display())
        }
        Err(_) => {
            eprintln!("skipped: no vectors");
            None
        }
    }
}

fn h(value: &Value) -> Hash {
    from_hex(value.as_str().unwrap()).unwrap()
}

fn hashes(value: &Value) -> Vec<Hash> {
    value.as_array().unwrap().iter().map(h).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// MTH straight from RFC 6962 §2.1, over leaf hashes.
fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => rampart_audit::tree::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

#[test]
fn rfc6962_vectors() {
    let Some(v) = vectors() else { return };
    let leaves: Vec<Hash> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&unhex(l.as_str().unwrap())))
        .collect();
    assert_eq!(leaves, hashes(&v["leaf_hashes"]));
    let mut range = CompactRange::empty();
    assert_eq!(range.root(), h(&v["roots"][0]));
    for (n, leaf) in leaves.iter().enumerate() {
        range.push(*leaf, |_| {});
        assert_eq!(range.root(), h(&v["roots"][n + 1]), "root of {}", n + 1);
    }
    let mut cases = 0;
    for case in v["inclusion"].as_array().unwrap() {
        let (m, n) = (
            case["leaf_index"].as_u64().unwrap(),
            case["tree_size"].as_u64().unwrap(),
        );
        let n_usize = usize::try_from(n).unwrap();
        let path = inclusion_proof(&mut LeafList(&leaves[..n_usize]), m, n)
            .unwrap()
            .unwrap();
        assert_eq!(path, hashes(&case["path"]), "PATH({m}, {n})");
        assert!(verify_inclusion(
            &h(&case["leaf_hash"]),
            m,
            n,
            &path,
            &h(&case["root"])
        ));
        cases += 1;
    }
    for case in v["consistency"].as_array().unwrap() {
        let (m, n) = (
            case["first"].as_u64().unwrap(),
            case["second"].as_u64().unwrap(),
        );
        let proof = consistency_proof(&mut LeafList(&leaves[..usize::try_from(n).unwrap()]), m, n)
            .unwrap()
            .unwrap();
        assert_eq!(proof, hashes(&case["proof"]), "PROOF({m}, {n})");
        assert!(verify_consistency(
            m,
            n,
            &h(&case["first_root"]),
            &h(&case["second_root"]),
            &proof
        ));
        cases += 1;
    }
    assert!(cases > 60);
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

/// Stores what the compact range completes at stored levels, as the log does, and answers
/// subtree requests from those tiles only.
fn tiles_for(all: &[Hash]) -> (Vec<(u32, u64, Hash)>, CompactRange) {
    let mut range = CompactRange::empty();
    let mut stored = Vec::new();
    for leaf in all {
        range.push(*leaf, |(level, index, hash)| {
            if is_stored_level(level) {
                stored.push((level, index, hash));
            }
        });
    }
    (stored, range)
}

fn tile_source(all: &[Hash], stored: &[(u32, u64, Hash)], recorder: &Recorder) -> TileSet {
    let mut tiles = TileSet::default();
    for (level, range) in recorder.reads() {
        let hashes: Vec<(u64, Hash)> = if level == 0 {
            range
                .clone()
                .map(|i| (i, all[usize::try_from(i).unwrap()]))
                .collect()
        } else {
            range
                .clone()
                .map(|i| {
                    (
                        i,
                        stored
                            .iter()
                            .find(|(l, idx, _)| *l == level && *idx == i)
                            .unwrap()
                            .2,
                    )
                })
                .collect()
        };
        tiles.insert(level, hashes);
    }
    tiles
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_match_the_reference_and_verify(n in 1u64..700, m_seed in any::<u64>(), from_seed in any::<u64>()) {
        let all = leaves(n);
        let m = m_seed % n;
        let root = naive_root(&all);
        let mut range = CompactRange::empty();
        for leaf in &all { range.push(*leaf, |_| {}); }
        prop_assert_eq!(range.root(), root);
        prop_assert_eq!(range_hash(&mut LeafList(&all), 0, n).unwrap(), root);

        let path = inclusion_proof(&mut LeafList(&all), m, n).unwrap().unwrap();
        prop_assert!(verify_inclusion(&all[usize::try_from(m).unwrap()], m, n, &path, &root));
        // A proof for another leaf, or against another root, fails.
        let other = leaf_hash(b"not in the tree");
        prop_assert!(!verify_inclusion(&other, m, n, &path, &root));
        if n > 1 {
            prop_assert!(!verify_inclusion(&all[usize::try_from(m).unwrap()], (m + 1) % n, n, &path, &root));
        }

        let from = 1 + from_seed % n;
        let from_root = naive_root(&all[..usize::try_from(from).unwrap()]);
        let proof = consistency_proof(&mut LeafList(&all), from, n).unwrap().unwrap();
        prop_assert!(verify_consistency(from, n, &from_root, &root, &proof));
        if from < n {
            prop_assert!(!verify_consistency(from, n, &other, &root, &proof));
        }

        // The same proofs from tiles alone: plan, read, compute.
        let (stored, _) = tiles_for(&all);
        let mut recorder = Recorder::default();
        let _ = inclusion_proof(&mut recorder, m, n);
        let _ = consistency_proof(&mut recorder, from, n);
        let _ = range_hash(&mut recorder, 0, n);
        let mut tiles = tile_source(&all, &stored, &recorder);
        prop_assert_eq!(inclusion_proof(&mut tiles, m, n).unwrap().unwrap(), path);
        prop_assert_eq!(consistency_proof(&mut tiles, from, n).unwrap().unwrap(), proof);
        prop_assert_eq!(range_hash(&mut tiles, 0, n).unwrap(), root);
    }

    #[test]
    fn compact_range_rebuilds_from_its_parts(n in 0u64..2000) {
        let all = leaves(n);
        let (_, range) = tiles_for(&all);
        let parts: Vec<Hash> = rampart_audit::tree::decomposition(n)
            .into_iter()
            .map(|(level, index)| LeafList(&all).subtree_hash(level, index))
            .collect();
        let rebuilt = CompactRange::from_parts(n, parts).unwrap();
        prop_assert_eq!(rebuilt.root(), range.root());
        prop_assert_eq!(rebuilt, range);
    }
}

trait SubtreeHash {
    fn subtree_hash(&mut self, level: u32, index: u64) -> Hash;
}

impl SubtreeHash for LeafList<'_> {
    fn subtree_hash(&mut self, level: u32, index: u64) -> Hash {
        rampart_audit::tree::SubtreeSource::subtree(self, level, index).unwrap()
    }
}

#[test]
fn proofs_outside_the_tree_are_refused() {
    let all = leaves(4);
    assert!(inclusion_proof(&mut LeafList(&all), 4, 4).unwrap().is_err());
    assert!(
        consistency_proof(&mut LeafList(&all), 0, 4)
            .unwrap()
            .is_err()
    );
    assert!(
        consistency_proof(&mut LeafList(&all), 5, 4)
            .unwrap()
            .is_err()
    );
    assert!(!verify_inclusion(&all[0], 4, 4, &[], &all[0]));
    assert!(!verify_consistency(0, 4, &all[0], &all[0], &[]));
}

#[test]
fn large_tree_proofs_need_few_reads() {
    // At 10M leaves a proof reads a handful of ranges, each at most 256 hashes.
    let n = 10_000_000u64;
    let mut recorder = Recorder::default();
    let _ = inclusion_proof(&mut recorder, 1_234_567, n);
    let _ = consistency_proof(&mut recorder, 7_654_321, n);
    let reads = recorder.reads();
    let hashes: u64 = reads.iter().map(|(_, r)| r.end - r.start).sum();
    assert!(reads.len() <= 16, "{} reads: {reads:?}", reads.len());
    assert!(hashes <= 16 * 256, "{hashes} hashes read");
}
