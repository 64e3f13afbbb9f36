//! Rampart's identity and access: principals, API keys, and authentication of the credentials
//! callers present.
//!
//! It knows nothing of HTTP or SQL: storage is the [`AccessStore`] trait, implemented by
//! `rampart-store`, and time is always a parameter.
#![forbid(unsafe_code)]

mod api_key;
mod authenticate;
mod policy;
mod principal;

pub use api_key::{ApiKey, ApiKeyFormatError, ApiKeyHash, ApiKeyPepper, ApiKeyRecord};
pub use authenticate::{AccessStore, AuthError, Authenticated, Authenticator};
pub use policy::{Policy, PolicyError, Role, scopes_allow};
pub use principal::{Principal, PrincipalKind, UnknownPrincipalKind};
