//! The `webhook-send` job: due deliveries of the outbox POSTed per the Standard Webhooks spec
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), each attempt recorded on the
//! delivery (delivered on a 2xx, else retried on the schedule with jitter, then `failed`).
//!
//! Every attempt resolves the host again and refuses loopback, private and link-local
//! addresses (unless `webhook_allow_private_networks`), then connects to the address it checked,
//! so a name that changes its answer between the check and the connection (DNS rebinding)
//! reaches nothing it should not. The client is a minimal HTTP/1.1 one over tokio (and rustls
//! for `https`): the application layer keeps no HTTP stack (see the architecture test).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rampart_audit::AuditStore;
use rampart_monitor::{
    AttemptOutcome, Delivery, MonitorStore, WebhookSecret, WebhookUrl, is_forbidden_destination,
    sign, validate_url,
};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{MonitorError, MonitorService, random_u64};

/// How long one attempt may take, connecting included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent per step.
const DUE_PER_STEP: u32 = 64;
/// Bytes of the answer read (its status line is all that matters).
const ANSWER_BYTES: usize = 1024;

/// Resolves the URL's host; with `allow_private_networks` false, refuses it if any address it
/// resolves to is forbidden. The addresses to connect to.
pub async fn resolve_allowed(
    url: &WebhookUrl,
    allow_private_networks: bool,
) -> Result<Vec<SocketAddr>, String> {
    let addresses: Vec<SocketAddr> = match url.address {
        Some(address) => vec![SocketAddr::new(address, url.port)],
        None => tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|_| "the host does not resolve".to_owned())?
            .collect(),
    };
    if addresses.is_empty() {
        return Err("the host does not resolve".to_owned());
    }
    if !allow_private_networks && addresses.iter().any(|a| is_forbidden_destination(a.ip())) {
        return Err("must not resolve to a loopback, private or link-local address".to_owned());
    }
    Ok(addresses)
}

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// Sends the deliveries due at `now`; how many were attempted.
    pub async fn send_step(&self, now: OffsetDateTime) -> Result<usize, MonitorError> {
        let due = self
            .store
            .due_deliveries(now, DUE_PER_STEP)
            .await
            .map_err(MonitorError::store)?;
        let attempts = due.into_iter().map(|delivery| self.attempt(delivery));
        let results = futures_util::future::join_all(attempts).await;
        let attempted = results.len();
        for result in results {
            if let Err(error) = result {
                tracing::warn!(error = %error, "webhook delivery attempt not recorded");
            }
        }
        Ok(attempted)
    }

    /// One attempt of one delivery, recorded.
    async fn attempt(&self, mut delivery: Delivery) -> Result<(), MonitorError> {
        let Some(webhook) = self
            .store
            .webhook(&delivery.webhook_id)
            .await
            .map_err(MonitorError::store)?
        else {
            return Ok(());
        };
        let secret = self.secret_of(&webhook)?;
        let outcome = post(
            &webhook.url,
            &delivery,
            &secret,
            self.settings.allow_private_networks,
        )
        .await;
        let expected = delivery.attempts;
        delivery.record_attempt(
            outcome,
            OffsetDateTime::now_utc(),
            &self.settings.retry,
            random_u64(),
        );
        self.store
            .record_attempt(&delivery, expected)
            .await
            .map_err(MonitorError::store)?;
        Ok(())
    }
}

/// POSTs a delivery; the status code, or no answer (refused destination, no connection,
/// timeout, not HTTP).
pub async fn post(
    url: &str,
    delivery: &Delivery,
    secret: &WebhookSecret,
    allow_private_networks: bool,
) -> AttemptOutcome {
    match tokio::time::timeout(
        ATTEMPT_TIMEOUT,
        post_within(url, delivery, secret, allow_private_networks),
    )
    .await
    {
        Ok(Ok(code)) => AttemptOutcome::Answered(code),
        Ok(Err(reason)) => {
            tracing::info!(delivery = %delivery.id, reason, "webhook attempt got no answer");
            AttemptOutcome::NoAnswer
        }
        Err(_) => AttemptOutcome::NoAnswer,
    }
}

async fn post_within(
    url: &str,
    delivery: &Delivery,
    secret: &WebhookSecret,
    allow_private_networks: bool,
) -> Result<u16, &'static str> {
    let parsed = validate_url(url, allow_private_networks).map_err(|_| "the URL is refused")?;
    let addresses = resolve_allowed(&parsed, allow_private_networks)
        .await
        .map_err(|_| "the destination is refused")?;
    let mut stream = None;
    for address in addresses {
        if let Ok(s) = TcpStream::connect(address).await {
            stream = Some(s);
            break;
        }
    }
    let stream = stream.ok_or("no connection")?;
    let _ = stream.set_nodelay(true);
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let request = request_bytes(&parsed, url, delivery, secret, timestamp);
    if parsed.https {
        let name = rustls_pki_types::ServerName::try_from(parsed.host.clone())
            .map_err(|_| "bad server name")?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, stream)
            .await
            .map_err(|_| "TLS handshake failed")?;
        exchange(tls, &request).await
    } else {
        exchange(stream, &request).await
    }
}

/// The HTTP/1.1 request of one attempt.
fn request_bytes(
    url: &WebhookUrl,
    text: &str,
    delivery: &Delivery,
    secret: &WebhookSecret,
    timestamp: i64,
) -> Vec<u8> {
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let path_start = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    let path = after_scheme.get(path_start..).unwrap_or("");
    let path = path.split('#').next().unwrap_or("");
    let path = if path.is_empty() || path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let host = match url.address {
        Some(std::net::IpAddr::V6(_)) => format!("[{}]:{}", url.host, url.port),
        _ => format!("{}:{}", url.host, url.port),
    };
    let body = delivery.body.as_bytes();
    let signature = sign(secret, &delivery.id, timestamp, body);
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         user-agent: rampart-webhooks\r\nwebhook-id: {}\r\nwebhook-timestamp: {timestamp}\r\n\
         webhook-signature: {signature}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        delivery.id,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Writes the request, reads the status line.
async fn exchange<T: AsyncRead + AsyncWrite + Unpin>(
    mut stream: T,
    request: &[u8],
) -> Result<u16, &'static str> {
    stream
        .write_all(request)
        .await
        .map_err(|_| "cannot send the request")?;
    stream
        .flush()
        .await
        .map_err(|_| "cannot send the request")?;
    let mut answer = Vec::with_capacity(ANSWER_BYTES);
    let mut buffer = [0u8; 256];
    while answer.len() < ANSWER_BYTES && !answer.windows(2).any(|w| w == b"\r\n") {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|_| "cannot read the answer")?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(buffer.get(..read).unwrap_or_default());
    }
    let line = answer
        .split(|b| *b == b'\n')
        .next()
        .ok_or("no status line")?;
    let line = std::str::from_utf8(line).map_err(|_| "not HTTP")?;
    let mut parts = line.split(' ');
    if !parts.next().unwrap_or("").starts_with("HTTP/1.") {
        return Err("not HTTP");
    }
    parts
        .next()
        .and_then(|code| code.trim().parse::<u16>().ok())
        .filter(|code| (100..=599).contains(code))
        .ok_or("no status code")
}

/// The TLS client configuration: the web PKI's roots, TLS 1.2 and 1.3.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| {
            builder
                .with_root_certificates(roots.clone())
                .with_no_client_auth()
        })
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        });
        Arc::new(config)
    }))
}
