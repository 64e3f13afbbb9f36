//! The audit crate through its public API: RFC 6962 vectors, proofs against a naive reference,
//! tiles, RFC 8785 examples, and the export verifier against every kind of tampering.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods, reason = "tests may read the clock")]

mod canonical;
mod export;
mod mem_store;
mod proofs;
mod pruned;
mod tree;
