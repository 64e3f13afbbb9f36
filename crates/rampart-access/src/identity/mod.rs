//! The identity service: who may manage whom, and the records a caller may act on.
//!
//! Rules only: storage is the [`IdentityStore`](crate::IdentityStore) trait, time is a
//! parameter, and every refusal is an [`IdentityError`] the HTTP edge maps to its answer.
//! Load-for-caller functions ([`ApiKeys::key_for`]) return a record only to a caller allowed to
//! act on it, so a handler cannot forget the check.

mod api_keys;
mod login;
mod manage;
#[cfg(test)]
mod tests;

pub use api_keys::{ApiKeys, rotatable};
pub use login::{LoggedIn, LoginAttempt, LoginError, Logins, PasswordVerifier, TotpOpener};
pub use manage::may_manage;

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
    /// The caller lacks a permission of the policy.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The record's state does not allow the operation (a revoked key rotated).
    #[error("{0}")]
    Conflict(&'static str),
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
