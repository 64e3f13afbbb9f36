//! The frameworks, as data: every control with the requirement it maps to and how it is judged.
//!
//! Controls judged from facts use the shared checks of `crate::checks`; the others are
//! `manual`, saying what a person must check. Each framework has at least 14 controls, at
//! least 9 of them judged from facts.

use crate::control::{Control, Framework, FrameworkId, Judge, Judgment};
use crate::facts::Facts;

mod gdpr;
mod hipaa;
mod mifid2;
mod pci_dss;
mod remedies;
mod soc2;
#[cfg(test)]
mod tests;

/// The framework `id`.
pub fn framework(id: FrameworkId) -> &'static Framework {
    match id {
        FrameworkId::Soc2 => &soc2::SOC2,
        FrameworkId::PciDss => &pci_dss::PCI_DSS,
        FrameworkId::Hipaa => &hipaa::HIPAA,
        FrameworkId::Gdpr => &gdpr::GDPR,
        FrameworkId::Mifid2 => &mifid2::MIFID2,
    }
}

/// Every framework.
pub fn all() -> impl Iterator<Item = &'static Framework> {
    FrameworkId::ALL.into_iter().map(framework)
}

/// A control judged from facts by `judge`.
const fn fact(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    checks: &'static str,
    judge: fn(&Facts) -> Judgment,
    remediation: &'static str,
) -> Control {
    Control {
        id,
        title,
        requirement,
        checks,
        judge: Judge::Facts(judge),
        remediation,
    }
}

/// A control a person judges: `what` they must check.
const fn manual(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    checks: &'static str,
    what: &'static str,
    remediation: &'static str,
) -> Control {
    Control {
        id,
        title,
        requirement,
        checks,
        judge: Judge::Manual(what),
        remediation,
    }
}
