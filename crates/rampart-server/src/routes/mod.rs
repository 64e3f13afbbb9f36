//! The router: every route, and the middleware around them.
//!
//! To add a capability: a module here with thin handlers (parse, authorize, call one domain
//! service, map the result), its routes in [`router`], and its paths in [`crate::openapi`].

pub(crate) mod api_keys;
mod audit;
mod auth;
pub(crate) mod authz;
pub(crate) mod cards;
pub(crate) mod documents;
pub(crate) mod identity;
pub(crate) mod key_ops;
pub(crate) mod keys;
mod privacy;
pub(crate) mod sessions;
mod system;
pub(crate) mod totp;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http::{HeaderValue, Method, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::http::{audit_trail, context, headers};
use crate::problem::ApiError;
use crate::state::AppState;

pub use auth::WhoAmI;
pub use system::{AuditHealth, Health};

pub(crate) use audit::{
    __path_append, __path_checkpoint, __path_consistency, __path_export_entries, __path_get_entry,
    __path_inclusion, __path_list, __path_public_key, __path_verify,
};
pub use audit::{
    AppendResponse, AppendedEntry, CheckpointBody, ConsistencyProofBody, EntriesPage,
    InclusionProofBody, PublicKeyBody, VerifyBody, VerifyProblemBody,
};
pub(crate) use auth::__path_whoami;
pub use cards::TokenizedCard;
pub use keys::{KeyMetadata, KeyVersionBody, KeysPage};
pub(crate) use privacy::{__path_detect, __path_redact};
pub use privacy::{DetectBody, FindingBody};
pub(crate) use system::{__path_health, __path_metrics, __path_openapi};

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.settings().body_limit_bytes).unwrap_or(usize::MAX);
    let audit_body_limit =
        usize::try_from(state.settings().audit_body_limit_bytes).unwrap_or(usize::MAX);
    let mut router = Router::new()
        .route(
            "/v1/audit/entries",
            post(audit::append)
                .get(audit::list)
                .layer(DefaultBodyLimit::max(audit_body_limit)),
        )
        .route("/v1/audit/entries/{seq}", get(audit::get_entry))
        .route("/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/v1/audit/public-key", get(audit::public_key))
        .route("/v1/audit/proofs/inclusion", get(audit::inclusion))
        .route("/v1/audit/proofs/consistency", get(audit::consistency))
        .route("/v1/audit/verify", post(audit::verify))
        .route("/v1/audit/export", get(audit::export_entries))
        .route("/v1/keys", post(keys::create_key).get(keys::list_keys))
        .route(
            "/v1/keys/{name}",
            get(keys::get_key).patch(keys::update_key),
        )
        .route("/v1/keys/{name}/rotate", post(keys::rotate_key))
        .route("/v1/keys/{name}/encrypt", post(key_ops::encrypt))
        .route("/v1/keys/{name}/decrypt", post(key_ops::decrypt))
        .route("/v1/keys/{name}/rewrap", post(key_ops::rewrap))
        .route("/v1/keys/{name}/hmac", post(key_ops::hmac))
        .route("/v1/keys/{name}/verify-hmac", post(key_ops::verify_hmac))
        .route("/v1/keys/{name}/sign", post(key_ops::sign))
        .route("/v1/keys/{name}/verify", post(key_ops::verify))
        .route("/v1/documents/encrypt", post(documents::encrypt_document))
        .route("/v1/documents/decrypt", post(documents::decrypt_document))
        .route("/v1/cards/tokenize", post(cards::tokenize))
        .route("/v1/cards/detokenize", post(cards::detokenize))
        .route("/v1/redact", post(privacy::redact))
        .route("/v1/detect", post(privacy::detect))
        .route("/v1/health", get(system::health))
        .route("/openapi.json", get(system::openapi))
        .route("/metrics", get(system::metrics))
        .route("/v1/auth/whoami", get(auth::whoami))
        .route("/v1/auth/login", post(sessions::login))
        .route("/v1/auth/logout", post(sessions::logout))
        .route("/v1/auth/introspect", post(sessions::introspect))
        .route(
            "/v1/principals",
            post(identity::create_principal).get(identity::list_principals),
        )
        .route(
            "/v1/principals/{id}",
            get(identity::get_principal)
                .patch(identity::update_principal)
                .delete(identity::disable_principal),
        )
        .route(
            "/v1/principals/{id}/unlock",
            post(identity::unlock_principal),
        )
        .route(
            "/v1/principals/{id}/totp",
            post(totp::enroll_totp).delete(totp::remove_totp),
        )
        .route("/v1/principals/{id}/totp/confirm", post(totp::confirm_totp))
        .route(
            "/v1/api-keys",
            post(api_keys::create_api_key).get(api_keys::list_api_keys),
        )
        .route("/v1/api-keys/{id}", delete(api_keys::revoke_api_key))
        .route("/v1/api-keys/{id}/rotate", post(api_keys::rotate_api_key))
        .route("/v1/authorize", post(authz::authorize))
        .route("/v1/policy", get(authz::get_policy).put(authz::put_policy))
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
