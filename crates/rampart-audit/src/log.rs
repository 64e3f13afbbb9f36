//! [`AuditLog`]: the sequencer and the reads of the log, over any [`AuditStore`].
//!
//! One writer task per process gathers append requests: while one batch commits, the next
//! requests queue, and the writer takes them all as the next batch (group commit, with no timer
//! to wait for). Each batch gets consecutive `seq`s, one timestamp, leaves, new tiles, a new head
//! and a signed checkpoint, and is written in one transaction; only after the commit are the
//! waiting requests answered. If another server moved the head first (PostgreSQL deployments),
//! the writer reloads the tree's right edge from storage and prepares the batch again.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpoint, LogSigner, LogVerifier};
use crate::entry::{NewEntry, SubmittedBy};
use crate::export::{VerifyProblem, VerifyReport};
use crate::store::{AppendBatch, AppendError, AuditStore, SignedCheckpoint, StoredEntry, TreeHead};
use crate::tiles::{
    MissingHash, Recorder, TILE_HEIGHT, TILE_WIDTH, TileBuffers, TileSet, is_stored_level,
};
use crate::tree::{
    CompactRange, Hash, ProofRangeError, consistency_proof, decomposition, empty_root,
    inclusion_proof, leaf_hash, range_hash, to_hex,
};

/// The time source (a parameter, so tests control time).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Most entries one batch commits.
const MAX_BATCH_ENTRIES: usize = 20_000;
/// How often a batch is prepared again after losing the race to another server.
const MAX_ATTEMPTS: usize = 100;
/// Entries read per query while verifying.
const VERIFY_CHUNK: u64 = 5_000;

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
        });
        let head = inner.store.head().await.map_err(LogError::Store)?;
        let range = load_range(&inner.store, head.size).await?;
        let buffers = load_buffers(&inner.store, head.size).await?;
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

    /// The log's origin (the name in its checkpoints).
    pub fn origin(&self) -> &str {
        &self.inner.verifier.name
    }

    /// The public key that verifies the log's checkpoints.
    pub fn verifier(&self) -> &LogVerifier {
        &self.inner.verifier
    }

    /// Appends entries as one unit; answers once they are durable.
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
            Ok(receipt) => Ok(receipt),
            Err(Failure::Refused(reason)) => Err(LogError::Refused(reason)),
            Err(Failure::Failed(message)) => Err(LogError::Append(message)),
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

    async fn tiles(&self, recorder: &Recorder) -> Result<TileSet, LogError<S::Error>> {
        read_tiles(&self.inner.store, recorder).await
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
        let mut tiles = self.tiles(&recorder).await?;
        let root = range_hash(&mut tiles, 0, tree_size)?;
        Ok(self.sign(tree_size, root))
    }

    /// Hashes of the complete subtrees left of `first` (for partial exports).
    pub async fn left_hashes(&self, first: u64) -> Result<Vec<Hash>, LogError<S::Error>> {
        let mut recorder = Recorder::default();
        for (level, index) in decomposition(first) {
            let _ = crate::tree::SubtreeSource::subtree(&mut recorder, level, index);
        }
        let mut tiles = self.tiles(&recorder).await?;
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
        let mut tiles = self.tiles(&recorder).await?;
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
        let mut tiles = self.tiles(&recorder).await?;
        Ok(consistency_proof(&mut tiles, from, to)?)
    }

    /// Recomputes every leaf from the stored entries, the tree from the leaves and the stored
    /// tiles, and checks the head and the latest checkpoint with its signature.
    pub async fn verify(&self) -> Result<VerifyReport, LogError<S::Error>> {
        verify_store(&self.inner.store, &self.inner.verifier).await
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

async fn writer<S: AuditStore + Send + Sync + 'static>(
    inner: Arc<Inner<S>>,
    mut edge: Edge,
    mut receiver: mpsc::Receiver<Request<S::Change>>,
) {
    while let Some(first) = receiver.recv().await {
        let mut count = first.entries.len();
        let mut requests = vec![first];
        while count < MAX_BATCH_ENTRIES {
            match receiver.try_recv() {
                Ok(request) => {
                    count += request.entries.len();
                    requests.push(request);
                }
                Err(_) => break,
            }
        }
        match commit(&inner, &mut edge, &requests).await {
            Ok(outcomes) => {
                for (request, outcome) in requests.into_iter().zip(outcomes) {
                    let _ = request.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = count, "audit batch failed; nothing was written");
                let message = e.to_string();
                for request in requests {
                    let _ = request.reply.send(Err(Failure::Failed(message.clone())));
                }
                // The store may have moved on (or be back): start again from what it holds.
                match inner.store.head().await {
                    Ok(head) => match load_edge(&inner.store, head.size).await {
                        Ok(reloaded) => edge = reloaded,
                        Err(e) => tracing::error!(error = %e, "cannot reload the audit tree"),
                    },
                    Err(e) => tracing::error!(error = %e, "cannot read the audit head"),
                }
            }
        }
    }
}

