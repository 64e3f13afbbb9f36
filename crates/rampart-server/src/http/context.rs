//! The request context middleware: request ids, the per-request log span, the request timeout,
//! the body-size precheck, metrics, and problem+json for the errors axum itself answers in plain
//! text (a path parameter that is not UTF-8).
//!
//! Log lines carry the route template, never the raw path or query string, which may hold
//! identifiers or tokens that must stay out of logs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use tracing::Instrument as _;

use crate::http::client_addr::client_ip;
use crate::problem::ApiError;
use crate::state::AppState;

/// Header carrying the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, in request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client's address (after trusted-proxy resolution), in request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// Whether a client-sent request id is acceptable: 1-128 of `A-Za-z0-9._-`.
pub fn valid_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Routes whose bodies may be as large as the audit batch limit.
fn body_limit(state: &AppState, path: &str) -> u64 {
    if path == "/v1/audit/entries" {
        state.settings().audit_body_limit_bytes
    } else {
        state.settings().body_limit_bytes
    }
}

/// The middleware; see the module documentation.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            client_ip(
                peer.ip(),
                request.headers(),
                &state.settings().trusted_proxies,
                state.settings().forwarded_header,
            )
        });
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    if let Some(ip) = client {
        request.extensions_mut().insert(ClientIp(ip));
    }
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        client_ip = client.map(|ip| ip.to_string()).unwrap_or_default(),
    );

    let limit = body_limit(&state, request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let timeout = Duration::from_secs(state.settings().request_timeout_seconds);
    let mut response = if declared.is_some_and(|len| len > limit) {
        ApiError::payload_too_large(Some(limit)).into_response()
    } else {
        match tokio::time::timeout(timeout, next.run(request).instrument(span.clone())).await {
            Ok(response) => response,
            Err(_) => span.in_scope(|| {
                tracing::warn!(timeout_seconds = timeout.as_secs(), "request timed out");
                ApiError::timeout().into_response()
            }),
        }
    };
    if plain_text_error(&response) {
        response = as_problem(response);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics()
        .record_request(&method, &route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "request served"
        );
    });
    response
}

/// Whether a response is an error in plain text: what axum's own rejections answer (a path
/// parameter that is not UTF-8), never Rampart's, whose errors are problem+json.
fn plain_text_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain"))
}

/// The same status as problem+json, keeping the response's other headers (`Allow`,
/// `Retry-After`, …) but not its text, which may quote the request.
fn as_problem(response: Response) -> Response {
    let (parts, _) = response.into_parts();
    let mut problem = ApiError::from_status(parts.status).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_errors_become_problems_and_keep_their_headers() {
        let plain = Response::builder()
            .status(http::StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::RETRY_AFTER, "3")
            .body(axum::body::Body::from(
                "Invalid URL: Cannot parse `4111111111111111`",
            ))
            .expect("response");
        assert!(plain_text_error(&plain));
        let problem = as_problem(plain);
        assert_eq!(problem.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(
            problem.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(problem.headers()[header::RETRY_AFTER], "3");

        let ok = Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(axum::body::Body::empty())
            .expect("response");
        assert!(!plain_text_error(&ok), "a 200 in text (metrics) stays");
        assert!(!plain_text_error(&ApiError::not_found("x").into_response()));
    }

    #[test]
    fn request_ids_are_checked() {
        assert!(valid_request_id("abc-123_x.y"));
        assert!(valid_request_id(&"a".repeat(128)));
        assert!(!valid_request_id(&"a".repeat(129)));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("has space"));
        assert!(!valid_request_id("new\nline"));
        assert!(!valid_request_id("é"));
    }
}
