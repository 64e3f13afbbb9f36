//! Rate-limit rules: what a rule is (`name`, `key`, `match`, `limit`, `window_seconds`, `burst`,
//! `shared`, `applies_to`, as API.md's "Threat protection" has them), which rules a request
//! falls under, and the bucket it counts against.
//!
//! A [`RuleSet`] is only made from a validated document ([`RuleSet::parse_json`],
//! [`RuleSet::parse_yaml`], [`RuleSet::from_document`]), so the limiter and the server trust its
//! rules. Checking a request is a walk over at most [`MAX_RULES`] rules, each comparing strings:
//! no allocation until a rule matches and its bucket key is made.

mod document;
#[cfg(test)]
mod matching_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use document::{RuleDocument, RuleSetDocument};

use crate::address::canonical;

/// Most rules in a set.
pub const MAX_RULES: usize = 256;
/// Most entries in a rule's `match`.
pub const MAX_MATCH_ENTRIES: usize = 64;
/// Longest rule name (names appear in response headers, metrics and audit entries).
pub const MAX_RULE_NAME_LEN: usize = 64;

/// What a rule counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKey {
    /// The client address (IPv4 exactly, IPv6 by its /64).
    Ip,
    /// The authenticated principal; the rule skips requests without one.
    Principal,
    /// The credential presented (API key or session); the rule skips requests without one.
    Credential,
    /// One bucket for every request the rule matches.
    Global,
}

/// Which requests a rule considers, by whether they carried a valid credential.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppliesTo {
    /// Every request (the default).
    #[default]
    All,
    /// Requests with a valid credential.
    Authenticated,
    /// Requests without one.
    Unauthenticated,
}

/// One entry of a rule's `match`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Matcher {
    /// `*`: every request.
    Any,
    /// A permission name (`keys:decrypt`): requests to routes that require exactly it.
    Permission(String),
    /// `METHOD /path`: requests with this method whose path is the prefix or continues it at a
    /// `/` (`/v1/keys` matches `/v1/keys` and `/v1/keys/x`, not `/v1/keysx`).
    Route {
        /// The method, upper case.
        method: String,
        /// The path prefix, without a trailing `/` (except the root `/`).
        prefix: String,
    },
}

impl Matcher {
    /// Whether a request falls under this entry.
    #[must_use]
    pub fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        match self {
            Self::Any => true,
            Self::Permission(permission) => facts.permission == Some(permission.as_str()),
            Self::Route { method, prefix } => {
                facts.method == method && path_has_prefix(facts.path, prefix)
            }
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Permission(permission) => f.write_str(permission),
            Self::Route { method, prefix } => write!(f, "{method} {prefix}"),
        }
    }
}

/// Whether `path` is `prefix` or continues it at a segment boundary.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// What the rules need to know of a request, gathered by the server before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// The HTTP method, upper case.
    pub method: &'a str,
    /// The request path, without the query.
    pub path: &'a str,
    /// The permission the route requires, if any.
    pub permission: Option<&'a str>,
    /// Whether the request carried a valid credential.
    pub authenticated: bool,
    /// The client address (after trusted-proxy resolution).
    pub address: IpAddr,
    /// The authenticated principal's id.
    pub principal: Option<Uuid>,
    /// The id of the credential presented (API key id or session id).
    pub credential: Option<Uuid>,
}

/// Who a request counts as under every rule of one key kind: the kind and a fixed-size value
/// (the address, IPv6 by its /64; the principal or credential id; nothing for `global`). The
/// per-node limiter keys its buckets by it (no text made per request); [`Subject::bucket_key`]
/// is its text, as shared rules store it and refusals name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    kind: RuleKey,
    value: u128,
}

/// IPv4 addresses as subjects: in the IPv4-mapped range, apart from every IPv6 /64 but `::/64`
/// itself, which holds no IPv4-mapped address once [`canonical`] has run.
const IPV4_MAPPED: u128 = 0xffff_0000_0000;

/// An address as a subject's value: IPv4 (and IPv4-mapped IPv6) exactly, IPv6 by its /64.
fn address_value(address: IpAddr) -> u128 {
    match canonical(address) {
        IpAddr::V4(v4) => IPV4_MAPPED | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) & (u128::MAX << 64),
    }
}

impl Subject {
    /// The subject of a request under rules keyed by `kind`; `None` when the request has no
    /// such key (a rule keyed by principal and an unauthenticated request).
    #[must_use]
    pub fn of(kind: RuleKey, facts: &RequestFacts<'_>) -> Option<Self> {
        let value = match kind {
            RuleKey::Ip => address_value(facts.address),
            RuleKey::Global => 0,
            RuleKey::Principal => facts.principal.filter(|_| facts.authenticated)?.as_u128(),
            RuleKey::Credential => facts.credential.filter(|_| facts.authenticated)?.as_u128(),
        };
        Some(Self { kind, value })
    }

    /// The subject of a client address under rules keyed by `ip`.
    #[must_use]
    pub fn address(address: IpAddr) -> Self {
        Self {
            kind: RuleKey::Ip,
            value: address_value(address),
        }
    }

    /// The key kind.
    #[must_use]
    pub fn kind(&self) -> RuleKey {
        self.kind
    }

