//! Legal holds: a name, a reason and a scope (a subject, a compliance tag, a team, a data type,
//! a time range: every member given must match). A hold lasts until it is released.

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest hold name.
pub const MAX_HOLD_NAME_LEN: usize = 128;
/// Longest reason.
pub const MAX_HOLD_REASON_LEN: usize = 2000;
/// Data types a hold may name (API.md's, and `app:<name>` for the application's own).
const DATA_TYPES: &[&str] = &[
    "audit_entries",
    "consents",
    "alerts",
    "incidents",
    "sessions",
    "webhook_deliveries",
    "erasures",
];

/// A hold's id: `hold_` and 32 hex digits (a UUIDv7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HoldId(String);

impl HoldId {
    /// A new id.
    pub fn generate() -> Self {
        Self(format!("hold_{}", uuid::Uuid::now_v7().simple()))
    }

    /// Parses an id from a path or storage.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("hold_")?;
        (hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `scope` as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeDocument {
    /// Only this data subject's records.
    #[serde(default)]
    pub subject_id: Option<String>,
    /// Only audit entries with this compliance tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Only this team's records.
    #[serde(default)]
    pub team_id: Option<String>,
    /// Only this data type.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Only records from this time (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// Only records until this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
}

/// `POST /v1/legal-holds`' body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoldDocument {
    /// A name people know it by ("Litigation 2026-14").
    #[serde(default)]
    pub name: String,
    /// Why (kept; no personal data here).
    #[serde(default)]
    pub reason: String,
    /// What it covers; an empty scope holds everything.
    #[serde(default)]
    pub scope: ScopeDocument,
}

/// What a hold covers: every member given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldScope {
    /// A data subject.
    pub subject_id: Option<String>,
    /// A compliance tag.
    pub tag: Option<String>,
    /// A team.
    pub team_id: Option<String>,
    /// A data type.
    pub data_type: Option<String>,
    /// Records from this time.
    pub from: Option<OffsetDateTime>,
    /// Records until this time.
    pub until: Option<OffsetDateTime>,
}

impl HoldScope {
    /// Whether the hold keeps a data subject from being erased: it names the subject, or
    /// holds everything of a data type erasure touches (or everything), for every team and tag
    /// and time.
    pub fn holds_subject(&self, subject_id: &str) -> bool {
        let broad = self.tag.is_none()
            && self.team_id.is_none()
            && self.from.is_none()
            && self.until.is_none();
        let touched = self
            .data_type
            .as_deref()
            .is_none_or(|t| ["audit_entries", "consents", "erasures"].contains(&t));
        touched
            && match &self.subject_id {
                Some(held) => held == subject_id,
                None => broad,
            }
    }
}

impl HoldScope {
    /// Whether the hold covers an audit entry: every member given matches it.
    pub fn covers_audit(&self, record: &crate::AuditRecord) -> bool {
        self.data_type
            .as_deref()
            .is_none_or(|t| t == "audit_entries")
            && self
                .subject_id
                .as_ref()
                .is_none_or(|s| record.subject_id.as_ref() == Some(s))
            && self.tag.as_ref().is_none_or(|t| record.tags.contains(t))
            && self
                .team_id
                .as_ref()
                .is_none_or(|t| record.team_id.as_ref() == Some(t))
            && self.in_time(record.at)
    }

    /// Whether the hold covers a record of `data_type` (a built-in type other than audit
    /// entries): every member given matches it; a tag never matches (only audit entries have
    /// tags), a subject matches the record's subject or the SHA-256 of it.
    pub fn covers_record(&self, data_type: &str, record: &crate::Record) -> bool {
        self.data_type.as_deref().is_none_or(|t| t == data_type)
            && self.tag.is_none()
            && self.subject_id.as_ref().is_none_or(|s| {
                record.subject_id.as_ref() == Some(s)
                    || record
                        .subject_id_sha256
                        .as_ref()
                        .is_some_and(|h| *h == subject_sha256(s))
            })
            && self
                .team_id
                .as_ref()
                .is_none_or(|t| record.team_id.as_ref() == Some(t))
            && self.in_time(record.at)
    }

    /// Whether the hold keeps an application's data type (`app:<name>`) from its
    /// `retention.due`: it names that type, or names no type (Rampart cannot tell which of the
    /// application's records a subject, team or time range would cover, so it holds them all).
    pub fn covers_app(&self, data_type: &str) -> bool {
        self.data_type.as_deref().is_none_or(|t| t == data_type)
    }

    fn in_time(&self, at: OffsetDateTime) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at <= until)
    }
}

/// The SHA-256 of a subject id in hex, as erasure records name the subject.
fn subject_sha256(subject_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, subject_id.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A legal hold as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    /// Its id.
    pub id: HoldId,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: String,
    /// What it covers.
    pub scope: HoldScope,
    /// When it was placed.
    pub created_at: OffsetDateTime,
    /// Who placed it (a principal id).
    pub created_by: String,
}

