//! Evaluating a framework over facts and waivers, and the report that results.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::control::{Evidence, Framework, FrameworkId, Status};
use crate::facts::{Fact, Facts};
use crate::waiver::Waiver;

/// A report's id: `rpt_` and a UUIDv7 in simple form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(pub String);

impl ReportId {
    /// A fresh id.
    pub fn generate() -> Self {
        Self(format!("rpt_{}", Uuid::now_v7().simple()))
    }

    /// `text` if it has the form of a report id.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("rpt_")?;
        (rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Counts of each status in a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Controls that pass.
    pub pass: u32,
    /// Controls that fail.
    pub fail: u32,
    /// Controls a person must check.
    pub manual: u32,
    /// Controls under a waiver in force.
    pub waived: u32,
    /// Controls that do not apply.
    pub not_applicable: u32,
}

impl Summary {
    /// The counts of `controls`.
    pub fn of(controls: &[ControlResult]) -> Self {
        let mut summary = Self::default();
        for control in controls {
            let slot = match control.status {
                Status::Pass => &mut summary.pass,
                Status::Fail => &mut summary.fail,
                Status::Manual => &mut summary.manual,
                Status::Waived => &mut summary.waived,
                Status::NotApplicable => &mut summary.not_applicable,
            };
            *slot = slot.saturating_add(1);
        }
        summary
    }
}

/// The waiver a result took into account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiverApplied {
    /// The waiver's id.
    pub id: String,
    /// Why it was granted.
    pub reason: String,
    /// When it ends (RFC 3339).
    pub expires_at: String,
    /// Whether it had ended when the report was made (it then counts as `fail`).
    pub expired: bool,
}

/// One control's result in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlResult {
    /// The control's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The requirement it maps to.
    pub requirement: String,
    /// What Rampart checks.
    pub checks: String,
    /// The result, waivers applied.
    pub status: Status,
    /// What the facts alone gave (differs from `status` when a waiver applied).
    pub judged: Status,
    /// Why, in one sentence.
    pub reason: String,
    /// The facts it rests on.
    pub evidence: Vec<Evidence>,
    /// What to do when it does not pass (empty when it passes or does not apply).
    pub remediation: String,
    /// The waiver taken into account, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverApplied>,
}

/// Judges every control of `framework` over `facts`, then applies `waivers` as of `now`:
/// a waiver in force turns `fail` or `manual` into `waived`; an expired one turns anything but
/// `pass` and `not_applicable` into `fail` (what it covered is no longer covered).
pub fn evaluate(
    framework: &Framework,
    facts: &Facts,
    waivers: &[Waiver],
    now: OffsetDateTime,
) -> Vec<ControlResult> {
    framework
        .controls
        .iter()
        .map(|control| {
            let judgment = control.judge(facts);
            let judged = judgment.status;
            let waiver = waivers
                .iter()
                .filter(|w| w.framework == framework.id && w.control == control.id && !w.revoked)
                .max_by_key(|w| w.expires_at);
            let mut status = judged;
            let mut reason = judgment.reason;
            let applied = waiver.map(|w| {
                let expired = w.expires_at <= now;
                let open = matches!(judged, Status::Fail | Status::Manual);
                if expired && open {
                    status = Status::Fail;
                    reason = format!("the waiver expired at {}: {reason}", w.expires_at_text());
                } else if open {
                    status = Status::Waived;
                }
                WaiverApplied {
                    id: w.id.clone(),
                    reason: w.reason.clone(),
                    expires_at: w.expires_at_text(),
                    expired,
                }
            });
            let remediation = match status {
                Status::Pass | Status::NotApplicable => String::new(),
                _ => control.remediation.to_owned(),
            };
            ControlResult {
                id: control.id.to_owned(),
                title: control.title.to_owned(),
                requirement: control.requirement.to_owned(),
                checks: control.checks.to_owned(),
                status,
                judged,
                reason,
                evidence: judgment.evidence,
                remediation,
                waiver: applied,
            }
        })
        .collect()
}

/// The audit log as the report saw it: the verified size and root, and the entries of the
/// report's period (those after the previous report of the same framework).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPeriod {
    /// First seq of the period (inclusive).
    pub from_seq: u64,
    /// The tree size the report verified (the period ends before it).
    pub tree_size: u64,
    /// The root at that size, hex.
    pub root_hash: String,
}

/// A report: a framework evaluated against the running deployment, signed by the audit key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Its id.
    pub id: ReportId,
    /// The framework.
    pub framework: FrameworkId,
    /// The framework's title.
    pub framework_title: String,
    /// The standard's version the controls cite.
    pub framework_version: String,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// Who asked for it (principal name or `system`).
    pub generated_by: String,
    /// The counts of each status.
    pub summary: Summary,
    /// Every control's result.
    pub controls: Vec<ControlResult>,
    /// Every fact gathered, with its source.
    pub facts: Vec<FactRecord>,
    /// The audit log it covers.
    pub audit: AuditPeriod,
    /// Standard base64 Ed25519 signature by the audit log's key over the RFC 8785 form of the
    /// report without this member (empty before signing).
    #[serde(default)]
    pub signature_b64: String,
}

/// A fact as a report keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactRecord {
    /// Machine name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Value.
    pub value: Value,
    /// Where it was read.
    pub source: String,
}

impl From<&Fact> for FactRecord {
    fn from(fact: &Fact) -> Self {
        Self {
            name: fact.name.to_owned(),
            title: fact.title.to_owned(),
            value: fact.value.clone(),
            source: fact.source.clone(),
        }
    }
}

impl Report {
    /// An unsigned report of `framework` over `facts` and `waivers` at `now`.
    pub fn build(
        framework: &Framework,
        facts: &Facts,
        waivers: &[Waiver],
        audit: AuditPeriod,
        generated_by: &str,
        now: OffsetDateTime,
    ) -> Self {
        let controls = evaluate(framework, facts, waivers, now);
        Self {
            id: ReportId::generate(),
            framework: framework.id,
            framework_title: framework.title.to_owned(),
            framework_version: framework.version.to_owned(),
            generated_at: crate::rfc3339(now),
            generated_by: generated_by.to_owned(),
            summary: Summary::of(&controls),
            controls,
            facts: facts.iter().map(FactRecord::from).collect(),
            audit,
            signature_b64: String::new(),
        }
    }

    /// The report as a JSON value (the document that is signed and stored).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests;
