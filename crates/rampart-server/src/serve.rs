//! The accept loop: plain TCP or TLS, HTTP/1.1 and HTTP/2, connection limits, graceful shutdown.
//!
//! Every connection costs a file descriptor, so none is kept for free: at most
//! `max_connections` are open at once (lowered below the process's open-files limit), at most
//! `max_connections_per_address` from one client address (IPv6 by /64; trusted proxies exempt),
//! and a connection with no request in flight for `idle_timeout_seconds` is closed — whether it
//! never sent a byte, sits in a TLS handshake, sent only the HTTP/2 preface, or idles between
//! keep-alive requests. A connection over a cap is closed as soon as it is accepted, so the
//! listener keeps accepting and every client below the caps is served.
//!
//! On shutdown the listener closes at once, in-flight requests finish (up to a grace period),
//! and idle connections are closed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::config::Settings;

/// Longest a client may take to finish the TLS handshake or send request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often an HTTP/2 connection is pinged, and how long the answer may take, so connections
/// whose peer vanished are closed even while a request is in flight.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// File descriptors kept back from the connection cap for the database, logs and the listener.
const RESERVED_DESCRIPTORS: u64 = 128;
/// Least time between two "connection refused by a cap" warnings.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// How many connections the server keeps, and for how long.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Most connections open at once (after lowering below the open-files limit).
    pub max_connections: usize,
    /// Most connections open at once from one address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Addresses exempt from the per-address cap (the trusted proxies, which carry many clients).
    pub exempt: Vec<IpNet>,
}

impl ConnectionLimits {
    /// The limits `settings` ask for, with `max_connections` lowered (and a warning logged) when
    /// the process may not open that many files.
    pub fn from_settings(settings: &Settings) -> Self {
        let requested = usize::try_from(settings.max_connections).unwrap_or(usize::MAX);
        let soft_limit = open_files_soft_limit();
        let max_connections = effective_cap(requested, soft_limit);
        if max_connections < requested {
            tracing::warn!(
                max_connections = requested,
                open_files_limit = soft_limit.unwrap_or_default(),
                effective = max_connections,
                "max_connections is above the open-files limit (ulimit -n); serving at most {max_connections} connections"
            );
        }
        Self {
            max_connections,
            max_connections_per_address: usize::try_from(settings.max_connections_per_address)
                .unwrap_or(usize::MAX),
            idle_timeout: Duration::from_secs(settings.idle_timeout_seconds),
            exempt: settings.trusted_proxies.clone(),
        }
    }
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (`None` where there is no
/// such file; `u64::MAX` when unlimited).
fn open_files_soft_limit() -> Option<u64> {
    parse_soft_nofile(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

fn parse_soft_nofile(limits: &str) -> Option<u64> {
    let rest = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    match rest.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

/// `requested`, lowered to leave descriptors for everything else under `soft_limit`.
fn effective_cap(requested: usize, soft_limit: Option<u64>) -> usize {
    let Some(soft) = soft_limit else {
        return requested;
    };
    let reserve = RESERVED_DESCRIPTORS.min(soft / 2);
    let available = usize::try_from(soft.saturating_sub(reserve)).unwrap_or(usize::MAX);
    requested.min(available).max(1)
}

/// The key one client's connections are counted under: the IPv4 address, or the IPv6 /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// The open connections: a semaphore for the total and a count per address.
struct Connections {
    slots: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
    exempt: Vec<IpNet>,
    started: Instant,
    last_warning_ms: AtomicU64,
}

/// A connection's place under the caps, given back when it closes.
struct Admission {
    _slot: OwnedSemaphorePermit,
    address: Option<IpAddr>,
    connections: Arc<Connections>,
}

impl Connections {
    fn new(limits: &ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(
                limits.max_connections.min(Semaphore::MAX_PERMITS),
            )),
            per_address: Mutex::new(HashMap::new()),
            max_per_address: limits.max_connections_per_address,
            exempt: limits.exempt.clone(),
            started: Instant::now(),
            last_warning_ms: AtomicU64::new(0),
        })
    }

    /// A place for a connection from `peer`, or `None` when a cap is reached.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Admission> {
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            self.warn_refused("max_connections");
            return None;
        };
        let address = if self.exempt.iter().any(|net| net.contains(&peer)) {
            None
        } else {
            let key = address_key(peer);
            let mut counts = self
                .per_address
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let count = counts.entry(key).or_insert(0);
            if *count >= self.max_per_address {
                drop(counts);
                self.warn_refused("max_connections_per_address");
                return None;
            }
            *count += 1;
            Some(key)
        };
        Some(Admission {
            _slot: slot,
            address,
            connections: Arc::clone(self),
        })
    }

