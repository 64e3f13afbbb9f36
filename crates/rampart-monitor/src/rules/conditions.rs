//! A rule's `match` as written, validated into a [`Match`]: action patterns (one or a list,
//! exact or `x.*`), the entry fields compared exactly, and `details` keys with the scalar each
//! must equal. Paths name the field (`rules[2].match.action[1]`); values are never quoted.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::document::{ActionDocument, MatchDocument};
use super::{ActionPattern, MAX_ACTIONS, MAX_DETAILS_MATCH, Match, valid_key};
use crate::error::FieldError;

/// Longest action pattern or other matched text.
const MAX_TEXT_LEN: usize = 128;

pub(super) fn validate_match(
    written: &MatchDocument,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Match {
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

fn valid_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TEXT_LEN && !text.chars().any(char::is_control)
}
