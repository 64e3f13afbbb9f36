//! Rampart's HTTP server: settings, start-up (init, master-key checks), the axum router with its
//! middleware (request ids, security headers, authentication, problem+json errors, metrics), the
//! OpenAPI document, TLS and the accept loop.
//!
//! Handlers are thin: parse, authorize, call one domain service, map the result. No SQL here.
#![forbid(unsafe_code)]

pub mod audit_export;
pub mod config;
pub mod deployment;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod serve;
pub mod state;
pub mod tls;

use rampart_access::Authenticator;

use crate::config::Settings;
use crate::deployment::OpenDeployment;
use crate::state::AppState;

/// The application state and router for an opened deployment.
pub fn app(deployment: OpenDeployment, settings: Settings) -> (AppState, axum::Router) {
    let authenticator = Authenticator::new(deployment.store.clone(), deployment.api_key_pepper);
    // The default policy has no action that needs a key service, so this cannot fail.
    let redactor = rampart_privacy::Redactor::new(
        rampart_privacy::Policy::default_policy(),
        deployment.pii_key,
    )
    .unwrap_or_else(|_| unreachable!("the default PII policy needs no key service"));
    let state = AppState::new(
        deployment.store,
        authenticator,
        deployment.audit,
        redactor,
        settings,
    );
    let router = routes::router(state.clone());
    (state, router)
}
