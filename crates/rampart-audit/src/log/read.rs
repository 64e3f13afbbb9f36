//! The query side of [`AuditLog`]: reads for a reader, with team isolation applied where the
//! entries are loaded, and the range checks of proofs and exports.
//!
//! Authorization stays with the caller (the permission proof is checked at the edge); these
//! methods take the reader's visible teams as a plain value: `None` for readers whose roles
//! bypass team isolation, else their teams. A reader never receives an entry it may not see.

use std::ops::Range;

use super::{AuditLog, LogError};
use crate::export::{checkpoint_json, entry_line, pruned_line, trailer_line, withheld_line};
use crate::store::{AuditStore, EntryFilter, MAX_SEQ, Pruned, StoredEntry};
use crate::tree::Hash;

/// Why a read was not answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: std::error::Error + 'static> {
    /// The reader filtered on a team it is not a member of (team isolation).
    #[error("audit:read for team '{0}' (team isolation: the caller is not a member)")]
    OtherTeam(String),
    /// The seq is beyond anything the log can ever hold.
    #[error("no audit entry with that seq")]
    Unreachable,
    /// No entry at this seq that the reader may see (another team's entry is answered alike).
    #[error("no audit entry {0}")]
    NoEntry(u64),
    /// The entry at this seq was pruned under retention: its content is gone for good, its leaf
    /// hash kept (its inclusion proof still verifies).
    #[error("audit entry {seq} was pruned under retention")]
    Pruned {
        /// The entry's seq.
        seq: u64,
        /// Its leaf hash.
        leaf_hash: Hash,
        /// When, and under which disposal certificate.
        pruned: Pruned,
    },
    /// A requested seq or size is outside the log (the field at fault and why).
    #[error("{field}: {message}")]
    OutOfRange {
        /// The request field at fault (`tree_size`, `seq`, `from`, `to`, `from_seq`, `to_seq`).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The log failed.
    #[error(transparent)]
    Log(#[from] LogError<E>),
}

/// Whether a reader limited to `teams` (`None`: bypasses team isolation) may see an entry of
/// `team`. Entries without a team (Rampart's own) stay with readers that bypass isolation.
pub fn may_see(teams: Option<&[String]>, team: Option<&str>) -> bool {
    match teams {
        None => true,
        Some(teams) => team.is_some_and(|team| teams.iter().any(|t| t == team)),
    }
}

/// An inclusion proof (RFC 9162 §2.1.3) and what it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf.
    pub seq: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The leaf hash.
    pub leaf_hash: Hash,
    /// The audit path, leaf to root.
    pub hashes: Vec<Hash>,
}

/// A consistency proof (RFC 9162 §2.1.4) and the sizes it links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof.
    pub hashes: Vec<Hash>,
}

/// A planned export: the seqs it covers and its last line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPlan {
    /// The seqs exported: `from` inclusive, `end` exclusive.
    pub range: Range<u64>,
    /// The trailer line (a checkpoint for exactly `range.end` and the hashes left of
    /// `range.start`), with its newline.
    pub trailer: String,
}

