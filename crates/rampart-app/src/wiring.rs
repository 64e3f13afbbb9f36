//! Start-up wiring: the domain services of an opened deployment, built once, and the background
//! jobs of those services on a [`JobRunner`]. The HTTP edge (`rampart-server`) adds what only it
//! needs (authentication caches, login rate limiters, the password hashing pool) and the jobs of
//! that state.

use std::sync::Arc;

use secrecy::ExposeSecret as _;
use std::time::Duration;

use rampart_access::{ApiKeyPepper, Policy};
use rampart_audit::AuditLog;
use rampart_crypto::SecretBytes;
use rampart_privacy::Redactor;
use rampart_store::Store;

use crate::config::Settings;
use crate::deployment::{self, OpenDeployment, StartupError};
use crate::jobs::{Job, JobRunner, TickError};
use crate::monitor::MonitorService;
use crate::monitor::jobs as monitor_jobs;
use crate::retention::RetentionService;
use crate::services::{CardVault, KeyService, maintenance_tick};
use crate::subjects::SubjectService;

/// An opened deployment with its services wired (see [`wire`]).
pub struct Wired {
    /// The storage.
    pub store: Store,
    /// The audit log.
    pub audit: AuditLog<Store>,
    /// The keyed hash of API keys.
    pub api_key_pepper: ApiKeyPepper,
    /// The seed of the session-signing key.
    pub session_seed: SecretBytes,
    /// The keys service.
    pub keys: Arc<KeyService>,
    /// The card vault.
    pub vault: Arc<CardVault>,
    /// The PII redactor (its `encrypt`/`tokenize` actions deferred to the request's vault).
    pub redactor: Redactor,
    /// The role policy in force, its version and its source (`file`, `api`, `default`).
    pub policy: (Policy, u64, &'static str),
    /// Threat protection (rules, address rules, blocks), refreshed by the `threat-refresh` job.
    pub threat: Arc<rampart_threat::ThreatGuard<Store>>,
    /// Security monitoring: detection rules, alerts, webhooks, incidents; its jobs
    /// `monitor-evaluate`, `webhook-send` and `incident-escalate` (leased) started.
    pub monitor: Arc<MonitorService<Store>>,
    /// Data subjects: sealing personal data, consents, exports, erasures.
    pub subjects: Arc<SubjectService<Store>>,
    /// Retention: legal holds, policies, disposal runs.
    pub retention: Arc<crate::retention::RetentionService<Store>>,
    /// AI-agent governance: guardrails, decisions, approvals, execution tokens; its leased
    /// `agent-approvals-expire` job started.
    pub agents: Arc<crate::agents::AgentService<Store>>,
    /// Compliance reports, waivers and the daily evaluation.
    pub compliance: Arc<crate::compliance::ComplianceService>,
    /// The job runner, with the keys' jobs started: `key-maintenance` (leased) and
    /// `key-count-flush` (per node); the audit query indexer, `audit-index` (leased); on SQLite
    /// the background WAL checkpoint, `wal-checkpoint` (per node).
    pub jobs: JobRunner,
}

/// Builds the services of `deployment` under `settings` and starts their jobs (call it within
/// the runtime). Fails, before anything runs, on a privacy or role policy that does not load.
pub fn wire(deployment: OpenDeployment, settings: &Settings) -> Result<Wired, StartupError> {
    let privacy = deployment::privacy_policy(settings)?;
    let redactor = Redactor::with_protector(
        privacy,
        deployment.pii_key,
        Some(Arc::new(crate::protector::Deferred)),
    )
    .map_err(|e| StartupError::PrivacyPolicy {
        path: settings.privacy_policy_file.clone().unwrap_or_default(),
        message: e.to_string(),
    })?;
    let policy = access_policy(settings, deployment.stored_policy.as_ref())?;
    let kek = Arc::new(deployment.kek);
    let monitor = Arc::new(
        MonitorService::new(
            deployment.store.clone(),
            deployment.audit.clone(),
            Arc::clone(&kek),
            settings,
        )
        .map_err(StartupError::DetectionRules)?,
    );
    let subjects = Arc::new(SubjectService::new(
        deployment.store.clone(),
        deployment.audit.clone(),
        Arc::clone(&kek),
        Arc::clone(&monitor),
        deployment.subject_lookup_key,
        identity_cache_period(settings),
    ));
    let keys = Arc::new(KeyService::new(deployment.store.clone(), kek));
    let vault = Arc::new(CardVault::new(
        Arc::clone(&keys),
        deployment.store.clone(),
        deployment.card_fingerprint_key,
    ));
    let mut jobs = JobRunner::new(deployment.store.clone());
    let key_interval = Duration::from_secs(settings.key_maintenance_interval_seconds.max(1));
    let (maintained, audit) = (Arc::clone(&keys), deployment.audit.clone());
    jobs.spawn(Job::leased("key-maintenance", key_interval, move || {
        let (keys, audit) = (Arc::clone(&maintained), audit.clone());
        async move {
            maintenance_tick(&keys, &audit, time::OffsetDateTime::now_utc()).await;
            Ok(())
        }
    }));
    // Every node stores the encryptions it counted; the leased job above does so before rotating.
    let counted = Arc::clone(&keys);
    jobs.spawn(Job::per_node("key-count-flush", key_interval, move || {
        let keys = Arc::clone(&counted);
        async move {
            keys.flush_counts()
                .await
                .map_err(|e| TickError::new("cannot store key encryption counts", e))
        }
    }));
    jobs.spawn(audit_indexer(deployment.store.clone()));
    jobs.spawn(threat_refresher(Arc::clone(&deployment.threat)));
    jobs.spawn(threat_purger(Arc::clone(&deployment.threat)));
    jobs.spawn(monitor_jobs::evaluator(Arc::clone(&monitor)));
    jobs.spawn(monitor_jobs::sender(Arc::clone(&monitor)));
    jobs.spawn(monitor_jobs::escalator(Arc::clone(&monitor)));
    if deployment.store.backend() == rampart_store::Backend::Sqlite {
        jobs.spawn(wal_checkpointer(deployment.store.clone()));
    }
    let retention = Arc::new(RetentionService::new(
        deployment.store.clone(),
        deployment.audit.clone(),
        Arc::clone(&monitor),
        u32::try_from(settings.retention_batch_size).unwrap_or(u32::MAX),
    ));
    jobs.spawn(retention_job(
        Arc::clone(&retention),
        deployment.audit.clone(),
        Duration::from_secs(settings.retention_interval_seconds.max(1)),
    ));
    let agents = Arc::new(crate::agents::AgentService::new(
        deployment.store.clone(),
        deployment.audit.clone(),
        Arc::clone(&monitor),
        rampart_agents::TokenSigner::from_seed(deployment.agent_token_seed.expose_secret())
            .map_err(|_| StartupError::MissingSecret {
                location: String::new(),
                name: rampart_agents::TokenSigner::SECRET_NAME,
            })?,
        redactor
            .with_policy(rampart_privacy::Policy::default_policy())
            .map_err(|e| StartupError::PrivacyPolicy {
                path: Default::default(),
                message: e.to_string(),
            })?,
        identity_cache_period(settings),
    ));
    jobs.spawn(crate::agents::expiry_job(Arc::clone(&agents)));
    let compliance = Arc::new(crate::compliance::ComplianceService::new(
        deployment.store.clone(),
        deployment.audit.clone(),
        settings.clone(),
        deployment.master_key_source,
        Arc::clone(&monitor),
        Arc::clone(&deployment.threat),
    ));
    jobs.spawn(crate::compliance::evaluation_job(
        Arc::clone(&compliance),
        Duration::from_secs(settings.compliance_interval_seconds.max(1)),
    ));
    Ok(Wired {
        compliance,
        agents,
        threat: deployment.threat,
        monitor,
        subjects,
        retention,
        store: deployment.store,
        audit: deployment.audit,
        api_key_pepper: deployment.api_key_pepper,
        session_seed: deployment.session_seed,
        keys,
        vault,
        redactor,
        policy,
        jobs,
    })
}

/// How long authentication (and the subject-key cache) may reuse what it read:
/// `auth_cache_ms`, by default 1 s on SQLite (one server) and 0 on PostgreSQL (several servers:
/// a revocation or an erasure reaches every one at once).
pub fn identity_cache_period(settings: &Settings) -> Duration {
    let ms = settings
        .auth_cache_ms
        .unwrap_or(if settings.database_url.is_some() {
            0
        } else {
            1000
        });
    Duration::from_millis(ms)
}

/// The role policy in force: the `policy_file` when set, else the one stored by
/// `PUT /v1/policy`, else API.md's default. Returns it with its version and source.
pub fn access_policy(
    settings: &Settings,
    stored: Option<&(String, u64)>,
) -> Result<(rampart_access::Policy, u64, &'static str), StartupError> {
    let policy = policy_in_force(settings, stored)?;
    // Every role of `default_roles` must exist, or new principals would get a role nobody defined.
    if let Some(role) = settings
        .default_roles
        .iter()
        .find(|role| !policy.0.has_role(role))
    {
        return Err(StartupError::AccessPolicy {
            source_name: "the default_roles setting".to_owned(),
            message: format!(
                "'{role}' is not a role of the role policy in force ({}): define it or remove it from default_roles",
                policy.2
            ),
        });
    }
    Ok(policy)
}

/// The role policy to start with: `policy_file`, else the one stored by `PUT /v1/policy`, else
/// the default.
fn policy_in_force(
    settings: &Settings,
    stored: Option<&(String, u64)>,
) -> Result<(rampart_access::Policy, u64, &'static str), StartupError> {
    if let Some(path) = &settings.policy_file {
        let text = std::fs::read_to_string(path).map_err(|e| StartupError::AccessPolicy {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?;
        let policy =
            rampart_access::Policy::from_yaml(&text).map_err(|e| StartupError::AccessPolicy {
                source_name: path.display().to_string(),
                message: e.to_string(),
            })?;
        return Ok((policy, 0, "file"));
    }
    match stored {
        Some((json, version)) => {
            let value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| StartupError::AccessPolicy {
                    source_name: "stored by PUT /v1/policy".to_owned(),
                    message: e.to_string(),
                })?;
            let policy = rampart_access::Policy::from_json(&value).map_err(|e| {
                StartupError::AccessPolicy {
                    source_name: "stored by PUT /v1/policy".to_owned(),
                    message: e.to_string(),
                }
            })?;
            Ok((policy, *version, "api"))
        }
        None => Ok((rampart_access::Policy::default_policy(), 0, "default")),
    }
}

/// How often the audit indexer looks for new entries: queries scan what it has not reached, so
/// this bounds that scan to about this long's worth of appends.
const AUDIT_INDEX_INTERVAL: Duration = Duration::from_millis(200);

/// Entries the indexer reads and writes per transaction.
const AUDIT_INDEX_CHUNK: u64 = 5_000;

/// Longest a tick keeps indexing before it lets the runner renew its lease.
const AUDIT_INDEX_TICK_BUDGET: Duration = Duration::from_secs(2);

/// The audit query indexer: one node at a time writes the postings of new entries after they
/// committed (see `rampart_store`'s audit index), chunk by chunk, until it is caught up or its
/// tick's budget is spent.
fn audit_indexer(store: Store) -> Job {
    Job::leased("audit-index", AUDIT_INDEX_INTERVAL, move || {
        let store = store.clone();
        async move {
            let started = std::time::Instant::now();
            loop {
                let progress = store
                    .index_audit_entries(AUDIT_INDEX_CHUNK)
                    .await
                    .map_err(|e| TickError::new("cannot index audit entries", e))?;
                if progress.indexed_size >= progress.head_size
                    || progress.indexed_now == 0
                    || started.elapsed() >= AUDIT_INDEX_TICK_BUDGET
                {
                    return Ok(());
                }
            }
        }
    })
    .with_lease_ttl(Duration::from_secs(10))
}

/// How often the SQLite write-ahead log is copied into the database file in the background.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// The background WAL checkpoint (SQLite only): keeps the log's commits free of checkpoint
/// work, which otherwise falls on whichever commit crosses `wal_autocheckpoint` and makes it
/// the slowest request of its second.
fn wal_checkpointer(store: Store) -> Job {
    Job::per_node("wal-checkpoint", WAL_CHECKPOINT_INTERVAL, move || {
        let store = store.clone();
        async move {
            store
                .checkpoint_wal()
                .await
                .map_err(|e| TickError::new("cannot checkpoint the SQLite write-ahead log", e))
        }
    })
}

/// How often every node reads the rules, address rules and blocks again: a block made or
/// lifted on another node holds here within this.
const THREAT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How often failures, windows and block history older than a day are deleted.
const THREAT_PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// Leased: resumes a disposal run a crash interrupted, and starts one every
/// `retention_interval_seconds` after the last (looking every minute at most; a deployment
/// that never ran one has its first an interval after this node started).
fn retention_job(
    retention: Arc<RetentionService<Store>>,
    audit: AuditLog<Store>,
    interval: Duration,
) -> Job {
    let started = time::OffsetDateTime::now_utc();
    Job::leased(
        "retention",
        interval.min(Duration::from_secs(60)),
        move || {
            let (retention, audit) = (Arc::clone(&retention), audit.clone());
            async move {
                let now = time::OffsetDateTime::now_utc();
                let last = retention
                    .recent_runs(20)
                    .await
                    .map_err(|e| TickError::new("cannot read retention runs", e))?
                    .into_iter()
                    .filter(|r| !r.dry_run)
                    .map(|r| r.started_at)
                    .max();
                let unfinished = !retention
                    .unfinished_runs()
                    .await
                    .map_err(|e| TickError::new("cannot read retention runs", e))?
                    .is_empty();
                let period = time::Duration::try_from(interval).unwrap_or(time::Duration::DAY);
                let due = now - last.unwrap_or(started) >= period;
                if unfinished || due {
                    crate::retention::run_to_end(
                        &retention,
                        &audit,
                        false,
                        "retention-job",
                        |_, _| {},
                    )
                    .await
                    .map_err(|e| TickError::new("the disposal run failed", e))?;
                }
                Ok(())
            }
        },
    )
}

/// Per node: reads threat protection's state again and forgets idle in-memory buckets.
fn threat_refresher(threat: Arc<rampart_threat::ThreatGuard<Store>>) -> Job {
    let started = std::time::Instant::now();
    Job::per_node("threat-refresh", THREAT_REFRESH_INTERVAL, move || {
        let threat = Arc::clone(&threat);
        async move {
            let now = time::OffsetDateTime::now_utc();
            threat.purge_memory(started.elapsed(), now);
            threat
                .refresh(now)
                .await
                .map_err(|e| TickError::new("cannot read rate limits and blocks", e))
        }
    })
}

/// Leased: deletes what threat protection no longer needs.
fn threat_purger(threat: Arc<rampart_threat::ThreatGuard<Store>>) -> Job {
    Job::leased("threat-purge", THREAT_PURGE_INTERVAL, move || {
        let threat = Arc::clone(&threat);
        async move {
            use rampart_threat::ThreatStore as _;
            threat
                .store()
                .purge(time::OffsetDateTime::now_utc())
                .await
                .map(|_| ())
                .map_err(|e| TickError::new("cannot purge old failures and windows", e))
        }
    })
}
