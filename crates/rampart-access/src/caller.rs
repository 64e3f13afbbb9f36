//! Who is calling: the principal behind a credential, the credential's narrowing (scopes,
//! expiry, networks), and the only way to a [`Granted`] proof.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::permission::{Granted, Required};
use crate::{Policy, Principal, scopes_allow};

/// The kind of credential a caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API key (`rk_…`).
    ApiKey,
    /// A session token from a login.
    Session,
}

/// The only scope of an enrollment session: a session that may enrol its own second factor
/// and nothing else (no permission is named so).
pub const ENROLLMENT_ONLY_SCOPE: &str = "totp:enroll-self";

/// An authenticated caller. Its fields are private: it is made once, from a checked credential,
/// and read through its methods.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: Principal,
    credential_id: Uuid,
    scopes: Option<Vec<String>>,
    kind: CredentialKind,
    expires_at: Option<OffsetDateTime>,
    allowed_ips: Option<Vec<ipnet::IpNet>>,
    second_factor: bool,
}

/// A credential that was checked, as [`Caller::new`] takes it.
#[derive(Debug, Clone)]
pub struct CheckedCredential {
    /// The credential's id (the API key's, or the session's).
    pub id: Uuid,
    /// An API key or a session token.
    pub kind: CredentialKind,
    /// The key's scopes; `None` means all of the principal's permissions.
    pub scopes: Option<Vec<String>>,
    /// When the credential stops working, if it does.
    pub expires_at: Option<OffsetDateTime>,
    /// The networks an API key is limited to, if any.
    pub allowed_ips: Option<Vec<ipnet::IpNet>>,
    /// A session whose login passed the second factor (always false for an API key).
    pub second_factor: bool,
}

/// A refused permission check: names the permission, never the caller's roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the permission '{permission}' is required")]
pub struct Denied {
    /// The permission refused.
    pub permission: String,
}

impl Caller {
    /// The caller behind `credential`, a credential already checked to belong to `principal`.
    pub fn new(principal: Principal, credential: CheckedCredential) -> Self {
        Self {
            principal,
            credential_id: credential.id,
            scopes: credential.scopes,
            kind: credential.kind,
            expires_at: credential.expires_at,
            allowed_ips: credential.allowed_ips,
            second_factor: credential.kind == CredentialKind::Session && credential.second_factor,
        }
    }

    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The credential presented (the API key's id, or the session's id).
    pub fn credential_id(&self) -> Uuid {
        self.credential_id
    }

    /// The key's scopes; `None` means all of the principal's permissions.
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    /// An API key or a session token.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// When the credential stops working, if it does.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// The networks an API key is limited to, if any.
    pub fn allowed_ips(&self) -> Option<&[ipnet::IpNet]> {
        self.allowed_ips.as_deref()
    }

    /// Whether the caller holds a session whose login passed the second factor (TOTP). An API
    /// key never has: it is one factor, however it was made.
    pub fn passed_second_factor(&self) -> bool {
        self.second_factor
    }

    /// Whether the caller holds an enrollment session (see [`ENROLLMENT_ONLY_SCOPE`]).
    pub fn is_enrollment_only(&self) -> bool {
        self.kind == CredentialKind::Session
            && self
                .scopes
                .as_deref()
                .is_some_and(|s| s == [ENROLLMENT_ONLY_SCOPE])
    }

    /// Whether the caller holds `permission` under `policy` (its roles grant it and its
    /// credential's scopes allow it), without a proof: for choices, never for a gate.
    pub fn holds(&self, policy: &Policy, permission: &str) -> bool {
        policy.grants(&self.principal.roles, permission).is_some()
            && scopes_allow(self.scopes.as_deref(), permission)
    }

    /// Checks that the caller holds `P` under `policy`; the proof is what a service method
    /// that needs `P` takes.
    pub fn require<P: Required>(&self, policy: &Policy) -> Result<Granted<P>, Denied> {
        if self.holds(policy, P::NAME) {
            Ok(Granted::new())
        } else {
            Err(Denied {
                permission: P::NAME.to_owned(),
            })
        }
    }
}
