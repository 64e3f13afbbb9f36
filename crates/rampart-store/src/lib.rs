//! Rampart's storage: one [`Store`] that implements the storage traits of the domain crates
//! (`SealedSecretStore`, `AccessStore`, ...) on SQLite (the embedded default) and PostgreSQL
//! (several servers, one deployment), with versioned migrations for both.
//!
//! Domain rules live in the domain crates; this crate only maps their types to rows.
#![forbid(unsafe_code)]

mod access;
mod agents;
mod agents_change;
mod audit;
mod audit_index;
mod audit_prune;
mod backup;
mod change;
mod codec;
mod compliance;
mod error;
mod identity;
mod identity_change;
mod keys;
mod lease;
mod login_throttle;
mod migrate;
mod monitor;
mod retention;
mod secrets;
mod store;
mod subjects;
mod threat;

pub use audit_index::IndexProgress;
pub use backup::known_schema_version;
pub use change::StoreChange;
pub use error::StoreError;
pub use identity::SealedTotp;
pub use migrate::{MIGRATIONS, Migration, MigrationReport};
/// The identity records live with the identity service in `rampart-access`; re-exported here
/// for the callers of `Store`'s identity methods.
pub use rampart_access::{
    LoginLimits, LoginReservation, LoginSettle, PrincipalRecord, PrincipalUpdate, SessionRecord,
};
pub use store::{Backend, Deployment, Initialization, PoolStats, Store};

/// Runs `$body` with `$pool` bound to the backend's pool. The body is written once and compiled
/// for each backend, so both execute the same statements (`$1` placeholders work in both).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;
