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
pub fn app(
    deployment: OpenDeployment,
    settings: Settings,
) -> Result<(AppState, axum::Router), deployment::StartupError> {
    let policy = deployment::privacy_policy(&settings)?;
    let redactor = rampart_privacy::Redactor::new(policy, deployment.pii_key).map_err(|e| {
        deployment::StartupError::PrivacyPolicy {
            path: settings.privacy_policy_file.clone().unwrap_or_default(),
            message: e.to_string(),
        }
    })?;
    let authenticator = Authenticator::new(deployment.store.clone(), deployment.api_key_pepper);
    let state = AppState::new(
        deployment.store,
        authenticator,
        deployment.audit,
        redactor,
        settings,
    );
    let router = routes::router(state.clone());
    Ok((state, router))
}
