//! `rampart`: the server and its admin CLI in one binary. This file only parses the command line
//! and wires the crates together; every rule lives in a library crate.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use rampart_app::config::{FlagOverrides, LoadedSettings, Settings};
use rampart_app::deployment;
use time::OffsetDateTime;

mod admin_key;
mod backup;
mod cli;
mod compliance;
mod gdpr;
mod monitoring;
mod remote;
mod retention;
mod serving;
mod store_ops;

/// mimalloc instead of the system allocator: the server allocates per request on every core,
/// and glibc's arenas spent a third of the audit writer's CPU time in malloc and free (and
/// fragmented into a larger resident size).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::{
    AlertsCommand, AuditCommand, Cli, Command, ConfigCommand, GdprCommand, IncidentsCommand,
    KeysCommand, MasterKeyCommand, RetentionCommand,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory as _;
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "rampart",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A remote command's failure carries its exit code (see `rampart --help`).
            e.downcast_ref::<remote::failure::Failure>()
                .map_or(ExitCode::FAILURE, |failure| ExitCode::from(failure.code))
        }
    }
}

fn load(config: Option<&PathBuf>, flags: &FlagOverrides) -> anyhow::Result<LoadedSettings> {
    Ok(Settings::load(
        config.map(PathBuf::as_path),
        std::env::vars(),
        flags,
    )?)
}

/// JSON logs on stderr; `RUST_LOG` overrides the `log_level` setting.
fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if remote::is_remote(&cli.command) {
        return Ok(remote::run(cli.command).await?);
    }
    match cli.command {
        Command::Init { store, json } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            let initialized = deployment::initialize(&loaded, OffsetDateTime::now_utc()).await?;
            serving::print_initialized(&initialized, json)
        }
        Command::Migrate { store } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            let opened = deployment::open(&loaded).await?;
            let version = opened.store.schema_version().await?.unwrap_or(0);
            opened.store.close().await;
            println!("schema version {version}: up to date");
            Ok(())
        }
        Command::Serve {
            store,
            listen,
            tls_cert,
            tls_key,
            tls_client_ca,
            tls_min_version,
        } => {
            let flags = FlagOverrides {
                listen,
                tls_cert,
                tls_key,
                tls_client_ca,
                tls_min_version,
                ..store.flags()
            };
            let loaded = load(cli.config.as_ref(), &flags)?;
            init_logging(&loaded.settings);
            serving::serve(loaded).await
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    file,
                    public_key,
                    json,
                    complete,
                },
            ..
        } => store_ops::audit_verify(&file, public_key.as_deref(), json, complete),
        Command::Audit {
            command:
                AuditCommand::Export {
                    store,
                    from_seq,
                    to_seq,
                    output,
                },
            ..
        } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            store_ops::audit_export(&loaded, from_seq, to_seq, output.as_deref()).await
        }
        Command::Keys {
            command:
                KeysCommand::RewrapAll {
                    store,
                    key,
                    batch_size,
                },
            ..
        } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            store_ops::keys_rewrap_all(&loaded, &key, batch_size).await
        }
        Command::Keys {
            command: KeysCommand::Rotate { store, name, key },
            ..
        } => {
            let key = name.or(key).unwrap_or_default();
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            let version = rampart_app::maintenance::rotate_key(&loaded, &key).await?;
            println!("rotated {key}: latest version is now {version}");
            Ok(())
        }
        Command::Keys { .. }
        | Command::Principals { .. }
        | Command::ApiKeys { .. }
        | Command::Policy { .. }
        | Command::Login { .. }
        | Command::Logout { .. }
        | Command::Audit {
            command: AuditCommand::Query(_),
            ..
        } => Ok(remote::run(cli.command).await?),
        Command::Completions { .. } => Ok(()),
        Command::MasterKey {
            command: MasterKeyCommand::Rotate { store },
        } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            init_logging(&loaded.settings);
            let (resealed, moved) = rampart_app::maintenance::rotate_master_key(&loaded).await?;
            println!(
                "re-sealed {resealed} stored secrets under the new master key ({moved} were still under the previous one); a data dir's master.key, if any, now holds the new key; unset RAMPART_MASTER_KEY_PREVIOUS on every server and destroy the old key"
            );
            Ok(())
        }
        Command::Alerts { command, .. } => {
            let store = match &command {
                AlertsCommand::List { store, .. } => store,
            };
            let store = store.flags();
            let loaded = load(cli.config.as_ref(), &store)?;
            init_logging(&loaded.settings);
            monitoring::run(&loaded, monitoring::MonitorCommand::Alerts(command)).await
        }
        Command::Gdpr { command } => match command {
            GdprCommand::VerifyExport {
                file,
                public_key,
                json,
            } => gdpr::verify_export(&file, &public_key, json),
            GdprCommand::VerifyCertificate {
                file,
                public_key,
                json,
            } => gdpr::verify_certificate(&file, &public_key, json),
            GdprCommand::ReplayErasures { store, from_export } => {
                let loaded = load(cli.config.as_ref(), &store.flags())?;
                init_logging(&loaded.settings);
                gdpr::replay_erasures(&loaded, from_export.as_deref()).await
            }
        },
        Command::Retention { command } => match command {
            RetentionCommand::Policies { store, json } => {
                let loaded = load(cli.config.as_ref(), &store.flags())?;
                init_logging(&loaded.settings);
                retention::policies(&loaded, json).await
            }
            RetentionCommand::Run {
                store,
                dry_run,
                json,
            } => {
                let loaded = load(cli.config.as_ref(), &store.flags())?;
                init_logging(&loaded.settings);
                retention::run(&loaded, dry_run, json).await
            }
            RetentionCommand::VerifyCertificate {
                file,
                public_key,
                json,
            } => retention::verify_certificate(&file, &public_key, json),
        },
        Command::Compliance { command } => compliance::dispatch(cli.config.as_ref(), command).await,
        Command::AdminKey { command } => admin_key::run(cli.config.as_ref(), command).await,
        Command::Backup(args) => backup::run_backup(cli.config.as_ref(), args).await,
        Command::Restore(args) => backup::run_restore(cli.config.as_ref(), args).await,
        Command::Incidents { command, .. } => {
            let store = match &command {
                IncidentsCommand::List { store, .. }
                | IncidentsCommand::Show { store, .. }
                | IncidentsCommand::Ack { store, .. }
                | IncidentsCommand::Resolve { store, .. } => store,
            };
            let store = store.flags();
            let loaded = load(cli.config.as_ref(), &store)?;
            init_logging(&loaded.settings);
            monitoring::run(&loaded, monitoring::MonitorCommand::Incidents(command)).await
        }
        Command::Redact {
            store,
            policy,
            stats,
        } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            redact(&loaded, policy.as_deref(), stats).await
        }
        Command::Config {
            command: ConfigCommand::Show { store },
        } => {
            let loaded = load(cli.config.as_ref(), &store.flags())?;
            let source = if loaded.master_key_env.is_some() {
                "RAMPART_MASTER_KEY".to_owned()
            } else {
                format!(
                    "key file {}",
                    loaded
                        .settings
                        .data_dir
                        .join(deployment::MASTER_KEY_FILE)
                        .display()
                )
            };
            print!("{}", loaded.settings.show(&source));
            Ok(())
        }
    }
}

