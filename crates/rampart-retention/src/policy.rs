//! Retention policies: how long each data type is kept, and who may change that.
//!
//! A `governance` policy may be shortened only by a caller holding `retention:override`; a
//! `compliance` policy may be lengthened but never shortened, weakened to governance or removed,
//! by anyone (the S3 Object Lock modes). An audit entry is kept for the longest period that
//! applies to it: the `audit_entries` policy and those of each of its tags
//! (`audit_entries:<tag>`); an entry no policy applies to is kept.

use std::fmt;

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The longest period a policy may name: 100 years, in seconds.
pub const MAX_RETAIN_SECONDS: u64 = 100 * 366 * 86_400;

/// What a policy covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    /// Every audit entry.
    AuditEntries,
    /// Audit entries with this compliance tag.
    AuditTag(String),
    /// The consent ledger.
    Consents,
    /// Alerts (resolved ones are disposed of).
    Alerts,
    /// Incidents (resolved ones are disposed of, with their timelines).
    Incidents,
    /// Sessions (ended ones: expired or revoked).
    Sessions,
    /// Webhook deliveries (delivered or failed ones).
    WebhookDeliveries,
    /// Erasure records and their confirmations.
    Erasures,
    /// Data the application keeps itself: Rampart asks it to dispose and records its answer.
    App(String),
}

fn is_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl DataType {
    /// Every data type Rampart disposes of itself, in the order a run takes them.
    pub const BUILT_IN: [DataType; 7] = [
        DataType::AuditEntries,
        DataType::Consents,
        DataType::Alerts,
        DataType::Incidents,
        DataType::Sessions,
        DataType::WebhookDeliveries,
        DataType::Erasures,
    ];

    /// Parses a data type as API.md writes it (`audit_entries:mifid2`, `app:scan_data`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "audit_entries" => Self::AuditEntries,
            "consents" => Self::Consents,
            "alerts" => Self::Alerts,
            "incidents" => Self::Incidents,
            "sessions" => Self::Sessions,
            "webhook_deliveries" => Self::WebhookDeliveries,
            "erasures" => Self::Erasures,
            _ => {
                if let Some(tag) = text.strip_prefix("audit_entries:") {
                    // Tags as the audit log accepts them: 1 to 64 bytes, no control characters.
                    return (!tag.is_empty()
                        && tag.len() <= 64
                        && !tag.chars().any(char::is_control))
                    .then(|| Self::AuditTag(tag.to_owned()));
                }
                let name = text.strip_prefix("app:")?;
                return is_name(name, 64).then(|| Self::App(name.to_owned()));
            }
        })
    }

    /// Whether a run disposes of it by pruning audit entries.
    pub fn is_audit(&self) -> bool {
        matches!(self, Self::AuditEntries | Self::AuditTag(_))
    }

    /// The name a legal hold's `data_type` scope uses for it (`audit_entries` for tags too).
    pub fn hold_name(&self) -> String {
        match self {
            Self::AuditTag(_) => "audit_entries".to_owned(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuditEntries => f.write_str("audit_entries"),
            Self::AuditTag(tag) => write!(f, "audit_entries:{tag}"),
            Self::Consents => f.write_str("consents"),
            Self::Alerts => f.write_str("alerts"),
            Self::Incidents => f.write_str("incidents"),
            Self::Sessions => f.write_str("sessions"),
            Self::WebhookDeliveries => f.write_str("webhook_deliveries"),
            Self::Erasures => f.write_str("erasures"),
            Self::App(name) => write!(f, "app:{name}"),
        }
    }
}

/// Who may change a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Shortened only with `retention:override`.
    Governance,
    /// Never shortened or removed.
    Compliance,
}

impl Mode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "governance",
            Self::Compliance => "compliance",
        }
    }

    /// Parses a stored or sent name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "governance" => Some(Self::Governance),
            "compliance" => Some(Self::Compliance),
            _ => None,
        }
    }
}

/// A policy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// What it covers.
    pub data_type: DataType,
    /// How long records are kept, in seconds (`0`: nothing older than the run).
    pub retain_seconds: u64,
    /// Who may change it.
    pub mode: Mode,
    /// When it was last set.
    pub updated_at: OffsetDateTime,
    /// Who set it (a principal id, or `default`).
    pub updated_by: String,
}

impl Policy {
    /// The cutoff for a run at `now`: records from before it are due.
    pub fn cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        cutoff(now, self.retain_seconds)
    }
}