    /// Logs a refusal at most once a minute: under attack, one line per connection would be a
    /// second exhaustion.
    fn warn_refused(&self, cap: &'static str) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(REFUSAL_WARNING_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if (last == 0 || now.saturating_sub(last) >= interval)
            && self
                .last_warning_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                cap,
                "refusing connections: {cap} reached (logged at most once a minute)"
            );
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let Some(key) = self.address else { return };
        let mut counts = self
            .connections
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&key);
            }
        }
    }
}

/// When a connection last began or finished a request, and how many it has in flight.
struct Activity {
    started: tokio::time::Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Marks a request in flight until the guard (held by its response body) drops.
    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        RequestGuard(Arc::clone(self))
    }

    /// Resolves once no request has been in flight for `timeout`.
    async fn idle(&self, timeout: Duration) {
        loop {
            let last = self.last_ms.load(Ordering::Relaxed);
            match self
                .started
                .checked_add(Duration::from_millis(last))
                .and_then(|at| at.checked_add(timeout))
            {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending::<()>().await,
            }
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                // A request (or its response body) is running: the request timeout and the
                // HTTP/2 keep-alive bound it, not the idle timeout.
                tokio::time::sleep(timeout).await;
                continue;
            }
            if self.last_ms.load(Ordering::Relaxed) == last {
                return;
            }
        }
    }
}