    /// The subject's text: `ip:203.0.113.9`, `ip:2001:db8:1:2::/64`, `principal:<id>`,
    /// `credential:<id>` or `global`.
    #[must_use]
    pub fn bucket_key(&self) -> BucketKey {
        let text = match self.kind {
            RuleKey::Ip if self.value >> 32 == IPV4_MAPPED >> 32 => {
                let v4 =
                    std::net::Ipv4Addr::from(u32::try_from(self.value & 0xffff_ffff).unwrap_or(0));
                format!("ip:{v4}")
            }
            RuleKey::Ip => format!("ip:{}/64", std::net::Ipv6Addr::from(self.value)),
            RuleKey::Global => "global".to_owned(),
            RuleKey::Principal => format!("principal:{}", Uuid::from_u128(self.value)),
            RuleKey::Credential => format!("credential:{}", Uuid::from_u128(self.value)),
        };
        BucketKey(text.into())
    }
}

/// The bucket a request counts against under one rule: `ip:203.0.113.9`,
/// `ip:2001:db8:1:2::/64`, `principal:<id>`, `credential:<id>` or `global`.
///
/// Cheap to clone (shared text): one request's key is named by every rule of its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketKey(std::sync::Arc<str>);

impl BucketKey {
    /// The key's text, as stored and shown.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bucket of a client address: IPv4 (and IPv4-mapped IPv6) exactly, IPv6 by its /64,
    /// the block a single subscriber is usually given, so one client cannot spread its
    /// requests over its own addresses.
    #[must_use]
    pub fn for_address(address: IpAddr) -> Self {
        Subject::address(address).bucket_key()
    }
}

impl fmt::Display for BucketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated rate-limit rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    name: String,
    key: RuleKey,
    matchers: Vec<Matcher>,
    limit: u32,
    window_seconds: u32,
    burst: u32,
    shared: bool,
    applies_to: AppliesTo,
}

impl Rule {
    /// The rule's name, unique in its set.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the rule counts by.
    #[must_use]
    pub fn key(&self) -> RuleKey {
        self.key
    }

    /// The rule's `match` entries.
    #[must_use]
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// Requests allowed per window.
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window, in seconds.
    #[must_use]
    pub fn window_seconds(&self) -> u32 {
        self.window_seconds
    }

    /// The window.
    #[must_use]
    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_seconds))
    }

    /// How many requests may come at once (the bucket's capacity) for a per-node rule; a
    /// shared rule counts a fixed window and has none.
    #[must_use]
    pub fn burst(&self) -> Option<u32> {
        (!self.shared).then_some(self.burst)
    }

    /// Whether the rule is counted in the database across nodes.
    #[must_use]
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// Which requests the rule considers.
    #[must_use]
    pub fn applies_to(&self) -> AppliesTo {
        self.applies_to
    }

    /// Whether a request falls under this rule: the right kind of request, a key the request
    /// has, and a `match` entry.
    #[must_use]
    pub fn applies(&self, facts: &RequestFacts<'_>) -> bool {
        let kind = match self.applies_to {
            AppliesTo::All => true,
            AppliesTo::Authenticated => facts.authenticated,
            AppliesTo::Unauthenticated => !facts.authenticated,
        };
        let keyed = match self.key {
            RuleKey::Ip | RuleKey::Global => true,
            RuleKey::Principal => facts.authenticated && facts.principal.is_some(),
            RuleKey::Credential => facts.authenticated && facts.credential.is_some(),
        };
        kind && keyed && self.matchers.iter().any(|m| m.matches(facts))
    }

    /// The bucket a request counts against under this rule; `None` when the request has no
    /// such key (a rule keyed by principal and an unauthenticated request).
    #[must_use]
    pub fn bucket_key(&self, facts: &RequestFacts<'_>) -> Option<BucketKey> {
        Subject::of(self.key, facts).map(|subject| subject.bucket_key())
    }
}

/// A validated set of rate-limit rules, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules in force when none are configured (API.md): 100 requests per minute per
    /// address with a burst of 20, for unauthenticated requests on every route; none on
    /// authenticated traffic (logins keep their own limits).
    #[must_use]
    pub fn defaults() -> Self {
        Self {
            rules: vec![Rule {
                name: "unauthenticated-per-address".to_owned(),
                key: RuleKey::Ip,
                matchers: vec![Matcher::Any],
                limit: 100,
                window_seconds: 60,
                burst: 20,
                shared: false,
                applies_to: AppliesTo::Unauthenticated,
            }],
        }
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    #[must_use]
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.name == name)
    }

    /// Whether the set has no rules.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules a request falls under, in order.
    pub fn matching<'s, 'f>(
        &'s self,
        facts: &'f RequestFacts<'f>,
    ) -> impl Iterator<Item = &'s Rule> + use<'s, 'f> {
        self.rules.iter().filter(move |rule| rule.applies(facts))
    }

    /// The rules a request falls under, each with the bucket it counts against.
    pub fn buckets<'s, 'f>(
        &'s self,
        facts: &'f RequestFacts<'f>,
    ) -> impl Iterator<Item = (&'s Rule, BucketKey)> + use<'s, 'f> {
        self.matching(facts)
            .filter_map(move |rule| rule.bucket_key(facts).map(|key| (rule, key)))
    }
}