/// A progress bar on a terminal (hidden otherwise).
pub(crate) fn progress_bar(total: u64, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let template = format!(
        "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

async fn redact(
    loaded: &LoadedSettings,
    policy: Option<&std::path::Path>,
    stats: bool,
) -> anyhow::Result<()> {
    let mut policy_in_force = rampart_privacy::Policy::default_policy();
    if let Some(path) = policy {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read policy file {}", path.display()))?;
        let overrides: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("policy file {} is not JSON", path.display()))?;
        policy_in_force = policy_in_force
            .with_overrides(&overrides)
            .with_context(|| format!("policy file {}", path.display()))?;
    }
    // With a deployment, hash with its key so CLI and server hashes agree, and encrypt and
    // tokenize with its keys service and card vault.
    let needs = rampart_app::protector::Needs::of(&policy_in_force);
    let mut protector = None;
    let mut opened_store = None;
    let key = if deployment::is_initialized(&loaded.settings).await? {
        let opened = deployment::open(loaded).await?;
        let key = rampart_privacy::HashKey::new(*opened.pii_key.expose());
        if !needs.is_empty() {
            let keys = std::sync::Arc::new(rampart_app::services::KeyService::new(
                opened.store.clone(),
                std::sync::Arc::new(opened.kek),
            ));
            let vault = std::sync::Arc::new(rampart_app::services::CardVault::new(
                std::sync::Arc::clone(&keys),
                opened.store.clone(),
                opened.card_fingerprint_key,
            ));
            let prepared = rampart_app::protector::ServiceProtector::prepare(
                &needs,
                &keys,
                vault,
                rampart_app::protector::CardMode::Immediate,
            )
            .await
            .map_err(|e| anyhow::anyhow!("policy: {e}"))?;
            protector = Some(std::sync::Arc::new(prepared));
        }
        opened_store = Some((opened.store, opened.audit));
        key
    } else {
        if !needs.is_empty() {
            anyhow::bail!(
                "the policy encrypts or tokenizes, which needs a deployment's keys: pass --data-dir or --database-url of an initialized deployment"
            );
        }
        eprintln!(
            "note: no initialized deployment here; hashes use a key made for this run and will not match the server's"
        );
        let mut bytes = [0u8; 32];
        ring_fill(&mut bytes)?;
        rampart_privacy::HashKey::new(bytes)
    };
    let redactor = rampart_privacy::Redactor::with_protector(
        policy_in_force,
        key,
        protector
            .clone()
            .map(|p| p as std::sync::Arc<dyn rampart_privacy::Protector>),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Tokenizing stores cards (async), so the walk runs on a blocking thread.
    let summary =
        tokio::task::spawn_blocking(move || -> std::io::Result<rampart_privacy::Stats> {
            let mut summary = rampart_privacy::Stats::default();
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            redactor.redact_stream(
                std::io::BufReader::with_capacity(1 << 16, stdin),
                stdout,
                &mut summary,
            )?;
            Ok(summary)
        })
        .await??;
    if let Some((store, audit)) = opened_store {
        if let Some(protector) = &protector {
            let (encrypted, tokenized) = protector.counts();
            rampart_app::system_audit::record(
                &audit,
                "rampart-cli",
                "privacy.redact",
                ("pii", "stream"),
                serde_json::json!({"encrypted": encrypted, "tokenized": tokenized, "lines": summary.lines}),
            )
            .await;
        }
        store.close().await;
    }
    if stats {
        eprintln!("{}", serde_json::to_string(&summary)?);
    }
    Ok(())
}

fn ring_fill(bytes: &mut [u8; 32]) -> anyhow::Result<()> {
    let fresh = rampart_crypto::random_secret::<32>().map_err(|e| anyhow::anyhow!("{e}"))?;
    bytes.copy_from_slice(fresh.as_ref());
    Ok(())
}
