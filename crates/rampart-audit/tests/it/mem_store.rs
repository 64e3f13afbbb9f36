//! An in-memory [`AuditStore`] that counts its reads, so tests can tell what a proof read.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rampart_audit::store::{
    AppendBatch, AppendError, AuditStore, EntryFilter, SignedCheckpoint, StoredEntry, StoredLeaf,
    TreeHead, Verification,
};
use rampart_audit::tiles::{PackedTile, TILE_WIDTH};
use rampart_audit::tree::{Hash, empty_root};

#[derive(Debug, Default)]
pub struct State {
    pub entries: Vec<StoredEntry>,
    /// Single hashes of levels 8, 16, ...
    pub tiles: std::collections::BTreeMap<(u32, u64), Hash>,
    pub blobs: std::collections::BTreeMap<(u32, u64), Vec<u8>>,
    pub head: Option<TreeHead>,
    pub checkpoints: Vec<SignedCheckpoint>,
    pub verifications: Vec<Verification>,
}

/// Shared state; clones see the same log (as two servers on one database).
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    pub state: Arc<Mutex<State>>,
    /// Reads of hashes and of the head.
    pub reads: Arc<AtomicU64>,
}

impl MemStore {
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

impl AuditStore for MemStore {
    type Error = std::convert::Infallible;
    type Change = ();

    async fn head(&self) -> Result<TreeHead, Self::Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.state.lock().unwrap().head.unwrap_or(TreeHead {
            size: 0,
            root: empty_root(),
        }))
    }

    async fn append(
        &self,
        batch: &AppendBatch,
        _changes: &[Option<&()>],
    ) -> Result<(), AppendError<Self::Error>> {
        let mut state = self.state.lock().unwrap();
        let size = state.head.map_or(0, |h| h.size);
        if size != batch.expected_size {
            return Err(AppendError::Conflict { actual_size: size });
        }
        state.entries.extend(batch.entries.iter().cloned());
        for (level, index, hash) in &batch.subtrees {
            state.tiles.insert((*level, *index), *hash);
        }
        for tile in &batch.packed_tiles {
            state
                .blobs
                .insert((tile.level, tile.tile), tile.hashes.clone());
        }
        state.head = Some(batch.head);
        state.checkpoints.push(batch.checkpoint.clone());
        Ok(())
    }

    async fn hashes(&self, level: u32, range: Range<u64>) -> Result<Vec<(u64, Hash)>, Self::Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().unwrap();
        let mut out = Vec::new();
        for index in range {
            let tile = index / TILE_WIDTH;
            let from_blob = state.blobs.get(&(level, tile)).and_then(|bytes| {
                PackedTile::unpack(level, tile, bytes)?
                    .into_iter()
                    .find(|(i, _)| *i == index)
            });
            let hash = match from_blob {
                Some((_, hash)) => Some(hash),
                None if level == 0 => state
                    .entries
                    .get(usize::try_from(index).unwrap())
                    .filter(|e| e.seq == index)
                    .map(|e| e.leaf_hash),
                None => state.tiles.get(&(level, index)).copied(),
            };
            out.extend(hash.map(|h| (index, h)));
        }
        Ok(out)
    }

    async fn entries(&self, range: Range<u64>) -> Result<Vec<StoredEntry>, Self::Error> {
        let state = self.state.lock().unwrap();
        Ok(state
            .entries
            .iter()
            .filter(|e| range.contains(&e.seq))
            .cloned()
            .collect())
    }

    async fn query(&self, _filter: &EntryFilter) -> Result<Vec<StoredEntry>, Self::Error> {
        Ok(Vec::new())
    }

    async fn count(&self, _filter: &EntryFilter) -> Result<u64, Self::Error> {
        Ok(0)
    }

    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, Self::Error> {
        Ok(self.state.lock().unwrap().checkpoints.last().cloned())
    }

    async fn leaves(&self, range: Range<u64>) -> Result<Vec<StoredLeaf>, Self::Error> {
        let state = self.state.lock().unwrap();
        Ok(state
            .entries
            .iter()
            .filter(|e| range.contains(&e.seq))
            .map(|e| StoredLeaf {
                seq: e.seq,
                body: e.body.clone(),
                leaf_hash: e.leaf_hash,
                pruned: e.pruned.is_some(),
            })
            .collect())
    }

    async fn last_verification(&self) -> Result<Option<Verification>, Self::Error> {
        let state = self.state.lock().unwrap();
        Ok(state
            .verifications
            .iter()
            .max_by_key(|v| v.tree_size)
            .cloned())
    }

    async fn record_verification(&self, verification: &Verification) -> Result<(), Self::Error> {
        self.state
            .lock()
            .unwrap()
            .verifications
            .push(verification.clone());
        Ok(())
    }
}
