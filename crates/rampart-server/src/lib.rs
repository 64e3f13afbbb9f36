//! Rampart's HTTP server: settings, start-up (init, master-key checks), the axum router with its
//! middleware (request ids, security headers, authentication, problem+json errors, metrics), the
//! OpenAPI document, TLS and the accept loop.
//!
//! Handlers are thin: parse, authorize, call one domain service, map the result. No SQL here.
#![forbid(unsafe_code)]

pub mod audit_export;
pub mod card_vault;
pub mod config;
pub mod deployment;
pub mod http;
pub mod key_service;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod protector;
pub mod routes;
pub mod serve;
pub mod state;
pub mod system_audit;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use rampart_access::Authenticator;

use crate::card_vault::CardVault;
use crate::config::Settings;
use crate::deployment::OpenDeployment;
use crate::key_service::KeyService;
use crate::state::AppState;

/// The application state and router for an opened deployment.
pub fn app(
    deployment: OpenDeployment,
    settings: Settings,
) -> Result<(AppState, axum::Router), deployment::StartupError> {
    let policy = deployment::privacy_policy(&settings)?;
    let redactor = rampart_privacy::Redactor::with_protector(
        policy,
        deployment.pii_key,
        Some(Arc::new(protector::Deferred)),
    )
    .map_err(|e| deployment::StartupError::PrivacyPolicy {
        path: settings.privacy_policy_file.clone().unwrap_or_default(),
        message: e.to_string(),
    })?;
    let authenticator = Authenticator::new(deployment.store.clone(), deployment.api_key_pepper);
    let keys = Arc::new(KeyService::new(
        deployment.store.clone(),
        Arc::new(deployment.kek),
    ));
    let vault = Arc::new(CardVault::new(
        Arc::clone(&keys),
        deployment.store.clone(),
        deployment.card_fingerprint_key,
    ));
    tokio::spawn(Arc::clone(&keys).run_maintenance(
        Duration::from_secs(settings.key_maintenance_interval_seconds.max(1)),
        deployment.audit.clone(),
    ));
    let state = AppState::new(
        deployment.store,
        authenticator,
        deployment.audit,
        redactor,
        keys,
        vault,
        settings,
    );
    let router = routes::router(state.clone());
    Ok((state, router))
}
