//! Detection rules: what a rule is (`name`, `match`, `group_by`, `threshold`, `window_seconds`,
//! `severity`, `open_incident`, `enabled`, as API.md's "Security monitoring" has them), which
//! audit entries it matches, and the defaults a deployment starts with.
//!
//! A [`RuleSet`] is only made from a validated document ([`RuleSet::parse_json`],
//! [`RuleSet::parse_yaml`], [`RuleSet::from_document`]), so the engine trusts its rules.

mod conditions;
mod defaults;
mod document;
#[cfg(test)]
mod tests;

use std::fmt;

use rampart_audit::Status;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use defaults::DEFAULT_RULES_JSON;
pub use document::{ActionDocument, MatchDocument, RuleDocument, RuleSetDocument};

/// Most rules in a set.
pub const MAX_RULES: usize = 256;
/// Longest rule name (names appear in alerts, webhooks and audit entries).
pub const MAX_RULE_NAME_LEN: usize = 64;
/// Largest `threshold`: a group's window keeps at most this many entries.
pub const MAX_THRESHOLD: u32 = 1000;
/// Longest window: seven days.
pub const MAX_WINDOW_SECONDS: u32 = 7 * 86_400;
/// Most paths in a rule's `group_by`.
pub const MAX_GROUP_BY: usize = 8;
/// Most actions in a rule's `match.action` list.
pub const MAX_ACTIONS: usize = 32;
/// Most keys in a rule's `match.details`.
pub const MAX_DETAILS_MATCH: usize = 8;

/// How serious an alert of a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Worth a look today.
    Medium,
    /// Worth a look now.
    High,
    /// Everyone, now; every critical alert opens an incident.
    Critical,
}

impl Severity {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of an entry that alerts are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupPath {
    /// `actor.id`.
    ActorId,
    /// `actor.ip`.
    ActorIp,
    /// `resource.id`.
    ResourceId,
    /// `context.team_id`.
    TeamId,
    /// `details.<key>`: a top-level key of the entry's details (its scalar value as text).
    Details(String),
}

impl GroupPath {
    /// Reads a path as written (`actor.id`, `details.rule`); `None` when it is none of them.
    #[must_use]
    pub fn parse(path: &str) -> Option<Self> {
        match path {
            "actor.id" => Some(Self::ActorId),
            "actor.ip" => Some(Self::ActorIp),
            "resource.id" => Some(Self::ResourceId),
            "context.team_id" => Some(Self::TeamId),
            _ => path
                .strip_prefix("details.")
                .filter(|key| valid_key(key))
                .map(|key| Self::Details(key.to_owned())),
        }
    }
}

impl fmt::Display for GroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ActorId => f.write_str("actor.id"),
            Self::ActorIp => f.write_str("actor.ip"),
            Self::ResourceId => f.write_str("resource.id"),
            Self::TeamId => f.write_str("context.team_id"),
            Self::Details(key) => write!(f, "details.{key}"),
        }
    }
}

/// A key of `details` a rule may name: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// One entry of `match.action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionPattern {
    /// Exactly this action.
    Exact(String),
    /// `x.*`: every action starting `x.` (the stored prefix keeps its dot).
    Prefix(String),
}

impl ActionPattern {
    /// Whether an action falls under this pattern.
    #[must_use]
    pub fn matches(&self, action: &str) -> bool {
        match self {
            Self::Exact(exact) => exact == action,
            Self::Prefix(prefix) => action.starts_with(prefix.as_str()),
        }
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(exact) => f.write_str(exact),
            Self::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// A rule's `match`: every condition given must hold (an absent one holds for every entry).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Match {
    /// Any of these actions (none: every action).
    pub actions: Vec<ActionPattern>,
    /// The entry's `status`.
    pub status: Option<Status>,
    /// The entry's `actor.type`.
    pub actor_type: Option<String>,
    /// The entry's `resource.type`.
    pub resource_type: Option<String>,
    /// One of the entry's `compliance_tags`.
    pub tag: Option<String>,
    /// The entry's `context.team_id`.
    pub team_id: Option<String>,
    /// The entry's `data_classification`.
    pub data_classification: Option<String>,
    /// Top-level keys of the entry's `details` and the scalar each must equal.
    pub details: Vec<(String, Value)>,
}

/// A validated detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) name: String,
    pub(crate) matching: Match,
    pub(crate) group_by: Vec<GroupPath>,
    pub(crate) threshold: u32,
    pub(crate) window_seconds: u32,
    pub(crate) severity: Severity,
    pub(crate) open_incident: bool,
    pub(crate) enabled: bool,
}

impl Rule {
    /// The rule's name, unique in its set.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What entries the rule counts.
    #[must_use]
    pub fn matching(&self) -> &Match {
        &self.matching
    }

    /// The entry paths alerts are grouped by, in order (none: one group).
    #[must_use]
    pub fn group_by(&self) -> &[GroupPath] {
        &self.group_by
    }

    /// How many matching entries of one group within the window fire the rule.
    #[must_use]
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The window, in seconds.
    #[must_use]
    pub fn window_seconds(&self) -> u32 {
        self.window_seconds
    }

    /// The severity of its alerts.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Whether its alerts open an incident (every critical alert does, whatever this says).
    #[must_use]
    pub fn open_incident(&self) -> bool {
        self.open_incident
    }

    /// Whether the rule runs.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

/// A validated set of detection rules, in the order they were given, names unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    #[must_use]
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.name == name)
    }

    /// Whether the set has no rules.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}
