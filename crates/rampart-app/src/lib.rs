//! Rampart's application layer: the composition root of a deployment (settings, start-up with
//! the master-key checks and migrations, background jobs under leases) and the home of workflows
//! that span domains.
//!
//! Not for HTTP (that is `rampart-server`, the edge over this crate) nor for domain rules (those
//! live in the domain crates this one wires together). This is the only crate that reads the
//! environment (`config`) and, with the server, the clock.
#![forbid(unsafe_code)]

pub mod agents;
pub mod audit_export;
pub mod backup;
pub mod break_glass;
pub mod compliance;
pub mod config;
pub mod deployment;
pub mod jobs;
pub mod maintenance;
pub mod monitor;
pub mod outage;
pub mod protector;
pub mod retention;
pub mod services;
pub mod subjects;
pub mod system_audit;
pub mod wiring;
