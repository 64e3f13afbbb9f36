//! The fields of a principal's body: names, emails, role and team lists, the subject link (and
//! how a change of it is recorded), the owner.

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

/// The `owner_id` field: absent (`None`), `null` (`Some(None)`: no owner) or the id of an
/// existing principal other than `own`.
pub(super) async fn owner_link(
    state: &crate::state::AppState,
    object: &Map<String, Value>,
    own: Option<uuid::Uuid>,
) -> Result<Option<Option<uuid::Uuid>>, ApiError> {
    let id = match object.get("owner_id") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(Value::String(text)) => uuid::Uuid::parse_str(text)
            .map_err(|_| invalid("owner_id", "is the id of a principal"))?,
        Some(_) => return Err(invalid("owner_id", "must be a principal id or null")),
    };
    if Some(id) == own {
        return Err(invalid("owner_id", "a principal cannot own itself"));
    }
    let exists = rampart_access::IdentityStore::principal(state.identity_store(), id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .is_some();
    if !exists {
        return Err(invalid("owner_id", "names no principal"));
    }
    Ok(Some(Some(id)))
}

/// Records a change of a principal's data-subject link in its audit entry without putting a
/// subject id in `details`: the entry's `subject_id` is the subject linked now, or the one
/// unlinked when the link is removed; `details.subject_link` says which (`linked`, `unlinked`,
/// `relinked` from another subject, whose own entries keep the earlier link, or `unchanged`).
pub(super) fn note_subject_link(
    audit: &crate::http::audit_trail::AuditSlot,
    before: Option<&str>,
    after: Option<&str>,
) {
    let (subject, what) = match (before, after) {
        (_, Some(after)) if before == Some(after) => (Some(after), "unchanged"),
        (None, Some(after)) => (Some(after), "linked"),
        (Some(_), Some(after)) => (Some(after), "relinked"),
        (Some(before), None) => (Some(before), "unlinked"),
        (None, None) => (None, "unchanged"),
    };
    if let Some(subject) = subject {
        audit.subject(subject);
    }
    audit.detail("subject_link", what);
}
