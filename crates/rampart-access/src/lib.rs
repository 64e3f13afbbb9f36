//! Rampart's identity and access: principals, API keys, and authentication of the credentials
//! callers present.
//!
//! It knows nothing of HTTP or SQL: storage is the [`AccessStore`] trait, implemented by
//! `rampart-store`, and time is always a parameter.
#![forbid(unsafe_code)]

mod api_key;
mod authenticate;
mod caller;
mod change;
pub mod identity;
pub mod password;
pub mod permission;
mod policy;
mod principal;
pub mod session;
pub mod store;
pub mod totp;

pub use api_key::{ApiKey, ApiKeyFormatError, ApiKeyHash, ApiKeyPepper, ApiKeyRecord};
pub use authenticate::{AccessStore, AuthError, Authenticated, Authenticator};
pub use caller::{Caller, CheckedCredential, CredentialKind, Denied, ENROLLMENT_ONLY_SCOPE};
pub use change::IdentityChange;
pub use permission::{Granted, InvalidPermission, Permission, Required, perm};
pub use policy::{
    Decision, Policy, PolicyDocument, PolicyError, Role, Subject, is_valid_permission, scopes_allow,
};
pub use principal::{Principal, PrincipalKind, UnknownPrincipalKind};
pub use store::{
    IdentityStore, LoginLimits, LoginReservation, LoginSettle, PrincipalRecord, PrincipalUpdate,
    SealedBytes, SessionRecord,
};
