//! `rampart init`'s and `rampart serve`'s output, and the server's life from start to shutdown.

use std::io::Write as _;

use anyhow::Context as _;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment::{self, Initialized, MasterKeySource};
use secrecy::ExposeSecret as _;
use time::OffsetDateTime;

/// What `rampart init` made: the admin key once, and where the master key is.
pub(crate) fn print_initialized(initialized: &Initialized, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let body = serde_json::json!({
            "admin_api_key": initialized.admin_api_key.expose(),
            "data_dir": initialized.data_dir.display().to_string(),
            "master_key_source": initialized.master_key_source.as_str(),
        });
        writeln!(out, "{body}")?;
    } else {
        writeln!(
            out,
            "Initialized a new Rampart deployment ({}).",
            initialized.backend.as_str()
        )?;
        print_key_lines(&mut out, initialized)?;
    }
    Ok(())
}

fn print_key_lines(out: &mut impl std::io::Write, initialized: &Initialized) -> anyhow::Result<()> {
    match &initialized.master_key_source {
        MasterKeySource::File(path) => writeln!(
            out,
            "  master key: {} (back it up: without it nothing stored can be read)",
            path.display()
        )?,
        MasterKeySource::Env => writeln!(
            out,
            "  master key: from RAMPART_MASTER_KEY (or RAMPART_MASTER_KEY_FILE)"
        )?,
    }
    writeln!(
        out,
        "  admin API key: {} (shown once: store it now)",
        initialized.admin_api_key.expose()
    )?;
    Ok(())
}

/// `rampart serve`: opens (or, for the default data dir, initializes) the deployment, prints the
/// banner and serves until SIGTERM or Ctrl-C.
pub(crate) async fn serve(loaded: LoadedSettings) -> anyhow::Result<()> {
    let settings = loaded.settings.clone();
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(rampart_server::tls::start(
            cert,
            key,
            settings.tls_client_ca.as_deref(),
            settings.tls_min_version,
        )?),
        _ => {
            rampart_server::tls::ignore_hangup();
            None
        }
    };
    let mut opened = deployment::open_or_initialize(&loaded, OffsetDateTime::now_utc()).await?;
    drop(loaded);
    let first_start = opened.first_start.take();
    let storage = opened.store.backend().as_str();
    // Everything that can refuse to start does so before the banner says "listening".
    let (state, app) = rampart_server::app(opened, settings.clone())?;
    let limits = rampart_server::serve::ConnectionLimits::from_settings(&settings);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let shutdown = rampart_server::serve::shutdown_signal();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Rampart {}", env!("CARGO_PKG_VERSION"))?;
        if let Some(initialized) = &first_start {
            writeln!(
                out,
                "First start: initialized a new deployment ({storage})."
            )?;
            print_key_lines(&mut out, initialized)?;
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let location = match &settings.database_url {
            Some(url) => rampart_app::config::redact_url(url.expose_secret()),
            None => settings.data_dir.display().to_string(),
        };
        writeln!(
            out,
            "listening on {scheme}://{address} (storage: {storage}, {location})"
        )?;
        out.flush()?;
    }
    tracing::info!(%address, storage, tls = tls.is_some(), "listening");
    if let Some(warning) = rampart_server::serve::plain_http_warning(address, tls.is_some()) {
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    rampart_server::serve::serve(listener, app, tls, limits, shutdown).await;
    // Leased jobs are handed over at once instead of lapsing.
    state.stop_jobs().await;
    state.store().close().await;
    tracing::info!("stopped");
    Ok(())
}
