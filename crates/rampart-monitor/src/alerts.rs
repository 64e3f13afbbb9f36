//! Alerts and silences. An alert is what a rule's firing leaves for people: one per rule and
//! group while it is active (open or acknowledged), its `count` raised by further matches, the
//! `seq`s that fired it kept as evidence. A silence keeps alerts recorded but their
//! notifications unsent, for one rule (and, optionally, the groups it names) until a time.

mod plan;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use plan::plan_alerts;

use crate::engine::{Fired, Group};
use crate::error::{FieldError, Invalid};
use crate::rules::{GroupPath, MAX_RULE_NAME_LEN, Severity};

/// Most `seq`s an alert keeps (the first ones: those that fired it); `count` goes on.
pub const MAX_ALERT_SEQS: usize = 1000;
/// Longest note, reason or resolution.
pub const MAX_NOTE_LEN: usize = 2000;
/// Longest a silence may last.
pub const MAX_SILENCE_SECONDS: i64 = 90 * 86_400;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Raised, nobody has looked.
    Open,
    /// Someone is on it; still active: further matches raise its count.
    Acknowledged,
    /// Done; a new firing opens a new alert.
    Resolved,
}

impl AlertStatus {
    /// Whether further matches of its rule and group raise this alert's count.
    #[must_use]
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Resolved)
    }
}

/// An alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its id (chosen by the app layer).
    pub id: String,
    /// The rule that fired.
    pub rule: String,
    /// The rule's severity when it fired.
    pub severity: Severity,
    /// The group.
    pub group: Group,
    /// Where it is in its life.
    pub status: AlertStatus,
    /// Matching entries counted, the firing ones included.
    pub count: u64,
    /// When the oldest of them happened.
    pub first_seen_at: OffsetDateTime,
    /// When the latest happened.
    pub last_seen_at: OffsetDateTime,
    /// Their `seq`s, oldest first, at most [`MAX_ALERT_SEQS`].
    pub entry_seqs: Vec<u64>,
    /// The incident it belongs to.
    pub incident_id: Option<String>,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(String, OffsetDateTime)>,
    /// Who resolved it, when, and their note.
    pub resolved: Option<(String, OffsetDateTime, Option<String>)>,
}

/// What a firing does to the alerts: open one, or raise an active one's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertWrite {
    /// A new alert (notify, and open an incident when [`Fired::opens_incident`]).
    Open(Alert),
    /// More matches for an active alert (no notification).
    Raise {
        /// The alert.
        id: String,
        /// Matches to add to `count`.
        count: u64,
        /// Their `seq`s (appended while the alert holds fewer than [`MAX_ALERT_SEQS`]).
        seqs: Vec<u64>,
        /// The latest match's time.
        last_seen_at: OffsetDateTime,
    },
}

/// Why an alert cannot change as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// Acknowledging an alert that is not open.
    #[error("the alert is {0:?}, not open")]
    NotOpen(AlertStatus),
    /// Resolving an alert already resolved.
    #[error("the alert is already resolved")]
    AlreadyResolved,
    /// A resolution note too long or with control characters.
    #[error("note: at most {MAX_NOTE_LEN} characters without control characters")]
    BadNote,
}

impl Alert {
    /// The alert a firing opens.
    #[must_use]
    pub fn open(id: String, fired: &Fired) -> Self {
        let mut entry_seqs = fired.seqs.clone();
        entry_seqs.truncate(MAX_ALERT_SEQS);
        Self {
            id,
            rule: fired.rule.clone(),
            severity: fired.severity,
            group: fired.group.clone(),
            status: AlertStatus::Open,
            count: u64::from(fired.count),
            first_seen_at: fired.first_seen_at,
            last_seen_at: fired.last_seen_at,
            entry_seqs,
            incident_id: None,
            acknowledged: None,
            resolved: None,
        }
    }

    /// Applies a [`AlertWrite::Raise`] meant for this alert (what the store does).
    pub fn raise(&mut self, count: u64, seqs: &[u64], last_seen_at: OffsetDateTime) {
        self.count = self.count.saturating_add(count);
        self.last_seen_at = self.last_seen_at.max(last_seen_at);
        let room = MAX_ALERT_SEQS.saturating_sub(self.entry_seqs.len());
        self.entry_seqs.extend(seqs.iter().take(room));
    }

    /// Open → acknowledged.
    pub fn acknowledge(&mut self, by: &str, now: OffsetDateTime) -> Result<(), AlertError> {
        if self.status != AlertStatus::Open {
            return Err(AlertError::NotOpen(self.status));
        }
        self.status = AlertStatus::Acknowledged;
        self.acknowledged = Some((by.to_owned(), now));
        Ok(())
    }

