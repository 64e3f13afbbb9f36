//! Settings: defaults, then a TOML file (`--config`), then `RAMPART_*` environment variables, then
//! command-line flags, each layer over the one before.
//!
//! This is the only module that reads the environment. Secrets (the master key, the database URL,
//! which may hold a password) are `SecretString`s and print as `[REDACTED]`, in `Debug` and in
//! `rampart config show` alike. The master key is accepted only from `RAMPART_MASTER_KEY` or the
//! key file, never from the config file, so config files can be shared and committed.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

/// Which header the trusted proxies set (`forwarded_header`); the server reads only that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    /// The setting's spelling: `x-forwarded-for` or `forwarded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

impl std::str::FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err("expected x-forwarded-for or forwarded".to_owned()),
        }
    }
}

/// Why settings could not be loaded. Messages name the setting and its source, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for Rampart's settings.
    #[error("config file {path} is invalid: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, from the TOML parser.
        message: String,
    },
    /// A `RAMPART_*` variable that is no setting (a typo is refused, as an unknown TOML key is).
    #[error("environment: unknown variable {name}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownVariable {
        /// The variable.
        name: String,
        /// The setting's variable it most likely meant.
        suggestion: Option<String>,
    },
    /// `RAMPART_MASTER_KEY_FILE` names a file that cannot serve (never says what it holds).
    #[error("RAMPART_MASTER_KEY_FILE {path}: {message}")]
    MasterKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value that does not parse or is out of range.
    #[error("{source_name}: invalid value for '{key}': {message}")]
    Invalid {
        /// Where the value came from (a file, a variable, a flag).
        source_name: String,
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A value as it arrives from one layer, before it is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Raw {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
    IntList(Vec<i64>),
}

mod parse;
mod show;
mod tls;
mod variables;

use parse::*;
use show::Show;
pub use tls::TlsMinVersion;
use tls::parse_tls_min_version;
pub use variables::OTHER_VARIABLES;
use variables::{closest_variable, is_known_variable};

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr, $parse:ident; )*) => {
        /// The effective settings of one Rampart process.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        /// One layer of settings (file, environment or flags): only what it sets.
        #[derive(Debug, Default, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Layer {
            $( $field: Option<Raw>, )*
        }

        /// Names of every setting, in the order `config show` prints them.
        pub const SETTING_NAMES: &[&str] = &[$( stringify!($field), )*];

        impl Settings {
            fn defaults() -> Self {
                Self { $( $field: $default, )* }
            }

            fn apply(&mut self, layer: Layer, source_name: &str) -> Result<(), ConfigError> {
                $(
                    if let Some(raw) = layer.$field {
                        self.$field = $parse(raw).map_err(|message| ConfigError::Invalid {
                            source_name: source_name.to_owned(),
                            key: stringify!($field),
                            message,
                        })?;
                    }
                )*
                Ok(())
            }

            fn env_layer(env: &[(String, String)]) -> Layer {
                let mut layer = Layer::default();
                $(
                    let name = concat!("RAMPART_", stringify!($field)).to_ascii_uppercase();
                    if let Some((_, value)) = env.iter().find(|(k, _)| *k == name) {
                        layer.$field = Some(Raw::Str(value.clone()));
                    }
                )*
                layer
            }

            fn show_lines(&self) -> Vec<(&'static str, String)> {
                vec![$( (stringify!($field), Show::show(&self.$field)), )*]
            }
        }
    };
}

