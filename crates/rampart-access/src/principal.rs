//! Principals: the users, services, devices and AI agents that hold credentials.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use uuid::Uuid;

/// What kind of actor a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A person.
    User,
    /// A program acting for itself.
    Service,
    /// A device that syncs with the deployment.
    Device,
    /// An AI agent acting under guardrails.
    AiAgent,
}

impl PrincipalKind {
    /// The wire and storage name (`user`, `service`, `device`, `ai_agent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Service => "service",
            Self::Device => "device",
            Self::AiAgent => "ai_agent",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A principal kind name that is not one of the four.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown principal type '{0}' (expected user, service, device or ai_agent)")]
pub struct UnknownPrincipalKind(pub String);

impl FromStr for PrincipalKind {
    type Err = UnknownPrincipalKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Self::User),
            "service" => Ok(Self::Service),
            "device" => Ok(Self::Device),
            "ai_agent" => Ok(Self::AiAgent),
            other => Err(UnknownPrincipalKind(other.to_owned())),
        }
    }
}

/// A principal: who a credential speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id (UUIDv7).
    pub id: Uuid,
    /// What kind of actor this is.
    pub kind: PrincipalKind,
    /// Unique login or display name.
    pub name: String,
    /// Contact address, if any.
    pub email: Option<String>,
    /// Role names from the role policy.
    pub roles: Vec<String>,
    /// Teams the principal belongs to.
    pub teams: Vec<String>,
    /// A disabled principal keeps its history but no credential of it works.
    pub disabled: bool,
    /// When the principal was created.
    pub created_at: OffsetDateTime,
    /// The data subject (GDPR) the application links this principal to, if any: erasing the
    /// subject disables the principal, and the subject's export lists it. Checked where it is
    /// received (1 to 256 bytes, no control characters).
    pub subject_id: Option<String>,
    /// Who answers for this principal (an AI agent's owner): never an approver of its actions.
    pub owner_id: Option<Uuid>,
}

impl Principal {
    /// The principal created by `rampart init`, holding the `admin` role.
    pub fn bootstrap_admin(now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: PrincipalKind::Service,
            name: "bootstrap-admin".to_owned(),
            email: None,
            roles: vec!["admin".to_owned()],
            teams: Vec::new(),
            disabled: false,
            created_at: now,
            subject_id: None,
            owner_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_is_refused() {
        for kind in [
            PrincipalKind::User,
            PrincipalKind::Service,
            PrincipalKind::Device,
            PrincipalKind::AiAgent,
        ] {
            assert_eq!(kind.as_str().parse::<PrincipalKind>(), Ok(kind));
        }
        assert_eq!(
            "robot".parse::<PrincipalKind>(),
            Err(UnknownPrincipalKind("robot".to_owned()))
        );
    }
}
