//! Security monitoring as the deployment runs it (API.md "Security monitoring, alerts and
//! incidents"): the detection rules in force (`detection_rules_file`, else set through the API,
//! else the defaults), alerts, silences, webhooks (secrets generated here, shown once, stored
//! sealed by the KEK) and incidents over [`rampart_monitor::MonitorStore`]; the background work
//! (evaluation, delivery, escalation) is in [`evaluate`], [`send`] and [`escalate`], the
//! evidence of an incident in [`evidence`].
//!
//! The HTTP edge audits every change this service makes; the service never touches HTTP.

pub mod escalate;
pub mod evaluate;
pub mod evidence;
mod incidents;
pub mod jobs;
pub mod send;
mod webhooks;

use std::path::Path;
use std::sync::{Arc, RwLock};

use rampart_audit::{AuditLog, AuditStore};
use rampart_crypto::{KeyEncryptionKey, SealContext, random_secret};
use rampart_monitor::{
    Alert, AlertError, AlertFilter, Delivery, EscalationPeriods, Evaluator, EventType, Incident,
    IncidentError, Invalid, MonitorStore, RetrySchedule, RuleSet, Silence, SilenceDocument,
    Webhook, event_body,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::config::Settings;

/// Most items a list answers.
pub const MAX_LISTED: u32 = 1_000;
/// Bytes of a webhook secret.
const SECRET_BYTES: usize = 32;

/// Where the detection rules in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesSource {
    /// The seeds' defaults.
    Default,
    /// `PUT /v1/detection-rules`.
    Api,
    /// `detection_rules_file`.
    File,
}

impl RulesSource {
    /// `default`, `api` or `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Api => "api",
            Self::File => "file",
        }
    }
}

/// The detection rules in force, compiled.
#[derive(Debug, Clone)]
pub struct RulesInForce {
    /// The rules as validated.
    pub rules: RuleSet,
    /// Their evaluator.
    pub evaluator: Arc<Evaluator>,
    /// Where they come from.
    pub source: RulesSource,
    /// Their stored version (0 for the defaults and a file).
    pub version: u64,
}

/// Why a monitoring operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A body the rules refuse (422 naming the fields).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// No such alert, silence, webhook, delivery or incident.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The rules come from `detection_rules_file`.
    #[error("the detection rules come from the detection_rules_file setting")]
    FromFile,
    /// The state changed meanwhile, or the change does not apply to it.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error("monitoring storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Sealing or opening a secret failed.
    #[error("cannot seal or open a webhook secret")]
    Crypto(#[from] rampart_crypto::CryptoError),
}

impl MonitorError {
    fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self::Store(Box::new(error))
    }
}

impl From<AlertError> for MonitorError {
    fn from(error: AlertError) -> Self {
        match error {
            AlertError::BadNote => {
                Self::Invalid(Invalid::Fields(vec![rampart_monitor::FieldError::new(
                    "note",
                    error.to_string(),
                )]))
            }
            other => Self::Conflict(other.to_string()),
        }
    }
}

impl From<IncidentError> for MonitorError {
    fn from(error: IncidentError) -> Self {
        Self::Conflict(error.to_string())
    }
}

/// A webhook just made, with its secret (shown once).
pub struct NewWebhook {
    /// The webhook as stored.
    pub webhook: Webhook,
    /// `whsec_…`.
    pub secret: Zeroizing<String>,
}

/// The settings monitoring runs with.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// `webhook_allow_private_networks`.
    pub allow_private_networks: bool,
    /// `webhook_retry_seconds`.
    pub retry: RetrySchedule,
    /// `incident_escalation_seconds`.
    pub periods: EscalationPeriods,
}

impl MonitorSettings {
    /// From the settings (validated when they were loaded).
    pub fn from_settings(settings: &Settings) -> Self {
        let retry = if settings.webhook_retry_seconds.is_empty() {
            RetrySchedule::default()
        } else {
            let seconds: Vec<u32> = settings
                .webhook_retry_seconds
                .iter()
                .map(|s| u32::try_from(*s).unwrap_or(rampart_monitor::MAX_RETRY_SECONDS))
                .collect();
            RetrySchedule::from_seconds(&seconds).unwrap_or_default()
        };
        let escalation = settings
            .incident_escalation_seconds
            .map(|s| u32::try_from(s).unwrap_or(u32::MAX));
        Self {
            allow_private_networks: settings.webhook_allow_private_networks,
            retry,
            periods: EscalationPeriods::from_setting(escalation),
        }
    }
}

