//! The fields of a principal's body: names, emails, role and team lists, the subject link.

use serde_json::{Map, Value};

use crate::http::request::{field, invalid};
use crate::problem::{ApiError, FieldError};

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub(super) fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace)
}

/// The `subject_id` field: absent (`None`), `null` (`Some(None)`: no link) or a subject id
/// (`rampart_subjects::check_subject_id`; the error never quotes it).
pub(super) fn subject_link(
    object: &Map<String, Value>,
) -> Result<Option<Option<String>>, ApiError> {
    match object.get("subject_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(id)) => match rampart_subjects::check_subject_id(id) {
            Ok(()) => Ok(Some(Some(id.clone()))),
            Err(message) => Err(invalid("subject_id", message)),
        },
        Some(_) => Err(invalid("subject_id", "must be a string or null")),
    }
}

/// Most roles, and most teams, one principal may have.
const MAX_NAMES: usize = 64;

/// A list of names (roles or teams): at most [`MAX_NAMES`], duplicates removed.
pub(super) fn names(
    object: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, FieldError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > MAX_NAMES {
                return Err(field(key, format!("at most {MAX_NAMES} names")));
            }
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let name = item.as_str().filter(|s| valid_name(s)).ok_or_else(|| {
                    field(
                        key,
                        "must be a list of names (A-Z, a-z, 0-9, '.', '_', '-', '@')",
                    )
                })?;
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            Ok(Some(names))
        }
        Some(_) => Err(field(key, "must be a list of names")),
    }
}
