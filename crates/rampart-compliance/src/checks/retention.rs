//! Retention: periods defined for the data that holds personal or confidential data, and
//! disposal actually running.

use serde_json::Value;

use super::{Read, counted, duration, fail, judge, manual, names, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// One retention policy, as [`catalog::RETENTION_POLICIES`] lists it.
pub(crate) struct Policy<'a> {
    /// `audit_entries`, `audit_entries:<tag>`, `consents`, `app:<name>`, ...
    pub(crate) data_type: &'a str,
    /// `governance` or `compliance`.
    pub(crate) mode: &'a str,
    /// How long records are kept.
    pub(crate) retain_seconds: u64,
}

impl Policy<'_> {
    /// `audit_entries (compliance, 2557 days)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} ({}, {})",
            self.data_type,
            self.mode,
            duration(self.retain_seconds)
        )
    }
}

/// Every retention policy.
pub(crate) fn policies<'a>(read: &Read<'a>) -> Result<Vec<Policy<'a>>, Judgment> {
    read.list(catalog::RETENTION_POLICIES)?
        .iter()
        .map(|item| {
            let policy = item.as_object()?;
            Some(Policy {
                data_type: policy.get("data_type")?.as_str()?,
                mode: policy.get("mode")?.as_str()?,
                retain_seconds: policy.get("retain_seconds")?.as_u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            read.unreadable(
                catalog::RETENTION_POLICIES,
                "a list of {data_type, mode, retain_seconds}",
            )
        })
}

/// The data types that hold personal or confidential data and need a retention period.
const NEEDS_RETENTION: [&str; 3] = ["audit_entries", "consents", "sessions"];

/// Audit entries, consents and sessions each have a retention period (a per-tag audit policy
/// does not cover untagged entries, so `audit_entries` itself is needed).
pub(crate) fn retention_policies_defined(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::RETENTION_POLICIES], |read| {
        let policies = policies(read)?;
        let missing: Vec<&str> = NEEDS_RETENTION
            .iter()
            .copied()
            .filter(|t| !policies.iter().any(|p| p.data_type == *t))
            .collect();
        if missing.is_empty() {
            let described: Vec<String> = policies.iter().map(Policy::describe).collect();
            pass(format!(
                "{} define how long data is kept: {}",
                counted(described.len(), "retention policy", "retention policies"),
                described.join(", ")
            ))
        } else {
            fail(format!(
                "no retention policy limits how long these are kept: {}",
                names(&missing)
            ))
        }
    })
}

/// Disposal runs: the latest run finished or is under way; none ever, or a failed one, fails.
pub(crate) fn disposal_running(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::RETENTION_LAST_RUN, catalog::LEGAL_HOLDS],
        |read| {
            let holds = read.names(catalog::LEGAL_HOLDS)?;
            let Some(run) = read.object_or_null(catalog::RETENTION_LAST_RUN)? else {
                return fail(
                    "no disposal run has taken place, so data past its retention period is still kept",
                );
            };
            let id = run.get("id").and_then(Value::as_str).unwrap_or("(no id)");
            let state = run.text("state")?;
            let held = if holds.is_empty() {
                "no legal hold is in force".to_owned()
            } else {
                format!(
                    "{} held records: {}",
                    counted(holds.len(), "legal hold keeps", "legal holds keep"),
                    names(&holds)
                )
            };
            match state {
                "done" | "completed" | "finished" | "running" | "pending" => pass(format!(
                    "the latest disposal run {id} is {state} and {held}"
                )),
                "failed" | "error" | "aborted" => {
                    fail(format!("the latest disposal run {id} ended as \"{state}\""))
                }
                other => manual(format!(
                    "the latest disposal run {id} is \"{other}\": check that it disposed of what \
                     was due"
                )),
            }
        },
    )
}
