//! Verification of what a store holds: every leaf recomputed from its entry, every stored
//! tile and checkpoint checked against them (see `AuditLog::verify`).
//!
//! Rows are read in chunks of [`VERIFY_CHUNK`]; while one chunk is hashed (on the blocking
//! pool, split over the cores), the next is read, so reading and hashing overlap. The tree is
//! built incrementally in a [`CompactRange`]. A verification may start from a recorded one:
//! the tree's right edge at the recorded size is rebuilt from the stored tiles and must give
//! the recorded root, then only the entries after it are read and hashed.
//!
//! An entry pruned under retention has no body left to hash: its stored leaf hash is taken as
//! the leaf (it must still agree with the leaf tiles, and the tree over it with the head and the
//! checkpoint), and the report counts it apart. An empty body on an entry not marked pruned is
//! still an edit.

use std::num::NonZeroUsize;

use super::{LogError, VERIFY_CHUNK, load_range};
use crate::checkpoint::LogVerifier;
use crate::export::{VerifyProblem, VerifyReport};
use crate::store::{AuditStore, SignedCheckpoint, StoredLeaf, TreeHead, Verification};
use crate::tiles::is_stored_level;
use crate::tree::{CompactRange, Hash, empty_root, leaf_hash, to_hex};

/// Most problems listed; beyond them the report only says it is not ok.
const MAX_PROBLEMS: usize = 1000;

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// The verdict on a stored log and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreVerification {
    /// The verdict; `checked_entries` counts the entries re-hashed.
    pub report: VerifyReport,
    /// The tree size it started from: 0 for a full verification, else the size of the
    /// recorded verification it continued.
    pub from_tree_size: u64,
}

/// One entry as hashed: what its body says and hashes to, beside what is stored.
struct Hashed {
    seq: u64,
    leaf: Hash,
    stored_leaf: Hash,
    /// What its body names; `Pruned` for an entry pruned under retention (nothing to hash).
    says: Says,
}

/// What a stored body says of itself.
enum Says {
    /// It is valid JSON naming this `seq`.
    Seq(u64),
    /// It is not valid JSON.
    NotJson,
    /// The entry was pruned: its leaf is the stored leaf hash; `true` when a body is still
    /// there (storage lets no pruned entry keep one: a sign of tampering).
    Pruned { has_body: bool },
}

fn hash_one(row: &StoredLeaf) -> Hashed {
    if row.pruned {
        return Hashed {
            seq: row.seq,
            leaf: row.leaf_hash,
            stored_leaf: row.leaf_hash,
            says: Says::Pruned {
                has_body: !row.body.is_empty(),
            },
        };
    }
    Hashed {
        seq: row.seq,
        leaf: leaf_hash(row.body.as_bytes()),
        stored_leaf: row.leaf_hash,
        says: serde_json::from_str::<SeqOnly>(&row.body)
            .map_or(Says::NotJson, |s| Says::Seq(s.seq)),
    }
}

/// Hashes `rows` on every available core, in order.
fn hash_rows(rows: &[StoredLeaf]) -> Vec<Hashed> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, 8);
    if threads == 1 || rows.len() < 512 {
        return rows.iter().map(hash_one).collect();
    }
    let per_thread = rows.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = rows
            .chunks(per_thread)
            .map(|part| {
                (
                    part,
                    scope.spawn(move || part.iter().map(hash_one).collect()),
                )
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for (part, handle) in parts {
            let hashed: Vec<Hashed> = handle
                .join()
                .unwrap_or_else(|_| part.iter().map(hash_one).collect());
            out.extend(hashed);
        }
        out
    })
}

/// Problems, bounded.
#[derive(Default)]
struct Problems(Vec<VerifyProblem>);

impl Problems {
    fn add(&mut self, seq: Option<u64>, problem: String) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(VerifyProblem {
                seq,
                line: None,
                problem,
            });
        }
    }
}

/// The tree being rebuilt and what it found so far.
struct Walk<'a> {
    checkpoint: Option<&'a SignedCheckpoint>,
    range: CompactRange,
    completed: Vec<(u32, u64, Hash)>,
    root_at_checkpoint: Option<Hash>,
    next: u64,
    checked: u64,
    pruned: u64,
    problems: Problems,
}

