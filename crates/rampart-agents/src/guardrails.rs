//! Guardrails: what one agent may do, and how its actions are decided (API.md's shape).

use std::collections::BTreeMap;

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};

use crate::action::check_action_name;

/// Most actions one list may name.
const MAX_LIST: usize = 256;
/// Most blast-radius dimensions.
const MAX_DIMENSIONS: usize = 16;
/// Most approvers a quorum may need.
const MAX_APPROVALS: u32 = 10;
/// Longest approval timeout: seven days.
const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;

/// What happens to an action that no list names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Otherwise {
    /// Denied (the default: an agent does only what it was allowed).
    #[default]
    Deny,
    /// Sent for approval.
    RequireApproval,
}

/// `PUT /v1/agents/{id}/guardrails`' body, as sent; [`GuardrailsDocument::validate`] makes it
/// [`Guardrails`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailsDocument {
    /// At most this many actions (not denied) in any hour; absent: no cap.
    #[serde(default)]
    pub max_actions_per_hour: Option<u64>,
    /// Never allowed, whatever else says so.
    #[serde(default)]
    pub forbidden_actions: Vec<String>,
    /// Allowed only once approved.
    #[serde(default)]
    pub require_approval: Vec<String>,
    /// Allowed at once.
    #[serde(default)]
    pub auto_approve: Vec<String>,
    /// The most an action may declare for each dimension (`traffic_percent`).
    #[serde(default)]
    pub max_blast_radius: BTreeMap<String, f64>,
    /// How many distinct approvers an action needs (1 to 10; 1 by default).
    #[serde(default)]
    pub approvals_required: Option<u32>,
    /// How long an action waits for its approvals (1 s to 7 days; 3600 by default).
    #[serde(default)]
    pub approval_timeout_seconds: Option<u64>,
    /// What happens to an action no list names (`deny` by default).
    #[serde(default)]
    pub otherwise: Option<Otherwise>,
}

/// One agent's guardrails, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guardrails {
    /// At most this many actions (not denied) in any hour; `None`: no cap.
    pub max_actions_per_hour: Option<u64>,
    /// Never allowed.
    pub forbidden_actions: Vec<String>,
    /// Allowed only once approved.
    pub require_approval: Vec<String>,
    /// Allowed at once.
    pub auto_approve: Vec<String>,
    /// The most an action may declare, per dimension.
    pub max_blast_radius: BTreeMap<String, f64>,
    /// Distinct approvers needed.
    pub approvals_required: u32,
    /// How long an action waits for approval.
    pub approval_timeout_seconds: u64,
    /// What happens to an action no list names.
    pub otherwise: Otherwise,
}

impl GuardrailsDocument {
    /// Checks every field; each bad one is named.
    pub fn validate(self) -> Result<Guardrails, Invalid> {
        let mut errors = Vec::new();
        if self.max_actions_per_hour == Some(0) {
            errors.push(FieldError::new(
                "max_actions_per_hour",
                "is at least 1 (leave it out for no cap; list actions under forbidden_actions to stop them)",
            ));
        }
        for (name, list) in [
            ("forbidden_actions", &self.forbidden_actions),
            ("require_approval", &self.require_approval),
            ("auto_approve", &self.auto_approve),
        ] {
            if list.len() > MAX_LIST {
                errors.push(FieldError::new(
                    name,
                    format!("names at most {MAX_LIST} actions"),
                ));
            }
            for (i, action) in list.iter().enumerate() {
                if let Err(message) = check_action_name(action) {
                    errors.push(FieldError::new(format!("{name}[{i}]"), message));
                } else if list.iter().take(i).any(|earlier| earlier == action) {
                    errors.push(FieldError::new(
                        format!("{name}[{i}]"),
                        "is named twice in the list",
                    ));
                }
            }
        }
        if self.max_blast_radius.len() > MAX_DIMENSIONS {
            errors.push(FieldError::new(
                "max_blast_radius",
                format!("has at most {MAX_DIMENSIONS} dimensions"),
            ));
        }
        for (dimension, limit) in &self.max_blast_radius {
            let path = format!("max_blast_radius.{dimension}");
            if let Err(message) = check_dimension(dimension) {
                errors.push(FieldError::new(path, message));
            } else if !limit.is_finite() || *limit < 0.0 {
                errors.push(FieldError::new(path, "is a number of at least 0"));
            } else if dimension == "traffic_percent" && *limit > 100.0 {
                errors.push(FieldError::new(path, "is a percentage: 0 to 100"));
            }
        }
        let approvals_required = self.approvals_required.unwrap_or(1);
        if !(1..=MAX_APPROVALS).contains(&approvals_required) {
            errors.push(FieldError::new(
                "approvals_required",
                format!("is 1 to {MAX_APPROVALS}"),
            ));
        }
        let approval_timeout_seconds = self.approval_timeout_seconds.unwrap_or(3600);
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&approval_timeout_seconds) {
            errors.push(FieldError::new(
                "approval_timeout_seconds",
                format!("is 1 to {MAX_TIMEOUT_SECONDS} (seven days)"),
            ));
        }
        if !errors.is_empty() {
            return Err(Invalid::Fields(errors));
        }
        Ok(Guardrails {
            max_actions_per_hour: self.max_actions_per_hour,
            forbidden_actions: self.forbidden_actions,
            require_approval: self.require_approval,
            auto_approve: self.auto_approve,
            max_blast_radius: self.max_blast_radius,
            approvals_required,
            approval_timeout_seconds,
            otherwise: self.otherwise.unwrap_or_default(),
        })
    }
}

