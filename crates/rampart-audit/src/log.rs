//! [`AuditLog`]: the sequencer and the reads of the log, over any [`AuditStore`].
//!
//! One writer task per process gathers append requests: while one batch commits, the next
//! requests queue, and the writer takes them all as the next batch (group commit, with no timer
//! to wait for). Each batch gets consecutive `seq`s, one timestamp, leaves, new tiles, a new head
//! and a signed checkpoint, and is written in one transaction; only after the commit are the
//! waiting requests answered. If another server moved the head first (PostgreSQL deployments),
//! the writer reloads the tree's right edge from storage and prepares the batch again.

mod cache;
mod read;
mod stats;
mod verify;
mod writer;

pub use stats::{CountHistogram, WriterStats};

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpoint, LogSigner, LogVerifier};
use crate::entry::{NewEntry, SubmittedBy};
use crate::export::VerifyReport;
use crate::store::{AuditStore, SignedCheckpoint, TreeHead};
use crate::tiles::{MissingHash, Recorder, TILE_HEIGHT, TILE_WIDTH, TileBuffers, TileSet};
use crate::tree::{
    CompactRange, Hash, ProofRangeError, consistency_proof, decomposition, empty_root,
    inclusion_proof, range_hash,
};

/// The time source (a parameter, so tests control time).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Most entries one batch commits.
const MAX_BATCH_ENTRIES: usize = 20_000;
/// How often a batch is prepared again after losing the race to another server.
const MAX_ATTEMPTS: usize = 100;
/// Entries read per query while verifying.
const VERIFY_CHUNK: u64 = 10_000;

/// What went wrong in the log. The details are for logs; clients get an internal error.
#[derive(Debug, thiserror::Error)]
pub enum LogError<E: std::error::Error + 'static> {
    /// Storage failed.
    #[error("audit storage failed: {0}")]
    Store(#[source] E),
    /// A stored hash is missing: storage is damaged.
    #[error("audit storage is incomplete: {0}")]
    Missing(#[from] MissingHash),
    /// An entry could not be encoded.
    #[error("cannot encode an audit entry: {0}")]
    Encode(#[from] serde_json::Error),
    /// The append did not commit.
    #[error("the audit append did not commit: {0}")]
    Append(String),
    /// The change attached to the append was refused by storage (its precondition no longer
    /// held); neither it nor the entries were written.
    #[error("the change was refused: {0}")]
    Refused(String),
    /// The storage could not be reached (a database down or restarting, see
    /// [`AuditStore::is_unavailable`]): nothing was written, and the same append may succeed
    /// once it is back.
    #[error("the audit storage is unavailable: {0}")]
    Unavailable(String),
    /// Entry `index` of the append holds personal data that is not sealed
    /// ([`NewEntry::seal_personal`]): nothing was queued, so plaintext never reaches the writer.
    #[error("audit entry {index} holds personal data that is not sealed; nothing was written")]
    UnsealedPersonal {
        /// Position of the entry in the append.
        index: usize,
    },
}

/// Where one appended entry landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Leaf index.
    pub seq: u64,
    /// The entry id.
    pub id: String,
    /// The leaf hash.
    pub leaf_hash: Hash,
}

/// The answer to an append: where each entry landed and the tree size after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// One per submitted entry, in order.
    pub entries: Vec<Appended>,
    /// Tree size after the batch that held them.
    pub tree_size: u64,
}

/// Why a request was not written, as the writer reports it.
enum Failure {
    /// The attached change was refused.
    Refused(String),
    /// Anything else.
    Failed(String),
    /// The storage could not be reached.
    Unavailable(String),
}

struct Request<C> {
    entries: Vec<NewEntry>,
    submitted_by: SubmittedBy,
    /// A change committed in the same transaction as the entries.
    change: Option<C>,
    reply: oneshot::Sender<Result<Receipt, Failure>>,
}

struct Inner<S> {
    store: S,
    signer: LogSigner,
    verifier: LogVerifier,
    clock: Clock,
    /// Full tiles and the committed right edge, in memory.
    tiles: cache::TileCache,
    /// Latencies, batch sizes, tree size and checkpoint time, for metrics.
    stats: Arc<WriterStats>,
}

/// The audit log of one deployment.
pub struct AuditLog<S: AuditStore> {
    inner: Arc<Inner<S>>,
    requests: mpsc::Sender<Request<S::Change>>,
}

