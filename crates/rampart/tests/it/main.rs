//! End-to-end tests: the real `rampart` binary, on loopback.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod agents;
mod architecture;
mod audit;
mod audit_completeness;
mod audit_prune;
mod backup;
mod break_glass;
mod canary;
mod cli_remote;
mod compliance;
mod first_start;
mod hardening_access;
mod hardening_edge;
mod hardening_keys;
mod hardening_login;
mod http_api;
mod identity_settings;
mod keys;
mod metrics;
mod monitor;
mod monitor_cli;
mod outage;
mod postgres;
mod postgres_roles;
mod privacy;
mod retention;
mod startup;
mod subjects;
mod support;
mod threat;
mod tls;
mod tls_reload;
