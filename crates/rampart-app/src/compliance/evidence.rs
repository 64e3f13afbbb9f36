//! The evidence package of a report: `report.json` (the signed report as kept), the audit
//! export of the report's period (self-verifying: it ends with a checkpoint signed for
//! exactly its end and the hashes left of its start), that checkpoint as a signed note, the
//! configuration with secrets redacted, the public keys, and a signed `manifest.json` with the
//! SHA-256 of every file. `rampart compliance verify` checks it offline.

use futures_util::StreamExt as _;
use rampart_compliance::evidence::{Member, build_package};
use serde_json::json;
use time::OffsetDateTime;

use super::{ComplianceError, ComplianceService};

impl ComplianceService {
    /// The evidence package (a zip) of report `id`, assembled `now`.
    pub async fn evidence_package(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, ComplianceError> {
        let (stored, report) = self.report(id).await?;
        let period = &report.audit;
        let end = period.tree_size;
        let from = period.from_seq;
        let mut export = Vec::new();
        if end > 0 {
            let (_, stream) =
                crate::audit_export::export(&self.audit, Some(from), Some(end - 1), None)
                    .await
                    .map_err(ComplianceError::store)?;
            let mut stream = std::pin::pin!(stream);
            while let Some(chunk) = stream.next().await {
                export.extend_from_slice(&chunk.map_err(ComplianceError::store)?);
            }
        }
        let checkpoint = self
            .audit
            .checkpoint_at(end)
            .await
            .map_err(ComplianceError::store)?;
        if end == 0 {
            // The first report of a new deployment covers an empty log: its export is the
            // trailer alone, the checkpoint of size 0.
            let json = rampart_audit::export::checkpoint_json(
                self.audit.origin(),
                &checkpoint,
                self.audit.verifier(),
            );
            let line = rampart_audit::export::trailer_line(json, &[])
                .map_err(|e| ComplianceError::Signing(e.to_string()))?;
            export.extend_from_slice(line.as_bytes());
            export.push(b'\n');
        }
        let verifier = self.audit.verifier();
        let configuration = configuration_json(&self.settings.show(self.master_key_source));
        let keys = json!({
            "audit_log": {
                "verifier_key": verifier.verifier_key(),
                "public_key_b64": base64_std(&verifier.public_key),
                "origin": self.audit.origin(),
                "signs": "checkpoints, report.json, manifest.json",
            },
        });
        let members = vec![
            Member {
                name: "report.json".to_owned(),
                bytes: stored.document.into_bytes(),
            },
            Member {
                name: "audit-export.ndjson".to_owned(),
                bytes: export,
            },
            Member {
                name: "checkpoint.txt".to_owned(),
                bytes: checkpoint.note.into_bytes(),
            },
            Member {
                name: "configuration.json".to_owned(),
                bytes: pretty(&configuration),
            },
            Member {
                name: "public-keys.json".to_owned(),
                bytes: pretty(&keys),
            },
        ];
        build_package(
            report.id.as_str(),
            report.framework.as_str(),
            &rampart_compliance::rfc3339(now),
            members,
            |manifest| self.audit.sign_document(manifest),
        )
        .map_err(|e| ComplianceError::Signing(e.to_string()))
    }
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The effective settings (as `rampart config show` prints them, secrets `[REDACTED]`) as
/// JSON; the TOML text itself when it does not parse.
fn configuration_json(toml_text: &str) -> serde_json::Value {
    match toml::from_str::<toml::Table>(toml_text) {
        Ok(table) => serde_json::to_value(table).unwrap_or_else(|_| json!({"toml": toml_text})),
        Err(_) => json!({"toml": toml_text}),
    }
}
