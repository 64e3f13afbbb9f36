//! The NDJSON export of the audit log, shared by `GET /v1/audit/export` and `rampart audit
//! export`: entries read in chunks and streamed (constant memory), then the trailer with a
//! checkpoint signed for exactly the end of the range and the hashes left of its start.

use bytes::Bytes;
use futures_util::Stream;
use rampart_audit::export::{checkpoint_json, entry_line, trailer_line, withheld_line};
use rampart_audit::{AuditLog, AuditStore, LogError};
use rampart_store::{Store, StoreError};

/// Entries read per query.
const CHUNK: u64 = 2_000;

/// Why an export cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The requested range is not inside the log.
    #[error("{message}")]
    Range {
        /// The bound at fault: `from_seq` or `to_seq`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The log failed.
    #[error(transparent)]
    Log(#[from] LogError<StoreError>),
    /// The trailer could not be encoded.
    #[error("cannot encode the checkpoint line: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    /// First seq (inclusive).
    pub from: u64,
    /// One past the last seq.
    pub end: u64,
}

/// Whether a reader limited to `teams` (see `routes::audit::visible_teams`) may see an entry of `team`.
pub fn may_see(teams: Option<&[String]>, team: Option<&str>) -> bool {
    match teams {
        None => true,
        Some(teams) => team.is_some_and(|team| teams.iter().any(|t| t == team)),
    }
}

/// Plans an export of `[from_seq, to_seq]` (defaults: the whole log) and returns its stream.
/// With `visible_teams` (a reader under team isolation), entries of other teams, and entries
/// without a team, are withheld: their lines carry only `seq` and the leaf hash, so the file
/// still verifies against the checkpoint without revealing them.
pub async fn export(
    log: &AuditLog<Store>,
    store: &Store,
    from_seq: Option<u64>,
    to_seq: Option<u64>,
    visible_teams: Option<Vec<String>>,
) -> Result<
    (
        ExportRange,
        impl Stream<Item = Result<Bytes, std::io::Error>> + use<>,
    ),
    ExportError,
> {
    let size = log.head().await?.size;
    let from = from_seq.unwrap_or(0);
    let end = match to_seq {
        Some(to) if to >= size => {
            return Err(ExportError::Range {
                field: "to_seq",
                message: format!("to_seq {to} is beyond the log, which has {size} entries"),
            });
        }
        Some(to) => to + 1,
        None => size,
    };
    if from > end || (from == end && from_seq.is_some() && size > 0) {
        return Err(ExportError::Range {
            field: "from_seq",
            message: format!("from_seq {from} is after the end of the range"),
        });
    }
    let checkpoint = log.checkpoint_at(end).await?;
    let left = log.left_hashes(from).await?;
    let trailer = trailer_line(
        checkpoint_json(log.origin(), &checkpoint, log.verifier()),
        &left,
    )? + "\n";
    let range = ExportRange { from, end };
    let store = store.clone();
    let stream = futures_util::stream::unfold(
        (store, from, end, Some(trailer), visible_teams),
        |(store, next, end, trailer, teams)| async move {
            if next < end {
                let stop = end.min(next.saturating_add(CHUNK));
                match store.entries(next..stop).await {
                    Ok(rows) => {
                        let mut text = String::with_capacity(rows.len() * 600);
                        for row in &rows {
                            if may_see(teams.as_deref(), row.team_id.as_deref()) {
                                text.push_str(&entry_line(&row.body, &row.leaf_hash));
                            } else {
                                text.push_str(&withheld_line(row.seq, &row.leaf_hash));
                            }
                            text.push('\n');
                        }
                        Some((Ok(Bytes::from(text)), (store, stop, end, trailer, teams)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit export failed mid-stream");
                        Some((
                            Err(std::io::Error::other("audit export failed")),
                            (store, end, end, None, None),
                        ))
                    }
                }
            } else {
                trailer.map(|line| (Ok(Bytes::from(line)), (store, end, end, None, None)))
            }
        },
    );
    Ok((range, stream))
}