fn text(value: &str, path: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() || value.len() > max {
        errors.push(FieldError::new(path, format!("has 1 to {max} bytes")));
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(path, "has no control characters"));
    }
}

fn short(value: Option<&str>, path: &str, max: usize, errors: &mut Vec<FieldError>) {
    if let Some(value) = value
        && (value.is_empty() || value.len() > max || value.chars().any(char::is_control))
    {
        errors.push(FieldError::new(
            path,
            format!("has 1 to {max} bytes, no control characters"),
        ));
    }
}

fn time(value: Option<&str>, path: &str, errors: &mut Vec<FieldError>) -> Option<OffsetDateTime> {
    let value = value?;
    match OffsetDateTime::parse(value, &Rfc3339) {
        Ok(at) => Some(at),
        Err(_) => {
            errors.push(FieldError::new(path, "must be an RFC 3339 time"));
            None
        }
    }
}

impl HoldDocument {
    /// Checks every field; each bad one is named. Returns the name, reason and scope.
    pub fn validate(self) -> Result<(String, String, HoldScope), Invalid> {
        let mut errors = Vec::new();
        text(&self.name, "name", MAX_HOLD_NAME_LEN, &mut errors);
        text(&self.reason, "reason", MAX_HOLD_REASON_LEN, &mut errors);
        let s = self.scope;
        short(
            s.subject_id.as_deref(),
            "scope.subject_id",
            256,
            &mut errors,
        );
        short(s.tag.as_deref(), "scope.tag", 64, &mut errors);
        short(s.team_id.as_deref(), "scope.team_id", 128, &mut errors);
        if let Some(data_type) = s.data_type.as_deref()
            && !DATA_TYPES.contains(&data_type)
            && !data_type.strip_prefix("app:").is_some_and(|name| {
                !name.is_empty()
                    && name.len() <= 64
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        {
            errors.push(FieldError::new(
                "scope.data_type",
                "must be audit_entries, consents, alerts, incidents, sessions, webhook_deliveries, erasures or app:<name>",
            ));
        }
        let from = time(s.from.as_deref(), "scope.from", &mut errors);
        let until = time(s.until.as_deref(), "scope.until", &mut errors);
        if let (Some(from), Some(until)) = (from, until)
            && from > until
        {
            errors.push(FieldError::new("scope.until", "is before scope.from"));
        }
        if !errors.is_empty() {
            return Err(Invalid::Fields(errors));
        }
        Ok((
            self.name.trim().to_owned(),
            self.reason.trim().to_owned(),
            HoldScope {
                subject_id: s.subject_id,
                tag: s.tag,
                team_id: s.team_id,
                data_type: s.data_type,
                from,
                until,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(scope: ScopeDocument) -> HoldDocument {
        HoldDocument {
            name: "Litigation 14".into(),
            reason: "court order".into(),
            scope,
        }
    }

    #[test]
    fn a_hold_on_a_subject_keeps_it_from_erasure_and_no_other() {
        let (_, _, scope) = doc(ScopeDocument {
            subject_id: Some("s-1".into()),
            ..ScopeDocument::default()
        })
        .validate()
        .expect("valid");
        assert!(scope.holds_subject("s-1"));
        assert!(!scope.holds_subject("s-2"));
        let (_, _, everything) = doc(ScopeDocument::default()).validate().expect("valid");
        assert!(everything.holds_subject("anyone"));
        let (_, _, tagged) = doc(ScopeDocument {
            tag: Some("mifid2".into()),
            ..ScopeDocument::default()
        })
        .validate()
        .expect("valid");
        assert!(
            !tagged.holds_subject("anyone"),
            "a tag's hold is for its entries"
        );
        let (_, _, sessions) = doc(ScopeDocument {
            data_type: Some("sessions".into()),
            ..ScopeDocument::default()
        })
        .validate()
        .expect("valid");
        assert!(!sessions.holds_subject("anyone"));
    }

    #[test]
    fn bad_holds_name_each_field() {
        let bad = HoldDocument {
            name: " ".into(),
            reason: String::new(),
            scope: ScopeDocument {
                subject_id: Some(String::new()),
                data_type: Some("everything".into()),
                from: Some("2026-12-05T00:00:00Z".into()),
                until: Some("2026-01-01T00:00:00Z".into()),
                ..ScopeDocument::default()
            },
        };
        let Err(Invalid::Fields(errors)) = bad.validate() else {
            panic!("refused");
        };
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "name",
                "reason",
                "scope.subject_id",
                "scope.data_type",
                "scope.until"
            ]
        );
        assert!(
            serde_json::from_str::<HoldDocument>(r#"{"name":"a","reason":"b","scope":{"who":1}}"#)
                .is_err()
        );
        assert!(HoldId::parse("hold_x").is_none());
        let id = HoldId::generate();
        assert_eq!(HoldId::parse(id.as_str()), Some(id));
    }
}