impl<S: AuditStore> Clone for AuditLog<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            requests: self.requests.clone(),
        }
    }
}

impl<S: AuditStore + Send + Sync + 'static> AuditLog<S> {
    /// Opens the log: loads the tree's right edge and starts the writer task (on the current
    /// tokio runtime).
    pub async fn open(
        store: S,
        signer: LogSigner,
        clock: Clock,
    ) -> Result<Self, LogError<S::Error>> {
        let verifier = signer.verifier();
        let inner = Arc::new(Inner {
            store,
            signer,
            verifier,
            clock,
            tiles: cache::TileCache::default(),
            stats: Arc::new(WriterStats::default()),
        });
        let head = inner.store.head().await.map_err(LogError::Store)?;
        if let Ok(Some(checkpoint)) = inner.store.latest_checkpoint().await {
            inner.stats.committed(head.size, checkpoint.timestamp);
        }
        let range = load_range(&inner.store, head.size).await?;
        let buffers = load_buffers(&inner.store, head.size).await?;
        inner.tiles.committed(head.size, &[], &buffers);
        if range.root() != head.root {
            tracing::error!(
                size = head.size,
                "the audit tree in storage does not match its head: run POST /v1/audit/verify"
            );
        }
        let (requests, receiver) = mpsc::channel(4096);
        tokio::spawn(writer(
            Arc::clone(&inner),
            Edge { range, buffers },
            receiver,
        ));
        Ok(Self { inner, requests })
    }

    /// Whether the writer task still runs (it ends only if it failed): appends need it.
    pub fn writer_running(&self) -> bool {
        !self.requests.is_closed()
    }

    /// The writer's numbers: append latencies, batch sizes, tree size, checkpoint time.
    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.inner.stats
    }

    /// Append requests queued for the writer and not yet taken into a batch.
    pub fn queued_requests(&self) -> usize {
        self.requests
            .max_capacity()
            .saturating_sub(self.requests.capacity())
    }

    /// The log's origin (the name in its checkpoints).
    pub fn origin(&self) -> &str {
        &self.inner.verifier.name
    }

    /// The public key that verifies the log's checkpoints.
    pub fn verifier(&self) -> &LogVerifier {
        &self.inner.verifier
    }

    /// Signs a JSON document with the log's key (see [`crate::signed`]): sets `signature_b64`.
    pub fn sign_document(
        &self,
        doc: &mut serde_json::Value,
    ) -> Result<(), crate::signed::SignedDocumentError> {
        self.inner.signer.sign_document(doc)
    }

    /// Appends entries as one unit; answers once they are durable. An entry whose personal data
    /// is still plain refuses the whole append ([`LogError::UnsealedPersonal`]).
    pub async fn append(
        &self,
        entries: Vec<NewEntry>,
        submitted_by: SubmittedBy,
    ) -> Result<Receipt, LogError<S::Error>> {
        self.submit(entries, submitted_by, None).await
    }

    /// Appends entries together with `change`, in one transaction: either both are written or
    /// neither is. A refused change is [`LogError::Refused`]; it is dropped from its batch and
    /// the other requests of the batch are written without it.
    pub async fn append_with(
        &self,
        entries: Vec<NewEntry>,
        submitted_by: SubmittedBy,
        change: S::Change,
    ) -> Result<Receipt, LogError<S::Error>> {
        self.submit(entries, submitted_by, Some(change)).await
    }

    async fn submit(
        &self,
        entries: Vec<NewEntry>,
        submitted_by: SubmittedBy,
        change: Option<S::Change>,
    ) -> Result<Receipt, LogError<S::Error>> {
        if let Some(index) = entries.iter().position(NewEntry::has_unsealed_personal) {
            return Err(LogError::UnsealedPersonal { index });
        }
        let started = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                entries,
                submitted_by,
                change,
                reply,
            })
            .await
            .map_err(|_| LogError::Append("the audit writer has stopped".to_owned()))?;
        match answer
            .await
            .map_err(|_| LogError::Append("the audit writer has stopped".to_owned()))?
        {
            Ok(receipt) => {
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.inner.stats.append_latency_micros.observe(micros);
                Ok(receipt)
            }
            Err(Failure::Refused(reason)) => Err(LogError::Refused(reason)),
            Err(Failure::Failed(message)) => Err(LogError::Append(message)),
            Err(Failure::Unavailable(message)) => Err(LogError::Unavailable(message)),
        }
    }

    /// The committed head.
    pub async fn head(&self) -> Result<TreeHead, LogError<S::Error>> {
        self.inner.store.head().await.map_err(LogError::Store)
    }

    /// The latest signed checkpoint (for an empty log, one signed now for size 0).
    pub async fn latest_checkpoint(&self) -> Result<SignedCheckpoint, LogError<S::Error>> {
        match self
            .inner
            .store
            .latest_checkpoint()
            .await
            .map_err(LogError::Store)?
        {
            Some(checkpoint) => Ok(checkpoint),
            None => Ok(self.sign(0, empty_root())),
        }
    }

    fn sign(&self, tree_size: u64, root_hash: Hash) -> SignedCheckpoint {
        sign(&self.inner, tree_size, root_hash)
    }

    /// The stored hashes `recorder` asked for in a tree of `tree_size` (at most the committed
    /// size), from memory where they are.
    async fn tiles(
        &self,
        recorder: &Recorder,
        tree_size: u64,
    ) -> Result<cache::ProofSource, LogError<S::Error>> {
        self.inner
            .tiles
            .read(&self.inner.store, recorder, tree_size)
            .await
    }

    /// A checkpoint signed now for exactly `tree_size` (at most the committed size).
    pub async fn checkpoint_at(
        &self,
        tree_size: u64,
    ) -> Result<SignedCheckpoint, LogError<S::Error>> {
        if tree_size == 0 {
            return Ok(self.sign(0, empty_root()));
        }
        let mut recorder = Recorder::default();
        let _ = range_hash(&mut recorder, 0, tree_size);
        let mut tiles = self.tiles(&recorder, tree_size).await?;
        let root = range_hash(&mut tiles, 0, tree_size)?;
        Ok(self.sign(tree_size, root))
    }

    /// Hashes of the complete subtrees left of `first` (for partial exports).
    pub async fn left_hashes(&self, first: u64) -> Result<Vec<Hash>, LogError<S::Error>> {
        let mut recorder = Recorder::default();
        for (level, index) in decomposition(first) {
            let _ = crate::tree::SubtreeSource::subtree(&mut recorder, level, index);
        }
        let mut tiles = self.tiles(&recorder, first).await?;
        decomposition(first)
            .into_iter()
            .map(|(level, index)| {
                crate::tree::SubtreeSource::subtree(&mut tiles, level, index)
                    .map_err(LogError::from)
            })
            .collect()
    }

    /// The inclusion proof of `seq` in the tree of `tree_size`, with the leaf hash.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<Result<(Hash, Vec<Hash>), ProofRangeError>, LogError<S::Error>> {
        let mut recorder = Recorder::default();
        if let Err(e) =
            inclusion_proof(&mut recorder, seq, tree_size).unwrap_or_else(|never| match never {})
        {
            return Ok(Err(e));
        }
        let _ = crate::tree::SubtreeSource::subtree(&mut recorder, 0, seq);
        let mut tiles = self.tiles(&recorder, tree_size).await?;
        let path = inclusion_proof(&mut tiles, seq, tree_size)?;
        let leaf = crate::tree::SubtreeSource::subtree(&mut tiles, 0, seq)?;
        Ok(path.map(|p| (leaf, p)))
    }

    /// The consistency proof between sizes `from` and `to`.
    pub async fn consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Result<Vec<Hash>, ProofRangeError>, LogError<S::Error>> {
        let mut recorder = Recorder::default();
        if let Err(e) =
            consistency_proof(&mut recorder, from, to).unwrap_or_else(|never| match never {})
        {
            return Ok(Err(e));
        }
        let mut tiles = self.tiles(&recorder, to).await?;
        Ok(consistency_proof(&mut tiles, from, to)?)
    }

    /// Recomputes every leaf from the stored entries, the tree from the leaves and the stored
    /// tiles, and checks the head and the latest checkpoint with its signature. A verification
    /// that finds the log intact is recorded, for [`AuditLog::verify_since_last`] to start from.
    pub async fn verify(&self) -> Result<VerifyReport, LogError<S::Error>> {
        Ok(self.verify_with(true).await?.report)
    }

    /// Verification from the last recorded one: the stored tiles and head must still give the
    /// root recorded at its size, then only the entries after it are re-hashed and their tiles,
    /// the head and the latest checkpoint with its signature checked (everything, as
    /// [`AuditLog::verify`], when none is recorded). An entry edited below the recorded size
    /// together with its leaf hash, but not the tiles, is not seen here: `full`
    /// ([`AuditLog::verify`]) re-hashes every entry and catches it.
    pub async fn verify_since_last(&self) -> Result<StoreVerification, LogError<S::Error>> {
        self.verify_with(false).await
    }

    async fn verify_with(&self, full: bool) -> Result<StoreVerification, LogError<S::Error>> {
        let store = &self.inner.store;
        let last = if full {
            None
        } else {
            store.last_verification().await.map_err(LogError::Store)?
        };
        let verified = verify::verify_from(store, &self.inner.verifier, last.as_ref()).await?;
        let report = &verified.report;
        let root = crate::tree::from_hex(&report.root_hash);
        if let (true, Some(root_hash)) = (report.ok, root) {
            let record = crate::store::Verification {
                tree_size: report.tree_size,
                root_hash,
                verified_at: (self.inner.clock)(),
                full: verified.from_tree_size == 0,
                checked_entries: report.checked_entries,
            };
            if let Err(e) = store.record_verification(&record).await {
                tracing::warn!(error = %e, "cannot record the audit verification");
            }
        }
        Ok(verified)
    }
}

