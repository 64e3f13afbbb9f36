//! The writer task: group commit of queued appends, with the changes they record, in one
//! transaction per batch; a refused change drops only its own request.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{
    Appended, Edge, Failure, Inner, LogError, MAX_ATTEMPTS, MAX_BATCH_ENTRIES, Receipt, Request,
    load_edge, sign,
};
use crate::store::{AppendBatch, AppendError, AuditStore, StoredEntry, TreeHead};
use crate::tiles::is_stored_level;
use crate::tree::leaf_hash;

/// Runs until every [`super::AuditLog`] handle is gone: takes what is queued as one batch and
/// answers each request once its batch committed (or failed).
pub(super) async fn writer<S: AuditStore + Send + Sync + 'static>(
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
                // Storage down: answer at once (a 503 at the edge) and read nothing now; the
                // next batch's size check reloads the edge if this one committed after all.
                let unavailable = matches!(&e, LogError::Store(s) if S::is_unavailable(s));
                for request in requests {
                    let failure = if unavailable {
                        Failure::Unavailable(message.clone())
                    } else {
                        Failure::Failed(message.clone())
                    };
                    let _ = request.reply.send(Err(failure));
                }
                if unavailable {
                    continue;
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
    let timestamp = crate::entry::format_timestamp(now);
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
            // `AuditLog::submit` queues no plain personal data; should one come, the batch fails.
            // The leaf is written from the queued entry as it is (no copy of its documents).
            let id = uuid::Uuid::now_v7().to_string();
            let body = new
                .canonical_json_at(seq, &id, &timestamp, &request.submitted_by)
                .map_err(<serde_json::Error as serde::ser::Error>::custom)?;
            let body = String::from_utf8(body)
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
                id: id.clone(),
                leaf_hash: leaf,
            });
            entries.push(StoredEntry {
                seq,
                id,
                timestamp_micros: micros,
                actor_type: new.actor.kind.clone(),
                actor_id: new.actor.id.clone(),
                action: new.action.clone(),
                resource_type: new.resource.kind.clone(),
                resource_id: new.resource.id.clone(),
                team_id: new.context.as_ref().and_then(|c| c.team_id.clone()),
                status: new.status.as_str().to_owned(),
                subject_id: new.subject_id.clone(),
                tags: new.compliance_tags.clone(),
                body,
                leaf_hash: leaf,
                pruned: None,
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
                let size = prepared.batch.head.size;
                inner
                    .stats
                    .batch_entries
                    .observe(u64::try_from(prepared.batch.entries.len()).unwrap_or(u64::MAX));
                inner
                    .stats
                    .committed(size, prepared.batch.checkpoint.timestamp);
                inner
                    .tiles
                    .committed(size, &prepared.batch.packed_tiles, &prepared.edge.buffers);
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
