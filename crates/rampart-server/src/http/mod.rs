//! HTTP plumbing shared by every route: request context, security headers, authentication of
//! callers, client addresses, JSON bodies and their fields.

pub mod audit_trail;
pub mod auth;
pub mod client_addr;
pub mod context;
pub mod deserialize;
pub mod headers;
pub mod json;
pub mod query;
pub mod request;
pub mod threat;
