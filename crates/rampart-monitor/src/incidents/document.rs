//! Incident bodies as written (`POST /v1/incidents`, `POST /v1/incidents/{id}/timeline`,
//! `POST .../resolve`) and their validation: every wrong field is reported by name, never
//! quoting the value.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{NewIncident, TimelineKind};
use crate::error::{FieldError, Invalid};
use crate::rules::Severity;

/// Longest title.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest description, note, action or resolution.
pub const MAX_TEXT_LEN: usize = 10_000;
/// Most alerts an incident names.
pub const MAX_ALERT_IDS: usize = 100;

/// `POST /v1/incidents`' body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDocument {
    /// 1 to 200 characters.
    pub title: String,
    /// How serious.
    pub severity: Severity,
    /// At most 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// At most 100 distinct alert ids.
    #[serde(default)]
    pub alert_ids: Vec<String>,
    /// Whether personal data was breached (starts the 72-hour notification deadline).
    #[serde(default)]
    pub personal_data_breach: bool,
}

impl IncidentDocument {
    /// Validates the body; every wrong field is reported. Whether the alerts exist is the
    /// store's to say.
    pub fn validate(&self) -> Result<NewIncident, Invalid> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_LEN || has_control(title, false) {
            errors.push(FieldError::new(
                "title",
                format!("must be 1 to {MAX_TITLE_LEN} characters on one line"),
            ));
        }
        if self.description.chars().count() > MAX_TEXT_LEN || has_control(&self.description, true) {
            errors.push(FieldError::new(
                "description",
                format!("at most {MAX_TEXT_LEN} characters without control characters"),
            ));
        }
        if self.alert_ids.len() > MAX_ALERT_IDS {
            errors.push(FieldError::new(
                "alert_ids",
                format!("at most {MAX_ALERT_IDS} ids"),
            ));
        } else {
            let mut seen = HashSet::new();
            for (index, id) in self.alert_ids.iter().enumerate() {
                let valid = !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    errors.push(FieldError::new(
                        format!("alert_ids[{index}]"),
                        "not an alert id",
                    ));
                } else if !seen.insert(id.as_str()) {
                    errors.push(FieldError::new(
                        format!("alert_ids[{index}]"),
                        "duplicate id",
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Invalid::Fields(errors));
        }
        Ok(NewIncident {
            title: title.to_owned(),
            description: self.description.clone(),
            severity: self.severity,
            personal_data_breach: self.personal_data_breach,
            alert_ids: self.alert_ids.clone(),
            entry_seqs: Vec::new(),
        })
    }
}

/// `POST /v1/incidents/{id}/timeline`'s body: a note or an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineDocument {
    /// `note` or `action` (the other kinds are Rampart's to write).
    pub kind: TimelineKind,
    /// 1 to 10,000 characters.
    pub text: String,
}

impl TimelineDocument {
    /// Validates the body.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        if !matches!(self.kind, TimelineKind::Note | TimelineKind::Action) {
            errors.push(FieldError::new("kind", "must be note or action"));
        }
        if let Err(error) = check_text("text", &self.text) {
            errors.push(error);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid::Fields(errors))
        }
    }
}

/// Validates a resolution (`POST .../resolve`'s `resolution`).
pub fn validate_resolution(resolution: &str) -> Result<(), Invalid> {
    check_text("resolution", resolution).map_err(|e| Invalid::Fields(vec![e]))
}

fn check_text(field: &str, text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT_LEN || has_control(text, true) {
        Err(FieldError::new(
            field,
            format!("must be 1 to {MAX_TEXT_LEN} characters without control characters"),
        ))
    } else {
        Ok(())
    }
}

fn has_control(text: &str, lines: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\t' | '\r')))
}
