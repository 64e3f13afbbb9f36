//! The HTTP API in process (`Router` + `oneshot`): fast tests of routes, permissions, the audit
//! trail and input validation, over a real SQLite deployment in a temp dir.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod agents_api;
mod api_key_rules;
mod api_reference;
mod audit_api;
mod cards_api;
mod fernet_times;
mod harness;
mod identity_api;
mod keys_api;
mod privacy_api;
