//! Frameworks and their controls, and what judging one gives.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::{FactKey, Facts};

/// The frameworks Rampart reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FrameworkId {
    /// AICPA SOC 2 (Trust Services Criteria 2017, revised points of focus 2022).
    #[serde(rename = "soc2")]
    Soc2,
    /// PCI DSS v4.0.1.
    #[serde(rename = "pci-dss")]
    PciDss,
    /// HIPAA Security Rule (45 CFR Part 164 Subpart C).
    #[serde(rename = "hipaa")]
    Hipaa,
    /// GDPR (Regulation (EU) 2016/679).
    #[serde(rename = "gdpr")]
    Gdpr,
    /// MiFID II (Directive 2014/65/EU) with RTS 25 and Delegated Regulation 2017/565.
    #[serde(rename = "mifid2")]
    Mifid2,
}

impl FrameworkId {
    /// Every framework, in the order they are listed.
    pub const ALL: [FrameworkId; 5] = [
        FrameworkId::Soc2,
        FrameworkId::PciDss,
        FrameworkId::Hipaa,
        FrameworkId::Gdpr,
        FrameworkId::Mifid2,
    ];

    /// The id as API.md spells it (`pci-dss`).
    pub fn as_str(self) -> &'static str {
        match self {
            FrameworkId::Soc2 => "soc2",
            FrameworkId::PciDss => "pci-dss",
            FrameworkId::Hipaa => "hipaa",
            FrameworkId::Gdpr => "gdpr",
            FrameworkId::Mifid2 => "mifid2",
        }
    }
}

impl fmt::Display for FrameworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A framework name that is none of [`FrameworkId::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a framework: use one of soc2, pci-dss, hipaa, gdpr, mifid2")]
pub struct UnknownFramework;

impl FromStr for FrameworkId {
    type Err = UnknownFramework;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FrameworkId::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(UnknownFramework)
    }
}

/// A control's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The facts show the requirement met.
    Pass,
    /// The facts show it not met (or an expired waiver no longer covers it).
    Fail,
    /// Rampart cannot judge it: a person must check (never counted as `pass`).
    Manual,
    /// Not met or not judged, under a waiver in force.
    Waived,
    /// The requirement does not apply to this deployment, as the facts show.
    NotApplicable,
}

impl Status {
    /// The status as API.md spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Manual => "manual",
            Status::Waived => "waived",
            Status::NotApplicable => "not_applicable",
        }
    }
}

/// One piece of evidence behind a result: a fact's title, its value and its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The fact's human title ("admins without MFA").
    pub fact: String,
    /// Its value.
    pub value: Value,
    /// Where it was read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// What judging a control over facts gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgment {
    /// `pass`, `fail`, `manual` or `not_applicable` (never `waived`: waivers apply after).
    pub status: Status,
    /// The facts the judgment rests on.
    pub evidence: Vec<Evidence>,
    /// Why, in one sentence (what failed, or what a person must check).
    pub reason: String,
}

impl Judgment {
    /// A judgment of `status` for `reason`, citing the facts `keys` (those gathered).
    pub fn new(status: Status, reason: impl Into<String>, facts: &Facts, keys: &[FactKey]) -> Self {
        Self {
            status,
            evidence: keys
                .iter()
                .filter_map(|k| facts.get(*k))
                .map(|f| Evidence {
                    fact: f.title.to_owned(),
                    value: f.value.clone(),
                    source: f.source.clone(),
                })
                .collect(),
            reason: reason.into(),
        }
    }

    /// `manual`: a fact the judgment needs was not gathered.
    pub fn missing(key: FactKey) -> Self {
        Self {
            status: Status::Manual,
            evidence: Vec::new(),
            reason: format!("the fact \"{}\" was not gathered: check by hand", key.title),
        }
    }
}

/// How a control is judged.
#[derive(Debug, Clone, Copy)]
pub enum Judge {
    /// From facts, by this function.
    Facts(fn(&Facts) -> Judgment),
    /// By a person: what they must check.
    Manual(&'static str),
}

/// One control of a framework.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    /// Id, prefixed by the framework (`pci-dss-3.5.1`).
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// The requirement it maps to, cited as the framework numbers it ("PCI DSS 4.0.1 Req. 3.5.1").
    pub requirement: &'static str,
    /// What Rampart checks, in a sentence.
    pub checks: &'static str,
    /// How it is judged.
    pub judge: Judge,
    /// What to do when it does not pass.
    pub remediation: &'static str,
}

impl Control {
    /// Judges this control over `facts`.
    pub fn judge(&self, facts: &Facts) -> Judgment {
        match self.judge {
            Judge::Facts(judge) => judge(facts),
            Judge::Manual(what) => Judgment {
                status: Status::Manual,
                evidence: Vec::new(),
                reason: what.to_owned(),
            },
        }
    }

    /// Whether a person must judge it.
    pub fn is_manual(&self) -> bool {
        matches!(self.judge, Judge::Manual(_))
    }
}

/// A framework: its controls, as data.
#[derive(Debug, Clone, Copy)]
pub struct Framework {
    /// Its id.
    pub id: FrameworkId,
    /// Its full title.
    pub title: &'static str,
    /// The version of the standard the controls cite.
    pub version: &'static str,
    /// Its controls.
    pub controls: &'static [Control],
}

impl Framework {
    /// A control by id.
    pub fn control(&self, id: &str) -> Option<&'static Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}