/// Reads `detection_rules_file` (JSON, or YAML by extension).
pub fn rules_from_file(path: &Path) -> Result<RuleSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let parsed = if yaml {
        RuleSet::parse_yaml(&text)
    } else {
        RuleSet::parse_json(&text)
    };
    parsed.map_err(|e| e.to_string())
}

/// Monitoring over a store `S` (Rampart's `Store`; any [`MonitorStore`] that is also the audit
/// log's store).
pub struct MonitorService<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> {
    store: S,
    audit: AuditLog<S>,
    kek: Arc<KeyEncryptionKey>,
    settings: MonitorSettings,
    rules: RwLock<RulesInForce>,
    /// Wakes the evaluator (an append) and the sender (a delivery enqueued).
    pub(crate) evaluate_now: Notify,
    pub(crate) send_now: Notify,
    /// The evaluator's state while this node holds its lease.
    pub(crate) evaluation: tokio::sync::Mutex<Option<evaluate::Progress>>,
}

/// A new random id (UUIDv7).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A random `u64` for jitter.
pub(crate) fn random_u64() -> u64 {
    random_secret::<8>()
        .map(|b| u64::from_le_bytes(*b))
        .unwrap_or(0)
}

/// RFC 3339, or empty.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// An alert as API.md shows it (and as webhooks carry it).
pub fn alert_json(alert: &Alert) -> Value {
    json!({
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity.as_str(),
        "group": alert.group,
        "status": alert.status,
        "count": alert.count,
        "first_seen_at": rfc3339(alert.first_seen_at),
        "last_seen_at": rfc3339(alert.last_seen_at),
        "entry_seqs": alert.entry_seqs,
        "incident_id": alert.incident_id,
    })
}

/// An incident as API.md shows it (and as webhooks carry it).
pub fn incident_json(incident: &Incident) -> Value {
    let opt = |at: Option<OffsetDateTime>| at.map(rfc3339);
    json!({
        "id": incident.id.to_text(),
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity.as_str(),
        "status": incident.status,
        "created_at": rfc3339(incident.created_at),
        "acknowledged_at": opt(incident.acknowledged_at),
        "resolved_at": opt(incident.resolved_at),
        "escalation_level": incident.escalation_level,
        "next_escalation_at": opt(incident.next_escalation()),
        "personal_data_breach": incident.personal_data_breach,
        "notification_deadline_at": opt(incident.notification_deadline_at),
        "alert_ids": incident.alert_ids,
        "entry_seqs": incident.entry_seqs,
        "timeline": incident.timeline.iter().map(|t| json!({
            "at": rfc3339(t.at), "actor": t.actor, "kind": t.kind, "text": t.text,
        })).collect::<Vec<_>>(),
    })
}

