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
pub mod jobs;
pub mod send;

use std::path::Path;
use std::sync::{Arc, RwLock};

use rampart_audit::{AuditLog, AuditStore};
use rampart_crypto::{KeyEncryptionKey, SealContext, SealedSecret, random_secret};
use rampart_monitor::{
    Alert, AlertError, AlertFilter, Delivery, EscalationPeriods, Evaluator, EventType, Incident,
    IncidentChange, IncidentDocument, IncidentError, IncidentFilter, IncidentId, IncidentStatus,
    Invalid, MonitorStore, RetrySchedule, RuleSet, Silence, SilenceDocument, TimelineDocument,
    Webhook, WebhookDocument, WebhookSecret, event_body, validate_resolution,
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

    // Webhooks.

    /// Makes a webhook: its URL checked (a name resolved, every address checked unless private
    /// networks are allowed), a fresh secret from the OS, stored sealed by the KEK.
    pub async fn create_webhook(
        &self,
        document: &WebhookDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<NewWebhook, MonitorError> {
        let (url, events) = document.validate(self.settings.allow_private_networks)?;
        if !self.settings.allow_private_networks {
            send::resolve_allowed(&url, false)
                .await
                .map_err(|message| {
                    Invalid::Fields(vec![rampart_monitor::FieldError::new("url", message)])
                })?;
        }
        let secret = WebhookSecret::from_bytes(random_secret::<SECRET_BYTES>()?.to_vec())
            .map_err(|_| MonitorError::Conflict("cannot make a webhook secret".to_owned()))?;
        let id = new_id();
        let sealed = self.kek.seal(&seal_context(&id), secret.expose_bytes())?;
        let webhook = Webhook {
            id,
            url: url.url,
            events,
            description: document.description.clone(),
            sealed_secret: sealed.as_bytes().to_vec(),
            created_by: by.to_owned(),
            created_at: now,
        };
        self.store
            .insert_webhook(&webhook)
            .await
            .map_err(MonitorError::store)?;
        Ok(NewWebhook {
            webhook,
            secret: secret.to_text(),
        })
    }

    /// The secret of a stored webhook.
    pub(crate) fn secret_of(&self, webhook: &Webhook) -> Result<WebhookSecret, MonitorError> {
        let opened = self.kek.open(
            &seal_context(&webhook.id),
            &SealedSecret::from_bytes(webhook.sealed_secret.clone()),
        )?;
        use secrecy::ExposeSecret as _;
        WebhookSecret::from_bytes(opened.expose_secret().to_vec())
            .map_err(|_| MonitorError::Conflict("a stored webhook secret is malformed".to_owned()))
    }

    /// Every webhook.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, MonitorError> {
        self.store
            .list_webhooks()
            .await
            .map_err(MonitorError::store)
    }

    /// One webhook.
    pub async fn webhook(&self, id: &str) -> Result<Webhook, MonitorError> {
        self.store
            .webhook(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("webhook"))
    }

    /// Removes a webhook and its pending deliveries.
    pub async fn delete_webhook(&self, id: &str) -> Result<Webhook, MonitorError> {
        self.store
            .delete_webhook(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("webhook"))
    }

    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: &str) -> Result<Vec<Delivery>, MonitorError> {
        self.webhook(webhook_id).await?;
        self.store
            .list_deliveries(webhook_id, MAX_LISTED)
            .await
            .map_err(MonitorError::store)
    }

    /// Sends a delivery again (its attempts start over).
    pub async fn retry_delivery(
        &self,
        webhook_id: &str,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Delivery, MonitorError> {
        let mut delivery = self
            .store
            .delivery(webhook_id, id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("delivery"))?;
        delivery.retry(now);
        self.store
            .retry_delivery(&delivery)
            .await
            .map_err(MonitorError::store)?;
        self.send_now.notify_one();
        Ok(delivery)
    }

    /// Deliveries of `event` carrying `data` to every webhook that wants it.
    pub(crate) async fn deliveries_of(
        &self,
        event: EventType,
        data: &Value,
        now: OffsetDateTime,
    ) -> Result<Vec<Delivery>, MonitorError> {
        let webhooks = self.webhooks().await?;
        Ok(deliveries_for(&webhooks, event, data, now))
    }

    // Incidents.

    /// Opens an incident someone reported.
    pub async fn open_incident(
        &self,
        document: &IncidentDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        let mut new = document.validate()?;
        for (index, id) in new.alert_ids.iter().enumerate() {
            let alert = self.store.alert(id).await.map_err(MonitorError::store)?;
            match alert {
                Some(alert) => new.entry_seqs.extend(alert.entry_seqs.iter().copied()),
                None => {
                    return Err(Invalid::Fields(vec![rampart_monitor::FieldError::new(
                        format!("alert_ids[{index}]"),
                        "no such alert",
                    )])
                    .into());
                }
            }
        }
        new.entry_seqs.sort_unstable();
        new.entry_seqs.dedup();
        for _ in 0..16 {
            let number = self
                .store
                .next_incident_number(now.date())
                .await
                .map_err(MonitorError::store)?;
            let id = IncidentId {
                date: now.date(),
                number,
            };
            let incident = Incident::open(id, new.clone(), by, now, &self.settings.periods);
            let deliveries = self
                .deliveries_of(EventType::IncidentOpened, &incident_json(&incident), now)
                .await?;
            if self
                .store
                .insert_incident(&incident, &deliveries)
                .await
                .map_err(MonitorError::store)?
            {
                if !deliveries.is_empty() {
                    self.send_now.notify_one();
                }
                return Ok(incident);
            }
        }
        Err(MonitorError::Conflict(
            "no incident number was free; retry".to_owned(),
        ))
    }

    /// Incidents by `filter`.
    pub async fn incidents(
        &self,
        mut filter: IncidentFilter,
    ) -> Result<Vec<Incident>, MonitorError> {
        filter.limit = filter.limit.clamp(1, MAX_LISTED);
        self.store
            .list_incidents(&filter)
            .await
            .map_err(MonitorError::store)
    }

    /// One incident.
    pub async fn incident(&self, id: &str) -> Result<Incident, MonitorError> {
        let id = IncidentId::parse(id).ok_or(MonitorError::NotFound("incident"))?;
        self.store
            .incident(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("incident"))
    }

    /// Adds a note or an action to an incident's timeline.
    pub async fn record(
        &self,
        id: &str,
        document: &TimelineDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        document.validate()?;
        let mut incident = self.incident(id).await?;
        let entry = incident.record(by, document, now)?;
        if !self
            .store
            .append_timeline(incident.id, &entry)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::NotFound("incident"));
        }
        Ok(incident)
    }

    /// Acknowledges an open incident (its escalation stops).
    pub async fn acknowledge_incident(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        let mut incident = self.incident(id).await?;
        let (status, level) = (incident.status, incident.escalation_level);
        let entry = incident.acknowledge(by, now)?;
        self.change(incident, entry, status, level, Vec::new())
            .await
    }

    /// Resolves an incident.
    pub async fn resolve_incident(
        &self,
        id: &str,
        resolution: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        validate_resolution(resolution)?;
        let mut incident = self.incident(id).await?;
        let (status, level) = (incident.status, incident.escalation_level);
        let entry = incident.resolve(by, resolution, now)?;
        let deliveries = self
            .deliveries_of(EventType::IncidentResolved, &incident_json(&incident), now)
            .await?;
        self.change(incident, entry, status, level, deliveries)
            .await
    }

    async fn change(
        &self,
        incident: Incident,
        entry: rampart_monitor::TimelineEntry,
        expected_status: IncidentStatus,
        expected_level: u32,
        deliveries: Vec<Delivery>,
    ) -> Result<Incident, MonitorError> {
        let notify = !deliveries.is_empty();
        let change = IncidentChange {
            incident,
            entry,
            expected_status,
            expected_level,
            deliveries,
        };
        if !self
            .store
            .change_incident(&change)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::Conflict(
                "the incident changed meanwhile; read it again and retry".to_owned(),
            ));
        }
        if notify {
            self.send_now.notify_one();
        }
        Ok(change.incident)
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
