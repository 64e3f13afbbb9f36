//! Conversions between domain values and column values shared by both backends: times are
//! BIGINT microseconds since the Unix epoch (UTC), ids are TEXT UUIDs, lists are JSON TEXT.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// A timestamp as microseconds since the Unix epoch.
pub(crate) fn micros(at: OffsetDateTime) -> Result<i64, StoreError> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000)
        .map_err(|_| StoreError::OutOfRange { what: "timestamp" })
}

/// The timestamp for stored microseconds.
pub(crate) fn from_micros(value: i64, what: &'static str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000)
        .map_err(|_| StoreError::Corrupt { what })
}

/// An optional timestamp for optional stored microseconds.
pub(crate) fn from_micros_opt(
    value: Option<i64>,
    what: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    value.map(|v| from_micros(v, what)).transpose()
}

/// A UUID from its stored text.
pub(crate) fn uuid(text: &str, what: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt { what })
}

/// A list of names as JSON text.
pub(crate) fn list(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

/// A list of names from JSON text.
pub(crate) fn from_list(text: &str, what: &'static str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_microsecond_precision() {
        let at = time::macros::datetime!(2026-11-22 14:03:07.123456 UTC);
        assert_eq!(
            from_micros(micros(at).expect("fits"), "t").expect("valid"),
            at
        );
        assert!(matches!(
            from_micros(i64::MAX, "t"),
            Err(StoreError::Corrupt { what: "t" })
        ));
    }

    #[test]
    fn lists_round_trip_and_garbage_is_corrupt() {
        let names = vec!["admin".to_owned(), "a \"quoted\" one".to_owned()];
        assert_eq!(from_list(&list(&names), "roles").expect("valid"), names);
        assert!(matches!(
            from_list("admin", "roles"),
            Err(StoreError::Corrupt { what: "roles" })
        ));
    }
}
