//! Security operations: detection rules and their notifications, incidents, rate limits and
//! blocking at the edge.

use serde_json::Value;

use super::{Read, Verdict, counted, fail, judge, manual, names, none_of, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// The default rule that watches failed logins.
const FAILED_LOGINS_RULE: &str = "failed_logins";

/// Detection rules and webhook endpoints: `Err` of a failing verdict when either is absent.
fn alerting<'a>(read: &Read<'a>) -> Result<(Vec<&'a str>, u64), Verdict> {
    let rules = read.names(catalog::DETECTION_RULES).map_err(Err)?;
    let endpoints = read.count(catalog::WEBHOOK_ENDPOINTS).map_err(Err)?;
    if rules.is_empty() {
        return Err(fail("no detection rule is in force"));
    }
    if endpoints == 0 {
        return Err(fail(format!(
            "{} in force but no webhook endpoint is enabled, so alerts and incidents notify \
             nobody",
            counted(rules.len(), "detection rule is", "detection rules are")
        )));
    }
    Ok((rules, endpoints))
}

/// Audit entries are reviewed automatically: detection rules in force, notifying at least one
/// webhook endpoint.
pub(crate) fn detection_and_alerting(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::DETECTION_RULES, catalog::WEBHOOK_ENDPOINTS],
        |read| {
            let (rules, endpoints) = match alerting(read) {
                Ok(found) => found,
                Err(verdict) => return verdict,
            };
            pass(format!(
                "{} ({}) notify {}",
                counted(rules.len(), "detection rule", "detection rules"),
                names(&rules),
                counted(endpoints, "webhook endpoint", "webhook endpoints")
            ))
        },
    )
}

/// Log-in attempts are monitored: the `failed_logins` rule in force, notifying a webhook.
pub(crate) fn login_monitoring(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::DETECTION_RULES, catalog::WEBHOOK_ENDPOINTS],
        |read| {
            let (rules, endpoints) = match alerting(read) {
                Ok(found) => found,
                Err(verdict) => return verdict,
            };
            if !rules.contains(&FAILED_LOGINS_RULE) {
                return manual(format!(
                    "no detection rule is named {FAILED_LOGINS_RULE}: check that one of {} \
                     watches failed logins",
                    names(&rules)
                ));
            }
            pass(format!(
                "the {FAILED_LOGINS_RULE} rule watches failed logins and notifies {}",
                counted(endpoints, "webhook endpoint", "webhook endpoints")
            ))
        },
    )
}

/// No open incident is past its deadline (escalation, or the 72 h notification deadline of a
/// personal-data breach).
pub(crate) fn incidents_on_time(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::OPEN_INCIDENTS, catalog::INCIDENTS_PAST_DEADLINE],
        |read| {
            let open = read.count(catalog::OPEN_INCIDENTS)?;
            let late = read.names(catalog::INCIDENTS_PAST_DEADLINE)?;
            if late.is_empty() {
                if open == 0 {
                    return pass("no incident is open");
                }
                pass(format!(
                    "{} past its deadline",
                    none_of(open, "open incident", "open incidents")
                ))
            } else {
                fail(format!(
                    "{} past {} deadline: {}",
                    counted(late.len(), "open incident is", "open incidents are"),
                    if late.len() == 1 { "its" } else { "their" },
                    names(&late)
                ))
            }
        },
    )
}

/// Whether a rate-limit rule counts unauthenticated requests by address (or globally): a rule
/// object keyed `ip` or `global` that does not apply to authenticated requests only.
fn edge_rule(rule: &Value) -> bool {
    let key = rule.get("key").and_then(Value::as_str).unwrap_or("ip");
    let applies_to = rule
        .get("applies_to")
        .and_then(Value::as_str)
        .unwrap_or("all");
    matches!(key, "ip" | "global") && applies_to != "authenticated"
}

/// Requests are rate limited before authentication: a rule on unauthenticated traffic by
/// address, and logins limited per address.
pub(crate) fn rate_limited_edge(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::RATE_LIMITS], |read| {
        let limits = read.object(catalog::RATE_LIMITS)?;
        let auth_per_minute = limits.u64("auth_per_minute")?;
        let rules = limits
            .get("rules")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                read.unreadable(catalog::RATE_LIMITS, "an object with a list `rules`")
            })?;
        let edge: Vec<&str> = rules
            .iter()
            .filter(|r| edge_rule(r))
            .map(|r| {
                r.as_str()
                    .or_else(|| r.get("name").and_then(Value::as_str))
                    .unwrap_or("(unnamed)")
            })
            .collect();
        if rules.is_empty() {
            return fail("no rate-limit rule is in force");
        }
        if edge.is_empty() {
            return fail(format!(
                "none of the {} limits unauthenticated requests by address",
                counted(rules.len(), "rate-limit rule", "rate-limit rules")
            ));
        }
        if auth_per_minute == 0 {
            return fail("logins are not rate limited");
        }
        pass(format!(
            "unauthenticated requests are limited by {} and logins to {auth_per_minute} a \
             minute per address",
            names(&edge)
        ))
    })
}

/// Addresses with repeated failures are blocked automatically.
pub(crate) fn abusive_addresses_blocked(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::AUTO_BLOCKING], |read| {
        if read.flag(catalog::AUTO_BLOCKING)? {
            pass("addresses with repeated authentication failures are blocked automatically")
        } else {
            fail("addresses are never blocked automatically, whatever their failures")
        }
    })
}
