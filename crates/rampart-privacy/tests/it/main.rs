//! The privacy crate through its public API: the labeled corpus with precision and recall per
//! type, and the redaction properties.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod corpus;
mod machine_data;
mod properties;
