//! The rule set as written (API.md's `{"rules": [...]}`, in JSON or YAML) and its validation
//! into a [`RuleSet`]. Every wrong field is reported with its path (`rules[2].threshold`), all
//! at once. Numbers are read as `i64` so that a negative or oversized value is a field error
//! naming the accepted range, not a parser message.

use std::collections::HashMap;

use rampart_audit::Status;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    ActionPattern, GroupPath, MAX_ACTIONS, MAX_DETAILS_MATCH, MAX_GROUP_BY, MAX_RULE_NAME_LEN,
    MAX_RULES, MAX_THRESHOLD, MAX_WINDOW_SECONDS, Match, Rule, RuleSet, Severity, valid_key,
};
use crate::error::{FieldError, Invalid};

/// Longest action pattern or other matched text.
const MAX_TEXT_LEN: usize = 128;

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
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let document: RuleSetDocument =
            serde_path_to_error::deserialize(&mut deserializer).map_err(Invalid::unreadable)?;
        deserializer.end().map_err(|e| Invalid::Unreadable {
            path: String::new(),
            message: e.to_string(),
        })?;
        Self::from_document(&document)
    }

    /// Reads and validates a rule set from YAML text (one document).
    pub fn parse_yaml(text: &str) -> Result<Self, Invalid> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let document: RuleSetDocument =
            serde_path_to_error::deserialize(deserializer).map_err(Invalid::unreadable)?;
        Self::from_document(&document)
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

fn validate_match(written: &MatchDocument, at: &str, errors: &mut Vec<FieldError>) -> Match {
    let actions = match &written.action {
        None => Vec::new(),
        Some(ActionDocument::One(one)) => validate_action(one, &format!("{at}.action"), errors)
            .into_iter()
            .collect(),
        Some(ActionDocument::Many(many)) => validate_actions(many, &format!("{at}.action"), errors),
    };
    let mut text = |value: &Option<String>, field: &str| {
        let value = value.as_ref()?;
        if valid_text(value) {
            Some(value.clone())
        } else {
            errors.push(FieldError::new(
                format!("{at}.{field}"),
                format!("must be 1 to {MAX_TEXT_LEN} characters without control characters"),
            ));
            None
        }
    };
    let actor_type = text(&written.actor_type, "actor_type");
    let resource_type = text(&written.resource_type, "resource_type");
    let tag = text(&written.tag, "tag");
    let team_id = text(&written.team_id, "team_id");
    let data_classification = text(&written.data_classification, "data_classification");
    let details = validate_details(written.details.as_ref(), &format!("{at}.details"), errors);
    let matching = Match {
        actions,
        status: written.status,
        actor_type,
        resource_type,
        tag,
        team_id,
        data_classification,
        details,
    };
    if *written == MatchDocument::default() {
        errors.push(FieldError::new(
            at,
            "must hold at least one condition (a rule over every entry would alert on everything)",
        ));
    }
    matching
}

fn validate_actions(many: &[String], at: &str, errors: &mut Vec<FieldError>) -> Vec<ActionPattern> {
    if many.is_empty() || many.len() > MAX_ACTIONS {
        errors.push(FieldError::new(
            at,
            format!("must list 1 to {MAX_ACTIONS} actions"),
        ));
        return Vec::new();
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut actions = Vec::with_capacity(many.len());
    for (index, one) in many.iter().enumerate() {
        let path = format!("{at}[{index}]");
        if let Some(first) = seen.insert(one.as_str(), index) {
            errors.push(FieldError::new(
                path,
                format!("duplicate of action[{first}]"),
            ));
            continue;
        }
        actions.extend(validate_action(one, &path, errors));
    }
    actions
}

fn validate_action(action: &str, at: &str, errors: &mut Vec<FieldError>) -> Option<ActionPattern> {
    let name_part = |s: &str| {
        !s.is_empty()
            && s.len() <= MAX_TEXT_LEN
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
    };
    let pattern = match action.strip_suffix(".*") {
        Some(prefix) if name_part(prefix) && !prefix.ends_with('.') => {
            Some(ActionPattern::Prefix(format!("{prefix}.")))
        }
        Some(_) => None,
        None if name_part(action) && !action.ends_with('.') => {
            Some(ActionPattern::Exact(action.to_owned()))
        }
        None => None,
    };
    if pattern.is_none() {
        errors.push(FieldError::new(
            at,
            "must be an action (A-Z a-z 0-9 . _ - :) or a prefix ending .*",
        ));
    }
    pattern
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

fn validate_details(
    details: Option<&Map<String, Value>>,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<(String, Value)> {
    let Some(details) = details else {
        return Vec::new();
    };
    if details.is_empty() || details.len() > MAX_DETAILS_MATCH {
        errors.push(FieldError::new(
            at,
            format!("must hold 1 to {MAX_DETAILS_MATCH} keys"),
        ));
        return Vec::new();
    }
    let mut pairs = Vec::with_capacity(details.len());
    for (key, value) in details {
        let here = format!("{at}.{key}");
        if !valid_key(key) {
            errors.push(FieldError::new(
                at,
                "keys must be 1 to 64 of A-Z a-z 0-9 _ -",
            ));
            continue;
        }
        let scalar = match value {
            Value::Bool(_) | Value::Number(_) => true,
            Value::String(s) => valid_text(s),
            Value::Null | Value::Array(_) | Value::Object(_) => false,
        };
        if scalar {
            pairs.push((key.clone(), value.clone()));
        } else {
            errors.push(FieldError::new(
                here,
                format!(
                    "must be a boolean, a number or a string of 1 to {MAX_TEXT_LEN} characters"
                ),
            ));
        }
    }
    pairs
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

fn valid_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TEXT_LEN && !text.chars().any(char::is_control)
}
