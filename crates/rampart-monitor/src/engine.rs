//! The rule engine: a [`RuleSet`] compiled into an [`Evaluator`], and the pure evaluation of
//! audit entries, in `seq` order, against per-(rule, group) sliding windows kept in a
//! [`WindowState`] the store persists in the transaction that advances the cursor.
//!
//! A window keeps the timestamps and `seq`s of at most `threshold` matching entries of one
//! group, none older than `window_seconds` before the entry being evaluated. When a match
//! fills it, the evaluator reports a [`Fired`]: the crossing (the `threshold` entries that
//! fill it) the first time, then each further match while it stays full. The app layer turns
//! a crossing into a new alert unless one of that rule and group is open, and every report
//! into a raised `count` of the open one.
//!
//! Finding the rules of an entry costs one hash lookup of its action, a walk over the prefix
//! rules and the rules without an action, each comparing a few strings: no allocation for an
//! entry no rule matches.

#[cfg(test)]
mod properties;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use rampart_audit::{Entry, Status};
use serde_json::Value;
use time::OffsetDateTime;

use crate::rules::{ActionPattern, GroupPath, MAX_RULES, Match, Rule, RuleSet, Severity};

pub use state::{Hit, Window, WindowChange, WindowKey, WindowState};

/// An alert's group: each `group_by` path and the entry's value there (`None` when the entry
/// has none), ordered by path.
pub type Group = BTreeMap<String, Option<String>>;

/// What the rules read of an audit entry, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryView<'a> {
    /// The entry's place in the log.
    pub seq: u64,
    /// Its timestamp, in microseconds since the Unix epoch.
    pub at_micros: i64,
    /// `action`.
    pub action: &'a str,
    /// `status`.
    pub status: Status,
    /// `actor.type`.
    pub actor_type: &'a str,
    /// `actor.id`.
    pub actor_id: &'a str,
    /// `actor.ip`.
    pub actor_ip: Option<&'a str>,
    /// `resource.type`.
    pub resource_type: &'a str,
    /// `resource.id`.
    pub resource_id: Option<&'a str>,
    /// `context.team_id`.
    pub team_id: Option<&'a str>,
    /// `data_classification`.
    pub data_classification: Option<&'a str>,
    /// `compliance_tags`.
    pub tags: &'a [String],
    /// `details`.
    pub details: Option<&'a Value>,
}

impl<'a> EntryView<'a> {
    /// The view of a stored entry; `None` when its timestamp does not parse (the log only
    /// stores ones that do).
    #[must_use]
    pub fn of(entry: &'a Entry) -> Option<Self> {
        let at = rampart_audit::entry::parse_timestamp(&entry.timestamp)?;
        let at_micros = i64::try_from(at.unix_timestamp_nanos() / 1000).ok()?;
        let context = entry.context.as_ref();
        Some(Self {
            seq: entry.seq,
            at_micros,
            action: &entry.action,
            status: entry.status,
            actor_type: &entry.actor.kind,
            actor_id: &entry.actor.id,
            actor_ip: entry.actor.ip.as_deref(),
            resource_type: &entry.resource.kind,
            resource_id: entry.resource.id.as_deref(),
            team_id: context.and_then(|c| c.team_id.as_deref()),
            data_classification: entry.data_classification.as_deref(),
            tags: &entry.compliance_tags,
            details: entry.details.as_ref(),
        })
    }

    /// The entry's value at a group path, as text (a number or boolean in `details` is
    /// written out; an object, list or null is no value).
    #[must_use]
    pub fn value_at(&self, path: &GroupPath) -> Option<String> {
        match path {
            GroupPath::ActorId => Some(self.actor_id.to_owned()),
            GroupPath::ActorIp => self.actor_ip.map(str::to_owned),
            GroupPath::ResourceId => self.resource_id.map(str::to_owned),
            GroupPath::TeamId => self.team_id.map(str::to_owned),
            GroupPath::Details(key) => match self.details?.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Null | Value::Array(_) | Value::Object(_) => None,
            },
        }
    }
}

/// A rule's report on one matching entry that left its group's window full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The rule's name.
    pub rule: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The group the entry falls in.
    pub group: Group,
    /// Whether this match filled the window (a new alert unless one is open) rather than
    /// came while it was full (a raised count).
    pub crossing: bool,
    /// How many matches this report adds: `threshold` for a crossing, else 1.
    pub count: u32,
    /// The `seq`s of those matches, oldest first.
    pub seqs: Vec<u64>,
    /// When the oldest of them happened.
    pub first_seen_at: OffsetDateTime,
    /// When this one happened.
    pub last_seen_at: OffsetDateTime,
    /// The rule's `open_incident`.
    pub open_incident: bool,
}

impl Fired {
    /// Whether the alert opens an incident: the rule says so, or it is critical.
    #[must_use]
    pub fn opens_incident(&self) -> bool {
        self.open_incident || self.severity == Severity::Critical
    }
}

