//! Rampart's threat protection: rate-limit rules and their per-node limiter, address allow/deny
//! rules, and the policy that blocks an address after repeated failures.
//!
//! It knows nothing of HTTP or SQL: the server turns requests into [`RequestFacts`] and
//! decisions into responses and headers; storage is the [`ThreatStore`] trait, implemented by
//! `rampart-store`; time is always a parameter.
#![forbid(unsafe_code)]

mod address;
mod blocks;
mod error;
mod guard;
mod headers;
mod limiter;
mod rules;
mod store;
mod window;

pub use address::{AddressDocument, AddressRules, AddressVerdict, MAX_ADDRESS_ENTRIES, canonical};
pub use blocks::{
    Block, BlockSettings, BlockTarget, BlockTargetError, MAX_BLOCK, auto_block_allowed,
    block_duration, should_block,
};
pub use error::{FieldError, Invalid};
pub use guard::{ChangeError, Counted, Limits, Refusal, RulesSource, ThreatGuard};
pub use headers::{rate_limit_header, rate_limit_policy_header, retry_after_seconds};
pub use limiter::{BATCH, DEFAULT_MAX_KEYS, Decision, Limiter, Quota, RuleId};
pub use rules::{
    AppliesTo, BucketKey, MAX_MATCH_ENTRIES, MAX_RULE_NAME_LEN, MAX_RULES, Matcher, RequestFacts,
    Rule, RuleDocument, RuleKey, RuleSet, RuleSetDocument, Subject,
};
pub use store::{Replaced, StoredDocument, ThreatStore};
pub use window::{SharedDecision, WindowState, shared_window_hit};
