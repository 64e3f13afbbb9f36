//! The rule set as written (API.md's `{"rules": [...]}`, in JSON or YAML) and its validation
//! into a [`RuleSet`]. Every wrong field is reported with its path (`rules[2].window_seconds`),
//! all at once, so a bad file or request body says everything there is to fix.
//!
//! Numbers are read as `i64` so that a negative or oversized value is a field error naming the
//! accepted range, not a parser message.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    AppliesTo, MAX_MATCH_ENTRIES, MAX_RULE_NAME_LEN, MAX_RULES, Matcher, Rule, RuleKey, RuleSet,
};
use crate::error::{FieldError, Invalid};

/// Longest window: a day.
const MAX_WINDOW_SECONDS: i64 = 86_400;
/// Largest `limit`.
const MAX_LIMIT: i64 = 1_000_000_000;
/// Largest `burst`.
const MAX_BURST: i64 = 1_000_000;
/// Longest `METHOD /path` path prefix.
const MAX_PATH_LEN: usize = 256;
/// The methods a `METHOD /path` entry may name.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The rule set as written: `{"rules": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetDocument {
    /// The rules, in order.
    pub rules: Vec<RuleDocument>,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    /// Unique name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// What the rule counts by.
    pub key: RuleKey,
    /// `["*"]`, permission names, or `METHOD /path` prefixes.
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// Requests allowed per window, `1..=1000000000`.
    pub limit: i64,
    /// The window in seconds, `1..=86400`.
    pub window_seconds: i64,
    /// Requests that may come at once, `1..=1000000`; `limit` when absent. Not for shared rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<i64>,
    /// Counted in the database across nodes (a fixed window per key).
    #[serde(default)]
    pub shared: bool,
    /// Which requests the rule considers (default `all`).
    #[serde(default)]
    pub applies_to: AppliesTo,
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
        let mut errors = Vec::new();
        if document.rules.len() > MAX_RULES {
            errors.push(FieldError::new(
                "rules",
                format!("at most {MAX_RULES} rules"),
            ));
            return Err(Invalid::Fields(errors));
        }
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

    /// The set as written, for `GET /v1/rate-limits` and storage; reading it back gives the
    /// same set.
    #[must_use]
    pub fn to_document(&self) -> RuleSetDocument {
        RuleSetDocument {
            rules: self
                .rules
                .iter()
                .map(|rule| RuleDocument {
                    name: rule.name.clone(),
                    key: rule.key,
                    matches: rule.matchers.iter().map(ToString::to_string).collect(),
                    limit: i64::from(rule.limit),
                    window_seconds: i64::from(rule.window_seconds),
                    burst: rule.burst().map(i64::from),
                    shared: rule.shared,
                    applies_to: rule.applies_to,
                })
                .collect(),
        }
    }

    /// The set as JSON text (the stored form).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_document()).unwrap_or_else(|_| unreachable_json())
    }
}

/// Serializing plain strings, integers and enums cannot fail; an empty set is the safe answer
/// if it ever did.
fn unreachable_json() -> String {
    r#"{"rules":[]}"#.to_owned()
}

fn validate_rule(written: &RuleDocument, at: &str, errors: &mut Vec<FieldError>) -> Option<Rule> {
    let before = errors.len();
    if !valid_name(&written.name) {
        errors.push(FieldError::new(
            format!("{at}.name"),
            format!("must be 1 to {MAX_RULE_NAME_LEN} of A-Z a-z 0-9 . _ -"),
        ));
    }
    let matchers = validate_matches(&written.matches, at, errors);
    let limit = in_range(written.limit, 1, MAX_LIMIT, &format!("{at}.limit"), errors);
    let window_seconds = in_range(
        written.window_seconds,
        1,
        MAX_WINDOW_SECONDS,
        &format!("{at}.window_seconds"),
        errors,
    );
    let burst = match (written.burst, written.shared) {
        (Some(_), true) => {
            errors.push(FieldError::new(
                format!("{at}.burst"),
                "a shared rule counts a fixed window and has no burst",
            ));
            None
        }
        (Some(burst), false) => in_range(burst, 1, MAX_BURST, &format!("{at}.burst"), errors),
        (None, _) => limit,
    };
    let keyed_by_caller = matches!(written.key, RuleKey::Principal | RuleKey::Credential);
    if keyed_by_caller && written.applies_to == AppliesTo::Unauthenticated {
        errors.push(FieldError::new(
            format!("{at}.applies_to"),
            "a rule keyed by principal or credential never applies to unauthenticated requests",
        ));
    }
    if errors.len() != before {
        return None;
    }
    Some(Rule {
        name: written.name.clone(),
        key: written.key,
        matchers,
        limit: limit?,
        window_seconds: window_seconds?,
        burst: burst?,
        shared: written.shared,
        applies_to: written.applies_to,
    })
}

fn in_range(
    value: i64,
    min: i64,
    max: i64,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<u32> {
    match u32::try_from(value) {
        Ok(v) if (min..=max).contains(&value) => Some(v),
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

fn validate_matches(entries: &[String], at: &str, errors: &mut Vec<FieldError>) -> Vec<Matcher> {
    let path = format!("{at}.match");
    if entries.is_empty() {
        errors.push(FieldError::new(path, "must not be empty"));
        return Vec::new();
    }
    if entries.len() > MAX_MATCH_ENTRIES {
        errors.push(FieldError::new(
            path,
            format!("at most {MAX_MATCH_ENTRIES} entries"),
        ));
        return Vec::new();
    }
    let mut seen: HashMap<Matcher, usize> = HashMap::new();
    let mut matchers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let entry_path = format!("{path}[{index}]");
        let Some(matcher) = parse_matcher(entry, &entry_path, errors) else {
            continue;
        };
        if matcher == Matcher::Any && entries.len() > 1 {
            errors.push(FieldError::new(entry_path, "\"*\" must be the only entry"));
            continue;
        }
        if let Some(first) = seen.insert(matcher.clone(), index) {
            errors.push(FieldError::new(
                entry_path,
                format!("duplicate of match[{first}]"),
            ));
            continue;
        }
        matchers.push(matcher);
    }
    matchers
}

fn parse_matcher(entry: &str, path: &str, errors: &mut Vec<FieldError>) -> Option<Matcher> {
    if entry == "*" {
        return Some(Matcher::Any);
    }
    if let Some((method, prefix)) = entry.split_once(' ') {
        if !METHODS.contains(&method) {
            errors.push(FieldError::new(
                path,
                format!("not an HTTP method (one of {})", METHODS.join(", ")),
            ));
            return None;
        }
        if !prefix.starts_with('/')
            || prefix.len() > MAX_PATH_LEN
            || prefix
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
        {
            errors.push(FieldError::new(
                path,
                format!("the path must start with / and be at most {MAX_PATH_LEN} characters without spaces, ? or #"),
            ));
            return None;
        }
        let trimmed = prefix.trim_end_matches('/');
        let prefix = if trimmed.is_empty() { "/" } else { trimmed };
        return Some(Matcher::Route {
            method: method.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    if valid_permission(entry) {
        return Some(Matcher::Permission(entry.to_owned()));
    }
    errors.push(FieldError::new(
        path,
        "not \"*\", a permission (resource:action) or \"METHOD /path\"",
    ));
    None
}

/// A permission name as the role policy writes them: `resource:action`, each part of
/// `A-Z a-z 0-9 _ - .`, at most 128 characters (no wildcards: a route requires one permission).
fn valid_permission(permission: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    permission.len() <= 128
        && permission
            .split_once(':')
            .is_some_and(|(resource, action)| part(resource) && part(action))
}
