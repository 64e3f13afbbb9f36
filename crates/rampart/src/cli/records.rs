//! Subcommands over records and evidence: compliance reports and evidence packages, retention
//! policies, runs and certificates, data subjects' exports and erasure certificates.

use std::path::PathBuf;

use clap::Subcommand;

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum ComplianceCommand {
    /// Evaluate a framework against the deployment now: a table for a terminal, or the report
    /// as JSON (signed), one self-contained HTML page, or OSCAL assessment results.
    Report {
        #[command(flatten)]
        store: StoreArgs,
        /// soc2, pci-dss, hipaa, gdpr or mifid2.
        #[arg(long)]
        framework: String,
        /// json, html or oscal (default: a table).
        #[arg(long, value_parser = ["json", "html", "oscal"])]
        format: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check an evidence package (GET /v1/compliance/reports/{id}/evidence) offline: the signed
    /// manifest, every member's SHA-256, the report's signature, the audit export against its
    /// checkpoint. Exits 0 only when everything verifies; names each member that does not.
    Verify {
        /// The package (zip).
        file: PathBuf,
        /// The log's key (`verifier_key` or `public_key_b64` of `GET /v1/audit/public-key`);
        /// without it, the key inside the package is used, which proves integrity, not origin.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// The retention policies, by data type.
    Policies {
        #[command(flatten)]
        store: StoreArgs,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Dispose of what is past its policy (audit entries are pruned, their leaf hashes kept),
    /// skipping held records; a certificate per data type disposed of.
    Run {
        #[command(flatten)]
        store: StoreArgs,
        /// Count only, dispose of nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run as the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a disposal certificate (GET /v1/retention/certificates) offline with the audit
    /// log's key. Exits 0 only when it holds.
    VerifyCertificate {
        /// The certificate (JSON).
        file: PathBuf,
        /// The log's key: `verifier_key` or `public_key_b64` of `GET /v1/audit/public-key`.
        #[arg(long, value_name = "KEY")]
        public_key: String,
        /// Print {"ok", "problems"}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GdprCommand {
    /// Verify a subject's export (GET /v1/subjects/{id}/export) offline: its signature by the
    /// audit log's key, and every entry's leaf hash and subject. Exits 0 only when all hold.
    VerifyExport {
        /// The export (JSON).
        file: PathBuf,
        /// The log's key: `verifier_key` or `public_key_b64` of `GET /v1/audit/public-key`.
        #[arg(long, value_name = "KEY")]
        public_key: String,
        /// Print {"ok", "problems"}.
        #[arg(long)]
        json: bool,
    },
    /// Verify an erasure certificate (GET /v1/erasures/{id}) offline with the audit log's key.
    VerifyCertificate {
        /// The certificate (JSON).
        file: PathBuf,
        /// The log's key: `verifier_key` or `public_key_b64` of `GET /v1/audit/public-key`.
        #[arg(long, value_name = "KEY")]
        public_key: String,
        /// Print {"ok", "problems"}.
        #[arg(long)]
        json: bool,
    },
    /// After restoring a backup: destroy again the subject keys of every erasure the store
    /// records and of every `gdpr.erasure` entry of an audit export made after the backup.
    ReplayErasures {
        #[command(flatten)]
        store: StoreArgs,
        /// An audit export (NDJSON) newer than the backup; verify it first with `rampart audit verify`.
        #[arg(long, value_name = "FILE")]
        from_export: Option<PathBuf>,
    },
}
