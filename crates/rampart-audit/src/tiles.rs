//! Tiles: which stored hashes a proof or a past root needs, and the subtree hashes computed from
//! them.
//!
//! The store keeps leaf hashes (level 0, with the entries) and the hashes of complete subtrees
//! at every eighth level (8, 16, 24, ...). Any complete subtree is then at most 2^7 stored hashes
//! of the stored level below it, so a proof at any size costs a few range reads, never a rescan.
//! Planning runs the proof algorithm once with a recorder (the algorithms' control flow does not
//! depend on hash values), so the reads can be batched before the real run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use crate::tree::{Hash, SubtreeSource, node_hash};

/// Levels between stored levels.
pub const TILE_HEIGHT: u32 = 8;

/// Whether complete subtrees of `level` are stored (level 0 is stored with the entries).
pub fn is_stored_level(level: u32) -> bool {
    level.is_multiple_of(TILE_HEIGHT)
}

/// Records which subtrees an algorithm asks for, answering with zero hashes.
#[derive(Debug, Default)]
pub struct Recorder(BTreeSet<(u32, u64)>);

impl SubtreeSource for Recorder {
    type Error = std::convert::Infallible;

    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.0.insert((level, index));
        Ok([0; 32])
    }
}

impl Recorder {
    /// The stored ranges to read: `(stored level, index range at that level)`, merged.
    pub fn reads(&self) -> Vec<(u32, Range<u64>)> {
        let mut by_level: BTreeMap<u32, Vec<Range<u64>>> = BTreeMap::new();
        for &(level, index) in &self.0 {
            let base = level - level % TILE_HEIGHT;
            let shift = level - base;
            by_level
                .entry(base)
                .or_default()
                .push((index << shift)..((index + 1) << shift));
        }
        let mut reads = Vec::new();
        for (level, mut ranges) in by_level {
            ranges.sort_by_key(|r| r.start);
            let mut merged: Vec<Range<u64>> = Vec::new();
            for range in ranges {
                match merged.last_mut() {
                    Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                    _ => merged.push(range),
                }
            }
            reads.extend(merged.into_iter().map(|r| (level, r)));
        }
        reads
    }
}

/// A stored hash needed for a computation was not supplied: storage is incomplete or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored hash at level {level}, index {index} is missing")]
pub struct MissingHash {
    /// Level of the missing hash.
    pub level: u32,
    /// Index of the missing hash.
    pub index: u64,
}

/// Stored hashes that were read, answering subtree requests by hashing up from them.
#[derive(Debug, Default)]
pub struct TileSet {
    hashes: HashMap<(u32, u64), Hash>,
}

impl TileSet {
    /// Adds hashes read for `level`, as `(index, hash)`.
    pub fn insert(&mut self, level: u32, hashes: impl IntoIterator<Item = (u64, Hash)>) {
        for (index, hash) in hashes {
            self.hashes.insert((level, index), hash);
        }
    }
}

impl SubtreeSource for TileSet {
    type Error = MissingHash;

    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash, MissingHash> {
        let base = level - level % TILE_HEIGHT;
        let shift = level - base;
        let start = index << shift;
        let mut layer = Vec::with_capacity(1 << shift);
        for i in start..start + (1 << shift) {
            let hash = self.hashes.get(&(base, i)).ok_or(MissingHash {
                level: base,
                index: i,
            })?;
            layer.push(*hash);
        }
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    _ => [0; 32],
                })
                .collect();
        }
        layer.first().copied().ok_or(MissingHash { level, index })
    }
}
