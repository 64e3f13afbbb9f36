use super::*;
use crate::guardrails::GuardrailsDocument;

fn seed_003() -> Guardrails {
    rampart_document::read_json::<GuardrailsDocument>(
        r#"{"max_actions_per_hour": 50, "forbidden_actions": ["drop_database", "delete_namespace", "modify_dns"],
            "require_approval": ["rollback", "failover", "scale_down"],
            "auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits", "drop_database"],
            "max_blast_radius": {"traffic_percent": 10}, "approvals_required": 2,
            "approval_timeout_seconds": 600, "otherwise": "deny"}"#,
    )
    .unwrap()
    .validate()
    .unwrap()
}

fn request(action: &str, traffic: Option<f64>) -> ActionRequest {
    let mut request = ActionRequest {
        action: action.into(),
        ..ActionRequest::default()
    };
    if let Some(traffic) = traffic {
        request
            .blast_radius
            .insert("traffic_percent".into(), traffic);
    }
    request
}

fn granted() -> Grant {
    Grant {
        allowed: true,
        reason: "role 'remediation' grants it".into(),
    }
}

fn refused() -> Grant {
    Grant {
        allowed: false,
        reason: "no role of the principal grants 'actions:create_ticket'".into(),
    }
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-12-05 10:00 UTC)
}

#[test]
fn forbidden_beats_auto_approve_and_everything_else() {
    // drop_database is in both lists, the role grants it, nothing is used yet.
    let v = decide(
        Some(&seed_003()),
        &request("drop_database", None),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::Forbidden));
    assert_eq!(v.cap, None, "a denial does not count toward the cap");
}

#[test]
fn an_action_the_roles_do_not_grant_is_denied_even_if_auto_approved() {
    let v = decide(
        Some(&seed_003()),
        &request("create_ticket", None),
        &refused(),
        Some(0),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::Permission));
    assert!(v.reason.contains("actions:create_ticket"));
}

#[test]
fn the_51st_action_in_an_hour_is_denied() {
    let g = seed_003();
    let ok = decide(
        Some(&g),
        &request("create_ticket", None),
        &granted(),
        Some(49),
        now(),
    );
    assert_eq!(ok.decision, Decision::Allowed);
    assert_eq!(ok.cap, Some(50), "the store checks the cap again");
    let v = decide(
        Some(&g),
        &request("create_ticket", None),
        &granted(),
        Some(50),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::HourlyCap));
}

#[test]
fn permission_comes_before_the_cap() {
    let v = decide(
        Some(&seed_003()),
        &request("create_ticket", None),
        &refused(),
        Some(50),
        now(),
    );
    assert_eq!(v.rule, Rule::Permission);
}

#[test]
fn blast_radius_over_the_limit_is_denied_even_when_auto_approved() {
    let g = seed_003();
    let v = decide(
        Some(&g),
        &request("scale_up_within_limits", Some(10.5)),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::BlastRadius));
    let at_limit = decide(
        Some(&g),
        &request("scale_up_within_limits", Some(10.0)),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!(at_limit.decision, Decision::Allowed);
    // An approval does not lift the limit either.
    let v = decide(
        Some(&g),
        &request("rollback", Some(50.0)),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!(v.rule, Rule::BlastRadius);
}

#[test]
fn require_approval_beats_auto_approve_and_sets_the_quorum_and_expiry() {
    let mut g = seed_003();
    g.auto_approve.push("rollback".into());
    let v = decide(
        Some(&g),
        &request("rollback", Some(5.0)),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!(
        (v.decision, v.rule),
        (Decision::PendingApproval, Rule::RequireApproval)
    );
    assert_eq!(v.approvals_required, 2);
    assert_eq!(v.expires_at, Some(now() + Duration::seconds(600)));
}

#[test]
fn otherwise_decides_unlisted_actions() {
    let mut g = seed_003();
    let v = decide(
        Some(&g),
        &request("reboot", None),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::Otherwise));
    g.otherwise = Otherwise::RequireApproval;
    let v = decide(
        Some(&g),
        &request("reboot", None),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!(
        (v.decision, v.rule),
        (Decision::PendingApproval, Rule::Otherwise)
    );
}

#[test]
fn no_guardrails_denies_everything() {
    let v = decide(
        None,
        &request("create_ticket", None),
        &granted(),
        Some(0),
        now(),
    );
    assert_eq!((v.decision, v.rule), (Decision::Denied, Rule::NoGuardrails));
}

#[test]
fn an_unknown_count_leaves_the_cap_to_the_store() {
    let v = decide(
        Some(&seed_003()),
        &request("create_ticket", None),
        &granted(),
        None,
        now(),
    );
    assert_eq!((v.decision, v.cap), (Decision::Allowed, Some(50)));
}

#[test]
fn the_cap_window_covers_the_hour_in_minutes() {
    let at = now() + Duration::seconds(59);
    assert_eq!(minute_of(at), minute_of(now()));
    assert_eq!(hour_window_start(at), minute_of(now()) - 60);
}
