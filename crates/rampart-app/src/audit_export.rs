//! The NDJSON export of the audit log, shared by `GET /v1/audit/export` and `rampart audit
//! export`: the log plans it ([`AuditLog::plan_export`]: range checks, a checkpoint signed for
//! exactly the end of the range, the hashes left of its start), then entries are read in chunks
//! and streamed (constant memory), the trailer last.

use bytes::Bytes;
use futures_util::Stream;
use rampart_audit::{AuditLog, AuditStore, ReadError};

/// Entries read per query.
const CHUNK: u64 = 2_000;

/// What an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    /// First seq (inclusive).
    pub from: u64,
    /// One past the last seq.
    pub end: u64,
}

/// Plans an export of `[from_seq, to_seq]` (defaults: the whole log) and returns its stream.
/// With `visible_teams` (a reader under team isolation), entries of other teams, and entries
/// without a team, are withheld: their lines carry only `seq` and the leaf hash, so the file
/// still verifies against the checkpoint without revealing them.
pub async fn export<S: AuditStore + Send + Sync + 'static>(
    log: &AuditLog<S>,
    from_seq: Option<u64>,
    to_seq: Option<u64>,
    visible_teams: Option<Vec<String>>,
) -> Result<
    (
        ExportRange,
        impl Stream<Item = Result<Bytes, std::io::Error>> + use<S>,
    ),
    ReadError<S::Error>,
> {
    let plan = log.plan_export(from_seq, to_seq).await?;
    let (from, end) = (plan.range.start, plan.range.end);
    let stream = futures_util::stream::unfold(
        (log.clone(), from, end, Some(plan.trailer), visible_teams),
        |(log, next, end, trailer, teams)| async move {
            if next < end {
                let stop = end.min(next.saturating_add(CHUNK));
                match log.export_lines(next..stop, teams.as_deref()).await {
                    Ok(text) => Some((Ok(Bytes::from(text)), (log, stop, end, trailer, teams))),
                    Err(e) => {
                        tracing::error!(error = %e, "audit export failed mid-stream");
                        Some((
                            Err(std::io::Error::other("audit export failed")),
                            (log, end, end, None, None),
                        ))
                    }
                }
            } else {
                trailer.map(|line| (Ok(Bytes::from(line)), (log, end, end, None, None)))
            }
        },
    );
    Ok((ExportRange { from, end }, stream))
}
