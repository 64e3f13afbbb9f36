//! Incidents: their ids (`INC-YYYYMMDD-NNNN`, seed 001's format), their life (open,
//! acknowledged, resolved), the timeline of everything done to them, escalation on time
//! (seed 001's 24 h / 8 h / 2 h / 30 min by severity, or one configured period) and GDPR
//! Art. 33's 72-hour notification deadline for personal-data breaches. Deadlines are fields
//! the store keeps, so a restart honours them; every function takes `now`.

mod document;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::rules::Severity;

pub use document::{
    IncidentDocument, MAX_ALERT_IDS, MAX_TEXT_LEN, MAX_TITLE_LEN, TimelineDocument,
    validate_resolution,
};

/// How long a controller has to notify the authority of a personal-data breach (GDPR Art. 33).
pub const BREACH_NOTIFICATION: Duration = Duration::hours(72);

/// The timeline text of an escalation.
pub const ESCALATED_TEXT: &str = "escalated due to timeout";

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Nobody has taken it; it escalates.
    Open,
    /// Someone is on it; it no longer escalates.
    Acknowledged,
    /// Done.
    Resolved,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimelineKind {
    /// The incident was opened.
    Opened,
    /// Someone wrote a note.
    Note,
    /// Someone recorded an action taken.
    Action,
    /// It was acknowledged.
    Acknowledged,
    /// It escalated.
    Escalated,
    /// It was resolved.
    Resolved,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub at: OffsetDateTime,
    /// Who (a principal id, or `rampart` for what Rampart did by itself).
    pub actor: String,
    /// What kind of thing happened.
    pub kind: TimelineKind,
    /// What.
    pub text: String,
}

/// An incident id: `INC-YYYYMMDD-NNNN`, the date it was opened (UTC) and its number that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncidentId {
    /// The day.
    pub date: Date,
    /// Its number that day, from 1.
    pub number: u32,
}

impl IncidentId {
    /// The text form; numbers past 9999 keep all their digits.
    #[must_use]
    pub fn to_text(self) -> String {
        format!(
            "INC-{:04}{:02}{:02}-{:04}",
            self.date.year(),
            u8::from(self.date.month()),
            self.date.day(),
            self.number
        )
    }

    /// Reads the text form; `None` when it is not one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("INC-")?;
        let (date, number) = rest.split_once('-')?;
        if date.len() != 8
            || number.len() < 4
            || !date
                .bytes()
                .chain(number.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = date.get(0..4)?.parse().ok()?;
        let month: u8 = date.get(4..6)?.parse().ok()?;
        let day: u8 = date.get(6..8)?.parse().ok()?;
        let date = Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
        // Four digits, or more without a leading zero: one text per id.
        if number.len() > 4 && number.starts_with('0') {
            return None;
        }
        let number: u32 = number.parse().ok()?;
        (number >= 1).then_some(Self { date, number })
    }
}

/// How long an incident may stay open before it escalates, by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationPeriods {
    /// For `low`.
    pub low: Duration,
    /// For `medium`.
    pub medium: Duration,
    /// For `high`.
    pub high: Duration,
    /// For `critical`.
    pub critical: Duration,
}

impl Default for EscalationPeriods {
    /// Seed 001's: 24 h, 8 h, 2 h, 30 min.
    fn default() -> Self {
        Self {
            low: Duration::hours(24),
            medium: Duration::hours(8),
            high: Duration::hours(2),
            critical: Duration::minutes(30),
        }
    }
}

impl EscalationPeriods {
    /// One period for every severity (the `incident_escalation_seconds` setting), at least a
    /// second.
    #[must_use]
    pub fn uniform(seconds: u32) -> Self {
        let period = Duration::seconds(i64::from(seconds.max(1)));
        Self {
            low: period,
            medium: period,
            high: period,
            critical: period,
        }
    }

    /// The defaults, or the setting when it is given.
    #[must_use]
    pub fn from_setting(incident_escalation_seconds: Option<u32>) -> Self {
        incident_escalation_seconds.map_or_else(Self::default, Self::uniform)
    }

