//! `rampart admin-key create`: the break-glass path when every admin key is lost. The work is
//! the app layer's (`rampart_app::break_glass`); this prints the key once, as `init` does.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;
use rampart_app::break_glass::{self, Operator};
use time::OffsetDateTime;

use crate::cli::StoreArgs;

/// `rampart admin-key ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminKeyCommand {
    /// Mint a new admin API key (principal `bootstrap-admin`) straight into the store, with the
    /// master key in hand (RAMPART_MASTER_KEY or the data dir's master.key). Printed once;
    /// audited as `admin_key.break_glass`. Safe while servers run on the same deployment.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The key's name, as `GET /v1/api-keys` lists it.
        #[arg(long, default_value = "break-glass")]
        name: String,
        /// Print the result as JSON: {"admin_api_key", "key_id", "name", "principal_id",
        /// "audit_seq"}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `command`.
pub(crate) async fn run(config: Option<&PathBuf>, command: AdminKeyCommand) -> anyhow::Result<()> {
    let AdminKeyCommand::Create { store, name, json } = command;
    let loaded = crate::load(config, &store.flags())?;
    crate::init_logging(&loaded.settings);
    let minted =
        break_glass::create_admin_key(&loaded, &name, &operator(), OffsetDateTime::now_utc())
            .await?;
    let mut out = std::io::stdout().lock();
    if json {
        let body = serde_json::json!({
            "admin_api_key": minted.key.expose(),
            "key_id": minted.key_id.to_string(),
            "name": minted.name,
            "principal_id": minted.principal_id.to_string(),
            "audit_seq": minted.audit_seq,
        });
        writeln!(out, "{body}")?;
    } else {
        writeln!(
            out,
            "Minted a break-glass admin API key for '{}' (key id {}, name '{}'), audited as {} (entry {}).",
            break_glass::BREAK_GLASS_PRINCIPAL,
            minted.key_id,
            minted.name,
            break_glass::BREAK_GLASS_ACTION,
            minted.audit_seq
        )?;
        writeln!(
            out,
            "  admin API key: {} (shown once: store it now)",
            minted.key.expose()
        )?;
        writeln!(
            out,
            "  revoke keys you no longer trust: DELETE /v1/api-keys/{{id}}"
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The host and user running the command, for the audit entry.
fn operator() -> Operator {
    use std::os::unix::fs::MetadataExt as _;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            std::fs::metadata("/proc/self")
                .ok()
                .map(|m| format!("uid {}", m.uid()))
        });
    Operator { host, user }
}
