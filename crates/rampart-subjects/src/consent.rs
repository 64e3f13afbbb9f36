//! The consent ledger: every change of a subject's consent to a purpose is a new record, never
//! an update. Erasure removes a record's personal fields (the subject's id and lookup hash, and
//! `source`) and keeps the rest: that a consent to a purpose was given or withdrawn, when.

use std::collections::BTreeMap;

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest purpose name.
pub const MAX_PURPOSE_LEN: usize = 64;
/// Longest `source` and `policy_version`.
pub const MAX_SOURCE_LEN: usize = 128;

/// `POST /v1/subjects/{id}/consents`' body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentDocument {
    /// What the data is used for: `analytics`, `marketing.email`.
    pub purpose: String,
    /// Given (`true`) or withdrawn (`false`); required (absent is named by validation).
    #[serde(default)]
    pub given: Option<bool>,
    /// Where the subject said so: `signup-form`.
    #[serde(default)]
    pub source: Option<String>,
    /// The version of the privacy policy the subject saw.
    #[serde(default)]
    pub policy_version: Option<String>,
}

/// A consent change that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    /// The purpose.
    pub purpose: String,
    /// Given or withdrawn.
    pub given: bool,
    /// Where.
    pub source: Option<String>,
    /// The policy version.
    pub policy_version: Option<String>,
}

/// Whether `purpose` is a purpose name: 1 to 64 of `a-z 0-9 _ . : -`, starting with a letter.
pub fn check_purpose(purpose: &str) -> Result<(), &'static str> {
    let ok = !purpose.is_empty()
        && purpose.len() <= MAX_PURPOSE_LEN
        && purpose.starts_with(|c: char| c.is_ascii_lowercase())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("is 1 to 64 of a-z, 0-9, '_', '.', ':', '-', starting with a letter")
    }
}

fn check_text(value: Option<&str>, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(value) = value {
        if value.is_empty() || value.len() > MAX_SOURCE_LEN {
            errors.push(FieldError::new(path, "has 1 to 128 bytes"));
        } else if value.chars().any(char::is_control) {
            errors.push(FieldError::new(path, "has no control characters"));
        }
    }
}

impl ConsentDocument {
    /// Checks every field; each bad one is named.
    pub fn validate(self) -> Result<NewConsent, Invalid> {
        let mut errors = Vec::new();
        if let Err(message) = check_purpose(&self.purpose) {
            errors.push(FieldError::new("purpose", message));
        }
        if self.given.is_none() {
            errors.push(FieldError::new("given", "is required: true or false"));
        }
        check_text(self.source.as_deref(), "source", &mut errors);
        check_text(
            self.policy_version.as_deref(),
            "policy_version",
            &mut errors,
        );
        let (Some(given), true) = (self.given, errors.is_empty()) else {
            return Err(Invalid::Fields(errors));
        };
        Ok(NewConsent {
            purpose: self.purpose,
            given,
            source: self.source,
            policy_version: self.policy_version,
        })
    }
}

/// One record of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Its place in the ledger (grows by one per record, deployment-wide).
    pub id: i64,
    /// The subject; `None` once erased.
    pub subject_id: Option<String>,
    /// The purpose.
    pub purpose: String,
    /// Given or withdrawn.
    pub given: bool,
    /// Where; `None` once erased.
    pub source: Option<String>,
    /// The policy version.
    pub policy_version: Option<String>,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
    /// Who recorded it (a principal id).
    pub recorded_by: String,
    /// When erasure removed its personal fields.
    pub erased_at: Option<OffsetDateTime>,
}

/// A subject's consent to one purpose as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentConsent {
    /// Given or withdrawn.
    pub given: bool,
    /// Since when.
    pub at: OffsetDateTime,
}

/// What each purpose stands at after `history` (in ledger order): the last record wins.
pub fn current(history: &[ConsentRecord]) -> BTreeMap<String, CurrentConsent> {
    let mut out = BTreeMap::new();
    for record in history {
        out.insert(
            record.purpose.clone(),
            CurrentConsent {
                given: record.given,
                at: record.recorded_at,
            },
        );
    }
    out
}

/// `GET /v1/consents`' filter: subjects whose current consent to `purpose` is `given`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentFilter {
    /// The purpose.
    pub purpose: String,
    /// Only subjects whose current consent is this.
    pub given: Option<bool>,
    /// Subjects after this id (the page cursor), in id order.
    pub after: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// One subject in `GET /v1/consents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentHolder {
    /// The subject.
    pub subject_id: String,
    /// Its current consent to the purpose.
    pub given: bool,
    /// Since when.
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, purpose: &str, given: bool) -> ConsentRecord {
        ConsentRecord {
            id,
            subject_id: Some("s".into()),
            purpose: purpose.into(),
            given,
            source: None,
            policy_version: None,
            recorded_at: OffsetDateTime::from_unix_timestamp(id).expect("time"),
            recorded_by: "p".into(),
            erased_at: None,
        }
    }

    #[test]
    fn the_last_record_of_each_purpose_wins() {
        let history = [
            record(1, "analytics", true),
            record(2, "marketing", true),
            record(3, "analytics", false),
        ];
        let now = current(&history);
        assert!(!now["analytics"].given);
        assert_eq!(now["analytics"].at.unix_timestamp(), 3);
        assert!(now["marketing"].given);
    }

    #[test]
    fn bad_documents_name_each_field() {
        let bad = ConsentDocument {
            purpose: "Analytics!".into(),
            given: None,
            source: Some(String::new()),
            policy_version: Some("v\u{7}".into()),
        };
        let Err(Invalid::Fields(errors)) = bad.validate() else {
            panic!("refused");
        };
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["purpose", "given", "source", "policy_version"]);
        for purpose in ["", "1x", &"a".repeat(65), "a b"] {
            assert!(check_purpose(purpose).is_err(), "{purpose}");
        }
        assert!(check_purpose("marketing.email").is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed: Result<ConsentDocument, _> =
            serde_json::from_str(r#"{"purpose":"a","given":true,"email":"x"}"#);
        assert!(parsed.is_err());
    }
}
