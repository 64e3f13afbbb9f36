//! `rampart api-keys list|create|revoke|rotate` against the server.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::Format;
use super::client::Client;
use super::failure::Failure;
use super::output::{self, cell, when};

/// What `rampart api-keys` does.
#[derive(Debug, Subcommand)]
pub(crate) enum ApiKeysCommand {
    /// API keys' metadata (never the keys).
    List {
        /// Only the keys of this principal.
        #[arg(long, value_name = "ID")]
        principal: Option<String>,
    },
    /// Create an API key; the key is printed once.
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// A permission the key carries (repeatable, at least one); `*` means everything
        /// the principal holds.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        /// The principal the key acts as [default: the caller].
        #[arg(long, value_name = "ID")]
        principal: Option<String>,
        /// Days until the key expires.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// A client address range (CIDR) the key is accepted from (repeatable).
        #[arg(long = "allowed-ip", value_name = "CIDR")]
        allowed_ips: Vec<String>,
    },
    /// Revoke an API key at once.
    Revoke {
        /// The key's id.
        id: String,
    },
    /// Replace an API key with a new one (printed once); the old one keeps working for the
    /// grace period only.
    Rotate {
        /// The key's id.
        id: String,
        /// Seconds the old key keeps working.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        grace_seconds: u64,
    },
}

const HEADER: [&str; 9] = [
    "ID",
    "NAME",
    "PRINCIPAL",
    "SCOPES",
    "CREATED",
    "EXPIRES",
    "LAST_USED",
    "USES",
    "REVOKED",
];

fn row(k: &Value) -> Vec<String> {
    vec![
        cell(&k["id"]),
        cell(&k["name"]),
        cell(&k["principal_id"]),
        if k["scopes"].is_null() {
            "(all)".to_owned()
        } else {
            cell(&k["scopes"])
        },
        when(&k["created_at"]),
        when(&k["expires_at"]),
        when(&k["last_used_at"]),
        cell(&k["usage_count"]),
        cell(&k["revoked"]),
    ]
}

fn print_issued(k: &Value) -> Result<(), Failure> {
    output::fields(&[
        ("id", cell(&k["id"])),
        ("name", cell(&k["name"])),
        ("principal", cell(&k["principal_id"])),
        ("scopes", cell(&k["scopes"])),
        ("expires", when(&k["expires_at"])),
        ("key", cell(&k["key"])),
    ])?;
    eprintln!("note: the key is shown once; store it now");
    Ok(())
}

/// Runs `command`.
pub(crate) async fn run(
    client: &Client,
    format: Format,
    command: ApiKeysCommand,
) -> Result<(), Failure> {
    match command {
        ApiKeysCommand::List { principal } => {
            let query: Vec<(&str, String)> =
                principal.into_iter().map(|p| ("principal_id", p)).collect();
            let (items, _) = client.list(&["v1", "api-keys"], &query, None).await?;
            output::show(format, &json!({ "items": items }), |_| {
                output::table(&HEADER, &items.iter().map(row).collect::<Vec<_>>())
            })
        }
        ApiKeysCommand::Create {
            name,
            scopes,
            principal,
            expires_in_days,
            allowed_ips,
        } => {
            let mut body = Map::new();
            body.insert("name".to_owned(), json!(name));
            body.insert("scopes".to_owned(), json!(scopes));
            if let Some(principal) = principal {
                body.insert("principal_id".to_owned(), json!(principal));
            }
            if let Some(days) = expires_in_days {
                body.insert("expires_in_days".to_owned(), json!(days));
            }
            if !allowed_ips.is_empty() {
                body.insert("allowed_ips".to_owned(), json!(allowed_ips));
            }
            let issued = client
                .call(
                    Method::POST,
                    &["v1", "api-keys"],
                    &[],
                    Some(&Value::Object(body)),
                )
                .await?;
            output::show(format, &issued, print_issued)
        }
        ApiKeysCommand::Revoke { id } => {
            let answer = client
                .call(Method::DELETE, &["v1", "api-keys", &id], &[], None)
                .await?;
            output::show(format, &answer, |a| {
                output::line(&format!("revoked {}", cell(&a["id"])))
            })
        }
        ApiKeysCommand::Rotate { id, grace_seconds } => {
            let issued = client
                .call(
                    Method::POST,
                    &["v1", "api-keys", &id, "rotate"],
                    &[],
                    Some(&json!({ "grace_seconds": grace_seconds })),
                )
                .await?;
            output::show(format, &issued, print_issued)
        }
    }
}