impl<S: AuditStore + Send + Sync + 'static> AuditLog<S> {
    /// Entries matching `filter` that a reader limited to `visible_teams` may see, in the
    /// filter's order, at most `filter.limit`. A filter on a team outside `visible_teams` is
    /// [`ReadError::OtherTeam`].
    pub async fn entries_for(
        &self,
        mut filter: EntryFilter,
        visible_teams: Option<Vec<String>>,
    ) -> Result<Vec<StoredEntry>, ReadError<S::Error>> {
        if let (Some(teams), Some(team)) = (&visible_teams, &filter.team_id)
            && !teams.contains(team)
        {
            return Err(ReadError::OtherTeam(team.clone()));
        }
        filter.visible_teams = visible_teams;
        self.inner
            .store
            .query(&filter)
            .await
            .map_err(|e| ReadError::Log(LogError::Store(e)))
    }

    /// How many entries match `filter` (for every team: callers check who may count).
    pub async fn count(&self, filter: &EntryFilter) -> Result<u64, ReadError<S::Error>> {
        self.inner
            .store
            .count(filter)
            .await
            .map_err(|e| ReadError::Log(LogError::Store(e)))
    }

    /// The entry at `seq`, if a reader limited to `visible_teams` may see it: another team's
    /// entry is [`ReadError::NoEntry`], as if it did not exist. A pruned entry is
    /// [`ReadError::Pruned`] for every reader: its team is gone with its content, and what is
    /// left (seq, leaf hash, when, under which certificate) reveals nothing of it.
    pub async fn entry_for(
        &self,
        seq: u64,
        visible_teams: Option<&[String]>,
    ) -> Result<StoredEntry, ReadError<S::Error>> {
        // A seq the log can never reach (it fills at MAX_SEQ entries) is simply absent.
        let end = seq
            .checked_add(1)
            .filter(|end| *end <= MAX_SEQ)
            .ok_or(ReadError::Unreachable)?;
        let rows = self
            .inner
            .store
            .entries(seq..end)
            .await
            .map_err(|e| ReadError::Log(LogError::Store(e)))?;
        let row = rows
            .into_iter()
            .next()
            .filter(|row| row.seq == seq)
            .ok_or(ReadError::NoEntry(seq))?;
        if let Some(pruned) = row.pruned {
            return Err(ReadError::Pruned {
                seq,
                leaf_hash: row.leaf_hash,
                pruned,
            });
        }
        if may_see(visible_teams, row.team_id.as_deref()) {
            Ok(row)
        } else {
            Err(ReadError::NoEntry(seq))
        }
    }

    /// The committed size, and `requested` checked against it (default: the committed size).
    async fn size_within(
        &self,
        requested: Option<u64>,
        field: &'static str,
    ) -> Result<u64, ReadError<S::Error>> {
        // Sizes up to what this server committed need no read: the committed size only grows.
        if let Some(size) = requested.filter(|&size| size <= self.inner.tiles.committed_size()) {
            return Ok(size);
        }
        let current = self.head().await?.size;
        match requested {
            Some(size) if size > current => Err(ReadError::OutOfRange {
                field,
                message: format!("the log has {current} entries"),
            }),
            Some(size) => Ok(size),
            None => Ok(current),
        }
    }

    /// The inclusion proof of `seq` in the tree of `tree_size` (default: the committed size).
    pub async fn prove_inclusion(
        &self,
        seq: u64,
        tree_size: Option<u64>,
    ) -> Result<InclusionProof, ReadError<S::Error>> {
        let tree_size = self.size_within(tree_size, "tree_size").await?;
        match self.inclusion_proof(seq, tree_size).await? {
            Ok((leaf_hash, hashes)) => Ok(InclusionProof {
                seq,
                tree_size,
                leaf_hash,
                hashes,
            }),
            Err(e) => Err(ReadError::OutOfRange {
                field: "seq",
                message: e.to_string(),
            }),
        }
    }

    /// The consistency proof between sizes `from` and `to` (default: the committed size).
    pub async fn prove_consistency(
        &self,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, ReadError<S::Error>> {
        let to = self.size_within(to, "to").await?;
        match self.consistency_proof(from, to).await? {
            Ok(hashes) => Ok(ConsistencyProof { from, to, hashes }),
            Err(e) => Err(ReadError::OutOfRange {
                field: "from",
                message: e.to_string(),
            }),
        }
    }

    /// Plans an export of `[from_seq, to_seq]` (defaults: the whole log): checks the range
    /// and signs the checkpoint for exactly its end.
    pub async fn plan_export(
        &self,
        from_seq: Option<u64>,
        to_seq: Option<u64>,
    ) -> Result<ExportPlan, ReadError<S::Error>> {
        let size = self.head().await?.size;
        let from = from_seq.unwrap_or(0);
        let end = match to_seq {
            Some(to) if to >= size => {
                return Err(ReadError::OutOfRange {
                    field: "to_seq",
                    message: format!("to_seq {to} is beyond the log, which has {size} entries"),
                });
            }
            Some(to) => to + 1,
            None => size,
        };
        if from > end || (from == end && from_seq.is_some() && size > 0) {
            return Err(ReadError::OutOfRange {
                field: "from_seq",
                message: format!("from_seq {from} is after the end of the range"),
            });
        }
        let checkpoint = self.checkpoint_at(end).await?;
        let left = self.left_hashes(from).await?;
        let trailer = trailer_line(
            checkpoint_json(self.origin(), &checkpoint, self.verifier()),
            &left,
        )
        .map_err(LogError::Encode)?
            + "\n";
        Ok(ExportPlan {
            range: from..end,
            trailer,
        })
    }

    /// The export lines of the entries in `range`, one a line: entries a reader limited to
    /// `visible_teams` may not see become withheld lines (`seq` and leaf hash only), so the
    /// export still verifies against its checkpoint without revealing them; pruned entries
    /// become pruned lines (`seq` and leaf hash only), for every reader.
    pub async fn export_lines(
        &self,
        range: Range<u64>,
        visible_teams: Option<&[String]>,
    ) -> Result<String, LogError<S::Error>> {
        let rows = self
            .inner
            .store
            .entries(range)
            .await
            .map_err(LogError::Store)?;
        let mut text = String::with_capacity(rows.len() * 600);
        for row in &rows {
            if row.pruned.is_some() {
                text.push_str(&pruned_line(row.seq, &row.leaf_hash));
            } else if may_see(visible_teams, row.team_id.as_deref()) {
                text.push_str(&entry_line(&row.body, &row.leaf_hash));
            } else {
                text.push_str(&withheld_line(row.seq, &row.leaf_hash));
            }
            text.push('\n');
        }
        Ok(text)
    }
}
