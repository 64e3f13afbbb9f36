//! Waivers: a control accepted as not met (or not judged) for a stated reason until a date.

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::control::FrameworkId;
use crate::frameworks;
use rampart_document::{FieldError, Invalid};

/// Longest reason accepted, in bytes.
pub const MAX_REASON_LEN: usize = 2048;

/// A stored waiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// `wvr_` and a UUIDv7 in simple form.
    pub id: String,
    /// The framework.
    pub framework: FrameworkId,
    /// The control's id.
    pub control: String,
    /// Why.
    pub reason: String,
    /// When it ends.
    pub expires_at: OffsetDateTime,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Whether it was revoked before its end.
    pub revoked: bool,
}

impl Waiver {
    /// `expires_at` as RFC 3339.
    pub fn expires_at_text(&self) -> String {
        crate::rfc3339(self.expires_at)
    }

    /// Whether it is in force at `now`.
    pub fn in_force(&self, now: OffsetDateTime) -> bool {
        !self.revoked && self.expires_at > now
    }
}

/// `POST /v1/compliance/waivers`'s body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverDocument {
    /// The framework id.
    pub framework: String,
    /// The control id.
    pub control: String,
    /// Why it is waived.
    pub reason: String,
    /// RFC 3339 end.
    pub expires_at: String,
}

impl WaiverDocument {
    /// The waiver this document asks for, granted by `by` at `now`; every bad field named.
    /// A waiver must end in the future and within 366 days (waivers are reviewed, not kept).
    pub fn check(&self, by: &str, now: OffsetDateTime) -> Result<Waiver, Invalid> {
        let mut errors = Vec::new();
        let framework = self.framework.parse::<FrameworkId>();
        if let Err(e) = &framework {
            errors.push(FieldError::new("framework", e.to_string()));
        }
        if let Ok(f) = framework
            && frameworks::framework(f).control(&self.control).is_none()
        {
            errors.push(FieldError::new(
                "control",
                format!("is not a control of {f} (GET /v1/compliance/frameworks lists them)"),
            ));
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            errors.push(FieldError::new("reason", "must not be empty"));
        } else if reason.len() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "reason",
                format!("must be at most {MAX_REASON_LEN} bytes without control characters"),
            ));
        }
        let expires = OffsetDateTime::parse(
            &self.expires_at,
            &time::format_description::well_known::Rfc3339,
        );
        match &expires {
            Err(_) => errors.push(FieldError::new("expires_at", "must be an RFC 3339 time")),
            Ok(at) if *at <= now => {
                errors.push(FieldError::new("expires_at", "must be in the future"));
            }
            Ok(at) if *at > now + time::Duration::days(366) => {
                errors.push(FieldError::new(
                    "expires_at",
                    "must be within 366 days: waivers are reviewed, not kept",
                ));
            }
            Ok(_) => {}
        }
        match (framework, expires) {
            (Ok(framework), Ok(expires_at)) if errors.is_empty() => Ok(Waiver {
                id: format!("wvr_{}", Uuid::now_v7().simple()),
                framework,
                control: self.control.clone(),
                reason: reason.to_owned(),
                expires_at,
                created_by: by.to_owned(),
                created_at: now,
                revoked: false,
            }),
            _ => Err(Invalid::Fields(errors)),
        }
    }
}
