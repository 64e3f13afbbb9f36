//! The rules a deployment starts with (API.md, from seeds 001 and 003), written against the
//! entries Rampart itself writes:
//!
//! - a failed login is `auth.login` with status `failure`; its actor is `anonymous` (no
//!   credential yet) and its resource the principal whose name was tried (`-` for an unknown
//!   name), so failures "of one name" are grouped by `actor.id` (an application's own login
//!   entries name the user there) and `resource.id` (Rampart's own);
//! - a refusal by a rate-limit rule is `security.rate_limited` (`denied`, resource the rule,
//!   `details.shared` saying whether the rule is counted across nodes); other `429`s are
//!   `api.rate_limited`, and a blocked address's requests are `api.forbidden` (`403`), all
//!   with the client address as `actor.ip`;
//! - `bulk_decryption` is a shared rule's refusal: the limits that guard decryption and export
//!   across nodes (API.md's rate limits).

use super::{RuleSet, RuleSetDocument};

/// The default rules as JSON (the stored and documented form).
pub const DEFAULT_RULES_JSON: &str = r#"{"rules": [
  {"name": "failed_logins", "match": {"action": "auth.login", "status": "failure"},
   "group_by": ["actor.id", "resource.id"], "threshold": 5, "window_seconds": 300,
   "severity": "medium", "open_incident": false, "enabled": true},
  {"name": "unauthorized_access", "match": {"status": "denied"},
   "group_by": ["actor.id"], "threshold": 1, "window_seconds": 300,
   "severity": "low", "open_incident": false, "enabled": true},
  {"name": "suspicious_requests",
   "match": {"action": ["security.rate_limited", "api.rate_limited", "api.forbidden"], "status": "denied"},
   "group_by": ["actor.ip"], "threshold": 10, "window_seconds": 300,
   "severity": "medium", "open_incident": false, "enabled": true},
  {"name": "privileged_actions",
   "match": {"action": ["action.executed", "user.deleted", "principals.delete", "retention.changed",
                        "policy.update", "master_key.rotate"]},
   "group_by": ["actor.id"], "threshold": 1, "window_seconds": 300,
   "severity": "high", "open_incident": false, "enabled": true},
  {"name": "bulk_decryption",
   "match": {"action": "security.rate_limited", "details": {"shared": true}},
   "group_by": ["resource.id", "actor.id"], "threshold": 1, "window_seconds": 300,
   "severity": "high", "open_incident": true, "enabled": true}
]}"#;

impl RuleSet {
    /// The rules in force when none are configured (see the module documentation).
    #[must_use]
    pub fn defaults() -> Self {
        // A test holds this document valid; an empty set is the fail-safe if it ever were not.
        serde_json::from_str::<RuleSetDocument>(DEFAULT_RULES_JSON)
            .ok()
            .and_then(|document| Self::from_document(&document).ok())
            .unwrap_or_default()
    }
}