settings! {
    /// Address to listen on.
    listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8470)), parse_addr;
    /// Directory for the SQLite database and the master key file.
    data_dir: PathBuf = PathBuf::from("rampart-data"), parse_path;
    /// `postgres://…` to use PostgreSQL instead of SQLite in the data dir. May hold a password.
    database_url: Option<SecretString> = None, parse_secret;
    /// PEM certificate chain; with `tls_key`, turns TLS on.
    tls_cert: Option<PathBuf> = None, parse_opt_path;
    /// PEM private key for `tls_cert`.
    tls_key: Option<PathBuf> = None, parse_opt_path;
    /// PEM CA bundle: when set, clients must present a certificate it signed (mTLS).
    tls_client_ca: Option<PathBuf> = None, parse_opt_path;
    /// The oldest TLS version accepted: `"1.2"` (1.2 and 1.3) or `"1.3"` (1.3 only).
    tls_min_version: TlsMinVersion = TlsMinVersion::Tls12, parse_tls_min_version;
    /// Proxies (CIDRs) whose `forwarded_header` is believed.
    trusted_proxies: Vec<IpNet> = Vec::new(), parse_cidrs;
    /// The one header trusted proxies set, `x-forwarded-for` or `forwarded`; the other is ignored.
    forwarded_header: ForwardedHeader = ForwardedHeader::XForwardedFor, parse_forwarded_header;
    /// Origins allowed to call the API from a browser; empty turns CORS off.
    cors_allowed_origins: Vec<String> = Vec::new(), parse_origins;
    /// Largest request body accepted, in bytes.
    body_limit_bytes: u64 = 1024 * 1024, parse_body_limit;
    /// Largest audit batch body accepted, in bytes.
    audit_body_limit_bytes: u64 = 8 * 1024 * 1024, parse_body_limit;
    /// Longest time a request may take before it is answered 503.
    request_timeout_seconds: u64 = 30, parse_positive;
    /// Most connections open at once; lowered to fit the open-files limit (`ulimit -n`).
    max_connections: u64 = 10_000, parse_connection_limit;
    /// Most connections open at once from one client address (IPv6: a /64); trusted proxies exempt.
    max_connections_per_address: u64 = 256, parse_connection_limit;
    /// A connection with no request in flight for this long is closed (also one that sends nothing).
    idle_timeout_seconds: u64 = 60, parse_idle_timeout;
    /// Serve Prometheus metrics at `/metrics`.
    metrics_enabled: bool = true, parse_bool;
    /// Failed logins for one name from one address (IPv6: one /64) before that pair locks.
    max_login_attempts: u64 = 5, parse_positive;
    /// How long a lock lasts, and how long failures count towards one.
    lockout_seconds: u64 = 900, parse_positive;
    /// Failed logins for one name from all addresses before the whole account locks.
    account_lockout_failures: u64 = 50, parse_positive;
    /// Lifetime of a session token.
    session_ttl_seconds: u64 = 3600, parse_positive;
    /// Shortest password accepted.
    password_min_length: u64 = 12, parse_positive;
    /// A new password must contain an upper-case letter.
    password_require_upper: bool = false, parse_bool;
    /// A new password must contain a lower-case letter.
    password_require_lower: bool = false, parse_bool;
    /// A new password must contain a digit.
    password_require_digit: bool = false, parse_bool;
    /// A new password must contain a character other than a letter or a digit.
    password_require_symbol: bool = false, parse_bool;
    /// Roles a new principal gets when its request names none; each must be a role of the policy.
    default_roles: Vec<String> = Vec::new(), parse_list;
    /// Argon2id memory cost in KiB (OWASP: 19456).
    argon2_memory_kib: u64 = 19_456, parse_positive;
    /// Argon2id time cost (OWASP: 2).
    argon2_iterations: u64 = 2, parse_positive;
    /// Argon2id parallelism (OWASP: 1).
    argon2_parallelism: u64 = 1, parse_positive;
    /// Authentication attempts allowed per client address per minute.
    auth_rate_limit_per_minute: u64 = 60, parse_positive;
    /// Requests allowed per client address per second (all endpoints).
    rate_limit_per_second: u64 = 1000, parse_positive;
    /// JSON file of PII policy overrides (`{"email": "keep", ...}`) applied to the default policy
    /// of `/v1/redact` and `/v1/detect`; requests may override further.
    privacy_policy_file: Option<PathBuf> = None, parse_opt_path;
    /// YAML role policy (`roles: {...}`); when set it is the policy, and `PUT /v1/policy` is refused.
    policy_file: Option<PathBuf> = None, parse_opt_path;
    /// How long authentication may reuse a key or principal it read (ms; 0: never). This
    /// server's own revocations clear it at once; other servers' take effect within it. Unset:
    /// 1000 on SQLite (one server), 0 on PostgreSQL (revocations reach every server at once).
    auth_cache_ms: Option<u64> = None, parse_opt_u64;
    /// A session ends after this long without a request.
    session_idle_seconds: u64 = 1800, parse_positive;
    /// Seconds between runs of the key maintenance task (encryption counts, automatic rotation).
    key_maintenance_interval_seconds: u64 = 60, parse_positive;
    /// Seconds between disposal runs (API.md "Retention and legal hold"); a run a crash
    /// interrupted is resumed within a minute of any node starting.
    retention_interval_seconds: u64 = 86400, parse_positive;
    /// Records a disposal run disposes of per transaction (on SQLite, appends wait for one
    /// batch at most: about 0.1 s at 10,000 audit entries).
    retention_batch_size: u64 = 10000, parse_positive;
    /// Most card numbers one `POST /v1/redact` may tokenize (more: 422, nothing stored).
    max_tokenized_per_request: u64 = 1000, parse_positive;
    /// Log filter, e.g. `info` or `rampart=debug,info`.
    log_level: String = "info".to_owned(), parse_log_level;
    /// Rate-limit rules (`{"rules": [...]}` as `PUT /v1/rate-limits` takes them; `.yaml`/`.yml`
    /// or JSON); when set they are the rules, and `PUT /v1/rate-limits` is refused.
    rate_limits_file: Option<PathBuf> = None, parse_opt_path;
    /// 401/403 answers and failed logins within `block_window_seconds` that block an address
    /// (0: never block automatically).
    block_after_failures: u64 = 20, parse_u64;
    /// How long failures count toward a block, in seconds.
    block_window_seconds: u64 = 300, parse_positive;
    /// The first block's length in seconds; doubled for each repeat within a day, at most 24 h.
    block_seconds: u64 = 3600, parse_positive;
    /// After a block is lifted, how long the address is not blocked again automatically.
    block_exempt_seconds: u64 = 600, parse_u64;
    /// Whether loopback addresses may be blocked automatically.
    block_loopback: bool = false, parse_bool;
    /// Detection rules (`{"rules": [...]}` as `PUT /v1/detection-rules` takes them; `.yaml`/`.yml`
    /// or JSON); when set they are the rules, and `PUT /v1/detection-rules` is refused.
    detection_rules_file: Option<PathBuf> = None, parse_opt_path;
    /// Whether webhooks may point at loopback, private or link-local addresses.
    webhook_allow_private_networks: bool = false, parse_bool;
    /// Seconds between a webhook delivery's attempts (at most 16 of 1..=86400); empty: the
    /// Standard Webhooks schedule 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    webhook_retry_seconds: Vec<u64> = Vec::new(), parse_retry_seconds;
    /// Escalation period of every incident, in seconds; unset: 24 h / 8 h / 2 h / 30 min by
    /// severity (low / medium / high / critical).
    incident_escalation_seconds: Option<u64> = None, parse_opt_escalation;
    /// Seconds between evaluations of every compliance framework (each control's history,
    /// with a full verification of the audit log first); one node evaluates.
    compliance_interval_seconds: u64 = 86400, parse_positive;
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

