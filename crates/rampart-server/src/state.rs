//! The state every handler shares.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use rampart_access::password::PasswordHasher;
use rampart_access::session::SessionSigner;
use time::OffsetDateTime;
use uuid::Uuid;

use governor::DefaultKeyedRateLimiter;
use rampart_access::{Authenticator, Policy};
use rampart_audit::AuditLog;
use rampart_privacy::Redactor;
use rampart_store::Store;

use crate::card_vault::CardVault;
use crate::config::Settings;
use crate::identity_cache::{CachedAccess, IdentityCache};
use crate::key_service::KeyService;
use crate::metrics::Metrics;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    authenticator: Authenticator<CachedAccess>,
    audit: AuditLog<Store>,
    policy: RwLock<(Arc<Policy>, u64)>,
    identity: Identity,
    redactor: Redactor,
    keys: Arc<KeyService>,
    vault: Arc<CardVault>,
    denials: crate::denials::DeniedEvents,
    settings: Settings,
    metrics: Metrics,
    /// The background jobs, kept so a graceful shutdown releases their leases.
    jobs: Mutex<Option<rampart_app::jobs::JobRunner>>,
    /// Threat protection: rate limits, address rules, blocks.
    threat: Arc<rampart_threat::ThreatGuard<Store>>,
    /// Security monitoring.
    monitor: Arc<rampart_app::monitor::MonitorService<Store>>,
    /// Data subjects.
    subjects: Arc<rampart_app::subjects::SubjectService<Store>>,
    /// Retention: legal holds.
    retention: Arc<rampart_app::retention::RetentionService<Store>>,
    /// AI-agent governance.
    agents: Arc<rampart_app::agents::AgentService<Store>>,
    /// Compliance reports.
    compliance: Arc<rampart_app::compliance::ComplianceService>,
    /// The start of this process's monotonic clock (the per-node rate limiter's time).
    started: std::time::Instant,
}

/// Everything [`AppState::new`] puts together.
pub struct StateParts {
    /// The storage.
    pub store: Store,
    /// The API-key checker.
    pub authenticator: Authenticator<CachedAccess>,
    /// The audit log.
    pub audit: AuditLog<Store>,
    /// The PII redactor.
    pub redactor: Redactor,
    /// Identity and access state.
    pub identity: Identity,
    /// The role policy, its version and its source.
    pub policy: (Policy, u64, &'static str),
    /// The keys service.
    pub keys: Arc<KeyService>,
    /// The card vault.
    pub vault: Arc<CardVault>,
    /// The settings.
    pub settings: Settings,
    /// Threat protection.
    pub threat: Arc<rampart_threat::ThreatGuard<Store>>,
    /// Security monitoring.
    pub monitor: Arc<rampart_app::monitor::MonitorService<Store>>,
    /// Data subjects: sealing personal data, consents, exports, erasures.
    pub subjects: Arc<rampart_app::subjects::SubjectService<Store>>,
    /// Retention: legal holds.
    pub retention: Arc<rampart_app::retention::RetentionService<Store>>,
    /// AI-agent governance.
    pub agents: Arc<rampart_app::agents::AgentService<Store>>,
    /// Compliance reports, waivers and history.
    pub compliance: Arc<rampart_app::compliance::ComplianceService>,
}

/// What identity and access need beside the store.
pub struct Identity {
    /// Signs and verifies session tokens.
    pub sessions: SessionSigner,
    /// Hashes and verifies passwords (argon2id with the configured parameters).
    pub passwords: Arc<PasswordHasher>,
    /// Password hashing threads, one per core.
    pub hashing: crate::hash_pool::HashPool,
    /// Login attempts per client address.
    pub login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Login attempts per principal name.
    pub login_per_name: DefaultKeyedRateLimiter<String>,
    /// API-key uses counted since the last flush: key id → (uses, last use).
    pub key_uses: Mutex<HashMap<Uuid, (u64, OffsetDateTime)>>,
    /// Where the role policy comes from: `file`, `api` or `default`.
    pub policy_source: RwLock<&'static str>,
    /// Recently read keys and principals.
    pub cache: IdentityCache,
}

/// What `/metrics` reads at each scrape: the audit writer's numbers and the pool's.
fn metric_sources(audit: &AuditLog<Store>, store: &Store) -> crate::metrics::Sources {
    let queue = audit.clone();
    let pool = store.clone();
    crate::metrics::Sources {
        audit: Arc::clone(audit.stats()),
        audit_queue: Box::new(move || queue.queued_requests()),
        pool: Box::new(move || {
            let stats = pool.pool_stats();
            crate::metrics::PoolSnapshot {
                in_use: stats.open.saturating_sub(stats.idle),
                idle: stats.idle,
                max: stats.max,
            }
        }),
    }
}

impl AppState {
    /// State over an opened deployment.
    pub fn new(parts: StateParts) -> Self {
        let StateParts {
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
        } = parts;
        let mut metrics = Metrics::new();
        metrics.register_sources(metric_sources(&audit, &store));
        Self(Arc::new(Inner {
            store,
            authenticator,
            audit,
            policy: RwLock::new((Arc::new(policy.0), policy.1)),
            identity: Identity {
                policy_source: RwLock::new(policy.2),
                ..identity
            },
            redactor,
            keys,
            vault,
            denials: crate::denials::DeniedEvents::default(),
            settings,
            metrics,
            jobs: Mutex::new(None),
            threat,
            monitor,
            subjects,
            retention,
            agents,
            compliance,
            started: std::time::Instant::now(),
        }))
    }

