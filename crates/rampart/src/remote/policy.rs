//! `rampart policy show|set`: the role policy (`GET`/`PUT /v1/policy`).

use std::io::Read as _;
use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::Format;
use super::client::Client;
use super::failure::{Failure, code};
use super::output::{self, cell};

/// What `rampart policy` does.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// The role policy in force: each role's parents, permissions and flags.
    Show,
    /// Replace the role policy with FILE (JSON or YAML, `{"roles": {...}}` as `policy show
    /// --format json` prints it; `-` reads standard input).
    Set {
        /// The policy file.
        file: PathBuf,
    },
}

fn print_policy(policy: &Value) -> Result<(), Failure> {
    let rows: Vec<Vec<String>> = policy["roles"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, role)| {
            let flag = |key: &str| {
                if role[key].as_bool() == Some(true) {
                    "yes".to_owned()
                } else {
                    "-".to_owned()
                }
            };
            vec![
                name.clone(),
                cell(&role["inherits"]),
                flag("mfa_required"),
                flag("bypass_team_isolation"),
                cell(&role["permissions"]),
            ]
        })
        .collect();
    output::table(
        &["ROLE", "INHERITS", "MFA", "ALL_TEAMS", "PERMISSIONS"],
        &rows,
    )?;
    output::line(&format!(
        "\nsource: {}, version {}",
        cell(&policy["source"]),
        cell(&policy["version"])
    ))
}

fn read_policy(file: &PathBuf) -> Result<Value, Failure> {
    let unreadable = |e: String| Failure::new(code::USAGE, format!("{}: {e}", file.display()));
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| unreadable(e.to_string()))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| unreadable(e.to_string()))?
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(json_error) => serde_yaml_ng::from_str(&text).map_err(|yaml_error| {
            unreadable(format!(
                "neither JSON ({json_error}) nor YAML ({yaml_error})"
            ))
        })?,
    };
    if !value.is_object() {
        return Err(unreadable("not an object with \"roles\"".to_owned()));
    }
    Ok(value)
}

/// Runs `command`.
pub(crate) async fn run(
    client: &Client,
    format: Format,
    command: PolicyCommand,
) -> Result<(), Failure> {
    let policy = match command {
        PolicyCommand::Show => client.get(&["v1", "policy"], &[]).await?,
        PolicyCommand::Set { file } => {
            let body = read_policy(&file)?;
            client
                .call(Method::PUT, &["v1", "policy"], &[], Some(&body))
                .await?
        }
    };
    output::show(format, &policy, print_policy)
}