    /// Open or acknowledged → resolved, with an optional note.
    pub fn resolve(
        &mut self,
        by: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AlertError> {
        if self.status == AlertStatus::Resolved {
            return Err(AlertError::AlreadyResolved);
        }
        if note.is_some_and(|n| !valid_note(n)) {
            return Err(AlertError::BadNote);
        }
        self.status = AlertStatus::Resolved;
        self.resolved = Some((by.to_owned(), now, note.map(str::to_owned)));
        Ok(())
    }
}

/// What a firing does, given the active alert of its rule and group (if any): raise it, or
/// open a new one with the id `new_id` gives.
pub fn apply_fired(
    active: Option<&Alert>,
    fired: &Fired,
    new_id: impl FnOnce() -> String,
) -> AlertWrite {
    match active.filter(|a| a.status.is_active() && a.rule == fired.rule && a.group == fired.group)
    {
        Some(alert) => AlertWrite::Raise {
            id: alert.id.clone(),
            count: u64::from(fired.count),
            seqs: fired.seqs.clone(),
            last_seen_at: fired.last_seen_at,
        },
        None => AlertWrite::Open(Alert::open(new_id(), fired)),
    }
}

/// A silence: alerts of `rule` (whose group holds every pair of `group`, when given) are
/// recorded but not notified until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// Its id (chosen by the app layer).
    pub id: String,
    /// The rule silenced.
    pub rule: String,
    /// The group values an alert must have to be silenced (none: every group).
    pub group: Option<Group>,
    /// When it ends.
    pub until: OffsetDateTime,
    /// Why.
    pub reason: String,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl Silence {
    /// Whether it silences an alert at `now`.
    #[must_use]
    pub fn matches(&self, alert: &Alert, now: OffsetDateTime) -> bool {
        now < self.until
            && self.rule == alert.rule
            && self.group.as_ref().is_none_or(|group| {
                group
                    .iter()
                    .all(|(path, value)| alert.group.get(path) == Some(value))
            })
    }
}

/// Whether any of `silences` silences an alert at `now`.
#[must_use]
pub fn is_silenced(silences: &[Silence], alert: &Alert, now: OffsetDateTime) -> bool {
    silences.iter().any(|s| s.matches(alert, now))
}

/// A silence as written: `{"rule", "group"?, "until", "reason"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceDocument {
    /// The rule's name.
    pub rule: String,
    /// Group paths and the value (string, or null for "none") an alert must have.
    #[serde(default)]
    pub group: Option<Map<String, Value>>,
    /// RFC 3339 end, after now and at most 90 days ahead.
    pub until: String,
    /// Why, 1 to 2000 characters.
    pub reason: String,
}

impl SilenceDocument {
    /// Validates the document into a silence with `id`, made by `by` at `now`; every wrong
    /// field is reported.
    pub fn validate(&self, id: String, by: &str, now: OffsetDateTime) -> Result<Silence, Invalid> {
        let mut errors = Vec::new();
        let rule_ok = !self.rule.is_empty()
            && self.rule.len() <= MAX_RULE_NAME_LEN
            && self
                .rule
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !rule_ok {
            errors.push(FieldError::new("rule", "must be a rule name"));
        }
        let group = self.group.as_ref().map(|written| {
            let mut group = Group::new();
            for (path, value) in written {
                let at = format!("group.{path}");
                if GroupPath::parse(path).is_none() {
                    errors.push(FieldError::new("group", "keys must be group_by paths"));
                    continue;
                }
                match value {
                    Value::String(s) if !s.is_empty() && s.len() <= 512 => {
                        group.insert(path.clone(), Some(s.clone()));
                    }
                    Value::Null => {
                        group.insert(path.clone(), None);
                    }
                    _ => errors.push(FieldError::new(at, "must be a string of 1 to 512 or null")),
                }
            }
            group
        });
        let until = match OffsetDateTime::parse(&self.until, &Rfc3339) {
            Ok(until) if until <= now => {
                errors.push(FieldError::new("until", "must be in the future"));
                None
            }
            Ok(until) if (until - now).whole_seconds() > MAX_SILENCE_SECONDS => {
                errors.push(FieldError::new("until", "must be at most 90 days ahead"));
                None
            }
            Ok(until) => Some(until),
            Err(_) => {
                errors.push(FieldError::new("until", "must be an RFC 3339 time"));
                None
            }
        };
        if self.reason.trim().is_empty() || !valid_note(&self.reason) {
            errors.push(FieldError::new(
                "reason",
                format!("must be 1 to {MAX_NOTE_LEN} characters without control characters"),
            ));
        }
        match until {
            Some(until) if errors.is_empty() => Ok(Silence {
                id,
                rule: self.rule.clone(),
                group,
                until,
                reason: self.reason.clone(),
                created_by: by.to_owned(),
                created_at: now,
            }),
            _ => Err(Invalid::Fields(errors)),
        }
    }
}

/// A note's rule: at most [`MAX_NOTE_LEN`] characters, no control characters but newlines
/// and tabs.
pub(crate) fn valid_note(note: &str) -> bool {
    note.chars().count() <= MAX_NOTE_LEN
        && !note
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
}
