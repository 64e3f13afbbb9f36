//! SOC 2 (placeholder: one control until the catalog lands).

use crate::control::{Control, Framework, FrameworkId, Judge, Judgment, Status};
use crate::facts::{Facts, catalog};

fn mfa(facts: &Facts) -> Judgment {
    let Some(list) = facts.list(catalog::ADMINS_WITHOUT_MFA) else {
        return Judgment::missing(catalog::ADMINS_WITHOUT_MFA);
    };
    let status = if list.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    Judgment::new(
        status,
        "every administrator has a second factor",
        facts,
        &[catalog::ADMINS_WITHOUT_MFA],
    )
}

/// SOC 2.
pub static SOC2: Framework = Framework {
    id: FrameworkId::Soc2,
    title: "SOC 2 Trust Services Criteria",
    version: "2017 (points of focus revised 2022)",
    controls: &[Control {
        id: "soc2-cc6.1-mfa",
        title: "Administrators use multi-factor authentication",
        requirement: "CC6.1",
        checks: "every administrator has a confirmed TOTP second factor",
        judge: Judge::Facts(mfa),
        remediation: "enroll TOTP for each listed administrator (POST /v1/auth/totp/enroll)",
    }],
};