impl Guardrails {
    /// The document form (what `GET` answers and storage keeps), every default written out.
    pub fn to_document(&self) -> GuardrailsDocument {
        GuardrailsDocument {
            max_actions_per_hour: self.max_actions_per_hour,
            forbidden_actions: self.forbidden_actions.clone(),
            require_approval: self.require_approval.clone(),
            auto_approve: self.auto_approve.clone(),
            max_blast_radius: self.max_blast_radius.clone(),
            approvals_required: Some(self.approvals_required),
            approval_timeout_seconds: Some(self.approval_timeout_seconds),
            otherwise: Some(self.otherwise),
        }
    }

    /// Reads stored JSON (written by [`Guardrails::to_document`]).
    pub fn from_json(text: &str) -> Result<Self, Invalid> {
        rampart_document::read_json::<GuardrailsDocument>(text)?.validate()
    }

    /// The JSON storage keeps.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_document()).unwrap_or_default()
    }
}

/// A blast-radius dimension: 1 to 64 of `a-z`, `0-9`, `_`.
pub(crate) fn check_dimension(name: &str) -> Result<(), &'static str> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("a dimension's name has 1 to 64 of a-z, 0-9 and _");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_003() -> GuardrailsDocument {
        rampart_document::read_json(
            r#"{"max_actions_per_hour": 50, "forbidden_actions": ["drop_database", "delete_namespace", "modify_dns"],
                "require_approval": ["rollback", "failover", "scale_down"],
                "auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits"],
                "max_blast_radius": {"traffic_percent": 10}, "approvals_required": 1,
                "approval_timeout_seconds": 3600, "otherwise": "deny"}"#,
        )
        .unwrap()
    }

    #[test]
    fn api_md_example_is_valid_and_round_trips() {
        let guardrails = seed_003().validate().unwrap();
        assert_eq!(guardrails.max_actions_per_hour, Some(50));
        assert_eq!(
            Guardrails::from_json(&guardrails.to_json()).unwrap(),
            guardrails
        );
    }

    #[test]
    fn defaults_are_strict() {
        let guardrails = GuardrailsDocument::default().validate().unwrap();
        assert_eq!(guardrails.otherwise, Otherwise::Deny);
        assert_eq!(guardrails.approvals_required, 1);
        assert_eq!(guardrails.approval_timeout_seconds, 3600);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut doc = seed_003();
        doc.max_actions_per_hour = Some(0);
        doc.forbidden_actions.push("DROP TABLE".into());
        doc.auto_approve.push("create_ticket".into());
        doc.max_blast_radius.insert("traffic_percent".into(), 150.0);
        doc.max_blast_radius.insert("Bad-Name".into(), 1.0);
        doc.approvals_required = Some(0);
        doc.approval_timeout_seconds = Some(0);
        let Err(Invalid::Fields(errors)) = doc.validate() else {
            panic!("refused")
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "max_actions_per_hour",
                "forbidden_actions[3]",
                "auto_approve[3]",
                "max_blast_radius.Bad-Name",
                "max_blast_radius.traffic_percent",
                "approvals_required",
                "approval_timeout_seconds"
            ]
        );
    }

    #[test]
    fn unknown_fields_and_bad_otherwise_are_refused() {
        assert!(
            rampart_document::read_json::<GuardrailsDocument>(r#"{"max_actions": 5}"#).is_err()
        );
        assert!(
            rampart_document::read_json::<GuardrailsDocument>(r#"{"otherwise": "allow"}"#).is_err()
        );
    }
}
