//! The storage suite, run against SQLite and a real PostgreSQL server.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// Runs each named `async fn(Fixture)` of the invoking module once per backend, as
/// `sqlite::name` and `postgres::name` (the latter skipped loudly without PostgreSQL).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let fixture = crate::fixture::Fixture::sqlite().await;
                assert_eq!(fixture.store.backend(), rampart_store::Backend::Sqlite);
                super::$name(fixture).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(fixture) = crate::fixture::Fixture::postgres().await else { return };
                assert_eq!(fixture.store.backend(), rampart_store::Backend::Postgres);
                super::$name(fixture).await;
            })*
        }
    };
}

mod agents;
mod audit;
mod audit_index;
mod audit_prune;
mod audit_verify;
mod compliance;
mod fixture;
mod identity;
mod keys;
mod lease;
mod monitor;
mod outage;
mod retention;
mod subjects;
mod suite;
mod threat;
mod url;
