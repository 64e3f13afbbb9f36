//! The served certificate, swapped without a restart.
//!
//! rustls asks [`ReloadingCertificate`] for the certificate at each handshake, and it answers
//! with whatever it holds then (one atomic load, no lock). A reload reads the certificate and
//! key files, checks that the key fits the certificate, and only then swaps them in: new
//! handshakes get the new certificate, open connections keep theirs (TLS never presents a
//! certificate again on an established connection). A file that does not parse, or a key that
//! does not fit, is logged as an error and the certificate in service stays.
//!
//! Reloads happen on SIGHUP and when the files change: every [`POLL_INTERVAL`] both files are
//! read and hashed (a few kilobytes), which also catches a rename over the file or a rewrite
//! within one mtime tick. A change is acted on once, so a half-written pair (the new
//! certificate beside the old key) logs one error and is taken up as soon as the key follows.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use super::{TlsError, der, pem_error};

/// How often the certificate and key files are checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What the log says of a certificate: never anything secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// SHA-256 of the leaf certificate's DER, hex.
    pub sha256: String,
    /// The leaf's serial number (hex), when it could be read.
    pub serial: Option<String>,
    /// The leaf's not-after time (RFC 3339), when it could be read.
    pub not_after: Option<String>,
}

/// The certificate and key files as read at one moment, with their digest.
pub(super) struct Files {
    cert: Vec<u8>,
    key: Zeroizing<Vec<u8>>,
    digest: [u8; 32],
}

/// What the watcher last saw of the files: their digest, or the error reading them.
#[derive(PartialEq, Eq)]
enum Seen {
    Digest([u8; 32]),
    Unreadable(String),
}

/// The certificate in service, reloadable from its files.
pub struct ReloadingCertificate {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    seen: Mutex<Seen>,
}

impl std::fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ReloadingCertificate {
    /// Loads the certificate chain at `cert` and its key at `key`; refuses a pair that does
    /// not fit.
    pub fn load(cert: &Path, key: &Path, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let files = read(cert, key)?;
        let certified = parse(cert, key, &files, &provider)?;
        Ok(Self {
            cert_path: cert.to_owned(),
            key_path: key.to_owned(),
            provider,
            current: ArcSwap::from_pointee(certified),
            seen: Mutex::new(Seen::Digest(files.digest)),
        })
    }

    /// The leaf certificate in service now (DER).
    pub fn current_leaf(&self) -> Option<CertificateDer<'static>> {
        self.current.load().cert.first().cloned()
    }

    /// Reads the files again and, when they hold a good pair, serves it from the next
    /// handshake on. On error the certificate in service stays.
    pub fn reload(&self) -> Result<CertificateSummary, TlsError> {
        let files = read(&self.cert_path, &self.key_path);
        self.remember(&files);
        let files = files?;
        self.swap_in(&files)
    }

    fn swap_in(&self, files: &Files) -> Result<CertificateSummary, TlsError> {
        let certified = parse(&self.cert_path, &self.key_path, files, &self.provider)?;
        let summary = summary(certified.cert.first());
        self.current.store(Arc::new(certified));
        Ok(summary)
    }

    pub(super) fn remember(&self, files: &Result<Files, TlsError>) -> bool {
        let now = match files {
            Ok(files) => Seen::Digest(files.digest),
            Err(e) => Seen::Unreadable(e.to_string()),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = *seen != now;
        *seen = now;
        changed
    }

    /// Reloads when the files differ from what was last seen (logged once per change).
    pub(super) fn reload_if_changed(&self) {
        let files = read(&self.cert_path, &self.key_path);
        if !self.remember(&files) {
            return;
        }
        self.log(
            files.and_then(|files| self.swap_in(&files)),
            "the files changed",
        );
    }

    fn log(&self, result: Result<CertificateSummary, TlsError>, trigger: &'static str) {
        match result {
            Ok(summary) => tracing::info!(
                trigger,
                cert = %self.cert_path.display(),
                sha256 = %summary.sha256,
                serial = summary.serial.as_deref().unwrap_or("unknown"),
                not_after = summary.not_after.as_deref().unwrap_or("unknown"),
                "TLS certificate reloaded; new handshakes use it"
            ),
            Err(e) => tracing::error!(
                trigger,
                error = %e,
                "TLS certificate not reloaded; the certificate in service stays"
            ),
        }
    }

    /// Reloads on SIGHUP and when the files change, for as long as the runtime runs. The
    /// SIGHUP handler is installed before this returns.
    pub fn watch(self: &Arc<Self>) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; the certificate is reloaded when its files change");
                None
            }
        };
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let on_hangup = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                let forced = tokio::select! {
                    received = on_hangup => {
                        if received.is_none() {
                            hangup = None;
                            continue;
                        }
                        true
                    }
                    _ = tick.tick() => false,
                };
                let certificate = Arc::clone(&this);
                // File reads block: off the runtime's worker threads.
                let _ = tokio::task::spawn_blocking(move || {
                    if forced {
                        certificate.log(certificate.reload(), "SIGHUP");
                    } else {
                        certificate.reload_if_changed();
                    }
                })
                .await;
            }
        });
    }
}

pub(super) fn read(cert: &Path, key: &Path) -> Result<Files, TlsError> {
    let io_error = |what: &'static str, path: &Path, e: std::io::Error| TlsError::Pem {
        what,
        path: path.to_owned(),
        message: e.to_string(),
    };
    let cert_bytes = std::fs::read(cert).map_err(|e| io_error("certificate chain", cert, e))?;
    let key_bytes =
        Zeroizing::new(std::fs::read(key).map_err(|e| io_error("private key", key, e))?);
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [&cert_bytes[..], &key_bytes[..]] {
        context.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        context.update(part);
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(context.finish().as_ref());
    Ok(Files {
        cert: cert_bytes,
        key: key_bytes,
        digest,
    })
}

fn parse(
    cert: &Path,
    key: &Path,
    files: &Files,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(&files.cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error("certificate chain", cert))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificates {
            path: cert.to_owned(),
        });
    }
    let private_key =
        PrivateKeyDer::from_pem_slice(&files.key).map_err(pem_error("private key", key))?;
    CertifiedKey::from_der(chain, private_key, provider).map_err(|source| TlsError::KeyMismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    })
}

fn summary(leaf: Option<&CertificateDer<'_>>) -> CertificateSummary {
    let Some(leaf) = leaf else {
        return CertificateSummary {
            sha256: String::new(),
            serial: None,
            not_after: None,
        };
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, leaf.as_ref());
    let sha256 = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let (serial, not_after) = der::serial_and_not_after(leaf.as_ref()).unzip();
    CertificateSummary {
        sha256,
        serial,
        not_after,
    }
}
