//! The identity service: who may manage whom, and the records a caller may act on.
//!
//! Rules only: storage is the [`IdentityStore`](crate::IdentityStore) trait, time is a
//! parameter, and every refusal is an [`IdentityError`] the HTTP edge maps to its answer.
//! Load-for-caller functions ([`ApiKeys::key_for`], [`Principals::manageable`]) return a record only to a caller allowed to
//! act on it, so a handler cannot forget the check.

mod api_keys;
mod enrolment;
mod login;
mod manage;
mod policy_admin;
mod principals;
mod sessions;
#[cfg(test)]
mod tests;

pub use api_keys::{ApiKeys, fence_new_key, fence_successor, may_issue, rotatable};
pub use enrolment::{Enrolment, TotpSealer, own_factor};
pub use login::{LoggedIn, LoginAttempt, LoginError, Logins, PasswordVerifier, TotpOpener};
pub use manage::may_manage;
pub use policy_admin::PolicyAdmin;
pub use principals::Principals;
pub use sessions::{SessionRefused, session_caller};

use crate::Denied;

/// Why the identity service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The record does not exist, or the caller may not know it does.
    #[error("{0}")]
    NotFound(&'static str),
    /// The caller lacks what the operation needs; names it (a permission, a team, a role),
    /// never a secret.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller holds what the operation needs, but a rule refuses it for another reason,
    /// given whole (a key for a role requiring a second factor, made without one).
    #[error("refused: {0}")]
    Refused(String),
    /// The caller lacks a permission of the policy.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A field of the request names something that cannot be used (a principal that does
    /// not exist or is disabled).
    #[error("{field}: {message}")]
    InvalidField {
        /// The field, by its path in the request.
        field: &'static str,
        /// What is wrong with it (never its value).
        message: String,
    },
    /// The record's state does not allow the operation (a revoked key rotated).
    #[error("{0}")]
    Conflict(&'static str),
    /// The change was not committed with its audit entry.
    #[error(transparent)]
    Journal(#[from] rampart_audit::JournalError),
    /// Storage failed: an internal error, not a verdict.
    #[error("identity storage failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl IdentityError {
    /// A storage failure.
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Store(Box::new(e))
    }
}
