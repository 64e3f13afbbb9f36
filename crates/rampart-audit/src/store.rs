//! What the audit log needs from storage ([`AuditStore`]), implemented by `rampart-store`.

use std::future::Future;
use std::ops::Range;

use time::OffsetDateTime;

use crate::tree::Hash;

/// Largest seq or tree size the log can hold: storage keeps them as signed 64-bit integers
/// (`BIGINT`). A seq or size above it names nothing the log can ever have.
pub const MAX_SEQ: u64 = i64::MAX.unsigned_abs();

/// Size and root of the tree as storage last committed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
}

/// What marks an entry pruned under retention: its body and the columns queries filter on were
/// deleted (only `seq`, `id`, the time and the leaf hash are kept, so every checkpoint and proof
/// still verifies), when, and under which disposal certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// When the entry was pruned.
    pub pruned_at: OffsetDateTime,
    /// The id of the disposal certificate that covers it.
    pub certificate_id: String,
}

/// One entry as stored: its canonical JSON (the leaf input) and the columns queries filter on.
///
/// A pruned entry ([`StoredEntry::pruned`]) keeps `seq`, `id`, `timestamp_micros` and
/// `leaf_hash`; its `body` is empty, its text columns empty, its optional ones `None` and its
/// tags empty. Readers of `body` check `pruned` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Leaf index.
    pub seq: u64,
    /// UUIDv7.
    pub id: String,
    /// Microseconds since the epoch.
    pub timestamp_micros: i64,
    /// `actor.type`.
    pub actor_type: String,
    /// `actor.id`.
    pub actor_id: String,
    /// `action`.
    pub action: String,
    /// `resource.type`.
    pub resource_type: String,
    /// `resource.id`.
    pub resource_id: Option<String>,
    /// `context.team_id`.
    pub team_id: Option<String>,
    /// `status`.
    pub status: String,
    /// `subject_id`.
    pub subject_id: Option<String>,
    /// `compliance_tags`.
    pub tags: Vec<String>,
    /// RFC 8785 canonical JSON of the entry.
    pub body: String,
    /// `SHA-256(0x00 || body)` (for a pruned entry, of the body it had).
    pub leaf_hash: Hash,
    /// `Some` when the entry was pruned under retention (see [`Pruned`]).
    pub pruned: Option<Pruned>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size it covers.
    pub tree_size: u64,
    /// Root at that size.
    pub root_hash: Hash,
    /// When it was signed.
    pub timestamp: OffsetDateTime,
    /// The full C2SP signed note.
    pub note: String,
    /// The raw Ed25519 signature of the note body.
    pub signature: [u8; 64],
}

/// What verification reads of an entry: its seq, stored canonical JSON and stored leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    /// Leaf index.
    pub seq: u64,
    /// RFC 8785 canonical JSON of the entry (the leaf input); empty once pruned.
    pub body: String,
    /// The stored `SHA-256(0x00 || body)`.
    pub leaf_hash: Hash,
    /// Whether the entry was pruned under retention: its body is gone, and verification takes
    /// the stored leaf hash as it is (the tree over it must still give every checkpoint).
    pub pruned: bool,
}

/// A verification of the stored log that found it intact, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The tree size it reached.
    pub tree_size: u64,
    /// The root it recomputed at that size.
    pub root_hash: Hash,
    /// When it ran.
    pub verified_at: OffsetDateTime,
    /// Whether every entry was re-hashed (else only those after the previous verification).
    pub full: bool,
    /// Entries it re-hashed.
    pub checked_entries: u64,
}

/// Everything one group commit writes, in one transaction.
#[derive(Debug, Clone)]
pub struct AppendBatch {
    /// The size the batch was prepared for; the store refuses it if the log has moved on.
    pub expected_size: u64,
    /// The entries, with consecutive `seq` from `expected_size`.
    pub entries: Vec<StoredEntry>,
    /// Newly completed subtrees at stored levels: `(level, index, hash)`.
    pub subtrees: Vec<(u32, u64, Hash)>,
    /// Newly filled tiles, packed for one-row reads.
    pub packed_tiles: Vec<crate::tiles::PackedTile>,
    /// The head after the batch.
    pub head: TreeHead,
    /// The checkpoint for the new head.
    pub checkpoint: SignedCheckpoint,
}

