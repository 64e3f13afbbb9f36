//! The storage suite, run against SQLite and a real PostgreSQL server.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod suite;