    /// Threat protection: rate limits, address rules and blocks.
    pub fn threat(&self) -> &rampart_threat::ThreatGuard<Store> {
        &self.0.threat
    }

    /// Compliance reports, waivers, control history and evidence packages.
    pub fn compliance(&self) -> &rampart_app::compliance::ComplianceService {
        &self.0.compliance
    }

    /// AI-agent governance: guardrails, decisions, approvals, execution tokens.
    pub fn agents(&self) -> &rampart_app::agents::AgentService<Store> {
        &self.0.agents
    }

    /// Retention: legal holds, policies, disposal runs.
    pub fn retention(&self) -> &rampart_app::retention::RetentionService<Store> {
        &self.0.retention
    }

    /// The retention service, shared (a disposal run outlives its request).
    pub fn retention_shared(&self) -> Arc<rampart_app::retention::RetentionService<Store>> {
        Arc::clone(&self.0.retention)
    }

    /// Data subjects: personal data sealing, consents, exports, erasures.
    pub fn subjects(&self) -> &rampart_app::subjects::SubjectService<Store> {
        &self.0.subjects
    }

    /// Security monitoring: detection rules, alerts, silences, webhooks, incidents.
    pub fn monitor(&self) -> &rampart_app::monitor::MonitorService<Store> {
        &self.0.monitor
    }

    /// Time on this process's monotonic clock since it started.
    pub fn monotonic(&self) -> std::time::Duration {
        self.0.started.elapsed()
    }

    /// Keeps the job runner of this deployment (see [`AppState::stop_jobs`]).
    pub fn keep_jobs(&self, jobs: rampart_app::jobs::JobRunner) {
        if let Ok(mut slot) = self.0.jobs.lock() {
            *slot = Some(jobs);
        }
    }

    /// Stops the background jobs and releases their leases at once, so another node takes
    /// them over without waiting for the leases to lapse (a graceful shutdown).
    pub async fn stop_jobs(&self) {
        let jobs = self.0.jobs.lock().ok().and_then(|mut slot| slot.take());
        if let Some(jobs) = jobs {
            jobs.shutdown().await;
        }
    }

    /// The storage.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The storage backend's name: `sqlite` or `postgres` (for health answers).
    pub fn storage_backend(&self) -> &'static str {
        self.0.store.backend().as_str()
    }

    /// The credential checker.
    pub fn authenticator(&self) -> &Authenticator<CachedAccess> {
        &self.0.authenticator
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog<Store> {
        &self.0.audit
    }

    /// The role policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.0.policy.read().unwrap_or_else(|e| e.into_inner()).0)
    }

    /// The version of the policy in force (0: not set through the API).
    pub fn policy_version(&self) -> u64 {
        self.0.policy.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Replaces the policy in force.
    pub fn set_policy(&self, policy: Policy, version: u64, source: &'static str) {
        *self.0.policy.write().unwrap_or_else(|e| e.into_inner()) = (Arc::new(policy), version);
        *self
            .0
            .identity
            .policy_source
            .write()
            .unwrap_or_else(|e| e.into_inner()) = source;
    }

    /// Where the policy in force comes from: `file`, `api` or `default`.
    pub fn policy_source(&self) -> &'static str {
        *self
            .0
            .identity
            .policy_source
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Identity and access state.
    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// Identity storage as the identity services see it: the `IdentityStore` trait only.
    pub fn identity_store(&self) -> &impl rampart_access::IdentityStore {
        &self.0.store
    }

    /// The principals service (principals loaded only for callers allowed to see or manage
    /// them).
    pub fn principals(&self) -> rampart_access::identity::Principals<Store> {
        rampart_access::identity::Principals::new(self.0.store.clone())
    }

    /// The service that stores the role policy set through the API.
    pub fn policy_admin(&self) -> rampart_access::identity::PolicyAdmin<Store> {
        rampart_access::identity::PolicyAdmin::new(self.0.store.clone())
    }

    /// TOTP enrolment (a principal's own second factor, in a session).
    pub fn enrolment(&self) -> rampart_access::identity::Enrolment<Store> {
        rampart_access::identity::Enrolment::new(self.0.store.clone())
    }

    /// The API-key service (keys loaded only for callers allowed to manage them).
    pub fn api_keys(&self) -> rampart_access::identity::ApiKeys<Store> {
        rampart_access::identity::ApiKeys::new(self.0.store.clone())
    }

    /// Counts one use of an API key (stored by the maintenance task every few seconds).
    pub fn count_key_use(&self, key: Uuid, at: OffsetDateTime) {
        self.count_key_uses(key, 1, at);
    }

    /// Counts `n` uses of an API key, the last at `at`.
    pub fn count_key_uses(&self, key: Uuid, n: u64, at: OffsetDateTime) {
        if let Ok(mut uses) = self.0.identity.key_uses.lock() {
            let entry = uses.entry(key).or_insert((0, at));
            entry.0 += n;
            entry.1 = entry.1.max(at);
        }
    }

    /// Uses of an API key counted in memory and not stored yet: `(uses, last use)`.
    pub fn pending_key_uses(&self, key: Uuid) -> Option<(u64, OffsetDateTime)> {
        self.0
            .identity
            .key_uses
            .lock()
            .ok()
            .and_then(|uses| uses.get(&key).copied())
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

    /// The gate of unauthenticated denials' audit entries.
    pub fn denials(&self) -> &crate::denials::DeniedEvents {
        &self.0.denials
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
