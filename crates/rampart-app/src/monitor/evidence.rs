//! An incident's evidence: its audit entries, each with an inclusion proof against one signed
//! checkpoint, so the whole can be verified offline with no Rampart code (RFC 6962 hashing,
//! the C2SP signed note with the log's public key).

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
    /// "entry", "canonical", "leaf_hash", "proof": {"tree_size", "hashes"}}]}`.
    pub async fn evidence(&self, id: &str) -> Result<Value, MonitorError> {
        let incident = self.incident(id).await?;
        let log = self.audit();
        let signed = log.latest_checkpoint().await.map_err(MonitorError::store)?;
        let checkpoint = checkpoint_json(log.origin(), &signed, log.verifier());
        let tree_size = signed.tree_size;
        let mut entries = Vec::new();
        for seq in incident
            .entry_seqs
            .iter()
            .copied()
            .filter(|seq| *seq < tree_size)
            .take(MAX_EVIDENCE_ENTRIES)
        {
            let stored = log.entry_for(seq, None).await.map_err(read_error)?;
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
        }))
    }
}

fn read_error<E: std::error::Error + Send + Sync + 'static>(error: ReadError<E>) -> MonitorError {
    MonitorError::Store(Box::new(error))
}
