//! Rampart's HTTP edge over the `rampart-app` layer: the axum router with its middleware
//! (request ids, security headers, authentication, the audit trail, problem+json errors,
//! metrics), the route modules, the OpenAPI document, TLS and the accept loop.
//!
//! Handlers are thin: parse, authorize, call one domain service, map the result. No SQL here.
#![forbid(unsafe_code)]

pub mod card_vault;
pub mod denials;
pub mod hash_pool;
pub mod http;
pub mod identity_cache;
pub mod key_service;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod serve;
pub mod state;
pub mod tls;

/// Settings and start-up live in the application layer; these paths stay for the server's code.
pub use rampart_app::{audit_export, config, deployment, maintenance, protector, system_audit};

use std::sync::Arc;
use std::time::Duration;

use rampart_access::Authenticator;
use rampart_app::jobs::{Job, JobRunner, TickError};

use crate::config::Settings;
use crate::deployment::OpenDeployment;
use crate::state::AppState;

fn identity(
    settings: &Settings,
    session_seed: &rampart_crypto::SecretBytes,
    cache: identity_cache::IdentityCache,
) -> Result<state::Identity, deployment::StartupError> {
    use rampart_access::password::{HashParams, PasswordHasher};
    use secrecy::ExposeSecret as _;
    let params = HashParams {
        memory_kib: u32::try_from(settings.argon2_memory_kib).unwrap_or(u32::MAX),
        iterations: u32::try_from(settings.argon2_iterations).unwrap_or(u32::MAX),
        parallelism: u32::try_from(settings.argon2_parallelism).unwrap_or(u32::MAX),
    };
    let passwords = PasswordHasher::new(params)
        .map_err(|e| deployment::StartupError::PasswordParams(e.to_string()))?;
    let sessions = rampart_access::session::SessionSigner::from_seed(session_seed.expose_secret())
        .map_err(|e| deployment::StartupError::SessionKey(e.to_string()))?;
    let per_minute = std::num::NonZeroU32::new(
        u32::try_from(settings.auth_rate_limit_per_minute).unwrap_or(u32::MAX),
    )
    .unwrap_or(std::num::NonZeroU32::MIN);
    let quota = governor::Quota::per_minute(per_minute);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Ok(state::Identity {
        sessions,
        passwords: Arc::new(passwords),
        hashing: hash_pool::HashPool::new(cores),
        login_per_ip: governor::RateLimiter::keyed(quota),
        login_per_name: governor::RateLimiter::keyed(quota),
        key_uses: std::sync::Mutex::new(std::collections::HashMap::new()),
        policy_source: std::sync::RwLock::new("default"),
        cache,
    })
}

/// The identity jobs. Per node, every 2 s: forget rate-limiter state of quiet addresses and
/// names, store the API-key uses counted in memory; every 6 s: pick up a policy another server
/// stored. Cluster-wide, every minute: purge login throttles that hold nothing.
fn identity_maintenance(state: &AppState, jobs: &mut JobRunner) {
    let every_2s = Duration::from_secs(2);
    let s = state.clone();
    jobs.spawn(Job::per_node("rate-limiter-retain", every_2s, move || {
        // Forget limiter state of addresses and names that are quiet again.
        s.identity().login_per_ip.retain_recent();
        s.identity().login_per_name.retain_recent();
        std::future::ready(Ok(()))
    }));
    let s = state.clone();
    jobs.spawn(Job::per_node("api-key-usage-flush", every_2s, move || {
        let state = s.clone();
        async move {
            let uses: Vec<_> = match state.identity().key_uses.lock() {
                Ok(mut uses) => uses.drain().map(|(id, (n, at))| (id, n, at)).collect(),
                Err(_) => Vec::new(),
            };
            if uses.is_empty() {
                return Ok(());
            }
            if let Err(e) = state.store().add_api_key_usage(&uses).await {
                for (id, n, at) in uses {
                    state.count_key_uses(id, n, at);
                }
                return Err(TickError::new(
                    "cannot store API key usage counts; keeping them for the next try",
                    e,
                ));
            }
            Ok(())
        }
    }));
    let s = state.clone();
    jobs.spawn(Job::leased(
        "login-throttle-purge",
        Duration::from_secs(60),
        move || {
            let state = s.clone();
            async move {
                // Login throttles whose window is over and that hold no lock: forget them.
                let window = time::Duration::seconds(
                    i64::try_from(state.settings().lockout_seconds).unwrap_or(i64::MAX),
                );
                state
                    .store()
                    .purge_login_throttles(window, time::OffsetDateTime::now_utc())
                    .await
                    .map(|_| ())
                    .map_err(|e| TickError::new("cannot purge expired login throttles", e))
            }
        },
    ));
    let s = state.clone();
    jobs.spawn(Job::per_node(
        "role-policy-reload",
        Duration::from_secs(6),
        move || {
            let state = s.clone();
            async move {
                if state.policy_source() == "file" {
                    return Ok(());
                }
                match state.store().access_policy().await {
                    Ok(Some((json, version))) if version > state.policy_version() => {
                        let parsed = serde_json::from_str::<serde_json::Value>(&json)
                            .ok()
                            .and_then(|v| rampart_access::Policy::from_json(&v).ok());
                        match parsed {
                            Some(policy) => {
                                state.set_policy(policy, version, "api");
                                tracing::info!(version, "role policy reloaded");
                            }
                            None => tracing::error!(version, "stored role policy does not compile"),
                        }
                        Ok(())
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(TickError::new("cannot read the stored role policy", e)),
                }
            }
        },
    ));
}

/// The application state and router for an opened deployment: the domain services and their
/// jobs come wired from `rampart_app::wiring`; the edge adds authentication, the identity state
/// and its jobs.
pub fn app(
    deployment: OpenDeployment,
    settings: Settings,
) -> Result<(AppState, axum::Router), deployment::StartupError> {
    let rampart_app::wiring::Wired {
        store,
        audit,
        api_key_pepper,
        session_seed,
        keys,
        vault,
        redactor,
        policy,
        threat,
        monitor,
        subjects,
        retention,
        agents,
        compliance,
        mut jobs,
    } = rampart_app::wiring::wire(deployment, &settings)?;
    let cache =
        identity_cache::IdentityCache::new(rampart_app::wiring::identity_cache_period(&settings));
    let authenticator = Authenticator::new(
        identity_cache::CachedAccess::new(store.clone(), cache.clone()),
        api_key_pepper,
    );
    let identity = identity(&settings, &session_seed, cache)?;
    let state = AppState::new(state::StateParts {
        store,
        authenticator,
        audit,
        redactor,
        identity,
        policy,
        keys,
        vault,
        settings,
        threat,
        monitor,
        subjects,
        retention,
        agents,
        compliance,
    });
    identity_maintenance(&state, &mut jobs);
    state.keep_jobs(jobs);
    tokio::spawn(denials::run_summaries(state.clone()));
    let router = routes::router(state.clone());
    Ok((state, router))
}
