//! The rule set as written (API.md's `{"rules": [...]}`, in JSON or YAML) and its validation
//! into a [`RuleSet`]. Every wrong field is reported with its path (`rules[2].threshold`), all
//! at once. Numbers are read as `i64` so that a negative or oversized value is a field error
//! naming the accepted range, not a parser message.

use std::collections::HashMap;

use rampart_audit::Status;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::conditions::validate_match;
use super::{
    GroupPath, MAX_GROUP_BY, MAX_RULE_NAME_LEN, MAX_RULES, MAX_THRESHOLD, MAX_WINDOW_SECONDS, Rule,
    RuleSet, Severity,
};
use crate::error::{FieldError, Invalid};

/// The rule set as written: `{"rules": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetDocument {
    /// The rules, in order.
    pub rules: Vec<RuleDocument>,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    /// Unique name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// What entries the rule counts; at least one condition.
    #[serde(rename = "match")]
    pub matches: MatchDocument,
    /// Entry paths alerts are grouped by (`actor.id`, `actor.ip`, `resource.id`,
    /// `context.team_id`, `details.<key>`); none: one group.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Matching entries of one group within the window that fire the rule, `1..=1000`.
    pub threshold: i64,
    /// The window in seconds, `1..=604800` (seven days).
    pub window_seconds: i64,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: Severity,
    /// Whether an alert of the rule opens an incident.
    #[serde(default)]
    pub open_incident: bool,
    /// Whether the rule runs (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// `match.action` as written: one pattern or a list of them (any may match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionDocument {
    /// `"auth.login"` or `"keys.*"`.
    One(String),
    /// `["user.deleted", "policy.update"]`.
    Many(Vec<String>),
}

/// A rule's `match` as written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchDocument {
    /// An action (exact, or a prefix `x.*`), or a list of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionDocument>,
    /// `success`, `failure` or `denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The actor's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_type: Option<String>,
    /// The resource's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// A compliance tag the entry carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The entry's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The entry's data classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_classification: Option<String>,
    /// Top-level keys of `details` and the string, number or boolean each must equal (an
    /// extension of API.md's list: `bulk_decryption` needs `{"shared": true}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl RuleSet {
    /// Reads and validates a rule set from JSON text.
    pub fn parse_json(text: &str) -> Result<Self, Invalid> {
        Self::from_document(&rampart_document::read_json::<RuleSetDocument>(text)?)
    }

    /// Reads and validates a rule set from YAML text (one document).
    pub fn parse_yaml(text: &str) -> Result<Self, Invalid> {
        Self::from_document(&rampart_document::read_yaml::<RuleSetDocument>(text)?)
    }

    /// Validates a rule set as written; every wrong field is reported.
    pub fn from_document(document: &RuleSetDocument) -> Result<Self, Invalid> {
        if document.rules.len() > MAX_RULES {
            return Err(Invalid::Fields(vec![FieldError::new(
                "rules",
                format!("at most {MAX_RULES} rules"),
            )]));
        }
        let mut errors = Vec::new();
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut rules = Vec::with_capacity(document.rules.len());
        for (index, written) in document.rules.iter().enumerate() {
            let at = format!("rules[{index}]");
            if let Some(first) = names.insert(written.name.as_str(), index) {
                errors.push(FieldError::new(
                    format!("{at}.name"),
                    format!("duplicate of rules[{first}].name"),
                ));
            }
            if let Some(rule) = validate_rule(written, &at, &mut errors) {
                rules.push(rule);
            }
        }
        if errors.is_empty() {
            Ok(Self { rules })
        } else {
            Err(Invalid::Fields(errors))
        }
    }

    /// The set as written, for `GET /v1/detection-rules` and storage; reading it back gives
    /// the same set.
    #[must_use]
    pub fn to_document(&self) -> RuleSetDocument {
        RuleSetDocument {
            rules: self.rules.iter().map(rule_document).collect(),
        }
    }

    /// The set as JSON text (the stored form).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_document()).unwrap_or_else(|_| r#"{"rules":[]}"#.to_owned())
    }
}

fn rule_document(rule: &Rule) -> RuleDocument {
    let m = &rule.matching;
    let action = match m.actions.as_slice() {
        [] => None,
        [one] => Some(ActionDocument::One(one.to_string())),
        many => Some(ActionDocument::Many(
            many.iter().map(ToString::to_string).collect(),
        )),
    };
    RuleDocument {
        name: rule.name.clone(),
        matches: MatchDocument {
            action,
            status: m.status,
            actor_type: m.actor_type.clone(),
            resource_type: m.resource_type.clone(),
            tag: m.tag.clone(),
            team_id: m.team_id.clone(),
            data_classification: m.data_classification.clone(),
            details: (!m.details.is_empty()).then(|| m.details.iter().cloned().collect()),
        },
        group_by: rule.group_by.iter().map(ToString::to_string).collect(),
        threshold: i64::from(rule.threshold),
        window_seconds: i64::from(rule.window_seconds),
        severity: rule.severity,
        open_incident: rule.open_incident,
        enabled: rule.enabled,
    }
}

fn validate_rule(written: &RuleDocument, at: &str, errors: &mut Vec<FieldError>) -> Option<Rule> {
    let before = errors.len();
    if !valid_name(&written.name) {
        errors.push(FieldError::new(
            format!("{at}.name"),
            format!("must be 1 to {MAX_RULE_NAME_LEN} of A-Z a-z 0-9 . _ -"),
        ));
    }
    let matching = validate_match(&written.matches, &format!("{at}.match"), errors);
    let group_by = validate_group_by(&written.group_by, &format!("{at}.group_by"), errors);
    let threshold = in_range(
        written.threshold,
        1,
        MAX_THRESHOLD,
        &format!("{at}.threshold"),
        errors,
    );
    let window_seconds = in_range(
        written.window_seconds,
        1,
        MAX_WINDOW_SECONDS,
        &format!("{at}.window_seconds"),
        errors,
    );
    if errors.len() != before {
        return None;
    }
    Some(Rule {
        name: written.name.clone(),
        matching,
        group_by,
        threshold: threshold?,
        window_seconds: window_seconds?,
        severity: written.severity,
        open_incident: written.open_incident,
        enabled: written.enabled,
    })
}

fn validate_group_by(paths: &[String], at: &str, errors: &mut Vec<FieldError>) -> Vec<GroupPath> {
    if paths.len() > MAX_GROUP_BY {
        errors.push(FieldError::new(at, format!("at most {MAX_GROUP_BY} paths")));
        return Vec::new();
    }
    let mut group_by: Vec<GroupPath> = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        let here = format!("{at}[{index}]");
        match GroupPath::parse(path) {
            Some(parsed) if group_by.contains(&parsed) => {
                errors.push(FieldError::new(here, "duplicate path"));
            }
            Some(parsed) => group_by.push(parsed),
            None => errors.push(FieldError::new(
                here,
                "must be actor.id, actor.ip, resource.id, context.team_id or details.<key>",
            )),
        }
    }
    group_by
}

fn in_range(
    value: i64,
    min: i64,
    max: u32,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<u32> {
    match u32::try_from(value) {
        Ok(v) if value >= min && v <= max => Some(v),
        _ => {
            errors.push(FieldError::new(path, format!("must be {min}..={max}")));
            None
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RULE_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
