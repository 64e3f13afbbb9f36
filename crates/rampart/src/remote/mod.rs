//! The CLI as an HTTP client of a running server: `rampart keys|principals|api-keys|policy|
//! audit query|alerts|incidents|login|logout` against `RAMPART_ADDR` with `RAMPART_TOKEN` (or
//! `--addr`/`--token`, or the token file `rampart login` writes). Errors are the server's
//! problem details, and the exit code tells their kind (see [`failure`]).

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod client;
pub(crate) mod failure;
pub(crate) mod keys;
pub(crate) mod monitor;
pub(crate) mod output;
pub(crate) mod policy;
pub(crate) mod principals;
pub(crate) mod session;
pub(crate) mod token;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::SecretString;

use crate::cli::{AlertsCommand, AuditCommand, Command, IncidentsCommand, KeysCommand, StoreArgs};
use failure::Failure;

/// The default server address.
pub(crate) const DEFAULT_ADDR: &str = "http://127.0.0.1:8470";

/// `rampart --help`'s last words.
pub(crate) const TOP_HELP: &str = "Quick start:
  rampart serve                 start on ./rampart-data (SQLite), initializing it on first start
  curl localhost:8470/v1/health

Settings come from defaults < --config FILE < RAMPART_* variables < flags.
Production: set RAMPART_MASTER_KEY (base64 of 32 random bytes) and keep it in a secret manager.

Against a running server (RAMPART_ADDR, default http://127.0.0.1:8470; credential from
RAMPART_TOKEN or `rampart login`): keys, principals, api-keys, policy, audit query, alerts,
incidents. With --data-dir or --database-url (or RAMPART_DATA_DIR / RAMPART_DATABASE_URL), keys
rotate, alerts and incidents act on the store directly instead (needs the master key).

Exit codes: 0 ok, 1 other error, 2 usage, 3 cannot connect, 4 not authenticated (401),
5 permission denied (403), 6 not found (404), 7 invalid input (400, 413, 422), 8 conflict (409),
9 rate limited or locked (429, 423), 10 server error (5xx).";

/// Help shared by every command that talks to a server: the connection, the local rule, the
/// exit codes.
pub(crate) const REMOTE_HELP: &str = "\
Connection: --addr or RAMPART_ADDR (default http://127.0.0.1:8470; https:// with --ca-cert for a
private CA). Credential, first found: --token, --token-file, RAMPART_TOKEN, then the token file
`rampart login` wrote ($XDG_CONFIG_HOME/rampart/token, else ~/.config/rampart/token, mode 0600).

Commands that also work on a store (keys rotate, alerts, incidents) act on it directly, with the
master key, when --data-dir or --database-url is given (flag, RAMPART_DATA_DIR or
RAMPART_DATABASE_URL); otherwise they ask the server.

Exit codes: 0 ok, 1 other error, 2 usage, 3 cannot connect, 4 not authenticated (401),
5 permission denied (403), 6 not found (404), 7 invalid input (400, 413, 422), 8 conflict (409),
9 rate limited or locked (429, 423), 10 server error (5xx).";

/// Output of the commands that talk to a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for a person.
    #[default]
    Table,
    /// The server's JSON, pretty-printed.
    Json,
}

/// How to reach the server and who to be there.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    /// The server [default: http://127.0.0.1:8470] [env: RAMPART_ADDR].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) addr: Option<String>,
    /// API key or session token (prefer RAMPART_TOKEN or `rampart login`: arguments are
    /// visible to other users of the machine) [env: RAMPART_TOKEN].
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret)]
    pub(crate) token: Option<SecretString>,
    /// Read the credential from this file instead of the one `rampart login` writes.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) token_file: Option<PathBuf>,
    /// PEM certificate(s) of a private CA to trust for https:// addresses.
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Output: aligned columns or the server's JSON.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

fn secret(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(text.to_owned()))
}

/// Whether a command that works both ways acts on the store: `--data-dir` or `--database-url`
/// given, or `RAMPART_DATA_DIR` / `RAMPART_DATABASE_URL` set.
pub(crate) fn is_local(store: &StoreArgs) -> bool {
    store.data_dir.is_some()
        || store.database_url.is_some()
        || ["RAMPART_DATA_DIR", "RAMPART_DATABASE_URL"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// Whether `command` talks to a server (rather than a store or a file).
pub(crate) fn is_remote(command: &Command) -> bool {
    match command {
        Command::Principals { .. }
        | Command::ApiKeys { .. }
        | Command::Policy { .. }
        | Command::Login { .. }
        | Command::Logout { .. }
        | Command::Audit {
            command: AuditCommand::Query(_),
            ..
        } => true,
        Command::Keys { command, .. } => match command {
            KeysCommand::RewrapAll { .. } => false,
            KeysCommand::Rotate { store, .. } => !is_local(store),
            _ => true,
        },
        Command::Alerts {
            command: AlertsCommand::List { store, .. },
            ..
        } => !is_local(store),
        Command::Incidents { command, .. } => match command {
            IncidentsCommand::List { store, .. }
            | IncidentsCommand::Show { store, .. }
            | IncidentsCommand::Ack { store, .. }
            | IncidentsCommand::Resolve { store, .. } => !is_local(store),
        },
        _ => false,
    }
}

/// Runs a command [`is_remote`] accepts against the server.
pub(crate) async fn run(command: Command) -> Result<(), Failure> {
    use client::Client;
    match command {
        Command::Keys { remote, command } => keys::run(&remote, command).await,
        Command::Principals { remote, command } => {
            principals::run(&Client::new(&remote)?, remote.format, command).await
        }
        Command::ApiKeys { remote, command } => {
            api_keys::run(&Client::new(&remote)?, remote.format, command).await
        }
        Command::Policy { remote, command } => {
            policy::run(&Client::new(&remote)?, remote.format, command).await
        }
        Command::Audit {
            remote,
            command: AuditCommand::Query(query),
        } => audit::query(&Client::new(&remote)?, remote.format, &query).await,
        Command::Alerts { remote, command } => {
            monitor::alerts(&Client::new(&remote)?, remote.format, command).await
        }
        Command::Incidents { remote, command } => {
            monitor::incidents(&Client::new(&remote)?, remote.format, command).await
        }
        Command::Login { remote, login } => session::login(&remote, &login).await,
        Command::Logout { remote } => session::logout(&remote).await,
        _ => Err(Failure::new(
            failure::code::OTHER,
            "this command does not talk to a server",
        )),
    }
}