/// The sealing context of a webhook's secret.
pub(crate) fn seal_context(webhook_id: &str) -> SealContext {
    SealContext::new(format!("webhook/{webhook_id}"), 1)
}

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// The service, with the rules of `detection_rules_file` when set (read here: a bad file
    /// fails start-up), else the defaults.
    pub fn new(
        store: S,
        audit: AuditLog<S>,
        kek: Arc<KeyEncryptionKey>,
        settings: &Settings,
    ) -> Result<Self, String> {
        let (rules, source) = match &settings.detection_rules_file {
            Some(path) => (
                rules_from_file(path).map_err(|e| format!("{}: {e}", path.display()))?,
                RulesSource::File,
            ),
            None => (RuleSet::defaults(), RulesSource::Default),
        };
        Ok(Self {
            store,
            audit,
            kek,
            settings: MonitorSettings::from_settings(settings),
            rules: RwLock::new(RulesInForce {
                evaluator: Arc::new(Evaluator::new(&rules)),
                rules,
                source,
                version: 0,
            }),
            evaluate_now: Notify::new(),
            send_now: Notify::new(),
            evaluation: tokio::sync::Mutex::new(None),
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The settings in force.
    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// Wakes the evaluator at once (after an append).
    pub fn entries_appended(&self) {
        self.evaluate_now.notify_one();
    }

    // Detection rules.

    /// The rules in force: the file's, else the stored ones (read again when another node
    /// replaced them), else the defaults.
    pub async fn rules(&self) -> Result<RulesInForce, MonitorError> {
        let current = self.cached_rules();
        if current.source == RulesSource::File {
            return Ok(current);
        }
        let stored = self
            .store
            .detection_rules()
            .await
            .map_err(MonitorError::store)?;
        match stored {
            Some(stored) if stored.version != current.version => {
                let rules = RuleSet::parse_json(&stored.json)?;
                Ok(self.install(rules, RulesSource::Api, stored.version))
            }
            _ => Ok(current),
        }
    }

    fn cached_rules(&self) -> RulesInForce {
        self.rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn install(&self, rules: RuleSet, source: RulesSource, version: u64) -> RulesInForce {
        let installed = RulesInForce {
            evaluator: Arc::new(Evaluator::new(&rules)),
            rules,
            source,
            version,
        };
        *self
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = installed.clone();
        installed
    }

    /// Replaces the rules (refused when they come from a file, or when `expected_version` is
    /// given and is not the stored version). Returns the rules replaced and those in force.
    pub async fn replace_rules(
        &self,
        rules: RuleSet,
        expected_version: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<(RulesInForce, RulesInForce), MonitorError> {
        let before = self.rules().await?;
        if before.source == RulesSource::File {
            return Err(MonitorError::FromFile);
        }
        let stored_version = (before.source == RulesSource::Api).then_some(before.version);
        let expected = match expected_version {
            Some(v) if Some(v) != stored_version && !(v == 0 && stored_version.is_none()) => {
                return Err(MonitorError::Conflict(
                    "the detection rules changed meanwhile; read them again and retry".to_owned(),
                ));
            }
            _ => stored_version,
        };
        let replaced = self
            .store
            .replace_detection_rules(&rules, expected, now)
            .await
            .map_err(MonitorError::store)?
            .ok_or_else(|| {
                MonitorError::Conflict(
                    "the detection rules changed meanwhile; read them again and retry".to_owned(),
                )
            })?;
        let after = self.install(rules, RulesSource::Api, replaced.version);
        Ok((before, after))
    }

    // Alerts and silences.

    /// Alerts by `filter` (at most [`MAX_LISTED`]).
    pub async fn alerts(&self, mut filter: AlertFilter) -> Result<Vec<Alert>, MonitorError> {
        filter.limit = filter.limit.clamp(1, MAX_LISTED);
        self.store
            .list_alerts(&filter)
            .await
            .map_err(MonitorError::store)
    }

    /// One alert.
    pub async fn alert(&self, id: &str) -> Result<Alert, MonitorError> {
        self.store
            .alert(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("alert"))
    }

    /// Acknowledges an open alert.
    pub async fn acknowledge_alert(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Alert, MonitorError> {
        let mut alert = self.alert(id).await?;
        alert.acknowledge(by, now)?;
        if !self
            .store
            .acknowledge_alert(&alert)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::Conflict(
                "the alert changed meanwhile".to_owned(),
            ));
        }
        Ok(alert)
    }

    /// Resolves an active alert.
    pub async fn resolve_alert(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Alert, MonitorError> {
        let mut alert = self.alert(id).await?;
        alert.resolve(by, note, now)?;
        if !self
            .store
            .resolve_alert(&alert)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::Conflict(
                "the alert changed meanwhile".to_owned(),
            ));
        }
        Ok(alert)
    }

    /// Stores a silence.
    pub async fn silence(
        &self,
        document: &SilenceDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Silence, MonitorError> {
        let silence = document.validate(new_id(), by, now)?;
        self.store
            .insert_silence(&silence)
            .await
            .map_err(MonitorError::store)?;
        Ok(silence)
    }

    /// Every silence.
    pub async fn silences(&self) -> Result<Vec<Silence>, MonitorError> {
        self.store
            .list_silences(None)
            .await
            .map_err(MonitorError::store)
    }

    /// Removes a silence.
    pub async fn delete_silence(&self, id: &str) -> Result<Silence, MonitorError> {
        self.store
            .delete_silence(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("silence"))
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog<S> {
        &self.audit
    }
}

/// Deliveries of `event` with `data` to each of `webhooks` that wants it.
pub(crate) fn deliveries_for(
    webhooks: &[Webhook],
    event: EventType,
    data: &Value,
    now: OffsetDateTime,
) -> Vec<Delivery> {
    webhooks
        .iter()
        .filter(|w| w.wants(event))
        .map(|w| {
            Delivery::new(
                new_id(),
                w.id.clone(),
                event,
                event_body(event, now, data.clone()),
                now,
            )
        })
        .collect()
}
