//! System endpoints: health, the OpenAPI document, metrics.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::ApiError;
use crate::state::AppState;

/// Audit log figures in the health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditHealth {
    /// Entries in the audit log.
    pub tree_size: u64,
}

/// `GET /v1/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when storage does not answer.
    pub status: &'static str,
    /// The Rampart version.
    pub version: &'static str,
    /// `sqlite` or `postgres`.
    pub storage: &'static str,
    /// The audit log.
    pub audit: AuditHealth,
}

/// Liveness and readiness: answers 200 when storage answers, 503 with `Retry-After` otherwise.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "system",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Storage does not answer", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    let (healthy, tree_size) = match state.audit().head().await {
        Ok(head) => (true, head.size),
        Err(e) => {
            tracing::error!(error = %e, "health check: storage does not answer");
            (false, 0)
        }
    };
    let body = Health {
        status: if healthy { "ok" } else { "unavailable" },
        version: env!("CARGO_PKG_VERSION"),
        storage: state.storage_backend(),
        audit: AuditHealth { tree_size },
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(body)).into_response();
    if !healthy {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(rampart_app::outage::RETRY_AFTER_SECONDS),
        );
    }
    response
}

/// `GET /v1/health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `live`: the process answers.
    pub status: &'static str,
}

/// Liveness: 200 whenever the process answers (restart it when this fails). Reads nothing.
#[utoipa::path(
    get,
    path = "/v1/health/live",
    tag = "system",
    responses((status = 200, description = "The process answers", body = Liveness))
)]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "live" })
}

/// What readiness checked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// `ok` when the database answered, else `unavailable`.
    pub database: &'static str,
    /// `ok` when the audit writer runs (every audited request needs it), else `stopped`.
    pub audit_writer: &'static str,
}

/// `GET /v1/health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `unavailable` when a check failed.
    pub status: &'static str,
    /// Each check.
    pub checks: ReadinessChecks,
}

/// Readiness: 200 when the database answers and the audit writer runs (send traffic here),
/// 503 with `Retry-After` otherwise.
#[utoipa::path(
    get,
    path = "/v1/health/ready",
    tag = "system",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "A check failed", body = Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    let database = match state.audit().head().await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, "readiness: the database does not answer");
            false
        }
    };
    let writer = state.audit().writer_running();
    let ready = database && writer;
    let body = Readiness {
        status: if ready { "ready" } else { "unavailable" },
        checks: ReadinessChecks {
            database: if database { "ok" } else { "unavailable" },
            audit_writer: if writer { "ok" } else { "stopped" },
        },
    };
    if ready {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(rampart_app::outage::RETRY_AFTER_SECONDS),
        );
        response
    }
}

/// The OpenAPI 3.1 document of every endpoint, generated from the code.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "system",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics in the OpenMetrics text format; 404 when disabled by `metrics_enabled`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Metrics, OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
        (status = 404, description = "Metrics are disabled", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if !state.settings().metrics_enabled {
        return ApiError::not_found("metrics are disabled (metrics_enabled = false)")
            .into_response();
    }
    match state.metrics().render() {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(openapi))
        .routes(routes!(metrics))
}
