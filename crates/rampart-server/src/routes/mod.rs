//! The router: every route, and the middleware around them.
//!
//! To add a capability: a module here with thin handlers (parse, authorize, call one domain
//! service, map the result) and a `routes()` function that registers them (`routes!`, which
//! also adds their OpenAPI paths and schemas), merged once in [`api`].

pub(crate) mod agents;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod authz;
pub(crate) mod cards;
pub(crate) mod compliance;
pub(crate) mod documents;
pub(crate) mod identity;
pub(crate) mod identity_schema;
pub(crate) mod key_ops;
pub(crate) mod keys;
pub(crate) mod monitor;
pub(crate) mod privacy;
pub(crate) mod retention;
pub(crate) mod sessions;
pub(crate) mod subjects;
pub(crate) mod system;
pub(crate) mod threat;
pub(crate) mod totp;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::http::{audit_trail, context, headers};
use crate::problem::ApiError;
use crate::state::AppState;

pub use auth::WhoAmI;
pub use system::{AuditHealth, Health};

/// Every module's routes with their OpenAPI paths. Each route module registers its own routes,
/// paths and audit behaviour in its `routes()`; this list is the only place that names them.
pub(crate) fn api(audit_body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(system::routes())
        .merge(auth::routes())
        .merge(sessions::routes())
        .merge(identity::routes())
        .merge(totp::routes())
        .merge(api_keys::routes())
        .merge(authz::routes())
        .merge(audit::routes(audit_body_limit))
        .merge(keys::routes())
        .merge(key_ops::routes())
        .merge(documents::routes())
        .merge(cards::routes())
        .merge(privacy::routes())
        .merge(threat::routes())
        .merge(monitor::routes())
        .merge(subjects::routes())
        .merge(retention::routes())
        .merge(agents::routes())
        .merge(compliance::routes())
}

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.settings().body_limit_bytes).unwrap_or(usize::MAX);
    let audit_body_limit =
        usize::try_from(state.settings().audit_body_limit_bytes).unwrap_or(usize::MAX);
    let (routes, _) = api(audit_body_limit).split_for_parts();
    let mut router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The context middleware refuses declared lengths over the route's limit; this bounds
        // chunked bodies that declare none (the audit route sets its own, larger one).
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response));
    if let Some(cors) = cors(&state) {
        router = router.layer(cors);
    }
    router
        .layer(from_fn_with_state(
            state.clone(),
            crate::http::threat::threat_guard,
        ))
        .layer(from_fn_with_state(state.clone(), audit_trail::audit_trail))
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