/// A rule ready to run: the rule and its window in microseconds.
#[derive(Debug, Clone)]
struct Compiled {
    rule: Rule,
    window_micros: i64,
}

/// A rule set compiled for evaluation: enabled rules indexed by exact action, by action
/// prefix, and those without an action.
#[derive(Debug, Clone, Default)]
pub struct Evaluator {
    rules: Vec<Compiled>,
    by_action: HashMap<Box<str>, Vec<u16>, foldhash::fast::RandomState>,
    prefixes: Vec<(Box<str>, u16)>,
    any_action: Vec<u16>,
}

/// Which rules an entry has already been checked against (at most [`MAX_RULES`]): on the
/// stack, so a rule listing both `auth.login` and `auth.*` counts an entry once.
struct Checked([u64; MAX_RULES.div_ceil(64)]);

impl Checked {
    /// Marks a rule; false when it was marked already.
    fn first_time(&mut self, index: u16) -> bool {
        let (word, bit) = (usize::from(index / 64), index % 64);
        match self.0.get_mut(word) {
            Some(w) if *w & (1 << bit) == 0 => {
                *w |= 1 << bit;
                true
            }
            _ => false,
        }
    }
}

impl Evaluator {
    /// Compiles the enabled rules of a set.
    #[must_use]
    pub fn new(set: &RuleSet) -> Self {
        let mut evaluator = Self::default();
        for rule in set.rules().iter().filter(|rule| rule.enabled()) {
            // A set holds at most MAX_RULES (256) rules, so every index fits.
            let Ok(index) = u16::try_from(evaluator.rules.len()) else {
                break;
            };
            for pattern in &rule.matching().actions {
                match pattern {
                    ActionPattern::Exact(action) => {
                        let list = evaluator
                            .by_action
                            .entry(action.as_str().into())
                            .or_default();
                        if !list.contains(&index) {
                            list.push(index);
                        }
                    }
                    ActionPattern::Prefix(prefix) => {
                        evaluator.prefixes.push((prefix.as_str().into(), index));
                    }
                }
            }
            if rule.matching().actions.is_empty() {
                evaluator.any_action.push(index);
            }
            evaluator.rules.push(Compiled {
                rule: rule.clone(),
                window_micros: i64::from(rule.window_seconds()) * 1_000_000,
            });
        }
        evaluator
    }

    /// The enabled rules, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|c| &c.rule)
    }

    /// A compiled rule by name and its window in microseconds.
    pub(crate) fn window_of(&self, rule: &str) -> Option<i64> {
        self.rules
            .iter()
            .find(|c| c.rule.name() == rule)
            .map(|c| c.window_micros)
    }

    /// Evaluates one entry (the next in `seq` order), updating `state` and appending what
    /// fired to `fired`.
    pub fn evaluate(&self, state: &mut WindowState, entry: &EntryView<'_>, fired: &mut Vec<Fired>) {
        let mut checked = Checked([0; MAX_RULES.div_ceil(64)]);
        let exact = self
            .by_action
            .get(entry.action)
            .map_or(&[][..], Vec::as_slice);
        let prefixed = self
            .prefixes
            .iter()
            .filter(|(prefix, _)| entry.action.starts_with(&**prefix))
            .map(|(_, index)| *index);
        let candidates = exact
            .iter()
            .copied()
            .chain(prefixed)
            .chain(self.any_action.iter().copied());
        for index in candidates {
            if !checked.first_time(index) {
                continue;
            }
            let Some(compiled) = self.rules.get(usize::from(index)) else {
                continue;
            };
            if matches_conditions(&compiled.rule.matching, entry) {
                fired.extend(state.record(&compiled.rule, compiled.window_micros, entry));
            }
        }
    }

    /// Evaluates entries in order; what fired, in order.
    pub fn evaluate_all<'e>(
        &self,
        state: &mut WindowState,
        entries: impl IntoIterator<Item = EntryView<'e>>,
    ) -> Vec<Fired> {
        let mut fired = Vec::new();
        for entry in entries {
            self.evaluate(state, &entry, &mut fired);
        }
        fired
    }
}

/// Every condition of a `match` but the action (which chose the rule), against an entry.
fn matches_conditions(m: &Match, entry: &EntryView<'_>) -> bool {
    let same = |want: &Option<String>, have: Option<&str>| {
        want.as_deref().is_none_or(|want| have == Some(want))
    };
    m.status.is_none_or(|status| status == entry.status)
        && same(&m.actor_type, Some(entry.actor_type))
        && same(&m.resource_type, Some(entry.resource_type))
        && same(&m.team_id, entry.team_id)
        && same(&m.data_classification, entry.data_classification)
        && m.tag
            .as_deref()
            .is_none_or(|tag| entry.tags.iter().any(|t| t == tag))
        && m.details.iter().all(|(key, want)| {
            entry
                .details
                .and_then(|details| details.get(key))
                .is_some_and(|have| have == want)
        })
}

/// The time of a window's microseconds (out of range cannot happen for times read from
/// entries; the epoch if it ever did).
pub(crate) fn time_of(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
