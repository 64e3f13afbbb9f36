//! An incident's evidence: its audit entries, each with an inclusion proof against one signed
//! checkpoint, so the whole can be verified offline with no Rampart code (RFC 6962 hashing,
//! the C2SP signed note with the log's public key). Entries pruned under retention have no
//! content left: they are listed apart, with what is left of them.

use rampart_audit::entry::format_timestamp;
use rampart_audit::export::checkpoint_json;
use rampart_audit::tree::to_hex;
use rampart_audit::{AuditStore, ReadError};
use rampart_monitor::MonitorStore;
use serde_json::{Value, json};

use super::{MonitorError, MonitorService};

/// Most entries evidence carries.
pub const MAX_EVIDENCE_ENTRIES: usize = 1_000;

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// The evidence of incident `id`: `{"incident_id", "checkpoint", "entries": [{"seq",
    /// "entry", "canonical", "leaf_hash", "proof": {"tree_size", "hashes"}}], "pruned_entries":
    /// [{"seq", "leaf_hash", "pruned_at", "certificate_id"}]}`: an entry pruned under retention
    /// is not among `entries` (its content is deleted) but in `pruned_entries`.
    pub async fn evidence(&self, id: &str) -> Result<Value, MonitorError> {
        let incident = self.incident(id).await?;
        let log = self.audit();
        let signed = log.latest_checkpoint().await.map_err(MonitorError::store)?;
        let checkpoint = checkpoint_json(log.origin(), &signed, log.verifier());
        let tree_size = signed.tree_size;
        let mut entries = Vec::new();
        let mut pruned_entries = Vec::new();
        for seq in incident
            .entry_seqs
            .iter()
            .copied()
            .filter(|seq| *seq < tree_size)
            .take(MAX_EVIDENCE_ENTRIES)
        {
            let stored = match log.entry_for(seq, None).await {
                Ok(stored) => stored,
                Err(ReadError::Pruned {
                    seq,
                    leaf_hash,
                    pruned,
                }) => {
                    pruned_entries.push(json!({
                        "seq": seq,
                        "leaf_hash": to_hex(&leaf_hash),
                        "pruned_at": format_timestamp(pruned.pruned_at),
                        "certificate_id": pruned.certificate_id,
                    }));
                    continue;
                }
                Err(e) => return Err(read_error(e)),
            };
            let proof = log
                .prove_inclusion(seq, Some(tree_size))
                .await
                .map_err(read_error)?;
            let entry: Value = serde_json::from_str(&stored.body).map_err(MonitorError::store)?;
            entries.push(json!({
                "seq": seq,
                "entry": entry,
                // The leaf's exact input (RFC 8785), for verifiers that do not canonicalize.
                "canonical": stored.body,
                "leaf_hash": to_hex(&proof.leaf_hash),
                "proof": {
                    "tree_size": proof.tree_size,
                    "hashes": proof.hashes.iter().map(to_hex).collect::<Vec<_>>(),
                },
            }));
        }
        Ok(json!({
            "incident_id": incident.id.to_text(),
            "checkpoint": {
                "origin": checkpoint.origin,
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "timestamp": checkpoint.timestamp,
                "key_id": checkpoint.key_id,
                "signature_b64": checkpoint.signature_b64,
                "note": checkpoint.note,
            },
            "entries": entries,
            "pruned_entries": pruned_entries,
        }))
    }
}

fn read_error<E: std::error::Error + Send + Sync + 'static>(error: ReadError<E>) -> MonitorError {
    MonitorError::Store(Box::new(error))
}
