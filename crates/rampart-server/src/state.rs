//! The state every handler shares.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rampart_access::{Authenticator, Policy};
use rampart_audit::AuditLog;
use rampart_privacy::Redactor;
use rampart_store::Store;

use crate::card_vault::CardVault;
use crate::config::Settings;
use crate::key_service::KeyService;
use crate::metrics::Metrics;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    authenticator: Authenticator<Store>,
    audit: AuditLog<Store>,
    policy: Policy,
    redactor: Redactor,
    keys: Arc<KeyService>,
    vault: Arc<CardVault>,
    denied_events: DefaultKeyedRateLimiter<IpAddr>,
    settings: Settings,
    metrics: Metrics,
}

/// Denied requests per client address that each get their own audit entry: a burst of 50,
/// then 10 per second. Beyond that they are counted in metrics, so a flood of bad credentials
/// cannot flood the log.
fn denied_event_quota() -> Quota {
    let per_second = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

impl AppState {
    /// State over an opened deployment.
    pub fn new(
        store: Store,
        authenticator: Authenticator<Store>,
        audit: AuditLog<Store>,
        redactor: Redactor,
        keys: Arc<KeyService>,
        vault: Arc<CardVault>,
        settings: Settings,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            authenticator,
            audit,
            policy: Policy::default_policy(),
            redactor,
            keys,
            vault,
            denied_events: RateLimiter::keyed(denied_event_quota()),
            settings,
            metrics: Metrics::new(),
        }))
    }

    /// The storage.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The credential checker.
    pub fn authenticator(&self) -> &Authenticator<Store> {
        &self.0.authenticator
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog<Store> {
        &self.0.audit
    }

    /// The role policy.
    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    /// The PII redactor with the default policy (per-request policies derive from it).
    pub fn redactor(&self) -> &Redactor {
        &self.0.redactor
    }

    /// The keys service.
    pub fn keys(&self) -> &Arc<KeyService> {
        &self.0.keys
    }

    /// The card vault.
    pub fn vault(&self) -> &Arc<CardVault> {
        &self.0.vault
    }

    /// Whether a denied request from `ip` may write its own audit entry now.
    pub fn admit_denied_event(&self, ip: IpAddr) -> bool {
        self.0.denied_events.check_key(&ip).is_ok()
    }

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }
}
