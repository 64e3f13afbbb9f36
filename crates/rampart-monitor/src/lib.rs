//! Rampart's security monitoring: detection rules over the audit log and their evaluator,
//! alerts and silences, incidents and their escalation, and the pure parts of Standard
//! Webhooks (event types, signatures, the retry schedule, destination checks).
//!
//! It knows nothing of HTTP, SQL or DNS: the app layer feeds it audit entries in `seq` order,
//! sends the webhooks and resolves their hosts; storage is the [`MonitorStore`] trait,
//! implemented by `rampart-store`; time (and randomness for jitter) is always a parameter.
#![forbid(unsafe_code)]

mod engine;
mod error;
mod rules;

pub use engine::{
    EntryView, Evaluator, Fired, Group, Hit, Window, WindowChange, WindowKey, WindowState,
};
pub use error::{FieldError, Invalid};
pub use rules::{
    ActionDocument, ActionPattern, GroupPath, MAX_ACTIONS, MAX_DETAILS_MATCH, MAX_GROUP_BY,
    MAX_RULE_NAME_LEN, MAX_RULES, MAX_THRESHOLD, MAX_WINDOW_SECONDS, Match, MatchDocument, Rule,
    RuleDocument, RuleSet, RuleSetDocument, Severity,
};
