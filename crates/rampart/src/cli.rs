//! The command line: `rampart`'s commands, subcommands and flags (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rampart_app::config::FlagOverrides;

use crate::remote::api_keys::ApiKeysCommand;
use crate::remote::audit::QueryArgs;
use crate::remote::keys::{CreateArgs, CryptArgs};
use crate::remote::policy::PolicyCommand;
use crate::remote::principals::PrincipalsCommand;
use crate::remote::session::LoginArgs;
use crate::remote::{REMOTE_HELP, RemoteArgs, TOP_HELP as HELP};

mod records;
pub(crate) use records::{ComplianceCommand, GdprCommand, RetentionCommand};

/// Rampart: tamper-evident audit log, keys and encryption, identity and access, PII redaction,
/// as one service for applications in any language.
#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about,
    after_help = HELP
)]
pub(crate) struct Cli {
    /// TOML settings file.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a deployment: data dir, database, master key file (unless RAMPART_MASTER_KEY is
    /// set) and the bootstrap admin API key, printed once.
    Init {
        #[command(flatten)]
        store: StoreArgs,
        /// Print the result as JSON: {"admin_api_key", "data_dir", "master_key_source"}.
        #[arg(long)]
        json: bool,
    },
    /// Apply pending schema migrations, then exit: on PostgreSQL, run it with the schema owner's
    /// URL after an upgrade when servers run as a role without DDL rights (`serve` applies them
    /// at start otherwise). Checks the master key first; a newer schema is refused.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Serve the HTTP API. Initializes the default ./rampart-data on first start; a data dir or
    /// database named by flag, variable or config file must have been made by `rampart init`.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on [default: 127.0.0.1:8470] [env: RAMPART_LISTEN].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// PEM certificate chain; turns TLS on, with --tls-key; reloaded on SIGHUP and
        /// when the files change [env: RAMPART_TLS_CERT].
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert [env: RAMPART_TLS_KEY].
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// PEM CA bundle; clients must present a certificate it signed (mTLS)
        /// [env: RAMPART_TLS_CLIENT_CA].
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_client_ca: Option<PathBuf>,
        /// Oldest TLS version accepted: 1.2 (1.2 and 1.3) or 1.3 (1.3 only) [default: 1.2]
        /// [env: RAMPART_TLS_MIN_VERSION].
        #[arg(long, value_name = "VER")]
        tls_min_version: Option<String>,
    },
    /// Inspect settings.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Redact personal data from NDJSON (or any text) on stdin to stdout, line by line, in
    /// constant memory. Lines that are not JSON are redacted as text, never passed through.
    Redact {
        #[command(flatten)]
        store: StoreArgs,
        /// JSON policy overrides, as the API's "policy": {"email": "hash", "phone": "keep"}.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Print a summary (lines, findings per type) on stderr at the end.
        #[arg(long)]
        stats: bool,
    },
    /// The tamper-evident audit log: query it on the server, verify an export offline, export
    /// from a store.
    #[command(after_help = REMOTE_HELP)]
    Audit {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Named keys: list, show, create, rotate, encrypt, decrypt on the server; rotate with
    /// --data-dir and rewrap-all on a store.
    #[command(after_help = REMOTE_HELP)]
    Keys {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Rotate the master key.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
    /// Security alerts raised by the detection rules (GET /v1/alerts, or a store's with
    /// --data-dir).
    #[command(after_help = REMOTE_HELP)]
    Alerts {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Security incidents: list, show, acknowledge, resolve (as /v1/incidents; changes are
    /// audited; with --data-dir, on the store with actor `rampart-cli`, safe while servers run
    /// on the same deployment).
    #[command(after_help = REMOTE_HELP)]
    Incidents {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: IncidentsCommand,
    },
    /// Principals (users, services, devices, AI agents) on the server.
    #[command(after_help = REMOTE_HELP)]
    Principals {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: PrincipalsCommand,
    },
    /// API keys on the server: list, create (printed once), revoke, rotate.
    #[command(after_help = REMOTE_HELP)]
    ApiKeys {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// The role policy on the server.
    #[command(after_help = REMOTE_HELP)]
    Policy {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Store a credential for the other commands (mode 0600): an API key (prompted, or read
    /// from standard input), or a session of a user (--name; the password is prompted or read
    /// from standard input, never taken from the command line).
    #[command(after_help = REMOTE_HELP)]
    Login {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        login: LoginArgs,
    },
    /// End the stored session on the server and remove the token file.
    #[command(after_help = REMOTE_HELP)]
    Logout {
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Print a shell completion script: `rampart completions bash > /etc/bash_completion.d/rampart`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Data subjects (GDPR): check an export or an erasure certificate offline, re-destroy the
    /// keys of recorded erasures after a restore.
    Gdpr {
        #[command(subcommand)]
        command: GdprCommand,
    },
    /// Retention: the policies in force, and a disposal run here (with a progress bar; a run
    /// a crash interrupted is resumed). Safe while servers run on the same deployment.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Compliance: a report against this deployment (stored, signed, audited), and the offline
    /// check of an evidence package.
    Compliance {
        #[command(subcommand)]
        command: ComplianceCommand,
    },
    /// Break-glass: mint a new admin API key with the master key in hand.
    AdminKey {
        #[command(subcommand)]
        command: crate::admin_key::AdminKeyCommand,
    },
    /// Online, consistent copy of a SQLite deployment's database while servers run (never the
    /// master key: back it up apart). PostgreSQL: use pg_dump.
    Backup(crate::backup::BackupArgs),
    /// Restore a backup into a new, empty data dir (checked: SQLite, sound, Rampart, a schema
    /// this binary knows, the master key if given).
    Restore(crate::backup::RestoreArgs),
}

/// Where an alert or an incident is in its life.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Open,
    Acknowledged,
    Resolved,
}

/// How serious an alert or an incident is.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCommand {
    /// List alerts, newest first, as a table (or the API's JSON with --json).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only alerts in this state.
        #[arg(long)]
        status: Option<StatusArg>,
        /// Only alerts of this severity.
        #[arg(long)]
        severity: Option<SeverityArg>,
        /// Only alerts of this detection rule, e.g. failed_logins.
        #[arg(long, value_name = "NAME")]
        rule: Option<String>,
        /// At most this many (1 to 1000).
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: u32,
        /// Print {"items": [...]} as GET /v1/alerts does.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum IncidentsCommand {
    /// List incidents, newest first, as a table (or the API's JSON with --json).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only incidents in this state.
        #[arg(long)]
        status: Option<StatusArg>,
        /// Only incidents of this severity.
        #[arg(long)]
        severity: Option<SeverityArg>,
        /// At most this many (1 to 1000).
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: u32,
        /// Print {"items": [...]} as GET /v1/incidents does.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident with its timeline.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        /// The incident, INC-YYYYMMDD-NNNN.
        id: String,
        /// Print the incident as GET /v1/incidents/{id} does.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open incident: its escalation stops.
    Ack {
        #[command(flatten)]
        store: StoreArgs,
        /// The incident, INC-YYYYMMDD-NNNN.
        id: String,
    },
    /// Resolve an incident.
    Resolve {
        #[command(flatten)]
        store: StoreArgs,
        /// The incident, INC-YYYYMMDD-NNNN.
        id: String,
        /// What was found and done (recorded in the timeline).
        #[arg(long, value_name = "TEXT")]
        resolution: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Every key's metadata (server).
    List,
    /// One key's metadata and versions (server).
    Show {
        /// The key.
        name: String,
    },
    /// Create a key (server).
    Create(CreateArgs),
    /// Encrypt standard input's bytes; prints the ciphertext (server).
    Encrypt(CryptArgs),
    /// Decrypt the ciphertext on standard input; writes the plaintext's bytes (server).
    Decrypt(CryptArgs),
    /// Re-encrypt every ciphertext Rampart stores under KEY (the card vault's PANs are under
    /// `rampart.cards`) to the key's latest version. Resumable: after a crash, run it again.
    RewrapAll {
        #[command(flatten)]
        store: StoreArgs,
        /// The key, e.g. rampart.cards.
        #[arg(long, value_name = "NAME")]
        key: String,
        /// Ciphertexts re-encrypted per transaction.
        #[arg(long, value_name = "N", default_value_t = 500)]
        batch_size: u32,
    },
    /// Add a version to a key and make it the latest: on the server (POST
    /// /v1/keys/{name}/rotate), or on the store with --data-dir/--database-url (also for
    /// Rampart's own keys such as rampart.cards).
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// The key.
        #[arg(value_name = "NAME", required_unless_present = "key")]
        name: Option<String>,
        /// The key (as the positional NAME).
        #[arg(long, value_name = "NAME", conflicts_with = "name")]
        key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MasterKeyCommand {
    /// Re-seal every stored key under a new master key, in one transaction. Set
    /// RAMPART_MASTER_KEY_PREVIOUS to the current key and RAMPART_MASTER_KEY to the new one
    /// (servers accept both meanwhile), run this, then unset RAMPART_MASTER_KEY_PREVIOUS.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Entries of the audit log on the server, filtered, page after page.
    Query(Box<QueryArgs>),
    /// Verify an NDJSON export offline: every leaf, the root, and the checkpoint signature.
    /// Needs no server and no database. Exits 0 only when everything checks out.
    Verify {
        /// The export (from `GET /v1/audit/export` or `rampart audit export`).
        file: PathBuf,
        /// The log's key: `verifier_key` or `public_key_b64` of `GET /v1/audit/public-key`.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Fail unless every entry's content is in the file (an export made under team
        /// isolation carries other teams' entries as withheld lines). Entries pruned under
        /// retention have no content left anywhere: their lines are accepted, and counted.
        #[arg(long)]
        complete: bool,
    },
    /// Write an NDJSON export straight from the store (needs the master key).
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// First entry [default: 0].
        #[arg(long, value_name = "N")]
        from_seq: Option<u64>,
        /// Last entry, inclusive [default: the last one].
        #[arg(long, value_name = "M")]
        to_seq: Option<u64>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective settings as TOML, every secret shown as [REDACTED].
    Show {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Data directory (SQLite database and master key file) [default: ./rampart-data]
    /// [env: RAMPART_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Use PostgreSQL (postgres://…) instead of SQLite in the data dir; needs RAMPART_MASTER_KEY
    /// [env: RAMPART_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

impl StoreArgs {
    pub(crate) fn flags(&self) -> FlagOverrides {
        FlagOverrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..FlagOverrides::default()
        }
    }
}