struct Prepared {
    batch: AppendBatch,
    receipts: Vec<Receipt>,
    edge: Edge,
}

fn prepare<S, C>(
    inner: &Inner<S>,
    edge: &Edge,
    requests: &[&Request<C>],
) -> Result<Prepared, serde_json::Error> {
    let now = (inner.clock)();
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let expected_size = edge.range.size();
    let mut range = edge.range.clone();
    let mut buffers = edge.buffers.clone();
    let mut packed_tiles = Vec::new();
    let mut subtrees = Vec::new();
    let mut entries = Vec::new();
    let mut receipts = Vec::with_capacity(requests.len());
    for request in requests {
        let mut appended = Vec::with_capacity(request.entries.len());
        for new in &request.entries {
            let seq = range.size();
            let entry = new.clone().into_entry(
                seq,
                uuid::Uuid::now_v7(),
                now,
                request.submitted_by.clone(),
            );
            let body = String::from_utf8(entry.canonical_json()?)
                .map_err(<serde_json::Error as serde::ser::Error>::custom)?;
            let leaf = leaf_hash(body.as_bytes());
            packed_tiles.extend(buffers.push(0, seq, leaf));
            range.push(leaf, |(level, index, hash)| {
                if is_stored_level(level) {
                    subtrees.push((level, index, hash));
                    packed_tiles.extend(buffers.push(level, index, hash));
                }
            });
            appended.push(Appended {
                seq,
                id: entry.id.clone(),
                leaf_hash: leaf,
            });
            entries.push(StoredEntry {
                seq,
                id: entry.id,
                timestamp_micros: micros,
                actor_type: entry.actor.kind,
                actor_id: entry.actor.id,
                action: entry.action,
                resource_type: entry.resource.kind,
                resource_id: entry.resource.id,
                team_id: entry.context.and_then(|c| c.team_id),
                status: entry.status.as_str().to_owned(),
                subject_id: entry.subject_id,
                tags: entry.compliance_tags,
                body,
                leaf_hash: leaf,
            });
        }
        receipts.push(Receipt {
            entries: appended,
            tree_size: 0,
        });
    }
    let head = TreeHead {
        size: range.size(),
        root: range.root(),
    };
    for receipt in &mut receipts {
        receipt.tree_size = head.size;
    }
    let checkpoint = sign(inner, head.size, head.root);
    Ok(Prepared {
        batch: AppendBatch {
            expected_size,
            entries,
            subtrees,
            packed_tiles,
            head,
            checkpoint,
        },
        receipts,
        edge: Edge { range, buffers },
    })
}

/// Commits a batch: every request's entries, and every request's change, in one transaction.
/// A refused change drops its request (answered [`Failure::Refused`]) and the rest is prepared
/// again, so one refusal costs a round, never the others' writes. Returns one outcome per
/// request, in order.
async fn commit<S: AuditStore>(
    inner: &Inner<S>,
    edge: &mut Edge,
    requests: &[Request<S::Change>],
) -> Result<Vec<Result<Receipt, Failure>>, LogError<S::Error>> {
    let mut outcomes: Vec<Option<Result<Receipt, Failure>>> =
        requests.iter().map(|_| None).collect();
    let mut active: Vec<usize> = (0..requests.len()).collect();
    let mut conflicts = 0;
    while !active.is_empty() {
        let subset: Vec<&Request<S::Change>> =
            active.iter().filter_map(|&i| requests.get(i)).collect();
        let prepared = prepare(inner, edge, &subset)?;
        let changes: Vec<Option<&S::Change>> = subset.iter().map(|r| r.change.as_ref()).collect();
        match inner.store.append(&prepared.batch, &changes).await {
            Ok(()) => {
                *edge = prepared.edge;
                for (&i, receipt) in active.iter().zip(prepared.receipts) {
                    if let Some(slot) = outcomes.get_mut(i) {
                        *slot = Some(Ok(receipt));
                    }
                }
                break;
            }
            Err(AppendError::Conflict { actual_size }) => {
                conflicts += 1;
                if conflicts >= MAX_ATTEMPTS {
                    return Err(LogError::Append(format!(
                        "lost the race for the log head {MAX_ATTEMPTS} times"
                    )));
                }
                *edge = load_edge(&inner.store, actual_size).await?;
            }
            Err(AppendError::Refused { index, reason }) => {
                if index >= active.len() {
                    return Err(LogError::Append(
                        "storage refused a change it was not given".to_owned(),
                    ));
                }
                let i = active.remove(index);
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = Some(Err(Failure::Refused(reason)));
                }
            }
            Err(AppendError::Store(e)) => return Err(LogError::Store(e)),
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Failure::Failed("not written".to_owned()))))
        .collect())
}

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
