//! AI-agent governance as the deployment runs it (API.md "AI-agent governance"): guardrails
//! per agent principal, the decision on each action (`agents/submit.rs`), approvals with
//! separation of duties and their expiry (`agents/approvals.rs`), execution tokens, their single
//! use and the reported results (`agents/execution.rs`).
//!
//! Every write is an [`AgentChange`] committed in the same transaction as its audit entry
//! (`agents/entry.rs`), whose actor is the agent: the decision, each approval or rejection,
//! the expiry, the token's use and the result. What the agent said (`reasoning`, `tool_calls`)
//! and the parameters go into the entry after PII redaction with the default policy; the
//! parameters are kept as sent only in the action's row, for its approvers.

mod approvals;
mod entry;
mod execution;
mod submit;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_access::{IdentityStore, Principal, PrincipalKind};
use rampart_agents::{
    AgentChange, AgentStore, Guardrails, GuardrailsDocument, Invalid, TokenSigner,
};
use rampart_audit::{AuditLog, AuditStore, LogError, SubmittedBy};
use rampart_monitor::MonitorStore;
use rampart_privacy::Redactor;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::monitor::MonitorService;

pub use approvals::expiry_job;
pub use entry::action_json;
pub use execution::{Presented, TokenCheck};
pub use submit::Submitted;

/// Why an agent-governance request failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A body the rules refuse (422 naming the fields).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// No such agent or action (404).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The principal is not an AI agent (422).
    #[error("the principal is not an AI agent (kind ai_agent)")]
    NotAnAgent,
    /// The caller may not do this (403), with the reason.
    #[error("{0}")]
    Forbidden(String),
    /// The action's state does not allow it, or it changed meanwhile (409).
    #[error("{0}")]
    Conflict(String),
    /// The audit entry would exceed the log's limits (422); nothing was changed.
    #[error(
        "the request cannot be recorded in the audit log (its entry would exceed 64 KiB, or a number is beyond ±2^53); nothing was changed"
    )]
    TooLarge,
    /// Storage could not be reached (503: retry).
    #[error("storage is unavailable")]
    Unavailable,
    /// Storage failed.
    #[error("agent storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AgentError {
    pub(crate) fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        if crate::outage::is_storage_down(&error) {
            return Self::Unavailable;
        }
        Self::Store(Box::new(error))
    }

    fn from_log<E: std::error::Error + Send + Sync + 'static>(error: LogError<E>) -> Self {
        match error {
            LogError::Unavailable(_) => Self::Unavailable,
            other => Self::store(other),
        }
    }
}

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Who asked, and from where: what the audit entry records besides the agent.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The calling principal.
    pub principal_id: Uuid,
    /// Its kind (`user`, `service`, `ai_agent`, ...).
    pub principal_kind: PrincipalKind,
    /// The credential it presented.
    pub credential_id: Uuid,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The client's user agent (already cleaned by the edge).
    pub user_agent: Option<String>,
}

struct Cached {
    read_at: Instant,
    guardrails: Option<Arc<(Guardrails, u64)>>,
}

/// Agent governance over a store `S`.
pub struct AgentService<S>
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
{
    store: S,
    audit: AuditLog<S>,
    monitor: Arc<MonitorService<S>>,
    signer: TokenSigner,
    redactor: Redactor,
    /// Guardrails read, per agent, reused for `cache_for` (0 on PostgreSQL: several nodes).
    cache: Mutex<HashMap<Uuid, Cached>>,
    /// Bumped by every change of guardrails on this node: a read that began before a change
    /// is not cached after it.
    generation: std::sync::atomic::AtomicU64,
    cache_for: Duration,
}

