//! The router: every route, and the middleware around them.
//!
//! To add a capability: a module here with thin handlers (parse, authorize, call one domain
//! service, map the result), its routes in [`router`], and its paths in [`crate::openapi`].

mod auth;
mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, Method, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::http::{context, headers};
use crate::problem::ApiError;
use crate::state::AppState;

pub use auth::WhoAmI;
pub use system::{AuditHealth, Health};

pub(crate) use auth::__path_whoami;
pub(crate) use system::{__path_health, __path_metrics, __path_openapi};

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(
        state
            .settings()
            .audit_body_limit_bytes
            .max(state.settings().body_limit_bytes),
    )
    .unwrap_or(usize::MAX);
    let mut router = Router::new()
        .route("/v1/health", get(system::health))
        .route("/openapi.json", get(system::openapi))
        .route("/metrics", get(system::metrics))
        .route("/v1/auth/whoami", get(auth::whoami))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The context middleware refuses declared lengths over the route's limit; this bounds
        // chunked bodies that declare none.
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response));
    if let Some(cors) = cors(&state) {
        router = router.layer(cors);
    }
    router
        .layer(from_fn_with_state(state.clone(), context::request_context))
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .with_state(state)
}

fn cors(state: &AppState) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = state
        .settings()
        .cors_allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                context::REQUEST_ID_HEADER.parse().unwrap_or(header::ACCEPT),
            ])
            .expose_headers([header::HeaderName::from_static(context::REQUEST_ID_HEADER)])
            .max_age(std::time::Duration::from_secs(600))
    })
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(&std::io::Error::other("a request handler panicked")).into_response()
}
