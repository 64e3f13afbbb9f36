//! Judgments shared by the frameworks: small functions `fn(&Facts) -> Judgment`, each over the
//! facts it names.
//!
//! Every check goes through [`judge`]: it needs every fact it names, so one that was not
//! gathered makes it `manual` (never `pass`), and its judgment cites all of them as evidence.
//! A fact gathered in a shape the check cannot read is `manual` too, with the evidence. Lists
//! that make a check fail are facts themselves, so they appear in the evidence in full; the
//! reason names what failed in one sentence.
//!
//! Thresholds are those of the requirement the check serves (PCI DSS 8.3.4's ten attempts and
//! thirty minutes, 8.2.8's fifteen minutes, NIST SP 800-63B's twelve hours and thirty minutes,
//! the retention periods of PCI DSS 10.5.1, HIPAA §164.316(b)(2)(i) and MiFID II).

mod access;
mod audit;
mod cards;
mod credentials;
mod keys;
mod operations;
mod privacy;
mod retention;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod transport;

use std::fmt::Display;

use serde_json::{Map, Value};

use crate::control::{Judgment, Status};
use crate::facts::{FactKey, Facts};

pub(crate) use access::{
    admins_have_mfa, idle_timeout_15min, lockout_in_force, lockout_pci, mfa_required_by_policy,
    password_hashing_strong, password_length_12, password_pci, sessions_aal2, users_have_mfa,
};
pub(crate) use audit::{
    audit_log_intact, audit_retention_at_least_1y, audit_retention_at_least_5y,
    audit_retention_at_least_6y, audit_retention_locked_5y, checkpoint_fresh,
};
pub(crate) use cards::{cde_access_mfa, detokenize_least_privilege, sad_refused};
pub(crate) use credentials::{
    admins_few, agents_governed, api_keys_expire, api_keys_rotated_90d, api_keys_used_90d,
    principals_active_90d, role_policy_isolation,
};
pub(crate) use keys::{keys_within_rotation, master_key_separated};
pub(crate) use operations::{
    abusive_addresses_blocked, detection_and_alerting, incidents_on_time, login_monitoring,
    rate_limited_edge,
};
pub(crate) use privacy::{consent_records, erasure_capability, pii_policy};
pub(crate) use retention::{disposal_running, retention_policies_defined};
pub(crate) use transport::{network_access_restricted, tls_in_transit};

/// What a check decides once every fact it needs was gathered: a status and its one-sentence
/// reason, or a finished judgment (a fact it cannot read).
pub(crate) type Verdict = Result<(Status, String), Judgment>;

/// Judges over `keys`: `manual` when one of them was not gathered, else what `decide` finds,
/// citing every one of `keys` as evidence.
pub(crate) fn judge(
    facts: &Facts,
    keys: &[FactKey],
    decide: impl FnOnce(&Read<'_>) -> Verdict,
) -> Judgment {
    if let Some(key) = keys.iter().find(|k| facts.get(**k).is_none()) {
        return Judgment::missing(*key);
    }
    match decide(&Read { facts, keys }) {
        Ok((status, reason)) => Judgment::new(status, reason, facts, keys),
        Err(judgment) => judgment,
    }
}

/// `pass` for `reason`.
pub(crate) fn pass(reason: impl Into<String>) -> Verdict {
    Ok((Status::Pass, reason.into()))
}

/// `fail` for `reason`.
pub(crate) fn fail(reason: impl Into<String>) -> Verdict {
    Ok((Status::Fail, reason.into()))
}

/// `manual` for `reason` (what a person must check, the facts cited).
pub(crate) fn manual(reason: impl Into<String>) -> Verdict {
    Ok((Status::Manual, reason.into()))
}

/// `not_applicable` for `reason` (what in the facts shows it).
pub(crate) fn not_applicable(reason: impl Into<String>) -> Verdict {
    Ok((Status::NotApplicable, reason.into()))
}

/// The facts of one check, read in the shapes the catalog gives them.
pub(crate) struct Read<'a> {
    facts: &'a Facts,
    keys: &'a [FactKey],
}

impl<'a> Read<'a> {
    /// `manual`, citing the check's facts: `key` is not `shape`.
    pub(crate) fn unreadable(&self, key: FactKey, shape: &str) -> Judgment {
        Judgment::new(
            Status::Manual,
            format!("the fact \"{}\" is not {shape}: check by hand", key.title),
            self.facts,
            self.keys,
        )
    }

