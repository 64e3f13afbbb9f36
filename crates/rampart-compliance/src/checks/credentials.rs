//! Who holds access: API keys, dormant principals, administrators, roles and AI agents.

use serde_json::Value;

use super::{Read, counted, each_of, fail, judge, manual, names, none_of, not_applicable, pass};
use crate::control::Judgment;
use crate::facts::{FactKey, Facts, catalog};

/// Judges one list of API keys (`listed`, active keys with a flaw) against the active count:
/// not applicable without active keys, `fail` naming them when any is listed.
fn api_keys(facts: &Facts, listed: FactKey, flaw: &'static str) -> Judgment {
    judge(facts, &[catalog::API_KEYS_ACTIVE, listed], |read| {
        let active = read.count(catalog::API_KEYS_ACTIVE)?;
        let keys = read.names(listed)?;
        if !keys.is_empty() {
            return fail(format!(
                "{} {flaw}: {}",
                counted(keys.len(), "active API key is", "active API keys are"),
                names(&keys)
            ));
        }
        if active == 0 {
            return not_applicable("there is no active API key");
        }
        pass(format!(
            "{} {flaw}",
            none_of(active, "active API key", "active API keys")
        ))
    })
}

/// No active API key is older than 90 days (application credentials are rotated).
pub(crate) fn api_keys_rotated_90d(facts: &Facts) -> Judgment {
    api_keys(
        facts,
        catalog::API_KEYS_OLDER_THAN_90_DAYS,
        "older than 90 days",
    )
}

/// No active API key went unused for 90 days.
pub(crate) fn api_keys_used_90d(facts: &Facts) -> Judgment {
    api_keys(
        facts,
        catalog::API_KEYS_UNUSED_90_DAYS,
        "unused for 90 days",
    )
}

/// Every active API key has an expiry.
pub(crate) fn api_keys_expire(facts: &Facts) -> Judgment {
    api_keys(facts, catalog::API_KEYS_WITHOUT_EXPIRY, "without an expiry")
}

/// No enabled principal has been inactive (no login, no API-key use) for 90 days.
pub(crate) fn principals_active_90d(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::PRINCIPALS_ENABLED,
            catalog::PRINCIPALS_INACTIVE_90_DAYS,
        ],
        |read| {
            let enabled = read.count(catalog::PRINCIPALS_ENABLED)?;
            let inactive = read.names(catalog::PRINCIPALS_INACTIVE_90_DAYS)?;
            if inactive.is_empty() {
                pass(format!(
                    "{} was active within 90 days",
                    each_of(enabled, "enabled principal", "enabled principals")
                ))
            } else {
                fail(format!(
                    "{} enabled though inactive for 90 days: {}",
                    counted(inactive.len(), "principal is", "principals are"),
                    names(&inactive)
                ))
            }
        },
    )
}

/// Most administrators Rampart accepts without a person's review: a primary and a deputy.
const ADMINS_WITHOUT_REVIEW: usize = 2;

/// Few principals hold every permission: at most two pass; more need a person's review.
pub(crate) fn admins_few(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::ADMINS, catalog::PRINCIPALS_ENABLED],
        |read| {
            let admins = read.names(catalog::ADMINS)?;
            let enabled = read.count(catalog::PRINCIPALS_ENABLED)?;
            let of = counted(enabled, "enabled principal", "enabled principals");
            if admins.len() <= ADMINS_WITHOUT_REVIEW {
                pass(format!(
                    "{} of the {of} {} every permission",
                    admins.len(),
                    if admins.len() == 1 { "holds" } else { "hold" }
                ))
            } else {
                manual(format!(
                    "review that these {} administrators (of the {of}) need every permission: {}",
                    admins.len(),
                    names(&admins)
                ))
            }
        },
    )
}

/// The names of the role policy's `roles` (a list of names, or the keys of an object); a
/// policy without roles is unreadable.
pub(crate) fn role_names<'a>(read: &Read<'a>) -> Result<Vec<&'a str>, Judgment> {
    let roles: Vec<&str> = match read.object(catalog::ROLE_POLICY)?.get("roles") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::Object(map)) => map.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    if roles.is_empty() {
        return Err(read.unreadable(catalog::ROLE_POLICY, "an object listing its `roles`"));
    }
    Ok(roles)
}

/// The role policy keeps some roles within their teams (not every role bypasses isolation).
pub(crate) fn role_policy_isolation(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::ROLE_POLICY], |read| {
        let policy = read.object(catalog::ROLE_POLICY)?;
        let source = policy.text("source")?;
        let isolated = policy.names("team_isolated_roles")?;
        let roles = role_names(read)?;
        if isolated.is_empty() {
            return fail(format!(
                "every role of the policy from {source} bypasses team isolation: {}",
                names(&roles)
            ));
        }
        pass(format!(
            "the role policy from {source} keeps {} of its {} roles within their teams: {}",
            isolated.len(),
            roles.len(),
            names(&isolated)
        ))
    })
}

/// Every AI agent has guardrails; not applicable without agents.
pub(crate) fn agents_governed(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::AGENTS_WITH_GUARDRAILS,
            catalog::AGENTS_WITHOUT_GUARDRAILS,
        ],
        |read| {
            let governed = read.count(catalog::AGENTS_WITH_GUARDRAILS)?;
            let ungoverned = read.names(catalog::AGENTS_WITHOUT_GUARDRAILS)?;
            if !ungoverned.is_empty() {
                return fail(format!(
                    "{} no guardrails: {}",
                    counted(ungoverned.len(), "AI agent has", "AI agents have"),
                    names(&ungoverned)
                ));
            }
            if governed == 0 {
                return not_applicable("there is no AI agent");
            }
            pass(format!(
                "{} has guardrails",
                each_of(governed, "AI agent", "AI agents")
            ))
        },
    )
}
