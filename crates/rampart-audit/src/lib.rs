//! Rampart's tamper-evident audit log: the entry model and its validation, RFC 8785 canonical
//! leaves, the RFC 6962 Merkle tree (roots of any size, inclusion and consistency proofs read
//! from tiles of complete subtrees), C2SP signed-note checkpoints, the offline verifier, and the
//! signed JSON documents other capabilities issue with the log's key.
//!
//! It knows nothing of HTTP or SQL: storage is the [`AuditStore`] trait, and time is a parameter.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod checkpoint;
pub mod entry;
pub mod export;
pub mod index;
pub mod journal;
pub mod log;
pub mod signed;
pub mod store;
pub mod tiles;
pub mod tree;

pub use checkpoint::{Checkpoint, LogSigner, LogVerifier, NoteError, PublicKeyText};
pub use entry::{
    Entry, FieldError, NewEntry, Personal, SealedPersonal, Status, SubmittedBy, UnsealedPersonal,
};
pub use export::{ExportLine, Verifier, VerifyProblem, VerifyReport};
pub use journal::{Journal, JournalError};
pub use log::StoreVerification;
pub use log::{AuditLog, Clock, LogError, Receipt};
pub use log::{ConsistencyProof, ExportPlan, InclusionProof, ReadError, may_see};
pub use log::{CountHistogram, WriterStats};
pub use signed::{
    SIGNATURE_MEMBER, SignedDocumentError, document_signing_input, verifier_from_key_text,
};
pub use store::{
    ActionFilter, AppendBatch, AppendError, AuditStore, EntryFilter, MAX_SEQ, SignedCheckpoint,
    StoredEntry, TreeHead,
};
pub use store::{Pruned, StoredLeaf, Verification};
pub use tree::{CompactRange, Hash};