/// `now` less `retain_seconds` (never before the epoch's far past).
pub fn cutoff(now: OffsetDateTime, retain_seconds: u64) -> OffsetDateTime {
    let seconds = i64::try_from(retain_seconds.min(MAX_RETAIN_SECONDS)).unwrap_or(i64::MAX);
    now.checked_sub(Duration::seconds(seconds))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `PUT /v1/retention/policies/{data_type}`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// How long, in days.
    #[serde(default)]
    pub retain_days: Option<u64>,
    /// How long, in seconds (for short periods and tests; `0`: everything older than now).
    #[serde(default)]
    pub retain_seconds: Option<u64>,
    /// `governance` or `compliance`.
    #[serde(default)]
    pub mode: Option<String>,
}

impl PolicyDocument {
    /// Checks every field; each bad one is named. Returns the period in seconds and the mode.
    pub fn validate(&self) -> Result<(u64, Mode), Invalid> {
        let mut errors = Vec::new();
        let seconds = match (self.retain_days, self.retain_seconds) {
            (Some(days), None) => Some(days.saturating_mul(86_400)),
            (None, Some(seconds)) => Some(seconds),
            _ => {
                errors.push(FieldError::new(
                    "retain_days",
                    "exactly one of retain_days and retain_seconds is required",
                ));
                None
            }
        };
        if let Some(seconds) = seconds
            && seconds > MAX_RETAIN_SECONDS
        {
            let field = if self.retain_days.is_some() {
                "retain_days"
            } else {
                "retain_seconds"
            };
            errors.push(FieldError::new(field, "is at most 100 years"));
        }
        let mode = match self.mode.as_deref() {
            Some(mode) => Mode::parse(mode),
            None => None,
        };
        if mode.is_none() {
            errors.push(FieldError::new(
                "mode",
                "is required: governance or compliance",
            ));
        }
        match (seconds, mode) {
            (Some(seconds), Some(mode)) if errors.is_empty() => Ok((seconds, mode)),
            _ => Err(Invalid::Fields(errors)),
        }
    }
}

/// Why a policy change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefusal {
    /// A compliance policy is never shortened, weakened or removed (`409`).
    #[error(
        "a compliance retention policy can be lengthened but never shortened, weakened to governance or removed"
    )]
    Compliance,
    /// A governance policy is shortened (or removed) only with `retention:override` (`403`).
    #[error("shortening a governance retention policy needs the retention:override permission")]
    NeedsOverride,
}

/// What a change does to a policy, for the audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChange {
    /// There was none.
    Created,
    /// Longer, or the same period in a stronger mode, or nothing changed.
    Kept,
    /// Shorter (governance, with `retention:override`).
    Shortened,
}

impl PolicyChange {
    /// The change's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Kept => "lengthened_or_kept",
            Self::Shortened => "shortened",
        }
    }
}

/// Judges setting `new` (seconds, mode) over `old`; `can_override` when the caller holds
/// `retention:override`.
pub fn judge_change(
    old: Option<&Policy>,
    new: (u64, Mode),
    can_override: bool,
) -> Result<PolicyChange, PolicyRefusal> {
    let Some(old) = old else {
        return Ok(PolicyChange::Created);
    };
    let (seconds, mode) = new;
    match old.mode {
        Mode::Compliance if mode != Mode::Compliance || seconds < old.retain_seconds => {
            Err(PolicyRefusal::Compliance)
        }
        Mode::Governance if seconds < old.retain_seconds => {
            if can_override {
                Ok(PolicyChange::Shortened)
            } else {
                Err(PolicyRefusal::NeedsOverride)
            }
        }
        _ => Ok(PolicyChange::Kept),
    }
}

/// Judges removing `old`: a compliance policy never; a governance one (which keeps records
/// longer from then on: none at all are disposed of) with `retention:configure`.
pub fn judge_removal(old: &Policy) -> Result<(), PolicyRefusal> {
    match old.mode {
        Mode::Compliance => Err(PolicyRefusal::Compliance),
        Mode::Governance => Ok(()),
    }
}

/// How long an audit entry with `tags` is kept under `policies`: the longest that applies
/// (`None`: none applies, and the entry is kept).
pub fn audit_retention(policies: &[Policy], tags: &[String]) -> Option<u64> {
    policies
        .iter()
        .filter(|p| match &p.data_type {
            DataType::AuditEntries => true,
            DataType::AuditTag(tag) => tags.iter().any(|t| t == tag),
            _ => false,
        })
        .map(|p| p.retain_seconds)
        .max()
}