/// One request in flight; dropping it (when the response body is done) ends the request.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped,
/// so a long streamed export is never cut by the idle timeout.
struct TrackedBody {
    body: Body,
    _guard: RequestGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    let acceptor = tls.map(TlsAcceptor::from);
    let connections = Connections::new(&limits);
    let idle_timeout = limits.idle_timeout;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admission) = connections.admit(peer.ip()) else {
            // Over a cap: closed at once, so it holds its descriptor for no time at all.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _admission = admission;
            let activity = Activity::new();
            let service = {
                let activity = Arc::clone(&activity);
                TowerToHyperService::new(tower::service_fn(
                    move |mut request: axum::http::Request<Incoming>| {
                        let guard = activity.begin();
                        request.extensions_mut().insert(ConnectInfo(peer));
                        let response = app.clone().oneshot(request);
                        async move {
                            let response = response.await?;
                            Ok::<_, Infallible>(response.map(|body| {
                                Body::new(TrackedBody {
                                    body,
                                    _guard: guard,
                                })
                            }))
                        }
                    },
                ))
            };
            let connection = async {
                let result = match acceptor {
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    Some(acceptor) => {
                        let Some(stream) = handshake(&acceptor, stream, peer).await else {
                            return;
                        };
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
            };
            tokio::select! {
                () = connection => {}
                () = activity.idle(idle_timeout) => {
                    tracing::debug!(%peer, "closing idle connection");
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace period over; closing remaining connections"),
    }
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::info!(error = %e, %peer, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::info!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so call it before announcing readiness: a signal that arrives
/// right after the banner must still mean a graceful stop.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            (Ok(mut term), Err(e)) | (Err(e), Ok(mut term)) => {
                tracing::warn!(error = %e, "cannot listen for one of SIGTERM/SIGINT");
                let _ = term.recv().await;
            }
            (Err(e), Err(_)) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM or SIGINT; stop the server with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The warning to give at start when `address` is reachable from other machines and serves
/// plain HTTP: API keys, session tokens and whatever the requests carry cross the network in
/// clear. `None` on loopback or with TLS.
pub fn plain_http_warning(address: std::net::SocketAddr, tls: bool) -> Option<String> {
    (!tls && !address.ip().is_loopback()).then(|| {
        format!(
            "listening on {address} without TLS: credentials and data cross the network in \
             clear; set tls_cert and tls_key (or terminate TLS in a proxy on this host and \
             listen on 127.0.0.1)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_beyond_loopback_is_warned_about() {
        let at = |text: &str| text.parse::<std::net::SocketAddr>().expect("address");
        let warning = plain_http_warning(at("0.0.0.0:8470"), false);
        assert!(warning.is_some_and(|w| w.contains("0.0.0.0:8470") && w.contains("tls_cert")));
        assert!(plain_http_warning(at("10.1.2.3:8470"), false).is_some());
        assert!(plain_http_warning(at("[::]:8470"), false).is_some());
        assert!(plain_http_warning(at("127.0.0.1:8470"), false).is_none());
        assert!(plain_http_warning(at("[::1]:8470"), false).is_none());
        assert!(plain_http_warning(at("0.0.0.0:8470"), true).is_none());
    }

    fn limits(total: usize, per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_connections_per_address: per_address,
            idle_timeout: Duration::from_secs(60),
            exempt: vec!["10.0.0.0/8".parse().expect("net")],
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_soft_nofile(text), Some(1024));
        let text = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_nofile(text), Some(u64::MAX));
        assert_eq!(parse_soft_nofile("garbage"), None);
    }

    #[test]
    fn the_cap_stays_below_the_open_files_limit() {
        assert_eq!(effective_cap(10_000, Some(1024)), 1024 - 128);
        assert_eq!(effective_cap(500, Some(1024)), 500);
        assert_eq!(effective_cap(10_000, Some(u64::MAX)), 10_000);
        assert_eq!(effective_cap(10_000, None), 10_000);
        assert_eq!(effective_cap(10_000, Some(100)), 50);
        assert_eq!(effective_cap(10_000, Some(0)), 1);
    }

    #[test]
    fn ipv6_clients_are_counted_by_slash_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[tokio::test]
    async fn caps_refuse_and_release() {
        let connections = Connections::new(&limits(3, 2));
        let a1 = connections.admit(ip("192.0.2.1")).expect("first");
        let a2 = connections.admit(ip("192.0.2.1")).expect("second");
        assert!(connections.admit(ip("192.0.2.1")).is_none(), "per address");
        drop(a1);
        let a3 = connections.admit(ip("192.0.2.1")).expect("after a close");
        let b = connections.admit(ip("192.0.2.2")).expect("another address");
        assert!(connections.admit(ip("10.1.1.1")).is_none(), "total");
        drop((a2, a3, b));
        // Trusted proxies are exempt from the per-address cap, not from the total.
        let proxied: Vec<_> = (0..3)
            .map(|_| connections.admit(ip("10.1.1.1")).expect("proxy"))
            .collect();
        assert_eq!(proxied.len(), 3);
        assert!(connections.per_address.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn idle_waits_for_requests_in_flight() {
        let activity = Activity::new();
        let guard = activity.begin();
        let idle = activity.idle(Duration::from_millis(100));
        tokio::pin!(idle);
        assert!(
            tokio::time::timeout(Duration::from_millis(600), &mut idle)
                .await
                .is_err(),
            "closed with a request in flight"
        );
        drop(guard);
        assert!(
            tokio::time::timeout(Duration::from_secs(10), &mut idle)
                .await
                .is_ok()
        );
    }
}
