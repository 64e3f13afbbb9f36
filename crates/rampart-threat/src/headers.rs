//! The rate-limit response headers: `RateLimit-Policy` and `RateLimit` as
//! draft-ietf-httpapi-ratelimit-headers-11 (May 2026) defines them, and `Retry-After`.
//!
//! Each is a Structured Fields list with one item per rule, named by the rule:
//! `RateLimit-Policy: "api-per-ip";q=100;w=60` (quota `q` per window `w` seconds) and
//! `RateLimit: "api-per-ip";r=0;t=30` (`r` left now; `t` the seconds within which no more
//! than `r` can be used). Rule names are restricted to `A-Z a-z 0-9 . _ -`, so they need no
//! escaping; the writer escapes `"` and `\` all the same.

use std::fmt::Write as _;
use std::time::Duration;

use crate::limiter::Decision;
use crate::rules::Rule;

/// The `RateLimit-Policy` value for the rules that applied to a request.
#[must_use]
pub fn rate_limit_policy_header<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> String {
    let mut value = String::new();
    for rule in rules {
        separate(&mut value);
        sf_string(&mut value, rule.name());
        let _ = write!(value, ";q={};w={}", rule.limit(), rule.window_seconds());
    }
    value
}

/// The `RateLimit` value for the decisions of the rules that applied to a request. With quota
/// left, `t` is the time until the bucket is full again (or the shared window ends); with none,
/// the time until the next request would be allowed.
#[must_use]
pub fn rate_limit_header<'a>(items: impl IntoIterator<Item = (&'a Rule, &'a Decision)>) -> String {
    let mut value = String::new();
    for (rule, decision) in items {
        let t = if decision.remaining == 0 {
            retry_after_seconds(decision.retry_after)
        } else {
            ceil_seconds(decision.reset_after)
        };
        separate(&mut value);
        sf_string(&mut value, rule.name());
        let _ = write!(value, ";r={};t={t}", decision.remaining);
    }
    value
}

/// The `Retry-After` value in seconds for a wait: rounded up, and at least 1 (a client told 0
/// would come straight back).
#[must_use]
pub fn retry_after_seconds(wait: Duration) -> u64 {
    ceil_seconds(wait).max(1)
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

fn separate(value: &mut String) {
    if !value.is_empty() {
        value.push_str(", ");
    }
}

fn sf_string(value: &mut String, text: &str) {
    value.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            value.push('\\');
        }
        value.push(c);
    }
    value.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn rules() -> RuleSet {
        RuleSet::parse_json(
            r#"{"rules": [
              {"name": "api-per-ip", "key": "ip", "match": ["*"], "limit": 100, "window_seconds": 60, "burst": 20},
              {"name": "decrypt", "key": "principal", "match": ["keys:decrypt"], "limit": 1000, "window_seconds": 3600, "shared": true}
            ]}"#,
        )
        .expect("valid rules")
    }

    #[test]
    fn policy_lists_each_rule_with_quota_and_window() {
        let set = rules();
        assert_eq!(
            rate_limit_policy_header(set.rules()),
            r#""api-per-ip";q=100;w=60, "decrypt";q=1000;w=3600"#
        );
    }

    #[test]
    fn ratelimit_reports_remaining_and_time() {
        let set = rules();
        let left = Decision {
            allowed: true,
            limit: 100,
            remaining: 7,
            reset_after: Duration::from_millis(7_800),
            retry_after: Duration::ZERO,
        };
        let none = Decision {
            allowed: false,
            limit: 1000,
            remaining: 0,
            reset_after: Duration::from_secs(1_000),
            retry_after: Duration::from_millis(29_001),
        };
        let rules = set.rules();
        assert_eq!(
            rate_limit_header([(&rules[0], &left), (&rules[1], &none)]),
            r#""api-per-ip";r=7;t=8, "decrypt";r=0;t=30"#
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3_600)), 3_600);
    }

    #[test]
    fn strings_are_escaped() {
        let mut value = String::new();
        sf_string(&mut value, r#"a"b\c"#);
        assert_eq!(value, r#""a\"b\\c""#);
    }
}
