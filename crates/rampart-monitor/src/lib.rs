//! Rampart's security monitoring: detection rules over the audit log and their evaluator,
//! alerts and silences, incidents and their escalation, and the pure parts of Standard
//! Webhooks (event types, signatures, the retry schedule, destination checks).
//!
//! It knows nothing of HTTP, SQL or DNS: the app layer feeds it audit entries in `seq` order,
//! sends the webhooks and resolves their hosts; storage is the [`MonitorStore`] trait,
//! implemented by `rampart-store`; time (and randomness for jitter) is always a parameter.
#![forbid(unsafe_code)]

mod alerts;
mod engine;
mod error;
mod incidents;
mod rules;
mod store;
mod webhooks;

pub use alerts::{
    Alert, AlertError, AlertStatus, AlertWrite, MAX_ALERT_SEQS, MAX_NOTE_LEN, MAX_SILENCE_SECONDS,
    Silence, SilenceDocument, apply_fired, is_silenced, plan_alerts,
};
pub use engine::{
    EntryView, Evaluator, Fired, Group, Hit, Window, WindowChange, WindowKey, WindowState,
};
pub use error::{FieldError, Invalid};
pub use incidents::{
    BREACH_NOTIFICATION, ESCALATED_TEXT, EscalationPeriods, Incident, IncidentDocument,
    IncidentError, IncidentId, IncidentStatus, MAX_ALERT_IDS, MAX_TEXT_LEN, MAX_TITLE_LEN,
    NewIncident, TimelineDocument, TimelineEntry, TimelineKind, validate_resolution,
};
pub use rules::{
    ActionDocument, ActionPattern, DEFAULT_RULES_JSON, GroupPath, MAX_ACTIONS, MAX_DETAILS_MATCH,
    MAX_GROUP_BY, MAX_RULE_NAME_LEN, MAX_RULES, MAX_THRESHOLD, MAX_WINDOW_SECONDS, Match,
    MatchDocument, Rule, RuleDocument, RuleSet, RuleSetDocument, Severity,
};
pub use store::{
    AlertFilter, EvaluationCommit, IncidentChange, IncidentFilter, MonitorStore, ReplacedRules,
    StoredRules,
};
pub use webhooks::{
    AttemptOutcome, Delivery, DeliveryStatus, EventType, MAX_RETRIES, MAX_RETRY_SECONDS,
    MAX_URL_LEN, RetrySchedule, SecretError, Webhook, WebhookDocument, WebhookSecret, WebhookUrl,
    event_body, is_forbidden_destination, jittered, sign, validate_url, verify,
};
