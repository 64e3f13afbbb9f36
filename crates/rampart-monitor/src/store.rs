//! What monitoring needs from storage: the [`MonitorStore`] trait (implemented by
//! `rampart-store` on SQLite and PostgreSQL) and its records. The evaluator's progress, its
//! windows, the alerts and incidents it opens and the deliveries they cause commit together
//! ([`MonitorStore::commit_evaluation`]), so a crash neither repeats nor loses an alert or a
//! notification. Changes people make are compare-and-set on the state they saw: a refused
//! change (`false`) means someone came first, and the caller reloads.

use std::future::Future;

use time::{Date, OffsetDateTime};

use crate::alerts::{Alert, AlertStatus, AlertWrite, Silence};
use crate::engine::{Window, WindowChange, WindowKey};
use crate::incidents::{Incident, IncidentId, IncidentStatus, TimelineEntry};
use crate::rules::{RuleSet, Severity};
use crate::webhooks::{Delivery, Webhook};

/// One step of the evaluator, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvaluationCommit {
    /// The cursor the evaluator read: nothing commits unless it is still stored (another
    /// node that took the lease over has moved on).
    pub expected_cursor: u64,
    /// The next `seq` to evaluate.
    pub cursor: u64,
    /// Windows to write or delete.
    pub windows: Vec<WindowChange>,
    /// Alerts to open or raise ([`crate::apply_fired`]).
    pub alerts: Vec<AlertWrite>,
    /// Incidents opened by alerts (their `alert_ids` link the alerts back to them).
    pub incidents: Vec<Incident>,
    /// Deliveries of the events above (`alert.opened` unless silenced, `incident.opened`).
    pub deliveries: Vec<Delivery>,
}

/// The detection rules set through the API, as stored: their JSON ([`RuleSet::to_json`]) and
/// the version each replacement raises by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    /// The rule set's JSON.
    pub json: String,
    /// Its version, from 1.
    pub version: u64,
}

/// A replacement of the detection rules that took place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedRules {
    /// The document replaced (none: the first).
    pub before: Option<StoredRules>,
    /// The version written.
    pub version: u64,
}

/// Which alerts to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertFilter {
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this rule's.
    pub rule: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// Which incidents to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentFilter {
    /// Only this status.
    pub status: Option<IncidentStatus>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// At most this many.
    pub limit: u32,
}

/// A change to an incident: the incident as it now is, the timeline entry that records the
/// change, and the deliveries it causes, committed together if the stored incident still has
/// `expected_status` and `expected_level` (an escalation and an acknowledgement cannot both
/// win).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentChange {
    /// The incident after the change.
    pub incident: Incident,
    /// The entry appended to its timeline.
    pub entry: TimelineEntry,
    /// The status the change was made from.
    pub expected_status: IncidentStatus,
    /// The escalation level the change was made from.
    pub expected_level: u32,
    /// Deliveries to enqueue (`incident.escalated`, `incident.resolved`).
    pub deliveries: Vec<Delivery>,
}

/// The `Result` of a [`MonitorStore`] operation.
type Stored<T, E> = Result<T, E>;

/// Storage monitoring needs, implemented by `rampart-store` for each backend.
pub trait MonitorStore: Send + Sync {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    // The detection rules.

    /// The detection rules set through the API (`None` before the first replacement).
    fn detection_rules(
        &self,
    ) -> impl Future<Output = Stored<Option<StoredRules>, Self::Error>> + Send;

