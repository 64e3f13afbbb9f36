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
/// Hashes in a full tile (2^TILE_HEIGHT).
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

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

/// A full tile: 256 consecutive hashes of one stored level, packed for a one-row read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedTile {
    /// The stored level (0, 8, 16, ...).
    pub level: u32,
    /// Tile number: it holds hashes `[tile * 256, tile * 256 + 256)` of its level.
    pub tile: u64,
    /// The 256 hashes, concatenated (8192 bytes).
    pub hashes: Vec<u8>,
}

impl PackedTile {
    /// The hashes of a packed tile as `(index, hash)`; `None` when the blob is not 8192 bytes.
    pub fn unpack(level: u32, tile: u64, bytes: &[u8]) -> Option<Vec<(u64, Hash)>> {
        let _ = level;
        if u64::try_from(bytes.len()).ok()? != TILE_WIDTH * 32 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(32)
                .zip(tile * TILE_WIDTH..)
                .filter_map(|(chunk, index)| chunk.try_into().ok().map(|h| (index, h)))
                .collect(),
        )
    }
}

/// The hashes of the rightmost, incomplete tile of every stored level: when one fills up, it
/// becomes a [`PackedTile`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileBuffers {
    /// Per stored level (index = level / 8): the first index of the tile and its hashes so far.
    levels: Vec<(u64, Vec<Hash>)>,
}

impl TileBuffers {
    /// Starts the buffer of `level` with the hashes of its partial tile (from `start`).
    pub fn load(&mut self, level: u32, start: u64, hashes: Vec<Hash>) {
        let slot = usize::try_from(level / TILE_HEIGHT).unwrap_or(usize::MAX);
        if self.levels.len() <= slot {
            self.levels.resize_with(slot + 1, || (0, Vec::new()));
        }
        if let Some(entry) = self.levels.get_mut(slot) {
            *entry = (start, hashes);
        }
    }

    /// The partial tiles held, as `(stored level, first index, hashes)`; empty ones left out.
    pub fn partials(&self) -> impl Iterator<Item = (u32, u64, &[Hash])> {
        self.levels
            .iter()
            .zip((0u32..).map(|slot| slot * TILE_HEIGHT))
            .filter(|((_, hashes), _)| !hashes.is_empty())
            .map(|((start, hashes), level)| (level, *start, hashes.as_slice()))
    }

    /// Adds the hash at `index` of stored `level`; returns the tile it completes, if any.
    pub fn push(&mut self, level: u32, index: u64, hash: Hash) -> Option<PackedTile> {
        let slot = usize::try_from(level / TILE_HEIGHT).ok()?;
        if self.levels.len() <= slot {
            self.levels.resize_with(slot + 1, || (0, Vec::new()));
        }
        let (start, hashes) = self.levels.get_mut(slot)?;
        if hashes.is_empty() {
            *start = index - index % TILE_WIDTH;
        }
        hashes.push(hash);
        if u64::try_from(hashes.len()).ok()? < TILE_WIDTH {
            return None;
        }
        let tile = *start / TILE_WIDTH;
        let packed: Vec<u8> = hashes.iter().flatten().copied().collect();
        hashes.clear();
        *start += TILE_WIDTH;
        Some(PackedTile {
            level,
            tile,
            hashes: packed,
        })
    }
}
