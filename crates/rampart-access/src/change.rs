//! [`IdentityChange`]: the identity writes made on a request's behalf, each committed in the
//! same transaction as the audit entry that records it (through a `Journal`).
//!
//! Each change may carry a precondition (a name not taken, a key not revoked, a pending secret
//! still the one checked): when it no longer holds, nothing is written and the change is
//! refused.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::{PrincipalUpdate, SealedBytes, SessionRecord};
use crate::{ApiKeyRecord, Principal};

/// One identity write; see the module documentation.
#[derive(Debug, Clone)]
pub enum IdentityChange {
    /// A new principal (refused when the name is taken).
    CreatePrincipal {
        /// The principal.
        principal: Principal,
        /// Its argon2id hash, when it logs in with a password.
        password_hash: Option<String>,
    },
    /// Roles, teams, email, data-subject link or `disabled` of a principal (refused when there
    /// is none, or when its roles and teams are no longer `seen`: what the caller's permission
    /// to make the change was checked against). Disabling also revokes every session and API
    /// key of the principal, so enabling it again revives neither.
    UpdatePrincipal {
        /// The principal.
        id: Uuid,
        /// What changes.
        update: PrincipalUpdate,
        /// The time of the change.
        now: OffsetDateTime,
        /// The roles and teams the change was authorized against, if it was.
        seen: Option<(Vec<String>, Vec<String>)>,
    },
    /// A new API key (refused when its principal is disabled or gone).
    InsertApiKey(ApiKeyRecord),
    /// Revokes an API key (refused when it is unknown or revoked already).
    RevokeApiKey {
        /// The key.
        id: Uuid,
        /// The time of revocation.
        now: OffsetDateTime,
    },
    /// Stores a successor and ends the old key at `old_ends` (refused when the old key is
    /// revoked or has a successor already).
    RotateApiKey {
        /// The key replaced.
        old: Uuid,
        /// Its successor.
        new: ApiKeyRecord,
        /// When the old key stops working.
        old_ends: OffsetDateTime,
    },
    /// Stores a TOTP secret being enrolled.
    SetTotpPending {
        /// The principal.
        id: Uuid,
        /// The secret, sealed by the KEK.
        sealed: SealedBytes,
    },
    /// Puts the pending secret in force if it is still `checked` (refused otherwise).
    ConfirmTotp {
        /// The principal.
        id: Uuid,
        /// The secret the confirming code was verified against.
        checked: SealedBytes,
        /// The code's step (never accepted again).
        step: u64,
    },
    /// Removes TOTP and its secrets (refused when there is no such principal).
    RemoveTotp {
        /// The principal.
        id: Uuid,
    },
    /// Stores the role policy set through the API (JSON text), as a new version.
    StoreAccessPolicy {
        /// The policy document.
        document: String,
        /// The time of the change.
        now: OffsetDateTime,
    },
    /// Lifts every login lock of a name (account-wide and per address).
    ClearLoginThrottles {
        /// The login name (as the principal's name; normalized as logins are).
        name: String,
    },
    /// A new session (a login).
    InsertSession {
        /// The session.
        session: SessionRecord,
        /// The address it was opened from.
        client_ip: Option<String>,
        /// The user agent that opened it.
        user_agent: Option<String>,
    },
    /// Ends a session (refused when it is unknown or ended already).
    RevokeSession {
        /// The session.
        id: Uuid,
        /// The time of revocation.
        now: OffsetDateTime,
    },
}

impl IdentityChange {
    /// Why the change is refused when its precondition does not hold.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::CreatePrincipal { .. } => "a principal with that name already exists",
            Self::UpdatePrincipal { .. } => "the principal is gone or changed meanwhile",
            Self::RemoveTotp { .. } => "no principal with that id",
            Self::InsertApiKey(_) => "the key's principal is disabled or gone",
            Self::StoreAccessPolicy { .. }
            | Self::SetTotpPending { .. }
            | Self::ClearLoginThrottles { .. } => "the change did not apply",
            Self::RevokeApiKey { .. } => "the key is unknown or revoked already",
            Self::RotateApiKey { .. } => "the key was revoked or rotated meanwhile",
            Self::ConfirmTotp { .. } => "another enrollment replaced this one meanwhile",
            Self::RevokeSession { .. } => "the session is unknown or ended already",
            Self::InsertSession { .. } => "the session was not stored",
        }
    }
}
