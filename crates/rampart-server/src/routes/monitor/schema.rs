//! The OpenAPI shapes of monitoring's requests and answers (API.md's). Bodies are read by
//! `rampart_monitor`'s documents, which name every wrong field; these types only describe them.
#![allow(dead_code, reason = "schema only: bodies are read by rampart_monitor")]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One detection rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectionRule {
    /// Unique name.
    pub name: String,
    /// What entries count: `action` (exact or `x.*`, or a list), `status`, `actor_type`,
    /// `resource_type`, `tag`, `team_id`, `data_classification`, `details`.
    #[serde(rename = "match")]
    #[schema(value_type = Object)]
    pub matches: Value,
    /// Entry paths the windows are kept by (`actor.id`, `actor.ip`, `resource.id`,
    /// `context.team_id`, `details.<key>`).
    pub group_by: Vec<String>,
    /// Matching entries of one group within the window that fire.
    pub threshold: u32,
    /// The window, in seconds.
    pub window_seconds: u32,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Whether a firing opens an incident (every critical alert does).
    pub open_incident: Option<bool>,
    /// Whether the rule runs.
    pub enabled: Option<bool>,
}

/// `PUT /v1/detection-rules`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectionRulesBody {
    /// The rules.
    pub rules: Vec<DetectionRule>,
    /// The version read (optional): the change is refused if another came first.
    pub version: Option<u64>,
}

/// The detection rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectionRulesInForce {
    /// The rules.
    pub rules: Vec<DetectionRule>,
    /// `default`, `api` or `file`.
    pub source: String,
    /// The version.
    pub version: u64,
}

/// An alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertBody {
    /// Its id.
    pub id: String,
    /// The rule that fired.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The group's values, e.g. `{"actor.id": "lena"}`.
    #[schema(value_type = Object)]
    pub group: Value,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// Matching entries counted while it was active.
    pub count: u64,
    /// RFC 3339.
    pub first_seen_at: String,
    /// RFC 3339.
    pub last_seen_at: String,
    /// The `seq`s of the entries that fired it (at most 1000).
    pub entry_seqs: Vec<u64>,
    /// The incident it opened or belongs to.
    pub incident_id: Option<String>,
}

/// `GET /v1/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// Newest first.
    pub items: Vec<AlertBody>,
}

/// `POST /v1/alerts/{id}/resolve`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveAlertBody {
    /// Why (at most 2000 characters).
    pub note: Option<String>,
}

/// `POST /v1/silences`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSilenceBody {
    /// The rule silenced.
    pub rule: String,
    /// Only this group (values by group path); every group when absent.
    #[schema(value_type = Option<Object>)]
    pub group: Option<Value>,
    /// Until when (RFC 3339, at most 90 days ahead).
    pub until: String,
    /// Why.
    pub reason: String,
}

/// A silence.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceBody {
    /// Its id.
    pub id: String,
    /// The rule silenced.
    pub rule: String,
    /// The group, if only one.
    #[schema(value_type = Option<Object>)]
    pub group: Option<Value>,
    /// RFC 3339.
    pub until: String,
    /// Why.
    pub reason: String,
    /// Who made it.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /v1/silences`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceList {
    /// Ending soonest first.
    pub items: Vec<SilenceBody>,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWebhookBody {
    /// `https://` (or `http://`) URL; loopback, private and link-local destinations are refused
    /// unless `webhook_allow_private_networks`.
    pub url: String,
    /// Event types: `alert.opened`, `incident.opened`, `incident.escalated`,
    /// `incident.resolved`, `approval.requested`, `erasure.requested`, `retention.due`.
    pub events: Vec<String>,
    /// At most 500 characters.
    pub description: Option<String>,
}

/// A webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookBody {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Its description.
    pub description: String,
    /// Who made it.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A webhook just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookBody {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Its description.
    pub description: String,
    /// `whsec_…`: the Standard Webhooks signing secret, shown only here.
    pub secret: String,
}

/// `GET /v1/webhooks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub items: Vec<WebhookBody>,
}

/// A delivery of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    /// Its id (the `webhook-id` header).
    pub id: String,
    /// The event type.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last answer's status code.
    pub last_status_code: Option<u16>,
    /// When it is tried next (RFC 3339).
    pub next_attempt_at: Option<String>,
}

/// `GET /v1/webhooks/{id}/deliveries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub items: Vec<DeliveryBody>,
}

/// `POST /v1/incidents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewIncidentBody {
    /// 1 to 200 characters.
    pub title: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// At most 10,000 characters.
    pub description: Option<String>,
    /// Alerts it groups (at most 100).
    pub alert_ids: Option<Vec<String>>,
    /// Personal data was breached: `notification_deadline_at` is 72 h after detection.
    pub personal_data_breach: Option<bool>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineItem {
    /// RFC 3339.
    pub at: String,
    /// Who (`rampart` for what Rampart did).
    pub actor: String,
    /// `opened`, `note`, `action`, `acknowledged`, `escalated` or `resolved`.
    pub kind: String,
    /// What.
    pub text: String,
}

/// An incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentBody {
    /// `INC-YYYYMMDD-NNNN`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub acknowledged_at: Option<String>,
    /// RFC 3339.
    pub resolved_at: Option<String>,
    /// Escalations so far.
    pub escalation_level: u32,
    /// The next escalation while open (RFC 3339).
    pub next_escalation_at: Option<String>,
    /// Whether personal data was breached.
    pub personal_data_breach: bool,
    /// GDPR Art. 33's deadline (RFC 3339).
    pub notification_deadline_at: Option<String>,
    /// Its alerts.
    pub alert_ids: Vec<String>,
    /// Its audit entries.
    pub entry_seqs: Vec<u64>,
    /// Everything that happened, in order.
    pub timeline: Vec<TimelineItem>,
}

/// `GET /v1/incidents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub items: Vec<IncidentBody>,
}

/// `POST /v1/incidents/{id}/timeline`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineBody {
    /// `note` or `action`.
    pub kind: String,
    /// 1 to 10,000 characters.
    pub text: String,
}

/// `POST /v1/incidents/{id}/resolve`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveIncidentBody {
    /// How it was resolved.
    pub resolution: String,
}

/// An incident's evidence: verify each proof against the checkpoint's root, and the
/// checkpoint's signature with `GET /v1/audit/public-key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceBody {
    /// The incident.
    pub incident_id: String,
    /// The signed checkpoint every proof is against (as `GET /v1/audit/checkpoint`).
    #[schema(value_type = Object)]
    pub checkpoint: Value,
    /// `{"seq", "entry", "canonical" (the leaf's RFC 8785 text), "leaf_hash", "proof":
    /// {"tree_size", "hashes"}}` per entry.
    #[schema(value_type = Vec<Object>)]
    pub entries: Value,
    /// The incident's entries pruned under retention since (their content is deleted, so they
    /// are not among `entries`): `{"seq", "leaf_hash", "pruned_at", "certificate_id"}` each.
    #[schema(value_type = Vec<Object>)]
    pub pruned_entries: Value,
}
