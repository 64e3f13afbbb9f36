//! [`ApiQuery`]: the query-string extractor whose rejections are problem+json answers.

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

/// Query parameters of type `T`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                match invalid_parameter(&text) {
                    // A typed parameter (a page `limit`) out of its type's range: 422 naming
                    // it, like every other invalid parameter, without quoting the value.
                    Some(name) => Err(ApiError::validation(vec![FieldError {
                        field: name.to_owned(),
                        message: "must be a whole number within the parameter's range".to_owned(),
                    }])),
                    None => Err(ApiError::bad_request(format!(
                        "invalid query string: {text}"
                    ))),
                }
            }
        }
    }
}

/// The integer parameter a deserialization error names (`Failed to deserialize query string:
/// limit: number too large to fit in target type`), when it is one that did not parse.
fn invalid_parameter(rejection: &str) -> Option<&str> {
    /// What `ParseIntError` says: the only errors a typed (integer) parameter makes.
    const INTEGER_ERRORS: &[&str] = &[
        "invalid digit found in string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "cannot parse integer from empty string",
    ];
    let reason = rejection.strip_prefix("Failed to deserialize query string: ")?;
    let (name, error) = reason.split_once(": ")?;
    let plain = INTEGER_ERRORS.contains(&error)
        && !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    plain.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_parameters_are_named() {
        assert_eq!(
            invalid_parameter(
                "Failed to deserialize query string: limit: number too large to fit in target type"
            ),
            Some("limit")
        );
        assert_eq!(
            invalid_parameter(
                "Failed to deserialize query string: limit: invalid digit found in string"
            ),
            Some("limit")
        );
        assert_eq!(
            invalid_parameter(
                "Failed to deserialize query string: unknown field `x`, expected `limit`"
            ),
            None
        );
        assert_eq!(
            invalid_parameter(
                "Failed to deserialize query string: colour: unknown field `colour`, expected `limit`"
            ),
            None
        );
    }
}