    /// The period of a severity.
    #[must_use]
    pub fn of(&self, severity: Severity) -> Duration {
        match severity {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical => self.critical,
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// `INC-YYYYMMDD-NNNN`.
    pub id: IncidentId,
    /// What it is about.
    pub title: String,
    /// Details.
    pub description: String,
    /// How serious.
    pub severity: Severity,
    /// Where it is in its life.
    pub status: IncidentStatus,
    /// When it was opened (detected).
    pub created_at: OffsetDateTime,
    /// When it was acknowledged.
    pub acknowledged_at: Option<OffsetDateTime>,
    /// When it was resolved.
    pub resolved_at: Option<OffsetDateTime>,
    /// How many times it escalated.
    pub escalation_level: u32,
    /// When it escalates next (none once acknowledged or resolved).
    pub next_escalation_at: Option<OffsetDateTime>,
    /// Whether personal data was breached.
    pub personal_data_breach: bool,
    /// The authority must be notified by then (72 h after detection, for a breach).
    pub notification_deadline_at: Option<OffsetDateTime>,
    /// The alerts it is about.
    pub alert_ids: Vec<String>,
    /// The audit entries it is about.
    pub entry_seqs: Vec<u64>,
    /// Everything that happened to it, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// What an incident is opened with (validated: [`IncidentDocument::validate`], or built by
/// the app layer from an alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// What it is about.
    pub title: String,
    /// Details.
    pub description: String,
    /// How serious.
    pub severity: Severity,
    /// Whether personal data was breached.
    pub personal_data_breach: bool,
    /// The alerts it is about.
    pub alert_ids: Vec<String>,
    /// The audit entries it is about.
    pub entry_seqs: Vec<u64>,
}

/// Why an incident cannot change as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// Acknowledging one that is not open.
    #[error("the incident is not open")]
    NotOpen,
    /// Changing one already resolved.
    #[error("the incident is resolved")]
    Resolved,
}

impl Incident {
    /// Opens an incident: the first escalation one period after `now`, the notification
    /// deadline for a breach, and the `opened` timeline entry.
    #[must_use]
    pub fn open(
        id: IncidentId,
        new: NewIncident,
        actor: &str,
        now: OffsetDateTime,
        periods: &EscalationPeriods,
    ) -> Self {
        let NewIncident {
            title,
            description,
            severity,
            personal_data_breach,
            alert_ids,
            entry_seqs,
        } = new;
        Self {
            id,
            timeline: vec![TimelineEntry {
                at: now,
                actor: actor.to_owned(),
                kind: TimelineKind::Opened,
                text: title.clone(),
            }],
            title,
            description,
            severity,
            status: IncidentStatus::Open,
            created_at: now,
            acknowledged_at: None,
            resolved_at: None,
            escalation_level: 0,
            next_escalation_at: Some(now + periods.of(severity)),
            personal_data_breach,
            notification_deadline_at: personal_data_breach.then(|| now + BREACH_NOTIFICATION),
            alert_ids,
            entry_seqs,
        }
    }

    /// When it escalates next, if it still can: only an open incident does.
    #[must_use]
    pub fn next_escalation(&self) -> Option<OffsetDateTime> {
        self.next_escalation_at
            .filter(|_| self.status == IncidentStatus::Open)
    }

    /// Whether it is due to escalate at `now`.
    #[must_use]
    pub fn escalation_due(&self, now: OffsetDateTime) -> bool {
        self.next_escalation().is_some_and(|at| at <= now)
    }

    /// Escalates it if it is due at `now`: one level up, the timeline entry (returned, for the
    /// store and the `incident.escalated` webhook), and the next deadline one period after the
    /// one that passed. Periods missed while nothing ran (a stopped server) are skipped, so a
    /// restart escalates once, not once per missed period.
    pub fn escalate(
        &mut self,
        now: OffsetDateTime,
        periods: &EscalationPeriods,
    ) -> Option<TimelineEntry> {
        let due = self.next_escalation().filter(|at| *at <= now)?;
        let period = periods.of(self.severity).max(Duration::SECOND);
        let mut next = due + period;
        if next <= now {
            let missed = (now - next).whole_seconds() / period.whole_seconds().max(1) + 1;
            next += period * i32::try_from(missed).unwrap_or(i32::MAX);
        }
        self.escalation_level = self.escalation_level.saturating_add(1);
        self.next_escalation_at = Some(next);
        let entry = TimelineEntry {
            at: now,
            actor: "rampart".to_owned(),
            kind: TimelineKind::Escalated,
            text: ESCALATED_TEXT.to_owned(),
        };
        self.timeline.push(entry.clone());
        Some(entry)
    }

    /// Open → acknowledged: escalation stops.
    pub fn acknowledge(
        &mut self,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<TimelineEntry, IncidentError> {
        match self.status {
            IncidentStatus::Open => {}
            IncidentStatus::Acknowledged => return Err(IncidentError::NotOpen),
            IncidentStatus::Resolved => return Err(IncidentError::Resolved),
        }
        self.status = IncidentStatus::Acknowledged;
        self.acknowledged_at = Some(now);
        self.next_escalation_at = None;
        Ok(self.push(
            now,
            actor,
            TimelineKind::Acknowledged,
            "acknowledged".to_owned(),
        ))
    }

    /// Open or acknowledged → resolved, with the resolution as the timeline text.
    pub fn resolve(
        &mut self,
        actor: &str,
        resolution: &str,
        now: OffsetDateTime,
    ) -> Result<TimelineEntry, IncidentError> {
        if self.status == IncidentStatus::Resolved {
            return Err(IncidentError::Resolved);
        }
        self.status = IncidentStatus::Resolved;
        self.resolved_at = Some(now);
        self.next_escalation_at = None;
        Ok(self.push(now, actor, TimelineKind::Resolved, resolution.to_owned()))
    }

    /// A note or an action, from a validated [`TimelineDocument`]; a resolved incident takes
    /// notes still (a post-mortem), not new actions.
    pub fn record(
        &mut self,
        actor: &str,
        entry: &TimelineDocument,
        now: OffsetDateTime,
    ) -> Result<TimelineEntry, IncidentError> {
        if self.status == IncidentStatus::Resolved && entry.kind == TimelineKind::Action {
            return Err(IncidentError::Resolved);
        }
        Ok(self.push(now, actor, entry.kind, entry.text.clone()))
    }

    fn push(
        &mut self,
        at: OffsetDateTime,
        actor: &str,
        kind: TimelineKind,
        text: String,
    ) -> TimelineEntry {
        let entry = TimelineEntry {
            at,
            actor: actor.to_owned(),
            kind,
            text,
        };
        self.timeline.push(entry.clone());
        entry
    }
}