fn sign<S>(inner: &Inner<S>, tree_size: u64, root_hash: Hash) -> SignedCheckpoint {
    let checkpoint = Checkpoint {
        origin: inner.verifier.name.clone(),
        tree_size,
        root_hash,
    };
    let (note, signature) = inner.signer.sign(&checkpoint);
    SignedCheckpoint {
        tree_size,
        root_hash,
        timestamp: (inner.clock)(),
        note,
        signature,
    }
}

async fn read_tiles<S: AuditStore>(
    store: &S,
    recorder: &Recorder,
) -> Result<TileSet, LogError<S::Error>> {
    let mut tiles = TileSet::default();
    for (level, range) in recorder.reads() {
        let hashes = store.hashes(level, range).await.map_err(LogError::Store)?;
        tiles.insert(level, hashes);
    }
    Ok(tiles)
}

/// The partial tiles of every stored level at `size`.
async fn load_buffers<S: AuditStore>(
    store: &S,
    size: u64,
) -> Result<TileBuffers, LogError<S::Error>> {
    let mut buffers = TileBuffers::default();
    let mut level = 0u32;
    while level < 64 && (size >> level) > 0 {
        let count = size >> level;
        let start = count - count % TILE_WIDTH;
        if start < count {
            let rows = store
                .hashes(level, start..count)
                .await
                .map_err(LogError::Store)?;
            if u64::try_from(rows.len()).unwrap_or(0) != count - start {
                return Err(LogError::Missing(MissingHash {
                    level,
                    index: start,
                }));
            }
            buffers.load(level, start, rows.into_iter().map(|(_, h)| h).collect());
        }
        level += TILE_HEIGHT;
    }
    Ok(buffers)
}

