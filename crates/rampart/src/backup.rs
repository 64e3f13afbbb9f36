//! `rampart backup` and `rampart restore`: the app layer does the work
//! (`rampart_app::backup`); this parses the flags and says what to do next.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rampart_app::backup::{self, RestoredKey};

use crate::cli::StoreArgs;

/// `rampart backup`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The backup file to write (refused if it exists, unless --force).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Replace --output if it exists.
    #[arg(long)]
    force: bool,
}

/// `rampart restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A file `rampart backup` wrote.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// The new data dir: missing or empty [env: RAMPART_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The deployment's master key file, checked against the backup and copied into the data
    /// dir with mode 0600 (else RAMPART_MASTER_KEY is checked, if set).
    #[arg(long, value_name = "PATH")]
    master_key_file: Option<PathBuf>,
}

/// `rampart backup --output FILE`.
pub(crate) async fn run_backup(config: Option<&PathBuf>, args: BackupArgs) -> anyhow::Result<()> {
    let loaded = crate::load(config, &args.store.flags())?;
    crate::init_logging(&loaded.settings);
    let started = Instant::now();
    let report = backup::backup(&loaded, &args.output, args.force).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Backed up {} to {} ({} bytes, schema version {}) in {seconds:.2} s: a consistent copy as of its start.",
        report.database.display(),
        report.output.display(),
        report.bytes,
        report.schema_version
    )?;
    writeln!(
        out,
        "  The master key is NOT in the backup: back up {} separately, and keep it apart from the backup.",
        report.master_key
    )?;
    writeln!(
        out,
        "  Restore with: rampart restore --input {} --data-dir NEW_DIR --master-key-file KEY_FILE",
        report.output.display()
    )?;
    out.flush()?;
    Ok(())
}

/// `rampart restore --input FILE --data-dir DIR`.
pub(crate) async fn run_restore(config: Option<&PathBuf>, args: RestoreArgs) -> anyhow::Result<()> {
    let flags = rampart_app::config::FlagOverrides {
        data_dir: args.data_dir.clone(),
        ..rampart_app::config::FlagOverrides::default()
    };
    let loaded = crate::load(config, &flags)?;
    crate::init_logging(&loaded.settings);
    if !loaded.location_explicit {
        anyhow::bail!(
            "name the new data dir with --data-dir (or RAMPART_DATA_DIR); restore never writes into the default one by itself"
        );
    }
    let report = backup::restore(&loaded, &args.input, args.master_key_file.as_deref()).await?;
    let dir = report.data_dir.display();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Restored deployment {} (schema version {}) into {dir}.",
        report.deployment_id, report.schema_version
    )?;
    match &report.master_key {
        RestoredKey::Copied(path) => writeln!(
            out,
            "  master key: copied to {} (mode 0600); it opens the backup",
            path.display()
        )?,
        RestoredKey::Env => writeln!(
            out,
            "  master key: RAMPART_MASTER_KEY opens the backup; keep it set for serve"
        )?,
        RestoredKey::Missing(path) => writeln!(
            out,
            "  master key: not given; set RAMPART_MASTER_KEY, or copy the key file to {} with mode 0600, before serving",
            path.display()
        )?,
    }
    writeln!(out, "Next:")?;
    writeln!(out, "  rampart serve --data-dir {dir}")?;
    writeln!(
        out,
        "  rampart gdpr replay-erasures --data-dir {dir} --from-export NEWER.ndjson   (erasures made after the backup was taken must be destroyed again: NEWER.ndjson is an audit export of the old deployment taken after the backup, if you have one)"
    )?;
    writeln!(
        out,
        "  rampart audit export --data-dir {dir} --output log.ndjson && rampart audit verify --complete --public-key KEY log.ndjson"
    )?;
    out.flush()?;
    Ok(())
}
