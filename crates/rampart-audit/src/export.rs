//! The NDJSON export and its offline verifier.
//!
//! An export is one entry per line (the entry with its `leaf_hash`) and a last line
//! `{"checkpoint": {...}, "left_hashes": [...]}`: a checkpoint signed for exactly the size at the
//! end of the exported range, and, when the range does not start at 0, the hashes of the
//! complete subtrees left of it. The verifier recomputes every leaf from the entry's content,
//! the root from the leaves, and checks the signature: with the log's public key and the file,
//! and nothing else, it proves that no entry was changed, removed, reordered or inserted.
//!
//! Entries withheld from the reader (another team's) and entries pruned under retention (their
//! bodies deleted) are lines with only `seq` and the leaf hash: the verifier takes that hash as
//! the leaf, so the root, and every entry shown, still verify; the report counts them apart.

mod line;
mod read;

pub use line::{entry_line, parse_line, pruned_line, withheld_line};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{LogVerifier, PublicKeyText};
use crate::tree::{CompactRange, Hash, from_hex, leaf_hash, to_hex};

/// Most bytes one export line may hold; longer lines are refused without parsing.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// The checkpoint object of the API and of the export's last line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointJson {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// When it was signed (RFC 3339).
    pub timestamp: String,
    /// The 4-byte C2SP key id, hex.
    pub key_id: String,
    /// The Ed25519 signature of the note body, base64.
    pub signature_b64: String,
    /// The C2SP signed note.
    pub note: String,
}

/// The export's last line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailerLine {
    /// The checkpoint for the size at the end of the range.
    pub checkpoint: CheckpointJson,
    /// Hashes (hex) of the complete subtrees of `[0, first seq)`, largest first.
    #[serde(default)]
    pub left_hashes: Vec<String>,
}

/// One parsed line of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportLine {
    /// An entry with the leaf hash it claims.
    Entry {
        /// The entry's `seq`.
        seq: u64,
        /// The canonical JSON recomputed from the line.
        canonical: Vec<u8>,
        /// The `leaf_hash` the line claims.
        claimed_leaf: Hash,
    },
    /// An entry the exporter withheld from this reader (another team's): only its leaf hash,
    /// so the tree, and with it every entry shown, still verifies.
    Withheld {
        /// The entry's `seq`.
        seq: u64,
        /// Its leaf hash.
        leaf: Hash,
    },
    /// An entry pruned under retention: its body is gone, its leaf hash kept, so the tree still
    /// verifies.
    Pruned {
        /// The entry's `seq`.
        seq: u64,
        /// Its leaf hash.
        leaf: Hash,
    },
    /// The trailer.
    Trailer(TrailerLine),
}

/// One thing wrong with an export or a stored log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyProblem {
    /// The entry concerned, when there is one.
    pub seq: Option<u64>,
    /// Line number in the file (1-based), for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

/// The verdict on an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Everything checked out.
    pub ok: bool,
    /// Tree size the entries reach.
    pub tree_size: u64,
    /// Root recomputed from the entries (hex).
    pub root_hash: String,
    /// Entries checked.
    pub checked_entries: u64,
    /// Entries withheld from the reader (only their leaf hashes were in the file): they count
    /// for the tree, but their content was not seen.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub withheld_entries: u64,
    /// Entries pruned under retention (only their leaf hashes are left): they count for the
    /// tree, their content no longer exists.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pruned_entries: u64,
    /// What is wrong, first problem first.
    pub problems: Vec<VerifyProblem>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Verifies an export line by line, in constant memory (beyond the problems it finds).
#[derive(Debug)]
pub struct Verifier {
    range: Option<CompactRange>,
    leaves: Vec<(u64, Hash)>,
    first_seq: Option<u64>,
    next_seq: u64,
    checked: u64,
    withheld: u64,
    pruned: u64,
    line: u64,
    trailer: Option<TrailerLine>,
    problems: Vec<VerifyProblem>,
}

/// One line examined on its own: parsed and its leaf hashed, before it joins the file's order.
#[expect(
    clippy::large_enum_variant,
    reason = "held briefly, one batch of lines at a time; boxing would allocate once per line"
)]
enum Examined {
    /// Empty or white space.
    Blank,
    /// Longer than [`MAX_LINE_BYTES`] (not held).
    TooLong,
    /// Not UTF-8.
    NotUtf8,
    /// Parsed, with the leaf hash of an entry's canonical form.
    Parsed(Result<ExportLine, String>, Option<Hash>),
}

