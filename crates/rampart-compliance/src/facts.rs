//! Facts: what the app layer gathered from the running deployment, each under a name from
//! [`catalog`], with its value and where it came from. Controls judge facts, never constants;
//! a fact that was not gathered makes a control `manual`, never `pass`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// The name and human title of a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactKey {
    /// Stable machine name, e.g. `admins_without_mfa`.
    pub name: &'static str,
    /// What a reader sees, e.g. "admins without MFA".
    pub title: &'static str,
}

/// One gathered fact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// Machine name (a [`FactKey::name`]).
    pub name: &'static str,
    /// Human title.
    pub title: &'static str,
    /// The value, as read from the deployment.
    pub value: Value,
    /// Where it was read: a store table, a setting, a verification.
    pub source: String,
}

/// Every fact gathered for one evaluation, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    facts: BTreeMap<&'static str, Fact>,
}

impl Facts {
    /// No facts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `key` with `value`, read from `source` (replacing any earlier value).
    pub fn insert(&mut self, key: FactKey, value: impl Into<Value>, source: impl Into<String>) {
        self.facts.insert(
            key.name,
            Fact {
                name: key.name,
                title: key.title,
                value: value.into(),
                source: source.into(),
            },
        );
    }

    /// The fact `key`, if gathered.
    pub fn get(&self, key: FactKey) -> Option<&Fact> {
        self.facts.get(key.name)
    }

    /// The value of `key`, if gathered.
    pub fn value(&self, key: FactKey) -> Option<&Value> {
        self.get(key).map(|f| &f.value)
    }

    /// `key` as a boolean, if gathered as one.
    pub fn bool(&self, key: FactKey) -> Option<bool> {
        self.value(key).and_then(Value::as_bool)
    }

    /// `key` as a non-negative integer, if gathered as one.
    pub fn u64(&self, key: FactKey) -> Option<u64> {
        self.value(key).and_then(Value::as_u64)
    }

    /// `key` as text, if gathered as a string.
    pub fn text(&self, key: FactKey) -> Option<&str> {
        self.value(key).and_then(Value::as_str)
    }

    /// `key` as a list, if gathered as an array.
    pub fn list(&self, key: FactKey) -> Option<&Vec<Value>> {
        self.value(key).and_then(Value::as_array)
    }

    /// Every fact, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Fact> {
        self.facts.values()
    }

    /// How many facts were gathered.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }
}

