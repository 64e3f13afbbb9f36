//! The accept loop: plain TCP or TLS, HTTP/1.1 and HTTP/2, graceful shutdown.
//!
//! On shutdown the listener closes at once, in-flight requests finish (up to a grace period),
//! and idle connections are closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Longest a client may take to finish the TLS handshake or send request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let acceptor = tls.map(TlsAcceptor::from);
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
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = TowerToHyperService::new(app.map_request(
                move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            ));
            match acceptor {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(connection.into_owned()).await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
                Some(acceptor) => {
                    let Some(stream) = handshake(&acceptor, stream, peer).await else {
                        return;
                    };
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(connection.into_owned()).await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
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
