//! TLS with rustls: TLS 1.3, and 1.2 unless `tls_min_version` is `"1.3"`; HTTP/2 and HTTP/1.1 by
//! ALPN; optional client certificates (mTLS) checked against a configured CA.
//!
//! The certificate and key are served through [`reload::ReloadingCertificate`], so a rotated
//! certificate is taken up by new handshakes on SIGHUP or when the files change, while open
//! connections keep the one they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_app::config::TlsMinVersion;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub mod der;
pub mod reload;

pub use reload::ReloadingCertificate;

/// Why the TLS configuration could not be built. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("cannot read {what} from {path}: {message}")]
    Pem {
        /// Certificate, key or CA.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file holds no certificate.
    #[error("{path} contains no PEM certificate")]
    NoCertificates {
        /// The file.
        path: PathBuf,
    },
    /// The private key does not belong to the certificate, or rustls cannot use it.
    #[error("the private key {key} does not fit the certificate {cert}: {source}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the configuration.
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA could not be used to verify clients.
    #[error("invalid client CA: {0}")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
}

fn pem_error(what: &'static str, path: &Path) -> impl Fn(rustls_pki_types::pem::Error) -> TlsError {
    move |e| TlsError::Pem {
        what,
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error(what, path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what, path))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The protocol versions offered for a floor.
fn protocol_versions(min: TlsMinVersion) -> &'static [&'static SupportedProtocolVersion] {
    static TLS12_AND_13: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match min {
        TlsMinVersion::Tls12 => &TLS12_AND_13,
        TlsMinVersion::Tls13 => &TLS13_ONLY,
    }
}

/// The rustls server configuration for a certificate chain, its key, an optional client CA and
/// the protocol floor, with the certificate served by the returned [`ReloadingCertificate`]
/// (which nothing reloads until [`ReloadingCertificate::watch`] runs).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
    min_version: TlsMinVersion,
) -> Result<(Arc<ServerConfig>, Arc<ReloadingCertificate>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certificate = Arc::new(ReloadingCertificate::load(
        cert,
        key,
        Arc::clone(&provider),
    )?);
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(protocol_versions(min_version))?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates("client CA", ca)? {
                roots.add(cert)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::clone(&certificate) as _);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), certificate))
}

/// [`server_config`], with the certificate reloaded from then on (SIGHUP and file changes).
/// Call it inside the runtime and before announcing readiness: the SIGHUP handler is installed
/// here, so a SIGHUP right after the banner reloads instead of ending the process.
pub fn start(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
    min_version: TlsMinVersion,
) -> Result<Arc<ServerConfig>, TlsError> {
    let (config, certificate) = server_config(cert, key, client_ca, min_version)?;
    certificate.watch();
    tracing::info!(
        tls_min_version = min_version.as_str(),
        "TLS on; the certificate is reloaded on SIGHUP and when its files change"
    );
    Ok(config)
}

/// Without TLS there is nothing to reload, but a SIGHUP (`systemctl reload`, a log rotator)
/// must not end the process as its default action would: it is logged and ignored. Call it
/// inside the runtime, before announcing readiness.
pub fn ignore_hangup() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => {
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    tracing::info!(
                        signal = "SIGHUP",
                        "SIGHUP received: TLS is off, nothing to reload"
                    );
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
    }
}

#[cfg(test)]
mod tests;