impl Walk<'_> {
    /// Takes one chunk of hashed entries, checked against the leaf hashes stored in tiles
    /// (`tiles`, in seq order).
    fn take(&mut self, hashed: Vec<Hashed>, tiles: &[(u64, Hash)]) {
        let mut stored = tiles.iter().peekable();
        for row in hashed {
            if row.seq != self.next {
                self.problems.add(
                    Some(row.seq),
                    format!(
                        "entries {}..{} are missing (rows deleted)",
                        self.next,
                        row.seq.saturating_sub(1)
                    ),
                );
            }
            match row.says {
                Says::Seq(seq) if seq == row.seq => {}
                Says::Seq(seq) => self.problems.add(
                    Some(row.seq),
                    format!(
                        "the entry stored at seq {} says it is entry {seq} (rows swapped or moved)",
                        row.seq
                    ),
                ),
                Says::NotJson => self.problems.add(
                    Some(row.seq),
                    "the stored entry is not valid JSON".to_owned(),
                ),
                Says::Pruned { has_body: false } => {}
                Says::Pruned { has_body: true } => self.problems.add(
                    Some(row.seq),
                    "the entry is marked pruned but still holds a body".to_owned(),
                ),
            }
            if row.leaf != row.stored_leaf {
                self.problems.add(
                    Some(row.seq),
                    "the stored entry's content does not match its leaf hash (edited)".to_owned(),
                );
            }
            // Leaf tiles serve proofs: they must agree with the entries.
            while stored.next_if(|(index, _)| *index < row.seq).is_some() {}
            let tile = stored.next_if(|(index, _)| *index == row.seq);
            if tile.map(|(_, hash)| hash) != Some(&row.leaf) {
                self.problems.add(
                    Some(row.seq),
                    format!(
                        "the stored leaf hash (tile) of entry {} differs from its content",
                        row.seq
                    ),
                );
            }
            let completed = &mut self.completed;
            self.range.push(row.leaf, |(level, index, hash)| {
                if is_stored_level(level) {
                    completed.push((level, index, hash));
                }
            });
            if self
                .checkpoint
                .is_some_and(|c| c.tree_size == self.range.size())
            {
                self.root_at_checkpoint = Some(self.range.root());
            }
            self.next = row.seq.saturating_add(1);
            if matches!(row.says, Says::Pruned { .. }) {
                self.pruned += 1;
            } else {
                self.checked += 1;
            }
        }
    }
}

/// Verification of what a store holds, re-hashing every entry; see [`super::AuditLog::verify`].
pub async fn verify_store<S: AuditStore>(
    store: &S,
    verifier: &LogVerifier,
) -> Result<VerifyReport, LogError<S::Error>> {
    Ok(verify_from(store, verifier, None).await?.report)
}

/// Verification of what a store holds, re-hashing the entries after `from` (all of them when
/// `from` is `None`, or when the stored tree no longer gives `from`'s root at its size: then
/// that is a problem too, and everything is re-checked to name what changed).
pub(super) async fn verify_from<S: AuditStore>(
    store: &S,
    verifier: &LogVerifier,
    from: Option<&Verification>,
) -> Result<StoreVerification, LogError<S::Error>> {
    let head = store.head().await.map_err(LogError::Store)?;
    let checkpoint = store.latest_checkpoint().await.map_err(LogError::Store)?;
    let mut walk = Walk {
        checkpoint: checkpoint.as_ref(),
        range: CompactRange::empty(),
        completed: Vec::new(),
        root_at_checkpoint: None,
        next: 0,
        checked: 0,
        pruned: 0,
        problems: Problems::default(),
    };
    if let Some(from) = from {
        match resume(store, &head, from).await? {
            Ok(range) => {
                walk.next = range.size();
                walk.range = range;
            }
            Err(problem) => walk.problems.add(None, problem),
        }
    }
    let from_tree_size = walk.next;
    if checkpoint
        .as_ref()
        .is_some_and(|c| c.tree_size == walk.range.size())
    {
        walk.root_at_checkpoint = Some(walk.range.root());
    }
    walk_entries(store, &mut walk).await?;
    check_head(&mut walk, &head);
    check_checkpoint(&mut walk, verifier, &head);
    check_tiles(store, &mut walk).await?;
    Ok(StoreVerification {
        report: VerifyReport {
            ok: walk.problems.0.is_empty(),
            tree_size: walk.range.size(),
            root_hash: to_hex(&walk.range.root()),
            checked_entries: walk.checked,
            withheld_entries: 0,
            pruned_entries: walk.pruned,
            problems: walk.problems.0,
        },
        from_tree_size,
    })
}

/// The tree's right edge at the recorded size, from the stored tiles, if it still gives the
/// recorded root; else why not.
async fn resume<S: AuditStore>(
    store: &S,
    head: &TreeHead,
    from: &Verification,
) -> Result<Result<CompactRange, String>, LogError<S::Error>> {
    if from.tree_size > head.size {
        return Ok(Err(format!(
            "the log was verified at {} entries but the head says {} (entries removed)",
            from.tree_size, head.size
        )));
    }
    let changed = || {
        format!(
            "the stored tree at size {} no longer gives the root verified there (tiles changed since)",
            from.tree_size
        )
    };
    match load_range(store, from.tree_size).await {
        Ok(range) if range.root() == from.root_hash => Ok(Ok(range)),
        Ok(_) | Err(LogError::Missing(_)) => Ok(Err(changed())),
        Err(e) => Err(e),
    }
}

