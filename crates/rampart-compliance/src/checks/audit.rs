//! The audit log: integrity, signed checkpoints, and how long entries are kept.

use serde_json::Value;

use super::retention::policies;
use super::{Read, age, duration, fail, judge, manual, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

const DAY: u64 = 24 * 60 * 60;
/// Twelve months, in days: the longest such span (one with a leap day).
const ONE_YEAR_DAYS: u64 = 366;
/// Five years, in days: the longest such span (two leap days).
const FIVE_YEARS_DAYS: u64 = 5 * 365 + 2;
/// Six years, in days: the longest such span (two leap days).
const SIX_YEARS_DAYS: u64 = 6 * 365 + 2;
/// Oldest a signed checkpoint may be: a day (Rampart signs one with every commit, and writes
/// audit entries at least daily: disposal runs and compliance evaluations).
const CHECKPOINT_MAX_AGE: u64 = DAY;
/// Most verification problems a reason spells out; the evidence holds them all.
const PROBLEMS_IN_REASON: usize = 3;

/// `seq 41: leaf hash mismatch` for a problem `{seq, problem}` (or a problem as text).
fn problem(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(map) => {
            let what = map
                .get("problem")
                .and_then(Value::as_str)
                .unwrap_or("problem");
            match map.get("seq").and_then(Value::as_u64) {
                Some(seq) => format!("seq {seq}: {what}"),
                None => what.to_owned(),
            }
        }
        other => other.to_string(),
    }
}

/// The audit log verifies from the last verified checkpoint, and was verified in full once
/// (or this verification was a full one).
pub(crate) fn audit_log_intact(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::AUDIT_VERIFICATION,
            catalog::AUDIT_LAST_FULL_VERIFICATION,
        ],
        |read| {
            let verification = read.object(catalog::AUDIT_VERIFICATION)?;
            let ok = verification.bool("ok")?;
            let tree_size = verification.u64("tree_size")?;
            if !ok {
                let problems: Vec<String> = verification
                    .get("problems")
                    .and_then(Value::as_array)
                    .map(|items| items.iter().take(PROBLEMS_IN_REASON).map(problem).collect())
                    .unwrap_or_default();
                let detail = if problems.is_empty() {
                    String::new()
                } else {
                    format!(": {}", problems.join("; "))
                };
                return fail(format!(
                    "the audit log failed verification at tree size {tree_size}{detail}"
                ));
            }
            let root: String = verification
                .get("root_hash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .take(16)
                .collect();
            let from = verification
                .get("from_tree_size")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let last_full = read.value(catalog::AUDIT_LAST_FULL_VERIFICATION)?;
            match (last_full.as_str(), last_full.is_null()) {
                (Some(at), _) => pass(format!(
                    "the audit log verifies up to tree size {tree_size} (root {root}…) and was \
                     verified in full at {at}"
                )),
                (None, true) if from == 0 => pass(format!(
                    "the audit log verifies in full up to tree size {tree_size} (root {root}…)"
                )),
                (None, true) => manual(format!(
                    "the audit log verifies from tree size {from} to {tree_size}, but the \
                     entries before {from} were never verified in full"
                )),
                (None, false) => {
                    Err(read.unreadable(catalog::AUDIT_LAST_FULL_VERIFICATION, "a time or null"))
                }
            }
        },
    )
}

/// The latest signed checkpoint is at most a day old (the log is being written and signed).
pub(crate) fn checkpoint_fresh(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::AUDIT_CHECKPOINT_AGE_SECONDS],
        |read| match read.count_or_null(catalog::AUDIT_CHECKPOINT_AGE_SECONDS)? {
            None => fail("the audit log has no signed checkpoint"),
            Some(seconds) if seconds > CHECKPOINT_MAX_AGE => fail(format!(
                "the latest signed checkpoint is {} old (more than 24 h)",
                age(seconds)
            )),
            Some(seconds) => pass(format!(
                "the latest signed checkpoint is {} old",
                age(seconds)
            )),
        },
    )
}

/// How long audit entries tagged `tag` are kept (`None`: forever): the longest of the
/// `audit_entries` policy and the `audit_entries:<tag>` one, forever when neither exists.
fn tagged_retention(read: &Read<'_>, tag: &str) -> Result<Option<u64>, Judgment> {
    let base = read.count_or_null(catalog::AUDIT_RETENTION_SECONDS)?;
    let data_type = format!("audit_entries:{tag}");
    let tagged = policies(read)?
        .iter()
        .find(|p| p.data_type == data_type)
        .map(|p| p.retain_seconds);
    Ok(base.max(tagged))
}

/// Audit entries tagged `tag` are kept at least `days`.
fn audit_retention_at_least(facts: &Facts, days: u64, tag: &str) -> Judgment {
    judge(
        facts,
        &[
            catalog::AUDIT_RETENTION_SECONDS,
            catalog::RETENTION_POLICIES,
        ],
        |read| {
            let least = duration(days * DAY);
            match tagged_retention(read, tag)? {
                None => pass(format!(
                    "audit entries tagged {tag} are kept forever (no retention policy shortens \
                     them)"
                )),
                Some(seconds) if seconds >= days * DAY => pass(format!(
                    "audit entries tagged {tag} are kept {} (at least {least})",
                    duration(seconds)
                )),
                Some(seconds) => fail(format!(
                    "audit entries tagged {tag} are kept only {}, less than {least}",
                    duration(seconds)
                )),
            }
        },
    )
}

/// PCI DSS 10.5.1: audit entries (tagged `pci-dss`) are kept at least 12 months.
pub(crate) fn audit_retention_at_least_1y(facts: &Facts) -> Judgment {
    audit_retention_at_least(facts, ONE_YEAR_DAYS, "pci-dss")
}

/// MiFID II: audit entries (tagged `mifid2`) are kept at least 5 years.
pub(crate) fn audit_retention_at_least_5y(facts: &Facts) -> Judgment {
    audit_retention_at_least(facts, FIVE_YEARS_DAYS, "mifid2")
}

/// HIPAA §164.316(b)(2)(i): audit entries (tagged `hipaa`) are kept at least 6 years.
pub(crate) fn audit_retention_at_least_6y(facts: &Facts) -> Judgment {
    audit_retention_at_least(facts, SIX_YEARS_DAYS, "hipaa")
}

/// Delegated Regulation (EU) 2017/565 Art. 72(1)(c): a `compliance`-mode policy (which nobody
/// can shorten or remove) keeps audit entries tagged `mifid2` at least 5 years.
pub(crate) fn audit_retention_locked_5y(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::RETENTION_POLICIES], |read| {
        let least = FIVE_YEARS_DAYS * DAY;
        let policies = policies(read)?;
        let covering: Vec<_> = policies
            .iter()
            .filter(|p| matches!(p.data_type, "audit_entries" | "audit_entries:mifid2"))
            .filter(|p| p.retain_seconds >= least)
            .collect();
        if let Some(locked) = covering.iter().find(|p| p.mode == "compliance") {
            return pass(format!(
                "the compliance-mode policy {} keeps audit entries at least 5 years, and nobody \
                 can shorten or remove it",
                locked.describe()
            ));
        }
        if let Some(open) = covering.first() {
            return fail(format!(
                "the policy {} keeps audit entries 5 years but in {} mode, so it can be shortened",
                open.describe(),
                open.mode
            ));
        }
        fail(format!(
            "no compliance-mode retention policy keeps audit entries tagged mifid2 for {}",
            duration(least)
        ))
    })
}
