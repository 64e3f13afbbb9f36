//! `rampart principals ...` against the server.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::Format;
use super::client::Client;
use super::failure::Failure;
use super::output::{self, cell, when};
use super::session::read_secret;

/// What `rampart principals` does.
#[derive(Debug, Subcommand)]
pub(crate) enum PrincipalsCommand {
    /// Every principal.
    List,
    /// One principal.
    Show {
        /// The principal's id.
        id: String,
    },
    /// Create a principal (a user that logs in needs --password-stdin).
    Create {
        /// user, service, device or ai_agent.
        #[arg(long = "type", value_name = "TYPE", default_value = "user")]
        kind: String,
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Contact address.
        #[arg(long)]
        email: Option<String>,
        /// A role of the policy (repeatable; default: the `default_roles` setting).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// A team (repeatable).
        #[arg(long = "team", value_name = "TEAM")]
        teams: Vec<String>,
        /// Read a password from standard input (first line), or prompt on a terminal.
        #[arg(long)]
        password_stdin: bool,
        /// The principal who answers for this one (an AI agent's owner).
        #[arg(long, value_name = "ID")]
        owner: Option<String>,
    },
    /// Replace a principal's roles or teams, or change its email.
    Update {
        /// The principal's id.
        id: String,
        /// The roles, replacing the current ones (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// The teams, replacing the current ones (repeatable).
        #[arg(long = "team", value_name = "TEAM")]
        teams: Vec<String>,
        /// A new contact address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable a principal: its sessions and API keys stop working at once (history stays).
    Disable {
        /// The principal's id.
        id: String,
    },
    /// Enable a disabled principal again.
    Enable {
        /// The principal's id.
        id: String,
    },
    /// Lift a lockout after failed logins.
    Unlock {
        /// The principal's id.
        id: String,
    },
}

const HEADER: [&str; 7] = [
    "ID", "TYPE", "NAME", "ROLES", "TEAMS", "DISABLED", "CREATED",
];

fn row(p: &Value) -> Vec<String> {
    vec![
        cell(&p["id"]),
        cell(&p["type"]),
        cell(&p["name"]),
        cell(&p["roles"]),
        cell(&p["teams"]),
        cell(&p["disabled"]),
        when(&p["created_at"]),
    ]
}

fn print_one(p: &Value) -> Result<(), Failure> {
    output::fields(&[
        ("id", cell(&p["id"])),
        ("type", cell(&p["type"])),
        ("name", cell(&p["name"])),
        ("email", cell(&p["email"])),
        ("roles", cell(&p["roles"])),
        ("teams", cell(&p["teams"])),
        ("disabled", cell(&p["disabled"])),
        ("has password", cell(&p["has_password"])),
        ("totp enabled", cell(&p["totp_enabled"])),
        ("locked until", when(&p["locked_until"])),
        ("owner", cell(&p["owner_id"])),
        ("created", when(&p["created_at"])),
    ])
}

/// Runs `command`.
pub(crate) async fn run(
    client: &Client,
    format: Format,
    command: PrincipalsCommand,
) -> Result<(), Failure> {
    let answer = match command {
        PrincipalsCommand::List => {
            let (items, _) = client.list(&["v1", "principals"], &[], None).await?;
            return output::show(format, &json!({ "items": items }), |_| {
                output::table(&HEADER, &items.iter().map(row).collect::<Vec<_>>())
            });
        }
        PrincipalsCommand::Show { id } => client.get(&["v1", "principals", &id], &[]).await?,
        PrincipalsCommand::Create {
            kind,
            name,
            email,
            roles,
            teams,
            password_stdin,
            owner,
        } => {
            let mut body = Map::new();
            body.insert("type".to_owned(), json!(kind));
            body.insert("name".to_owned(), json!(name));
            if let Some(email) = email {
                body.insert("email".to_owned(), json!(email));
            }
            if !roles.is_empty() {
                body.insert("roles".to_owned(), json!(roles));
            }
            if !teams.is_empty() {
                body.insert("teams".to_owned(), json!(teams));
            }
            if let Some(owner) = owner {
                body.insert("owner_id".to_owned(), json!(owner));
            }
            if password_stdin {
                use secrecy::ExposeSecret as _;
                let password = read_secret("Password: ")?;
                body.insert("password".to_owned(), json!(password.expose_secret()));
            }
            client
                .call(
                    Method::POST,
                    &["v1", "principals"],
                    &[],
                    Some(&Value::Object(body)),
                )
                .await?
        }
        PrincipalsCommand::Update {
            id,
            roles,
            teams,
            email,
        } => {
            let mut body = Map::new();
            if !roles.is_empty() {
                body.insert("roles".to_owned(), json!(roles));
            }
            if !teams.is_empty() {
                body.insert("teams".to_owned(), json!(teams));
            }
            if let Some(email) = email {
                body.insert("email".to_owned(), json!(email));
            }
            client
                .call(
                    Method::PATCH,
                    &["v1", "principals", &id],
                    &[],
                    Some(&Value::Object(body)),
                )
                .await?
        }
        PrincipalsCommand::Disable { id } => {
            client
                .call(Method::DELETE, &["v1", "principals", &id], &[], None)
                .await?
        }
        PrincipalsCommand::Enable { id } => {
            client
                .call(
                    Method::PATCH,
                    &["v1", "principals", &id],
                    &[],
                    Some(&json!({"disabled": false})),
                )
                .await?
        }
        PrincipalsCommand::Unlock { id } => {
            client
                .call(
                    Method::POST,
                    &["v1", "principals", &id, "unlock"],
                    &[],
                    None,
                )
                .await?
        }
    };
    output::show(format, &answer, |p| {
        if p.get("id").is_some() && p.get("name").is_some() {
            print_one(p)
        } else {
            output::json(p)
        }
    })
}