/// A database URL with any password (in the user-info or a `password=` parameter) replaced by
/// `[REDACTED]`, safe to print and log.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return "[REDACTED]".to_owned();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:[REDACTED]{host}"),
                None => format!("{userinfo}{host}"),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=[REDACTED]")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

/// Flags given on the command line, the last layer.
#[derive(Debug, Default, Clone)]
pub struct FlagOverrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-client-ca`.
    pub tls_client_ca: Option<PathBuf>,
    /// `--tls-min-version`.
    pub tls_min_version: Option<String>,
}

impl FlagOverrides {
    fn layer(&self) -> Layer {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| Raw::Str(p.display().to_string()));
        Layer {
            listen: self.listen.clone().map(Raw::Str),
            data_dir: path(&self.data_dir),
            database_url: self.database_url.clone().map(Raw::Str),
            tls_cert: path(&self.tls_cert),
            tls_key: path(&self.tls_key),
            tls_client_ca: path(&self.tls_client_ca),
            tls_min_version: self.tls_min_version.clone().map(Raw::Str),
            ..Layer::default()
        }
    }
}

/// Settings with where the master key comes from, for the process to start with.
#[derive(Debug)]
pub struct LoadedSettings {
    /// The effective settings.
    pub settings: Settings,
    /// `RAMPART_MASTER_KEY`, or the key in the file `RAMPART_MASTER_KEY_FILE` names, when set.
    pub master_key_env: Option<SecretString>,
    /// `RAMPART_MASTER_KEY_PREVIOUS`, when set (master-key rotation).
    pub previous_master_key_env: Option<SecretString>,
    /// Whether the config file, the environment or a flag named the data dir or the database
    /// URL: `serve` initializes only the default `./rampart-data`, never a path someone typed.
    pub location_explicit: bool,
}

impl Settings {
    /// Loads settings from `file` (if any), the environment `env` (pass `std::env::vars()`), and
    /// `flags`, in that order of precedence (flags win).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &FlagOverrides,
    ) -> Result<LoadedSettings, ConfigError> {
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("RAMPART_"))
            .collect();
        if let Some((name, _)) = env.iter().find(|(k, _)| !is_known_variable(k)) {
            return Err(ConfigError::UnknownVariable {
                name: name.clone(),
                suggestion: closest_variable(name),
            });
        }
        let mut settings = Settings::defaults();
        let names_location =
            |layer: &Layer| layer.data_dir.is_some() || layer.database_url.is_some();
        let mut location_explicit = false;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.to_owned(),
                source,
            })?;
            if let Ok(table) = text.parse::<toml::Table>()
                && table.contains_key("master_key")
            {
                return Err(ConfigError::ParseFile {
                    path: path.to_owned(),
                    message: "the master key never goes in a config file; set RAMPART_MASTER_KEY or use the data dir's master.key".to_owned(),
                });
            }
            let layer: Layer = toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
                path: path.to_owned(),
                message: match e.span() {
                    Some(span) => {
                        let (line, column) = line_and_column(&text, span.start);
                        format!("line {line}, column {column}: {}", e.message())
                    }
                    None => e.message().to_owned(),
                },
            })?;
            location_explicit |= names_location(&layer);
            settings.apply(layer, &format!("config file {}", path.display()))?;
        }
        let env_layer = Settings::env_layer(&env);
        let flag_layer = flags.layer();
        location_explicit |= names_location(&env_layer) || names_location(&flag_layer);
        settings.apply(env_layer, "environment (RAMPART_*)")?;
        settings.apply(flag_layer, "command-line flags")?;
        if settings.tls_cert.is_some() != settings.tls_key.is_some() {
            return Err(ConfigError::Invalid {
                source_name: "settings".to_owned(),
                key: "tls_cert",
                message: "tls_cert and tls_key must be given together".to_owned(),
            });
        }
        if settings.tls_client_ca.is_some() && settings.tls_cert.is_none() {
            return Err(ConfigError::Invalid {
                source_name: "settings".to_owned(),
                key: "tls_client_ca",
                message: "mTLS (tls_client_ca) needs TLS: give tls_cert and tls_key too".to_owned(),
            });
        }
        let secret = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| SecretString::from(v.clone()))
        };
        Ok(LoadedSettings {
            settings,
            master_key_env: variables::master_key(&env)?,
            previous_master_key_env: secret("RAMPART_MASTER_KEY_PREVIOUS"),
            location_explicit,
        })
    }

    /// Whether TLS is configured.
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The effective settings as TOML, every secret shown as `[REDACTED]`.
    pub fn show(&self, master_key_source: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# effective settings: defaults < config file < RAMPART_* < flags"
        );
        for (name, value) in self.show_lines() {
            let _ = writeln!(out, "{name} = {value}");
        }
        let _ = writeln!(out, "# master key: {master_key_source} (value never shown)");
        let _ = writeln!(out, "master_key = \"[REDACTED]\"");
        out
    }
}

#[cfg(test)]
mod tests;