/// Reads, hashes and checks every entry from `walk.next`.
async fn walk_entries<S: AuditStore>(
    store: &S,
    walk: &mut Walk<'_>,
) -> Result<(), LogError<S::Error>> {
    let mut rows = store
        .leaves(walk.next..walk.next.saturating_add(VERIFY_CHUNK))
        .await
        .map_err(LogError::Store)?;
    loop {
        if rows.is_empty() {
            // A gap of a whole chunk: look for anything after it.
            rows = store
                .leaves(walk.next..u64::MAX >> 1)
                .await
                .map_err(LogError::Store)?;
            if rows.is_empty() {
                return Ok(());
            }
        }
        let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq))
        else {
            return Ok(());
        };
        let after = last.saturating_add(1);
        let hashing = tokio::task::spawn_blocking(move || hash_rows(&rows));
        let (hashed, next, tiles) = tokio::join!(
            hashing,
            store.leaves(after..after.saturating_add(VERIFY_CHUNK)),
            store.hashes(0, first..after),
        );
        let hashed = hashed
            .map_err(|e| LogError::Append(format!("the verification worker stopped: {e}")))?;
        walk.take(hashed, &tiles.map_err(LogError::Store)?);
        rows = next.map_err(LogError::Store)?;
    }
}

fn check_head(walk: &mut Walk<'_>, head: &TreeHead) {
    if walk.range.size() != head.size {
        walk.problems.add(
            None,
            format!(
                "the head says the log has {} entries but {} are stored (entries deleted or added)",
                head.size,
                walk.range.size()
            ),
        );
    } else if walk.range.root() != head.root {
        walk.problems.add(
            None,
            "the root recomputed from the entries differs from the stored head".to_owned(),
        );
    }
}

fn check_checkpoint(walk: &mut Walk<'_>, verifier: &LogVerifier, head: &TreeHead) {
    let Some(cp) = walk.checkpoint else {
        if head.size > 0 {
            walk.problems.add(
                None,
                "no checkpoint is stored for a non-empty log".to_owned(),
            );
        }
        return;
    };
    let problems = &mut walk.problems;
    match verifier.verify_note(&cp.note) {
        Err(e) => problems.add(
            None,
            format!("latest checkpoint (size {}): {e}", cp.tree_size),
        ),
        Ok(signed) if signed.tree_size != cp.tree_size || signed.root_hash != cp.root_hash => {
            problems.add(
                None,
                format!(
                    "latest checkpoint (size {}): its fields differ from its signed note",
                    cp.tree_size
                ),
            );
        }
        Ok(signed) => {
            if !verifier.verify_body(&signed.body(), &cp.signature) {
                problems.add(
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
        problems.add(
            None,
            format!(
                "the latest checkpoint covers {} entries, fewer than the head's {}",
                cp.tree_size, head.size
            ),
        );
    }
    let root = if cp.tree_size == 0 {
        Some(empty_root())
    } else {
        walk.root_at_checkpoint
    };
    match root {
        Some(root) if root == cp.root_hash => {}
        Some(_) => problems.add(
            None,
            format!(
                "the latest checkpoint (size {}) does not match the stored entries",
                cp.tree_size
            ),
        ),
        None => problems.add(
            None,
            format!(
                "the latest checkpoint covers {} entries but only {} are stored (truncated)",
                cp.tree_size,
                walk.range.size()
            ),
        ),
    }
}

/// Tiles serve proofs: the stored subtree hashes completed by the walk must agree with it.
async fn check_tiles<S: AuditStore>(
    store: &S,
    walk: &mut Walk<'_>,
) -> Result<(), LogError<S::Error>> {
    let mut by_level: std::collections::BTreeMap<u32, Vec<(u64, Hash)>> =
        std::collections::BTreeMap::new();
    for (level, index, hash) in std::mem::take(&mut walk.completed) {
        by_level.entry(level).or_default().push((index, hash));
    }
    let chunk_len = usize::try_from(VERIFY_CHUNK).unwrap_or(5_000);
    for (level, expected) in by_level {
        for chunk in expected.chunks(chunk_len) {
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
                    walk.problems.add(
                        None,
                        format!(
                            "stored tile hash at level {level}, index {index} is wrong or missing"
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}
