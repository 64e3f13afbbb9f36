//! What [`super::ThreatGuard`] answers: where the rules come from, refusals before
//! authentication, each rule's count of a request, and why a change was not made.

use std::sync::Arc;

use crate::blocks::Block;
use crate::limiter::Decision;
use crate::rules::Rule;

/// Where the rate-limit rules in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesSource {
    /// The built-in defaults (nothing stored, no file).
    Default,
    /// Set through the API (stored).
    Api,
    /// The `rate_limits_file` setting, which wins over the API.
    File,
}

impl RulesSource {
    /// `default`, `api` or `file`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Api => "api",
            Self::File => "file",
        }
    }
}

/// Why a request is refused before its handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address rules refuse the address (`403`).
    AddressDenied,
    /// The address is blocked (`403`, `address-blocked`).
    Blocked(Block),
}

/// One rule's answer for a request that the rule counted.
#[derive(Debug, Clone)]
pub struct Counted {
    /// The rule (shared with the rules in force: counting copies no rule).
    pub rule: Arc<Rule>,
    /// The rule's position in its set.
    pub index: usize,
    /// Its decision.
    pub decision: Decision,
    /// Whether this is the first refusal of this bucket and rule in the rule's window (the
    /// one to audit: at most one audit entry per key and rule per window).
    pub first_refusal: bool,
}

/// The rate-limit answers for one request: the first rule (in rule order) that refused it, if
/// any, and the rule closest to its limit (what the response's headers name).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    refused: Option<Counted>,
    closest: Option<Counted>,
    counted: usize,
}

impl Limits {
    /// The first rule that refused the request.
    #[must_use]
    pub fn refused(&self) -> Option<&Counted> {
        self.refused.as_ref()
    }

    /// The rule that refused the request, else the one with the least share of its quota left
    /// (the first in rule order among equals); `None` when no rule counted the request.
    #[must_use]
    pub fn closest(&self) -> Option<&Counted> {
        self.refused.as_ref().or(self.closest.as_ref())
    }

    /// How many rules counted the request.
    #[must_use]
    pub fn counted(&self) -> usize {
        self.counted
    }

    /// The answers: the refusal, else the rule closest to its limit; how many rules counted.
    pub(super) fn new(refused: Option<Counted>, closest: Option<Counted>, counted: usize) -> Self {
        Self {
            refused,
            closest,
            counted,
        }
    }
}

/// Why a change to the rules was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E: std::error::Error + 'static> {
    /// The rules come from `rate_limits_file`; the API cannot change them.
    #[error("the rate-limit rules come from the rate_limits_file setting; change that file")]
    FromFile,
    /// Another change came first (the stored version moved); read and try again.
    #[error("the rules changed meanwhile; read them again and retry")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Store(E),
}
