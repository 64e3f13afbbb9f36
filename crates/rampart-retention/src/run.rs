//! Disposal runs: one step per data type with a policy, each with the cutoff fixed when the run
//! started, its progress, and the id its disposal certificate will carry.

use time::OffsetDateTime;

use crate::policy::{DataType, Policy};

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new id (a UUIDv7 after the prefix, so ids sort by time).
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "{}"), uuid::Uuid::now_v7().simple()))
            }

            /// Parses an id from a path or storage.
            pub fn parse(text: &str) -> Option<Self> {
                let hex = text.strip_prefix($prefix)?;
                (hex.len() == 32
                    && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .then(|| Self(text.to_owned()))
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

prefixed_id!(
    /// A disposal run's id: `run_` and 32 hex digits.
    RunId,
    "run_"
);
prefixed_id!(
    /// A disposal certificate's id: `dcert_` and 32 hex digits.
    CertificateId,
    "dcert_"
);

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Not begun.
    Pending,
    /// Begun; resumed from its progress after a crash.
    Running,
    /// Finished (for an application's data type: `retention.due` sent, or held).
    Done,
}

impl StepState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

/// One data type's part of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The data type (`audit_entries` covers the per-tag policies too).
    pub data_type: DataType,
    /// Records from before it are due (for audit entries: the latest cutoff of any audit
    /// policy; each entry's own is that of the longest policy applying to it).
    pub cutoff: OffsetDateTime,
    /// Where it is.
    pub state: StepState,
    /// Records found due (a dry run counts them; a real run as it goes).
    pub due: u64,
    /// Records disposed of (audit entries pruned).
    pub disposed: u64,
    /// Records due but kept by a legal hold.
    pub held_back: u64,
    /// Audit entries: the next seq to look at.
    pub next_seq: u64,
    /// Audit entries: the scan ends before this seq (the first at or after the cutoff).
    pub end_seq: u64,
    /// Other types: the last key passed.
    pub cursor: Option<String>,
    /// Audit entries: the lowest and highest seq pruned.
    pub first_seq: Option<u64>,
    /// See `first_seq`.
    pub last_seq: Option<u64>,
    /// The id the step's certificate carries (and each pruned entry).
    pub certificate_id: CertificateId,
}

/// A disposal run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// Counts only, disposes of nothing.
    pub dry_run: bool,
    /// Who asked (a principal id, `rampart-cli` or `retention-job`).
    pub requested_by: String,
    /// When it started: every cutoff is from then.
    pub started_at: OffsetDateTime,
    /// When it finished.
    pub finished_at: Option<OffsetDateTime>,
    /// The policies in force when it started.
    pub policies: Vec<Policy>,
    /// Its steps, in the order they run.
    pub steps: Vec<Step>,
}

/// Progress of one batch of a step, written with the batch's disposal in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProgress {
    /// The run.
    pub run_id: RunId,
    /// The step.
    pub data_type: DataType,
    /// Audit entries: the next seq to look at after this batch.
    pub next_seq: u64,
    /// Other types: the last key this batch passed.
    pub cursor: Option<String>,
    /// Records found due in this batch.
    pub due: u64,
    /// Records due but held in this batch.
    pub held_back: u64,
    /// The step is finished with this batch.
    pub done: bool,
}

/// A record of a data type Rampart disposes of itself, as a run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its key in its table.
    pub key: String,
    /// The time its retention counts from.
    pub at: OffsetDateTime,
    /// The data subject it is about, when known.
    pub subject_id: Option<String>,
    /// The SHA-256 (hex) of the data subject it is about (erasure records keep only that).
    pub subject_id_sha256: Option<String>,
    /// Its team.
    pub team_id: Option<String>,
}

/// An application's confirmation that it disposed of one of its data types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfirmation {
    /// The run.
    pub run_id: RunId,
    /// `app:<name>`.
    pub data_type: DataType,
    /// How many records it deleted.
    pub records_deleted: u64,
    /// It deleted everything before this time.
    pub deleted_before: OffsetDateTime,
    /// When it confirmed.
    pub confirmed_at: OffsetDateTime,
    /// Who confirmed (a principal id).
    pub confirmed_by: String,
}

/// A signed disposal certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// Its id.
    pub id: CertificateId,
    /// The run that issued it.
    pub run_id: RunId,
    /// The data type.
    pub data_type: DataType,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// The signed document (JSON text, with `signature_b64`).
    pub document: String,
}
