//! Tiles from memory: proofs and past roots without a database read when their tiles are here.
//!
//! A full tile (256 hashes of a stored level) never changes once committed, so it is kept in a
//! bounded in-process cache with every node of its subtree already computed (a lookup of any
//! complete subtree inside it is then one index, not up to 255 hashes). The writer hands the
//! tiles it completes to the cache after their commit; reads fill it with what they load.
//! Two caches, so that the leaf tiles of random proofs (one per proof at 10M entries, far more
//! than a few MiB) never push out the upper-level tiles every proof needs: each keeps two
//! generations and drops the older one when the newer is full (an approximate LRU: a tile used
//! since the last turn survives it). The partial tile at the right edge of each stored level
//! comes from the writer's in-memory edge, published after each commit.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::LogError;
use crate::store::AuditStore;
use crate::tiles::{
    MissingHash, PackedTile, Recorder, TILE_HEIGHT, TILE_WIDTH, TileBuffers, TileSet,
};
use crate::tree::{Hash, SubtreeSource, node_hash};

/// Leaf tiles per generation (16 KiB each with their nodes): at most 2 MiB.
const LEAF_TILES_PER_GENERATION: usize = 64;
/// Upper-level tiles per generation: at most 6 MiB; one generation holds every level-8 tile of
/// a 12,500,000-entry tree, so up to there they are never dropped.
const UPPER_TILES_PER_GENERATION: usize = 192;

/// Every node of one full tile's subtree: `rows[k]` holds the `256 >> k` hashes of level `k`
/// above the tile's stored level.
#[derive(Debug)]
pub(super) struct TileNodes {
    rows: Vec<Vec<Hash>>,
}

impl TileNodes {
    /// Builds the nodes of a full tile; `None` unless exactly 256 hashes are given.
    fn build(hashes: Vec<Hash>) -> Option<Self> {
        if u64::try_from(hashes.len()).ok()? != TILE_WIDTH {
            return None;
        }
        let mut rows = vec![hashes];
        while let Some(last) = rows.last().filter(|row| row.len() > 1) {
            let next = last
                .chunks_exact(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    _ => [0; 32],
                })
                .collect();
            rows.push(next);
        }
        Some(Self { rows })
    }

    /// The complete subtree `shift` levels above the stored level, starting at hash `offset`
    /// of the tile.
    fn subtree(&self, shift: u32, offset: u64) -> Option<Hash> {
        let row = self.rows.get(usize::try_from(shift).ok()?)?;
        row.get(usize::try_from(offset >> shift).ok()?).copied()
    }
}

/// One bounded map of two generations.
#[derive(Debug, Default)]
struct Generations {
    current: HashMap<(u32, u64), Arc<TileNodes>>,
    previous: HashMap<(u32, u64), Arc<TileNodes>>,
}

impl Generations {
    fn get(&mut self, key: (u32, u64), capacity: usize) -> Option<Arc<TileNodes>> {
        if let Some(nodes) = self.current.get(&key) {
            return Some(Arc::clone(nodes));
        }
        let nodes = self.previous.remove(&key)?;
        self.insert(key, Arc::clone(&nodes), capacity);
        Some(nodes)
    }

    fn insert(&mut self, key: (u32, u64), nodes: Arc<TileNodes>, capacity: usize) {
        if self.current.len() >= capacity && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, nodes);
    }
}

/// The partial tiles of the committed right edge, as the writer last published them.
#[derive(Debug, Default)]
struct EdgeView {
    /// The committed size they belong to.
    size: u64,
    /// Per stored level: `(level, first index, hashes)`.
    partial: Vec<(u32, u64, Vec<Hash>)>,
}

impl EdgeView {
    /// The hashes of `range` at `level`, if the edge holds all of them.
    fn hashes(&self, level: u32, range: &Range<u64>) -> Option<Vec<(u64, Hash)>> {
        let (_, start, hashes) = self.partial.iter().find(|(l, _, _)| *l == level)?;
        let from = usize::try_from(range.start.checked_sub(*start)?).ok()?;
        let to = usize::try_from(range.end.checked_sub(*start)?).ok()?;
        let slice = hashes.get(from..to)?;
        Some(range.clone().zip(slice.iter().copied()).collect())
    }
}

