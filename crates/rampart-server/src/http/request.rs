//! Taking request bodies and queries apart field by field, shared by the route modules: errors
//! name the field and never quote its value (serde's messages would).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

use crate::problem::{ApiError, FieldError};

pub(crate) fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn invalid(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![field(name, message)])
}

/// The body as an object whose fields are all in `allowed`.
pub(crate) fn object<'a>(
    body: &'a Value,
    allowed: &[&str],
    prefix: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    let name = if prefix.is_empty() { "body" } else { prefix };
    let object = body
        .as_object()
        .ok_or_else(|| invalid(name, "must be a JSON object"))?;
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            return Err(invalid(&path, "is not a field of this request"));
        }
    }
    Ok(object)
}

/// A standard-base64 field, decoded. Never quotes the value.
pub(crate) fn b64(
    object: &Map<String, Value>,
    name: &str,
    path: &str,
    required: bool,
) -> Result<Option<Zeroizing<Vec<u8>>>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(field(path, "is required")),
        Some(Value::String(text)) => STANDARD
            .decode(text)
            .map(|bytes| Some(Zeroizing::new(bytes)))
            .map_err(|_| field(path, "is not valid standard base64 (with padding)")),
        Some(_) => Err(field(path, "must be a base64 string")),
    }
}

/// A string field.
pub(crate) fn text<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &str,
    required: bool,
) -> Result<Option<&'a str>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(field(path, "is required")),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(field(path, "must be a string")),
    }
}

/// A page size from `?limit=` (default 100, 1 to 1000).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid("limit", "must be between 1 and 1000"))
    }
}

/// A time as API.md writes it (`2026-11-22T14:03:07.123456Z`).
pub(crate) fn time_text(at: OffsetDateTime) -> String {
    timestamp(i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX))
}

pub(crate) fn timestamp(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map(rampart_audit::entry::format_timestamp)
        .unwrap_or_default()
}

/// `?limit=N&cursor=C`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a list: its items and the cursor of the next page. Every list answers this
/// shape (`Page<KeyMetadata>`, `Page<PrincipalBody>`, ...).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn base64_fields_never_quote_their_value() {
        let body = json!({"plaintext": "4111111111111111!!"});
        let error = b64(
            body.as_object().expect("object"),
            "plaintext",
            "plaintext",
            true,
        )
        .expect_err("not base64");
        assert!(!error.message.contains("4111"), "{}", error.message);
        let body = json!({"x": 1});
        assert!(
            b64(
                body.as_object().expect("object"),
                "plaintext",
                "plaintext",
                true
            )
            .is_err()
        );
        assert!(
            b64(
                body.as_object().expect("object"),
                "plaintext",
                "plaintext",
                false
            )
            .expect("optional")
            .is_none()
        );
    }
}