/// Why an append did not commit.
#[derive(Debug, thiserror::Error)]
pub enum AppendError<E: std::error::Error + 'static> {
    /// Another writer appended first; prepare again from `actual_size`.
    #[error("the log is at size {actual_size}, not the expected size")]
    Conflict {
        /// The size storage holds.
        actual_size: u64,
    },
    /// The change of request `index` (in the order given) did not apply (its precondition no
    /// longer holds): nothing was written, neither the changes nor the entries.
    #[error("the change was refused: {reason}")]
    Refused {
        /// Which change.
        index: usize,
        /// Why.
        reason: String,
    },
    /// Storage failed; nothing was written.
    #[error(transparent)]
    Store(E),
}

/// How `action` is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionFilter {
    /// Exactly this action.
    Exact(String),
    /// Actions starting with this prefix (`payment.*` → `payment.`).
    Prefix(String),
}

/// Filters of `GET /v1/audit/entries`; every bound inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// `actor.id`.
    pub actor_id: Option<String>,
    /// `actor.type`.
    pub actor_type: Option<String>,
    /// `action`.
    pub action: Option<ActionFilter>,
    /// `resource.type`.
    pub resource_type: Option<String>,
    /// `resource.id`.
    pub resource_id: Option<String>,
    /// `context.team_id`.
    pub team_id: Option<String>,
    /// Team isolation: only entries whose `context.team_id` is one of these (entries without a
    /// team are then excluded); `None` for readers that bypass team isolation.
    pub visible_teams: Option<Vec<String>>,
    /// `status`.
    pub status: Option<String>,
    /// One of `compliance_tags`.
    pub tag: Option<String>,
    /// `subject_id`.
    pub subject_id: Option<String>,
    /// Earliest timestamp (µs).
    pub since_micros: Option<i64>,
    /// Latest timestamp (µs).
    pub until_micros: Option<i64>,
    /// Lowest seq.
    pub from_seq: Option<u64>,
    /// Highest seq.
    pub to_seq: Option<u64>,
    /// Newest first.
    pub descending: bool,
    /// Continue after this seq (the cursor).
    pub after_seq: Option<u64>,
    /// Page size.
    pub limit: u32,
}

/// Storage for the audit log.
pub trait AuditStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The committed head (size 0 and the empty root for a new log).
    fn head(&self) -> impl Future<Output = Result<TreeHead, Self::Error>> + Send;

    /// A change to other data of the same database, committed in the same transaction as the
    /// entries that record it (so a change is never made without its entry, even on a crash).
    type Change: Send + Sync + 'static;

    /// Writes a batch atomically, if the log is still at `batch.expected_size`, applying
    /// `changes` (one per request, in order; `None` for requests without one) in the same
    /// transaction first; writes nothing if one is refused.
    fn append(
        &self,
        batch: &AppendBatch,
        changes: &[Option<&Self::Change>],
    ) -> impl Future<Output = Result<(), AppendError<Self::Error>>> + Send;

    /// Stored hashes at `level` (0: leaf hashes) for indexes in `range`, as `(index, hash)`:
    /// from packed tiles where the range covers full ones, else from single hashes.
    fn hashes(
        &self,
        level: u32,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<(u64, Hash)>, Self::Error>> + Send;

    /// Entries with `seq` in `range`, in order, pruned ones included (marked
    /// [`StoredEntry::pruned`]).
    fn entries(
        &self,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<StoredEntry>, Self::Error>> + Send;

    /// Entries matching `filter`, in the filter's order, at most `filter.limit`. Pruned entries
    /// never match.
    fn query(
        &self,
        filter: &EntryFilter,
    ) -> impl Future<Output = Result<Vec<StoredEntry>, Self::Error>> + Send;

    /// How many entries match `filter` (its order, cursor and limit ignored): counted by the
    /// index, without reading the entries' bodies. Pruned entries are not counted.
    fn count(&self, filter: &EntryFilter) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// The latest signed checkpoint.
    fn latest_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<SignedCheckpoint>, Self::Error>> + Send;

    /// Whether `error` says the storage could not be reached (a database down or restarting)
    /// rather than that the operation failed: appends are then answered
    /// [`crate::LogError::Unavailable`], which callers may retry. By default, never.
    fn is_unavailable(_error: &Self::Error) -> bool {
        false
    }
    /// Entries with `seq` in `range`, in order, with only what verification reads (pruned ones
    /// included, marked [`StoredLeaf::pruned`]).
    fn leaves(
        &self,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<StoredLeaf>, Self::Error>> + Send;

    /// The latest recorded verification (largest tree size), if any.
    fn last_verification(
        &self,
    ) -> impl Future<Output = Result<Option<Verification>, Self::Error>> + Send;

    /// Records a verification that found the log intact (append-only).
    fn record_verification(
        &self,
        verification: &Verification,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