    /// Replaces the detection rules if the stored version is still `expected` (`None`: none
    /// stored); `None` (nothing written) when it moved.
    fn replace_detection_rules(
        &self,
        rules: &RuleSet,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<Option<ReplacedRules>, Self::Error>> + Send;

    // The evaluator.

    /// The next `seq` to evaluate (0 before the first run).
    fn evaluation_cursor(&self) -> impl Future<Output = Stored<u64, Self::Error>> + Send;

    /// Every stored window (loaded when a node takes the evaluator's lease).
    fn windows(&self)
    -> impl Future<Output = Stored<Vec<(WindowKey, Window)>, Self::Error>> + Send;

    /// The active (open or acknowledged) alert of each of these rules and groups, if any.
    fn active_alerts(
        &self,
        keys: &[WindowKey],
    ) -> impl Future<Output = Stored<Vec<Alert>, Self::Error>> + Send;

    /// Commits one evaluation step in one transaction; `false` (nothing written) when the
    /// stored cursor is not `expected_cursor`, an alert to raise is no longer active, an alert
    /// to open finds one of its rule and group active, or an incident's id is taken (the
    /// evaluator reloads and evaluates again, with new incident numbers).
    fn commit_evaluation(
        &self,
        commit: &EvaluationCommit,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    // Alerts and silences.

    /// Alerts by `filter`.
    fn list_alerts(
        &self,
        filter: &AlertFilter,
    ) -> impl Future<Output = Stored<Vec<Alert>, Self::Error>> + Send;

    /// One alert.
    fn alert(&self, id: &str) -> impl Future<Output = Stored<Option<Alert>, Self::Error>> + Send;

    /// Stores an alert [`Alert::acknowledge`]d if the stored one is still open.
    fn acknowledge_alert(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Stores an alert [`Alert::resolve`]d if the stored one is still active.
    fn resolve_alert(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Stores a silence.
    fn insert_silence(
        &self,
        silence: &Silence,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Silences, ending soonest first; with `now`, only those in force then.
    fn list_silences(
        &self,
        now: Option<OffsetDateTime>,
    ) -> impl Future<Output = Stored<Vec<Silence>, Self::Error>> + Send;

    /// Removes a silence; the one removed.
    fn delete_silence(
        &self,
        id: &str,
    ) -> impl Future<Output = Stored<Option<Silence>, Self::Error>> + Send;

    // Webhooks and their outbox.

    /// Stores a webhook (its secret sealed by the app layer).
    fn insert_webhook(
        &self,
        webhook: &Webhook,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Replaces the sealed secret of each listed webhook (`(id, sealed)`), in one transaction:
    /// the master key's rotation re-seals them under the new key. A webhook deleted meanwhile
    /// is skipped.
    fn reseal_webhook_secrets(
        &self,
        sealed: &[(String, Vec<u8>)],
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Every webhook, oldest first.
    fn list_webhooks(&self) -> impl Future<Output = Stored<Vec<Webhook>, Self::Error>> + Send;

    /// One webhook.
    fn webhook(
        &self,
        id: &str,
    ) -> impl Future<Output = Stored<Option<Webhook>, Self::Error>> + Send;

    /// Removes a webhook and its pending deliveries (sent ones stay as history); the one
    /// removed.
    fn delete_webhook(
        &self,
        id: &str,
    ) -> impl Future<Output = Stored<Option<Webhook>, Self::Error>> + Send;

    /// Pending deliveries due at `now`, soonest first, at most `limit`.
    fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<Delivery>, Self::Error>> + Send;

    /// Stores a delivery after [`Delivery::record_attempt`] if the stored one still has
    /// `expected_attempts` attempts (one sender per delivery).
    fn record_attempt(
        &self,
        delivery: &Delivery,
        expected_attempts: u32,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// A webhook's deliveries, newest first, at most `limit`.
    fn list_deliveries(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<Delivery>, Self::Error>> + Send;

    /// One delivery of a webhook.
    fn delivery(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> impl Future<Output = Stored<Option<Delivery>, Self::Error>> + Send;

    /// Stores a delivery after [`Delivery::retry`] (a replay on demand).
    fn retry_delivery(
        &self,
        delivery: &Delivery,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    // Incidents.

    /// The next free number of `date`'s incident ids, from 1 (per deployment).
    fn next_incident_number(
        &self,
        date: Date,
    ) -> impl Future<Output = Stored<u32, Self::Error>> + Send;

    /// Stores an incident someone opened, links its alerts, and enqueues `deliveries`, in one
    /// transaction; `false` (nothing written) when the id is taken (take the next number).
    fn insert_incident(
        &self,
        incident: &Incident,
        deliveries: &[Delivery],
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// One incident with its timeline.
    fn incident(
        &self,
        id: IncidentId,
    ) -> impl Future<Output = Stored<Option<Incident>, Self::Error>> + Send;

    /// Incidents by `filter` (timelines included).
    fn list_incidents(
        &self,
        filter: &IncidentFilter,
    ) -> impl Future<Output = Stored<Vec<Incident>, Self::Error>> + Send;

    /// Open incidents whose `next_escalation_at` is at or before `now`, soonest first, at
    /// most `limit`.
    fn due_escalations(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<Incident>, Self::Error>> + Send;

    /// Commits an [`IncidentChange`] (escalation, acknowledgement, resolution); `false` when
    /// the stored incident moved on.
    fn change_incident(
        &self,
        change: &IncidentChange,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Appends a note or an action to an incident's timeline; `false` when there is no such
    /// incident.
    fn append_timeline(
        &self,
        id: IncidentId,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;
}