    /// The value of `key` (gathered: [`judge`] checked).
    pub(crate) fn value(&self, key: FactKey) -> Result<&'a Value, Judgment> {
        self.facts.value(key).ok_or_else(|| Judgment::missing(key))
    }

    /// `key` as a list of names.
    pub(crate) fn names(&self, key: FactKey) -> Result<Vec<&'a str>, Judgment> {
        self.value(key)?
            .as_array()
            .and_then(|items| items.iter().map(Value::as_str).collect())
            .ok_or_else(|| self.unreadable(key, "a list of names"))
    }

    /// `key` as a list of any values.
    pub(crate) fn list(&self, key: FactKey) -> Result<&'a [Value], Judgment> {
        self.value(key)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.unreadable(key, "a list"))
    }

    /// `key` as a count.
    pub(crate) fn count(&self, key: FactKey) -> Result<u64, Judgment> {
        self.value(key)?
            .as_u64()
            .ok_or_else(|| self.unreadable(key, "a count"))
    }

    /// `key` as a count, or `None` for null.
    pub(crate) fn count_or_null(&self, key: FactKey) -> Result<Option<u64>, Judgment> {
        let value = self.value(key)?;
        if value.is_null() {
            return Ok(None);
        }
        value
            .as_u64()
            .map(Some)
            .ok_or_else(|| self.unreadable(key, "a count or null"))
    }

    /// `key` as a boolean.
    pub(crate) fn flag(&self, key: FactKey) -> Result<bool, Judgment> {
        self.value(key)?
            .as_bool()
            .ok_or_else(|| self.unreadable(key, "true or false"))
    }

    /// `key` as text.
    pub(crate) fn text(&self, key: FactKey) -> Result<&'a str, Judgment> {
        self.value(key)?
            .as_str()
            .ok_or_else(|| self.unreadable(key, "text"))
    }

    /// `key` as an object, to read its fields.
    pub(crate) fn object(&self, key: FactKey) -> Result<Fields<'_, 'a>, Judgment> {
        let map = self
            .value(key)?
            .as_object()
            .ok_or_else(|| self.unreadable(key, "an object"))?;
        Ok(Fields {
            read: self,
            key,
            map,
        })
    }

    /// `key` as an object, or `None` for null.
    pub(crate) fn object_or_null(&self, key: FactKey) -> Result<Option<Fields<'_, 'a>>, Judgment> {
        if self.value(key)?.is_null() {
            return Ok(None);
        }
        self.object(key).map(Some)
    }
}

/// The fields of an object fact.
pub(crate) struct Fields<'r, 'a> {
    read: &'r Read<'a>,
    key: FactKey,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'_, 'a> {
    fn unreadable(&self, name: &str, shape: &str) -> Judgment {
        self.read
            .unreadable(self.key, &format!("an object with {shape} `{name}`"))
    }

    /// The field `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// The field `name` as a count.
    pub(crate) fn u64(&self, name: &str) -> Result<u64, Judgment> {
        self.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.unreadable(name, "a count"))
    }

    /// The field `name` as a boolean.
    pub(crate) fn bool(&self, name: &str) -> Result<bool, Judgment> {
        self.get(name)
            .and_then(Value::as_bool)
            .ok_or_else(|| self.unreadable(name, "a boolean"))
    }

    /// The field `name` as text.
    pub(crate) fn text(&self, name: &str) -> Result<&'a str, Judgment> {
        self.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| self.unreadable(name, "text"))
    }

    /// The field `name` as a list of names.
    pub(crate) fn names(&self, name: &str) -> Result<Vec<&'a str>, Judgment> {
        self.get(name)
            .and_then(Value::as_array)
            .and_then(|items| items.iter().map(Value::as_str).collect())
            .ok_or_else(|| self.unreadable(name, "a list of names"))
    }
}

/// Most names a reason spells out; the evidence holds them all.
const NAMES_IN_REASON: usize = 10;

/// `names` for a reason: `a, b, c`, the first ten then `and N more`.
pub(crate) fn names(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(NAMES_IN_REASON).copied().collect();
    let rest = names.len().saturating_sub(shown.len());
    if rest == 0 {
        shown.join(", ")
    } else {
        format!("{} and {rest} more", shown.join(", "))
    }
}

/// `1 key` or `3 keys`: `n` with the singular or the plural phrase.
pub(crate) fn counted<N: Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    if n == N::from(1) {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `each of the 3 keys`, or `the only key` for one.
pub(crate) fn each_of(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("the only {one}")
    } else {
        format!("each of the {n} {many}")
    }
}

/// `none of the 3 keys is`, or `the only key is not` for one.
pub(crate) fn none_of(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("the only {one} is not")
    } else {
        format!("none of the {n} {many} is")
    }
}

/// `parts` joined as the clauses of one sentence: `a; b; c`.
pub(crate) fn clauses(parts: &[String]) -> String {
    parts.join("; ")
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// `seconds` as a reader says it: `30 min`, `12 h`, `2557 days`, `95 s`.
pub(crate) fn duration(seconds: u64) -> String {
    if seconds >= DAY && seconds.is_multiple_of(DAY) {
        counted(seconds / DAY, "day", "days")
    } else if seconds >= HOUR && seconds.is_multiple_of(HOUR) {
        format!("{} h", seconds / HOUR)
    } else if seconds >= MINUTE && seconds.is_multiple_of(MINUTE) {
        format!("{} min", seconds / MINUTE)
    } else {
        format!("{seconds} s")
    }
}

/// An age in seconds, rounded down for a reader: `40 s`, `5 min`, `3 h`, `4 days`.
pub(crate) fn age(seconds: u64) -> String {
    if seconds >= 2 * DAY {
        format!("{} days", seconds / DAY)
    } else if seconds >= 2 * HOUR {
        format!("{} h", seconds / HOUR)
    } else if seconds >= 2 * MINUTE {
        format!("{} min", seconds / MINUTE)
    } else {
        format!("{seconds} s")
    }
}
