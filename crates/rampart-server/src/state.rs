//! The state every handler shares.

use std::sync::Arc;

use rampart_access::Authenticator;
use rampart_store::Store;

use crate::config::Settings;
use crate::metrics::Metrics;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    authenticator: Authenticator<Store>,
    settings: Settings,
    metrics: Metrics,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Store, authenticator: Authenticator<Store>, settings: Settings) -> Self {
        Self(Arc::new(Inner {
            store,
            authenticator,
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

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }
}