impl<S> AgentService<S>
where
    S: AgentStore + MonitorStore + AuditStore + IdentityStore + Clone + Send + Sync + 'static,
    <S as AuditStore>::Change: From<AgentChange>,
{
    /// The service. `redactor` must hold the default PII policy; guardrails read are reused
    /// for `cache_for` (a change on this node is seen at once).
    pub fn new(
        store: S,
        audit: AuditLog<S>,
        monitor: Arc<MonitorService<S>>,
        signer: TokenSigner,
        redactor: Redactor,
        cache_for: Duration,
    ) -> Self {
        Self {
            store,
            audit,
            monitor,
            signer,
            redactor,
            cache: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            cache_for,
        }
    }

    /// The execution tokens' public key (32 bytes, Ed25519).
    pub fn token_public_key(&self) -> &[u8] {
        self.signer.public_key()
    }

    /// The AI-agent principal `id` (404 when there is none; 422 when it is not an agent).
    pub async fn agent(&self, id: Uuid) -> Result<Principal, AgentError> {
        let record = IdentityStore::principal(&self.store, id)
            .await
            .map_err(AgentError::store)?
            .ok_or(AgentError::NotFound("agent"))?;
        if record.principal.kind != PrincipalKind::AiAgent {
            return Err(AgentError::NotAnAgent);
        }
        Ok(record.principal)
    }

    /// Checks that `submitter` (holding `agents:submit`, the edge's check) may submit for
    /// `agent`: team isolation applies, so it shares a team with the agent or holds a role that
    /// bypasses isolation (an agent in no team is any team's).
    pub fn check_submitter(
        &self,
        policy: &rampart_access::Policy,
        submitter: &Principal,
        agent: &Principal,
    ) -> Result<(), AgentError> {
        if agent.teams.is_empty()
            || policy.bypasses_team_isolation(&submitter.roles)
            || agent.teams.iter().any(|t| submitter.teams.contains(t))
        {
            Ok(())
        } else {
            Err(AgentError::Forbidden(
                "team isolation: the agent belongs to teams the submitter is not a member of"
                    .into(),
            ))
        }
    }

    /// The agent's guardrails (`None`: never set, every action denied).
    pub async fn guardrails(&self, agent: Uuid) -> Result<Option<Guardrails>, AgentError> {
        Ok(self.guardrails_in_force(agent).await?.map(|g| g.0.clone()))
    }

    pub(crate) async fn guardrails_in_force(
        &self,
        agent: Uuid,
    ) -> Result<Option<Arc<(Guardrails, u64)>>, AgentError> {
        if !self.cache_for.is_zero()
            && let Ok(cache) = self.cache.lock()
            && let Some(cached) = cache.get(&agent)
            && cached.read_at.elapsed() < self.cache_for
        {
            return Ok(cached.guardrails.clone());
        }
        let (started, generation) = (
            Instant::now(),
            self.generation.load(std::sync::atomic::Ordering::Acquire),
        );
        let read = self
            .store
            .guardrails(agent)
            .await
            .map_err(AgentError::store)?
            .map(Arc::new);
        if !self.cache_for.is_zero()
            && self.generation.load(std::sync::atomic::Ordering::Acquire) == generation
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(
                agent,
                Cached {
                    read_at: started,
                    guardrails: read.clone(),
                },
            );
        }
        Ok(read)
    }

    /// Sets an agent's guardrails (the caller holds `agents:manage`), audited with what they
    /// were before and are after. Returns them.
    pub async fn set_guardrails(
        &self,
        agent: &Principal,
        document: GuardrailsDocument,
        origin: &Origin,
        _: rampart_access::Granted<rampart_access::perm::AgentsManage>,
        now: OffsetDateTime,
    ) -> Result<Guardrails, AgentError> {
        let guardrails = document.validate()?;
        let before = self
            .store
            .guardrails(agent.id)
            .await
            .map_err(AgentError::store)?;
        let expected_version = before.as_ref().map_or(0, |b| b.1);
        let before_json = before.as_ref().map(|b| b.0.to_json());
        let after_json = guardrails.to_json();
        let details = json!({
            "before": before.as_ref().map(|b| b.0.to_document()),
            "after": guardrails.to_document(),
            "before_sha256": before_json.as_deref().map(sha256_hex),
            "after_sha256": sha256_hex(&after_json),
            "version": expected_version + 1,
        });
        let entry = entry::Event {
            origin,
            actor: (origin.principal_kind, origin.principal_id),
            action: "agent.guardrails_changed",
            resource: ("agent", agent.id.to_string()),
            team: None,
            details,
            status: "success",
        }
        .build_or_without(&["before", "after"])?;
        let change = AgentChange::SetGuardrails {
            agent_id: agent.id,
            guardrails: guardrails.clone(),
            expected_version,
            by: origin.principal_id,
            at: now,
        };
        self.commit(entry, change, || {
            AgentError::Conflict(
                "the guardrails were changed meanwhile: read them and try again".into(),
            )
        })
        .await?;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&agent.id);
        }
        Ok(guardrails)
    }

    /// Commits `change` with `entry`; a refused change is `refused()`.
    async fn commit(
        &self,
        entry: rampart_audit::NewEntry,
        change: AgentChange,
        refused: impl FnOnce() -> AgentError,
    ) -> Result<(), AgentError> {
        match self
            .audit
            .append_with(vec![entry], SubmittedBy::rampart(), change.into())
            .await
        {
            Ok(_) => {
                self.monitor.entries_appended();
                Ok(())
            }
            Err(LogError::Refused(_)) => Err(refused()),
            Err(e) => Err(AgentError::from_log(e)),
        }
    }
}