/// Examines one line (without its line break).
fn examine(text: &str) -> Examined {
    if text.trim().is_empty() {
        return Examined::Blank;
    }
    let parsed = parse_line(text);
    let leaf = match &parsed {
        Ok(ExportLine::Entry { canonical, .. }) => Some(leaf_hash(canonical)),
        _ => None,
    };
    Examined::Parsed(parsed, leaf)
}

/// Problems beyond this many are counted, not listed.
const MAX_PROBLEMS: usize = 1000;

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier at the start of a file.
    pub fn new() -> Self {
        Self {
            range: None,
            leaves: Vec::new(),
            first_seq: None,
            next_seq: 0,
            checked: 0,
            withheld: 0,
            pruned: 0,
            line: 0,
            trailer: None,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, seq: Option<u64>, problem: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(VerifyProblem {
                seq,
                line: Some(self.line),
                problem: problem.into(),
            });
        }
    }

    /// Feeds the next line.
    pub fn line(&mut self, text: &str) {
        self.take(examine(text));
    }

    /// Takes the next line, examined (possibly on another thread), in file order.
    fn take(&mut self, examined: Examined) {
        self.line += 1;
        let (parsed, leaf) = match examined {
            Examined::Blank => return,
            Examined::TooLong => {
                let problem = format!("line longer than {MAX_LINE_BYTES} bytes");
                return self.problem(Some(self.next_seq), problem);
            }
            Examined::NotUtf8 => return self.problem(Some(self.next_seq), "line is not UTF-8"),
            Examined::Parsed(parsed, leaf) => (parsed, leaf),
        };
        if self.trailer.is_some() {
            self.problem(None, "content after the checkpoint line");
            return;
        }
        match parsed {
            Err(problem) => self.problem(Some(self.next_seq), problem),
            Ok(ExportLine::Trailer(trailer)) => self.trailer = Some(trailer),
            Ok(ExportLine::Entry {
                seq,
                canonical,
                claimed_leaf,
            }) => {
                let leaf = leaf.unwrap_or_else(|| leaf_hash(&canonical));
                if leaf != claimed_leaf {
                    self.problem(
                        Some(seq),
                        "the entry's content does not match its leaf_hash (edited)",
                    );
                }
                // The tree is built from what the entries say, so an edit with a matching
                // forged leaf_hash still changes the root.
                self.push_leaf(seq, leaf);
                self.checked += 1;
            }
            Ok(ExportLine::Withheld { seq, leaf }) => {
                self.push_leaf(seq, leaf);
                self.withheld += 1;
            }
            Ok(ExportLine::Pruned { seq, leaf }) => {
                self.push_leaf(seq, leaf);
                self.pruned += 1;
            }
        }
    }

    /// Adds the leaf of `seq`, reporting a gap or disorder.
    fn push_leaf(&mut self, seq: u64, leaf: Hash) {
        let first = *self.first_seq.get_or_insert(seq);
        if self.checked + self.withheld + self.pruned == 0 {
            self.next_seq = first;
        }
        if seq != self.next_seq {
            let problem = if seq > self.next_seq {
                format!(
                    "entries {}..{} are missing (removed or the file was cut)",
                    self.next_seq,
                    seq - 1
                )
            } else {
                format!("entry {seq} is out of order (expected {})", self.next_seq)
            };
            self.problem(Some(seq), problem);
        }
        self.leaves.push((seq, leaf));
        self.flush_leaves();
        self.next_seq = seq.saturating_add(1);
    }

    /// Leaves wait until the trailer gives the left hashes (they come last in the file), unless
    /// the export starts at 0, where the tree can grow as the lines arrive.
    fn flush_leaves(&mut self) {
        if self.first_seq == Some(0) && self.range.is_none() {
            self.range = Some(CompactRange::empty());
        }
        if let Some(range) = &mut self.range {
            for (_, leaf) in self.leaves.drain(..) {
                range.push(leaf, |_| {});
            }
        }
    }

    /// Finishes with a key given as either a C2SP verifier key string or the raw public key in
    /// base64 (as `GET /v1/audit/public-key` returns both).
    pub fn finish_with_key_text(self, key: Option<&str>) -> VerifyReport {
        let Some(text) = key else {
            return self.finish(None);
        };
        let raw = match PublicKeyText::parse(text) {
            Ok(PublicKeyText::VerifierKey(verifier)) => return self.finish(Some(&verifier)),
            Ok(PublicKeyText::Raw(raw)) => raw,
            Err(_) => {
                return self.finish_with_key_problem(
                    "the public key is neither a verifier key string nor base64 of 32 bytes",
                );
            }
        };
        let note = self
            .trailer
            .as_ref()
            .map(|t| t.checkpoint.note.clone())
            .unwrap_or_default();
        match LogVerifier::for_raw_key(raw, &note) {
            Some(verifier) => self.finish(Some(&verifier)),
            None => self
                .finish_with_key_problem("the checkpoint carries no signature by this public key"),
        }
    }

    /// Finishes without a usable key, reporting why instead of "no public key given".
    fn finish_with_key_problem(self, problem: &str) -> VerifyReport {
        let mut report = self.finish(None);
        report
            .problems
            .retain(|p| !p.problem.contains("no public key"));
        report.problems.push(VerifyProblem {
            seq: None,
            line: None,
            problem: problem.to_owned(),
        });
        report.ok = false;
        report
    }

    /// Finishes: checks the trailer's checkpoint against the recomputed root and, with `key`,
    /// its signature.
    pub fn finish(mut self, key: Option<&LogVerifier>) -> VerifyReport {
        let Some(trailer) = self.trailer.take() else {
            self.problem(None, "no checkpoint line at the end (truncated file?)");
            return self.report(None);
        };
        let checkpoint = &trailer.checkpoint;
        if self.range.is_none() {
            let first = self.first_seq.unwrap_or(checkpoint.tree_size);
            let hashes: Option<Vec<Hash>> =
                trailer.left_hashes.iter().map(|h| from_hex(h)).collect();
            match hashes.and_then(|h| CompactRange::from_parts(first, h)) {
                Some(range) => self.range = Some(range),
                None => {
                    self.problem(
                        None,
                        format!("left_hashes do not describe a tree of {first} entries"),
                    );
                    return self.report(Some(checkpoint));
                }
            }
            self.flush_leaves();
        }
        let (size, root) = match &self.range {
            Some(range) => (range.size(), range.root()),
            None => (0, crate::tree::empty_root()),
        };
        if checkpoint.tree_size != size {
            self.problem(
                None,
                format!(
                    "the checkpoint covers {} entries but the file reaches {size} (entries removed, added or the file cut)",
                    checkpoint.tree_size
                ),
            );
        } else if checkpoint.root_hash != to_hex(&root) {
            self.problem(
                None,
                "the root recomputed from the entries differs from the checkpoint's root",
            );
        }
        match key {
            None => self.problem(None, "signature not checked: no public key given"),
            Some(key) => match key.verify_note(&checkpoint.note) {
                Err(e) => self.problem(None, format!("checkpoint: {e}")),
                Ok(signed) => {
                    if signed.tree_size != checkpoint.tree_size
                        || to_hex(&signed.root_hash) != checkpoint.root_hash
                    {
                        self.problem(None, "the checkpoint's fields differ from its signed note");
                    }
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(&checkpoint.signature_b64)
                        .unwrap_or_default();
                    if !key.verify_body(&signed.body(), &raw) {
                        self.problem(None, "signature_b64 does not verify");
                    }
                }
            },
        }
        self.report(Some(checkpoint))
    }

    fn report(self, _checkpoint: Option<&CheckpointJson>) -> VerifyReport {
        let (size, root) = match &self.range {
            Some(range) => (range.size(), range.root()),
            None => (0, crate::tree::empty_root()),
        };
        VerifyReport {
            ok: self.problems.is_empty(),
            tree_size: size,
            root_hash: to_hex(&root),
            checked_entries: self.checked,
            withheld_entries: self.withheld,
            pruned_entries: self.pruned,
            problems: self.problems,
        }
    }
}

/// The API's checkpoint object for a signed checkpoint.
pub fn checkpoint_json(
    origin: &str,
    signed: &crate::store::SignedCheckpoint,
    key: &LogVerifier,
) -> CheckpointJson {
    CheckpointJson {
        origin: origin.to_owned(),
        tree_size: signed.tree_size,
        root_hash: to_hex(&signed.root_hash),
        timestamp: crate::entry::format_timestamp(signed.timestamp),
        key_id: key.key_id().iter().map(|b| format!("{b:02x}")).collect(),
        signature_b64: base64::engine::general_purpose::STANDARD.encode(signed.signature),
        note: signed.note.clone(),
    }
}

/// The export's last line.
pub fn trailer_line(
    checkpoint: CheckpointJson,
    left: &[Hash],
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&TrailerLine {
        checkpoint,
        left_hashes: left.iter().map(to_hex).collect(),
    })
}
