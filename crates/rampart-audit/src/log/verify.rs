//! Verification of what a store holds: every leaf recomputed from its entry, every stored
//! tile and checkpoint checked against them (see `AuditLog::verify`).

use super::{LogError, VERIFY_CHUNK};
use crate::checkpoint::LogVerifier;
use crate::export::{VerifyProblem, VerifyReport};
use crate::store::AuditStore;
use crate::tiles::is_stored_level;
use crate::tree::{CompactRange, Hash, empty_root, leaf_hash, to_hex};

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Verification of what a store holds; see [`AuditLog::verify`].
pub async fn verify_store<S: AuditStore>(
    store: &S,
    verifier: &LogVerifier,
) -> Result<VerifyReport, LogError<S::Error>> {
    let head = store.head().await.map_err(LogError::Store)?;
    let checkpoint = store.latest_checkpoint().await.map_err(LogError::Store)?;
    let mut problems: Vec<VerifyProblem> = Vec::new();
    let mut problem = |seq: Option<u64>, text: String| {
        if problems.len() < 1000 {
            problems.push(VerifyProblem {
                seq,
                line: None,
                problem: text,
            });
        }
    };
    let mut range = CompactRange::empty();
    let mut completed: Vec<(u32, u64, Hash)> = Vec::new();
    let mut root_at_checkpoint = None;
    if checkpoint.as_ref().is_some_and(|c| c.tree_size == 0) {
        root_at_checkpoint = Some(empty_root());
    }
    let mut next = 0u64;
    let mut checked = 0u64;
    loop {
        let rows = store
            .entries(next..next.saturating_add(VERIFY_CHUNK))
            .await
            .map_err(LogError::Store)?;
        let more_beyond = if rows.is_empty() {
            // A gap of a whole chunk: look for anything after it.
            let tail = store
                .entries(next..u64::MAX >> 1)
                .await
                .map_err(LogError::Store)?;
            if tail.is_empty() {
                break;
            }
            tail
        } else {
            rows
        };
        let mut chunk_leaves: Vec<(u64, Hash)> = Vec::with_capacity(more_beyond.len());
        for row in more_beyond {
            if row.seq != next {
                problem(
                    Some(row.seq),
                    format!(
                        "entries {}..{} are missing (rows deleted)",
                        next,
                        row.seq.saturating_sub(1)
                    ),
                );
            }
            match serde_json::from_str::<SeqOnly>(&row.body) {
                Ok(SeqOnly { seq }) if seq == row.seq => {}
                Ok(SeqOnly { seq }) => problem(
                    Some(row.seq),
                    format!(
                        "the entry stored at seq {} says it is entry {seq} (rows swapped or moved)",
                        row.seq
                    ),
                ),
                Err(_) => problem(
                    Some(row.seq),
                    "the stored entry is not valid JSON".to_owned(),
                ),
            }
            let leaf = leaf_hash(row.body.as_bytes());
            if leaf != row.leaf_hash {
                problem(
                    Some(row.seq),
                    "the stored entry's content does not match its leaf hash (edited)".to_owned(),
                );
            }
            chunk_leaves.push((row.seq, leaf));
            range.push(leaf, |(level, index, hash)| {
                if is_stored_level(level) {
                    completed.push((level, index, hash));
                }
            });
            if checkpoint
                .as_ref()
                .is_some_and(|c| c.tree_size == range.size())
            {
                root_at_checkpoint = Some(range.root());
            }
            next = row.seq.saturating_add(1);
            checked += 1;
        }
        // Leaf tiles serve proofs: they must agree with the entries.
        if let (Some(first), Some(last)) = (chunk_leaves.first(), chunk_leaves.last()) {
            let stored: std::collections::HashMap<u64, Hash> = store
                .hashes(0, first.0..last.0 + 1)
                .await
                .map_err(LogError::Store)?
                .into_iter()
                .collect();
            for (seq, leaf) in &chunk_leaves {
                if stored.get(seq) != Some(leaf) {
                    problem(
                        Some(*seq),
                        format!(
                            "the stored leaf hash (tile) of entry {seq} differs from its content"
                        ),
                    );
                }
            }
        }
    }
    if range.size() != head.size {
        problem(
            None,
            format!(
                "the head says the log has {} entries but {} are stored (entries deleted or added)",
                head.size,
                range.size()
            ),
        );
    } else if range.root() != head.root {
        problem(
            None,
            "the root recomputed from the entries differs from the stored head".to_owned(),
        );
    }
    match &checkpoint {
        None if head.size > 0 => problem(
            None,
            "no checkpoint is stored for a non-empty log".to_owned(),
        ),
        None => {}
        Some(cp) => {
            match verifier.verify_note(&cp.note) {
                Err(e) => problem(
                    None,
                    format!("latest checkpoint (size {}): {e}", cp.tree_size),
                ),
                Ok(signed)
                    if signed.tree_size != cp.tree_size || signed.root_hash != cp.root_hash =>
                {
                    problem(
                        None,
                        format!(
                            "latest checkpoint (size {}): its fields differ from its signed note",
                            cp.tree_size
                        ),
                    )
                }
                Ok(signed) => {
                    if !verifier.verify_body(&signed.body(), &cp.signature) {
                        problem(
                            None,
                            format!(
                                "latest checkpoint (size {}): the stored signature does not verify",
                                cp.tree_size
                            ),
                        );
                    }
                }
            }
            if cp.tree_size < head.size {
                problem(
                    None,
                    format!(
                        "the latest checkpoint covers {} entries, fewer than the head's {}",
                        cp.tree_size, head.size
                    ),
                );
            }
            match root_at_checkpoint {
                Some(root) if root == cp.root_hash => {}
                Some(_) => problem(
                    None,
                    format!(
                        "the latest checkpoint (size {}) does not match the stored entries",
                        cp.tree_size
                    ),
                ),
                None => problem(
                    None,
                    format!(
                        "the latest checkpoint covers {} entries but only {} are stored (truncated)",
                        cp.tree_size,
                        range.size()
                    ),
                ),
            }
        }
    }
    // Tiles serve proofs: they must agree with the entries.
    let mut by_level: std::collections::BTreeMap<u32, Vec<(u64, Hash)>> =
        std::collections::BTreeMap::new();
    for (level, index, hash) in completed {
        by_level.entry(level).or_default().push((index, hash));
    }
    for (level, expected) in by_level {
        for chunk in expected.chunks(usize::try_from(VERIFY_CHUNK).unwrap_or(5_000)) {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let stored: std::collections::HashMap<u64, Hash> = store
                .hashes(level, first.0..last.0 + 1)
                .await
                .map_err(LogError::Store)?
                .into_iter()
                .collect();
            for (index, hash) in chunk {
                if stored.get(index) != Some(hash) {
                    problem(
                        None,
                        format!(
                            "stored tile hash at level {level}, index {index} is wrong or missing"
                        ),
                    );
                }
            }
        }
    }
    Ok(VerifyReport {
        ok: problems.is_empty(),
        tree_size: range.size(),
        root_hash: to_hex(&range.root()),
        checked_entries: checked,
        withheld_entries: 0,
        problems,
    })
}