macro_rules! catalog {
    ($( $(#[doc = $doc:literal])* $konst:ident = $name:literal, $title:literal; )*) => {
        /// Every fact the app layer gathers, by name. Values are JSON; each entry says its shape.
        pub mod catalog {
            use super::FactKey;
            $(
                $(#[doc = $doc])*
                pub const $konst: FactKey = FactKey { name: $name, title: $title };
            )*
            /// Every fact key, in catalog order.
            pub const ALL: &[FactKey] = &[$( $konst, )*];
        }
    };
}

catalog! {
    /// Text: where the master key comes from (`file`, `environment`, `credentials`, ...).
    MASTER_KEY_SOURCE = "master_key_source", "master key source";
    /// Bool: whether the HTTP listener serves TLS.
    TLS_ENABLED = "tls_enabled", "TLS on the API listener";
    /// List of text: the TLS protocol versions the listener accepts (empty without TLS).
    TLS_VERSIONS = "tls_versions", "TLS protocol versions accepted";
    /// Bool: whether clients must present a certificate (mTLS).
    MTLS_REQUIRED = "mtls_required", "client certificates required (mTLS)";
    /// Text: the listen address.
    LISTEN_ADDRESS = "listen_address", "listen address";
    /// Count: named keys.
    KEYS_TOTAL = "keys_total", "named keys";
    /// List of text: keys whose latest version is older than their rotation period.
    KEYS_PAST_ROTATION = "keys_past_rotation", "keys past their rotation period";
    /// List of text: keys with no rotation period.
    KEYS_WITHOUT_ROTATION_PERIOD = "keys_without_rotation_period", "keys without a rotation period";
    /// Count: tokenized cards stored.
    CARDS_STORED = "cards_stored", "cards stored in the vault";
    /// List of text: enabled principals whose roles grant `cards:detokenize`.
    DETOKENIZE_HOLDERS = "detokenize_holders", "principals who may detokenize cards";
    /// Count: tokenization requests refused (card security codes and PINs are among them).
    CARD_REFUSALS = "card_tokenize_refusals", "tokenization requests refused (incl. CVV/PIN fields)";
    /// Bool: whether the vault refuses card security codes and PINs (checked against the live
    /// request rules).
    CVV_REFUSED = "cvv_refused", "card security codes refused by the vault";
    /// List of text: enabled principals with the `admin` role or a role granting `roles:manage`
    /// or `users:manage` (which can grant anything).
    ADMINS = "admins", "administrators";
    /// List of text: administrators (as [`ADMINS`]) who log in with a password and have no
    /// confirmed second factor (API-key-only principals do not log in interactively).
    ADMINS_WITHOUT_MFA = "admins_without_mfa", "admins without MFA";
    /// List of text: enabled principals with a password and without a confirmed second factor.
    USERS_WITHOUT_MFA = "users_without_mfa", "password users without MFA";
    /// List of text: roles marked `mfa_required` in the role policy.
    MFA_REQUIRED_ROLES = "mfa_required_roles", "roles requiring MFA";
    /// Count: enabled principals.
    PRINCIPALS_ENABLED = "principals_enabled", "enabled principals";
    /// Object: `{min_length, require_upper, require_lower, require_digit, require_symbol,
    /// argon2_memory_kib, argon2_iterations, argon2_parallelism}`.
    PASSWORD_POLICY = "password_policy", "password policy";
    /// Object: `{max_login_attempts, lockout_seconds, account_lockout_failures}`.
    LOCKOUT = "lockout", "login lockout settings";
    /// Object: `{session_ttl_seconds, session_idle_seconds}`.
    SESSIONS = "sessions", "session lifetime and idle timeout";
    /// List of text: active API keys created more than 90 days ago.
    API_KEYS_OLDER_THAN_90_DAYS = "api_keys_older_than_90_days", "API keys older than 90 days";
    /// List of text: active API keys not used for 90 days (never used ones count from creation).
    API_KEYS_UNUSED_90_DAYS = "api_keys_unused_90_days", "API keys unused for 90 days";
    /// List of text: active API keys without an expiry.
    API_KEYS_WITHOUT_EXPIRY = "api_keys_without_expiry", "API keys without expiry";
    /// Count: active API keys.
    API_KEYS_ACTIVE = "api_keys_active", "active API keys";
    /// Object: `{source, version, roles, team_isolated_roles}` of the role policy in force.
    ROLE_POLICY = "role_policy", "role policy in force";
    /// Object: `{ok, tree_size, root_hash, checked_entries, from_tree_size, problems}`: the audit
    /// log verified from the last verified checkpoint.
    AUDIT_VERIFICATION = "audit_verification", "audit log verification";
    /// Text or null: when the audit log was last verified in full (every entry re-hashed).
    AUDIT_LAST_FULL_VERIFICATION = "audit_last_full_verification", "last full audit verification";
    /// Count or null: seconds since the latest signed checkpoint.
    AUDIT_CHECKPOINT_AGE_SECONDS = "audit_checkpoint_age_seconds", "age of the latest signed checkpoint (s)";
    /// List of objects `{data_type, mode, retain_seconds}`: retention policies.
    RETENTION_POLICIES = "retention_policies", "retention policies";
    /// Count or null: how long audit entries are kept (null: forever, no policy).
    AUDIT_RETENTION_SECONDS = "audit_retention_seconds", "audit log retention (s; null: forever)";
    /// List of text: legal holds in force.
    LEGAL_HOLDS = "legal_holds", "legal holds in force";
    /// Object or null: the latest disposal run `{id, state, started_at, finished_at}`.
    RETENTION_LAST_RUN = "retention_last_run", "latest disposal run";
    /// Object: `{rules, per_address_per_second, auth_per_minute}`.
    RATE_LIMITS = "rate_limits", "rate limits in force";
    /// Bool: whether addresses are blocked automatically after repeated failures.
    AUTO_BLOCKING = "auto_blocking", "automatic blocking of abusive addresses";
    /// List of text: detection rules in force.
    DETECTION_RULES = "detection_rules", "detection rules in force";
    /// Count: webhook endpoints enabled (alert and incident notification).
    WEBHOOK_ENDPOINTS = "webhook_endpoints", "webhook endpoints enabled";
    /// Count: incidents not closed.
    OPEN_INCIDENTS = "open_incidents", "open incidents";
    /// List of text: open incidents past their deadline.
    INCIDENTS_PAST_DEADLINE = "incidents_past_deadline", "open incidents past deadline";
    /// Object: `{consents, subjects, erasures}`: consent and erasure records.
    SUBJECT_RECORDS = "subject_records", "consent and erasure records";
    /// Bool: whether personal data is sealed per subject so erasure destroys one key.
    ERASURE_CAPABLE = "erasure_capable", "erasure by destroying a subject's key";
    /// List of text: agents (principals owned by another) without guardrails.
    AGENTS_WITHOUT_GUARDRAILS = "agents_without_guardrails", "AI agents without guardrails";
    /// Count: agents with guardrails.
    AGENTS_WITH_GUARDRAILS = "agents_with_guardrails", "AI agents with guardrails";
    /// Text: the `compliance_tags`-free summary of the PII policy (`default` or a file).
    PII_POLICY = "pii_policy", "PII redaction policy";
    /// List of text: enabled principals with no login and no API-key use for 90 days (never
    /// used ones count from creation).
    PRINCIPALS_INACTIVE_90_DAYS = "principals_inactive_90_days", "principals inactive for 90 days";
    /// Object `{allow, deny}`: the address rules in force (`GET /v1/ip-rules`), each a list of
    /// CIDRs (an empty `allow` lets every address in).
    IP_RULES = "ip_rules", "address allow and deny rules";
}
