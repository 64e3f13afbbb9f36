use super::*;
use crate::facts::catalog;
use crate::frameworks;
use time::macros::datetime;

fn waiver(control: &str, expires_at: OffsetDateTime) -> Waiver {
    Waiver {
        id: "wvr_1".into(),
        framework: FrameworkId::Soc2,
        control: control.into(),
        reason: "accepted".into(),
        expires_at,
        created_by: "admin".into(),
        created_at: datetime!(2026-01-01 0:00 UTC),
        revoked: false,
    }
}

#[test]
fn a_missing_fact_is_manual_never_pass() {
    let soc2 = frameworks::framework(FrameworkId::Soc2);
    let results = evaluate(soc2, &Facts::new(), &[], datetime!(2026-06-01 0:00 UTC));
    assert!(results.iter().all(|r| r.status != Status::Pass));
}

#[test]
fn waivers_in_force_waive_and_expired_ones_fail() {
    let soc2 = frameworks::framework(FrameworkId::Soc2);
    let mut facts = Facts::new();
    facts.insert(
        catalog::ADMINS_WITHOUT_MFA,
        serde_json::json!(["alice"]),
        "test",
    );
    let control = soc2
        .controls
        .iter()
        .find(|c| !c.is_manual())
        .map(|c| c.id)
        .unwrap_or_default();
    let now = datetime!(2026-06-01 0:00 UTC);
    let find = |results: Vec<ControlResult>| results.into_iter().find(|r| r.id == control);
    let in_force = find(evaluate(
        soc2,
        &facts,
        &[waiver(control, now + time::Duration::days(1))],
        now,
    ));
    assert_eq!(in_force.map(|r| r.status), Some(Status::Waived));
    let expired = find(evaluate(
        soc2,
        &facts,
        &[waiver(control, now - time::Duration::days(1))],
        now,
    ));
    assert_eq!(expired.as_ref().map(|r| r.status), Some(Status::Fail));
    assert!(expired.is_some_and(|r| r.waiver.is_some_and(|w| w.expired)));
}