/// The log's tiles in memory: full tiles (bounded) and the committed right edge.
#[derive(Debug, Default)]
pub(super) struct TileCache {
    leaves: Mutex<Generations>,
    upper: Mutex<Generations>,
    edge: RwLock<Arc<EdgeView>>,
}

impl TileCache {
    fn generations(&self, level: u32) -> (&Mutex<Generations>, usize) {
        if level == 0 {
            (&self.leaves, LEAF_TILES_PER_GENERATION)
        } else {
            (&self.upper, UPPER_TILES_PER_GENERATION)
        }
    }

    fn get(&self, level: u32, tile: u64) -> Option<Arc<TileNodes>> {
        let (map, capacity) = self.generations(level);
        map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get((level, tile), capacity)
    }

    fn insert(&self, level: u32, tile: u64, nodes: Arc<TileNodes>) {
        let (map, capacity) = self.generations(level);
        map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((level, tile), nodes, capacity);
    }

    /// The committed size the cache last heard of (0 before the first publication).
    pub(super) fn committed_size(&self) -> u64 {
        self.edge_view().size
    }

    fn edge_view(&self) -> Arc<EdgeView> {
        Arc::clone(&self.edge.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// What a commit made durable: the full tiles it completed and the right edge after it.
    /// Called only after the commit succeeded.
    pub(super) fn committed(&self, size: u64, tiles: &[PackedTile], buffers: &TileBuffers) {
        for tile in tiles {
            let hashes = PackedTile::unpack(tile.level, tile.tile, &tile.hashes)
                .map(|pairs| pairs.into_iter().map(|(_, hash)| hash).collect());
            if let Some(nodes) = hashes.and_then(TileNodes::build) {
                self.insert(tile.level, tile.tile, Arc::new(nodes));
            }
        }
        let view = EdgeView {
            size,
            partial: buffers
                .partials()
                .map(|(level, start, hashes)| (level, start, hashes.to_vec()))
                .collect(),
        };
        let mut edge = self.edge.write().unwrap_or_else(PoisonError::into_inner);
        if size >= edge.size {
            *edge = Arc::new(view);
        }
    }

    /// The stored hashes `recorder` asked for, for a tree of `tree_size` (at most the committed
    /// size): from memory where they are, else read (and full tiles kept).
    pub(super) async fn read<S: AuditStore>(
        &self,
        store: &S,
        recorder: &Recorder,
        tree_size: u64,
    ) -> Result<ProofSource, LogError<S::Error>> {
        let edge = self.edge_view();
        let known = edge.size.max(tree_size);
        let mut source = ProofSource::default();
        for (level, range) in recorder.reads() {
            let mut missing: Vec<u64> = Vec::new();
            let first = range.start / TILE_WIDTH;
            let last = range.end.div_ceil(TILE_WIDTH);
            for tile in first..last {
                if let Some(nodes) = self.get(level, tile) {
                    source.full.insert((level, tile), nodes);
                    continue;
                }
                let span = tile * TILE_WIDTH..(tile + 1) * TILE_WIDTH;
                if span.end <= (known >> level) {
                    missing.push(tile);
                    continue;
                }
                // The partial tile of the right edge.
                let wanted = span.start.max(range.start)..span.end.min(range.end);
                let hashes = match edge.hashes(level, &wanted) {
                    Some(hashes) => hashes,
                    None => store.hashes(level, wanted).await.map_err(LogError::Store)?,
                };
                source.loose.insert(level, hashes);
            }
            for run in runs(&missing) {
                let read = run.start * TILE_WIDTH..run.end * TILE_WIDTH;
                let hashes = store
                    .hashes(level, read.clone())
                    .await
                    .map_err(LogError::Store)?;
                let kept = self.keep(level, run, &hashes, &mut source);
                source.loose.insert(level, hashes.into_iter().skip(kept));
            }
        }
        Ok(source)
    }

    /// Keeps the full tiles of `hashes` (read for tiles `tiles` of `level`) that are complete
    /// and in order; a damaged store's gaps stay out of the cache. Returns how many of
    /// `hashes` (from the first) it kept.
    fn keep(
        &self,
        level: u32,
        tiles: Range<u64>,
        hashes: &[(u64, Hash)],
        source: &mut ProofSource,
    ) -> usize {
        let width = usize::try_from(TILE_WIDTH).unwrap_or(256);
        let mut rest = hashes;
        let mut kept = 0;
        for tile in tiles {
            let Some(chunk) = rest.get(..width) else {
                return kept;
            };
            let in_order = chunk
                .iter()
                .zip(tile * TILE_WIDTH..)
                .all(|((index, _), expected)| *index == expected);
            let nodes = TileNodes::build(chunk.iter().map(|(_, h)| *h).collect());
            let (true, Some(nodes)) = (in_order, nodes) else {
                return kept;
            };
            rest = rest.get(width..).unwrap_or_default();
            kept += width;
            let nodes = Arc::new(nodes);
            self.insert(level, tile, Arc::clone(&nodes));
            source.full.insert((level, tile), nodes);
        }
        kept
    }
}

/// Consecutive tile numbers grouped into ranges (one read each).
fn runs(tiles: &[u64]) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::new();
    for &tile in tiles {
        match out.last_mut() {
            Some(last) if last.end == tile => last.end += 1,
            _ => out.push(tile..tile + 1),
        }
    }
    out
}

/// The hashes one computation needs: full tiles with their nodes, and loose hashes.
#[derive(Debug, Default)]
pub(super) struct ProofSource {
    full: HashMap<(u32, u64), Arc<TileNodes>>,
    loose: TileSet,
}

impl SubtreeSource for ProofSource {
    type Error = MissingHash;

    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash, MissingHash> {
        let base = level - level % TILE_HEIGHT;
        let shift = level - base;
        let start = index << shift;
        let tile = start / TILE_WIDTH;
        if let Some(hash) = self
            .full
            .get(&(base, tile))
            .and_then(|nodes| nodes.subtree(shift, start % TILE_WIDTH))
        {
            return Ok(hash);
        }
        self.loose.subtree(level, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{LeafList, leaf_hash};

    #[test]
    fn tile_nodes_answer_every_subtree_of_the_tile() {
        let leaves: Vec<Hash> = (0u32..256).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let nodes = TileNodes::build(leaves.clone()).expect("256 hashes");
        let mut reference = LeafList(&leaves);
        for shift in 0..=8u32 {
            for index in 0..(256u64 >> shift) {
                assert_eq!(
                    nodes.subtree(shift, index << shift),
                    Some(reference.subtree(shift, index).unwrap_or_default()),
                    "shift {shift}, index {index}"
                );
            }
        }
        assert!(TileNodes::build(leaves[..255].to_vec()).is_none());
    }

    #[test]
    fn generations_keep_what_is_used_and_stay_bounded() {
        let mut map = Generations::default();
        let nodes = Arc::new(TileNodes { rows: Vec::new() });
        for tile in 0..10 {
            map.insert((0, tile), Arc::clone(&nodes), 4);
            // Tile 0 is used all along: it survives every turn.
            assert!(map.get((0, 0), 4).is_some(), "tile 0 after {tile}");
        }
        assert!(map.current.len() + map.previous.len() <= 8);
        assert!(
            map.get((0, 1), 4).is_none(),
            "an old unused tile is dropped"
        );
    }

    #[test]
    fn runs_group_consecutive_tiles() {
        assert_eq!(runs(&[1, 2, 3, 7, 9, 10]), vec![1..4, 7..8, 9..11]);
        assert!(runs(&[]).is_empty());
    }
}
