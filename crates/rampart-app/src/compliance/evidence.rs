//! The evidence package of a report: `report.json` (the signed report as kept), the audit
//! export of the report's period (self-verifying: it ends with a checkpoint signed for
//! exactly its end and the hashes left of its start), that checkpoint as a signed note, the
//! configuration with secrets redacted, the public keys, and a signed `manifest.json` with the
//! SHA-256 of every file. `rampart compliance verify` checks it offline.

use std::io::{Seek as _, SeekFrom};
use std::path::Path;

use futures_util::StreamExt as _;
use rampart_compliance::evidence::{
    AUDIT_EXPORT, CHECKPOINT, CONFIGURATION, MemberSource, PUBLIC_KEYS, REPORT, write_package,
};
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;

use super::{ComplianceError, ComplianceService};

/// An evidence package, written to an unnamed temporary file: nothing on disk names it, and
/// its space is freed when `file` is closed (however the download ends).
#[derive(Debug)]
pub struct EvidencePackage {
    /// The zip, positioned at its start.
    pub file: std::fs::File,
    /// Its length in bytes.
    pub len: u64,
}

impl ComplianceService {
    /// The evidence package (a zip) of report `id`, assembled `now`, in constant memory: the
    /// audit export of the report's period is written to a temporary file as it is read, then
    /// the zip to another (on a blocking thread), the export copied into it in chunks.
    /// Temporary files go to the data dir (the system's temporary dir when it cannot hold
    /// them), unnamed.
    pub async fn evidence_package(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<EvidencePackage, ComplianceError> {
        let (stored, report) = self.report(id).await?;
        let period = &report.audit;
        let end = period.tree_size;
        let from = period.from_seq;
        let dir = self.settings.data_dir.clone();
        let export = blocking({
            let dir = dir.clone();
            move || temp_file(&dir)
        })
        .await?;
        let checkpoint = self
            .audit
            .checkpoint_at(end)
            .await
            .map_err(ComplianceError::store)?;
        let mut export = tokio::fs::File::from_std(export);
        if end > 0 {
            let (_, stream) =
                crate::audit_export::export(&self.audit, Some(from), Some(end - 1), None)
                    .await
                    .map_err(ComplianceError::store)?;
            let mut stream = std::pin::pin!(stream);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(ComplianceError::store)?;
                export
                    .write_all(&chunk)
                    .await
                    .map_err(ComplianceError::store)?;
            }
        } else {
            // The first report of a new deployment covers an empty log: its export is the
            // trailer alone, the checkpoint of size 0.
            let json = rampart_audit::export::checkpoint_json(
                self.audit.origin(),
                &checkpoint,
                self.audit.verifier(),
            );
            let line = rampart_audit::export::trailer_line(json, &[])
                .map_err(|e| ComplianceError::Signing(e.to_string()))?;
            export
                .write_all(format!("{line}\n").as_bytes())
                .await
                .map_err(ComplianceError::store)?;
        }
        export.flush().await.map_err(ComplianceError::store)?;
        let export = export.into_std().await;
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
            MemberSource::bytes(REPORT, stored.document.into_bytes()),
            MemberSource::file(AUDIT_EXPORT, export),
            MemberSource::bytes(CHECKPOINT, checkpoint.note.into_bytes()),
            MemberSource::bytes(CONFIGURATION, pretty(&configuration)),
            MemberSource::bytes(PUBLIC_KEYS, pretty(&keys)),
        ];
        let audit = self.audit.clone();
        let created_at = rampart_compliance::rfc3339(now);
        blocking(move || {
            let out = temp_file(&dir)?;
            let mut file = write_package(
                out,
                report.id.as_str(),
                report.framework.as_str(),
                &created_at,
                members,
                |manifest| audit.sign_document(manifest),
            )
            .map_err(|e| ComplianceError::Signing(e.to_string()))?;
            let len = file
                .stream_position()
                .and_then(|len| file.seek(SeekFrom::Start(0)).map(|_| len))
                .map_err(ComplianceError::store)?;
            Ok(EvidencePackage { file, len })
        })
        .await
    }
}

/// An unnamed temporary file in `dir`, else in the system's temporary dir.
fn temp_file(dir: &Path) -> Result<std::fs::File, ComplianceError> {
    tempfile::tempfile_in(dir)
        .or_else(|_| tempfile::tempfile())
        .map_err(ComplianceError::store)
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ComplianceError> + Send + 'static,
) -> Result<T, ComplianceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ComplianceError::store)?
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