/// The right edge of the tree: its compact range and its partial tiles.
#[derive(Debug, Clone)]
struct Edge {
    range: CompactRange,
    buffers: TileBuffers,
}

async fn load_edge<S: AuditStore>(store: &S, size: u64) -> Result<Edge, LogError<S::Error>> {
    Ok(Edge {
        range: load_range(store, size).await?,
        buffers: load_buffers(store, size).await?,
    })
}

/// The right edge of the stored tree at `size`.
async fn load_range<S: AuditStore>(
    store: &S,
    size: u64,
) -> Result<CompactRange, LogError<S::Error>> {
    let parts = decomposition(size);
    let mut recorder = Recorder::default();
    for &(level, index) in &parts {
        let _ = crate::tree::SubtreeSource::subtree(&mut recorder, level, index);
    }
    let mut tiles = read_tiles(store, &recorder).await?;
    let mut hashes = Vec::with_capacity(parts.len());
    for (level, index) in parts {
        hashes.push(crate::tree::SubtreeSource::subtree(
            &mut tiles, level, index,
        )?);
    }
    CompactRange::from_parts(size, hashes).ok_or(LogError::Missing(MissingHash {
        level: 0,
        index: size,
    }))
}

pub use read::{ConsistencyProof, ExportPlan, InclusionProof, ReadError, may_see};
pub use verify::{StoreVerification, verify_store};
use writer::writer;
