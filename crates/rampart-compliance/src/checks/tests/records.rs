//! The audit log, retention, operations and data subjects.

use serde_json::{Value, json};

use super::super::testing::good_but;
use super::super::*;
use super::{flipped, status};
use crate::control::Status;
use crate::facts::catalog;

#[test]
fn audit_integrity_and_checkpoints() {
    let broken = flipped(
        audit_log_intact,
        catalog::AUDIT_VERIFICATION,
        json!({"ok": false, "tree_size": 10, "root_hash": "00", "checked_entries": 10,
               "from_tree_size": 0, "problems": [{"seq": 4, "problem": "leaf hash mismatch"}]}),
    );
    assert_eq!(broken.status, Status::Fail);
    assert!(
        broken.reason.ends_with("seq 4: leaf hash mismatch"),
        "{}",
        broken.reason
    );
    let never_full = flipped(
        audit_log_intact,
        catalog::AUDIT_LAST_FULL_VERIFICATION,
        json!(null),
    );
    assert_eq!(never_full.status, Status::Manual);
    assert_eq!(
        status(
            checkpoint_fresh,
            &good_but(catalog::AUDIT_CHECKPOINT_AGE_SECONDS, json!(null))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            checkpoint_fresh,
            &good_but(catalog::AUDIT_CHECKPOINT_AGE_SECONDS, json!(86_401))
        ),
        Status::Fail
    );
}

#[test]
fn audit_retention_takes_the_longest_policy_of_the_tag() {
    const DAY: u64 = 86_400;
    let facts = |base: Value, policies: Value| {
        let mut facts = good_but(catalog::AUDIT_RETENTION_SECONDS, base);
        facts.insert(catalog::RETENTION_POLICIES, policies, "test");
        facts
    };
    // No policy at all: kept forever, but nothing locks it.
    let forever = facts(json!(null), json!([]));
    assert_eq!(status(audit_retention_at_least_5y, &forever), Status::Pass);
    assert_eq!(status(audit_retention_locked_5y, &forever), Status::Fail);
    // 365 days is less than twelve months that hold a leap day.
    let year = facts(
        json!(365 * DAY),
        json!([{"data_type": "audit_entries", "mode": "compliance", "retain_seconds": 365 * DAY}]),
    );
    assert_eq!(status(audit_retention_at_least_1y, &year), Status::Fail);
    // A short base with a long compliance policy on the tag.
    let tagged = facts(
        json!(90 * DAY),
        json!([
            {"data_type": "audit_entries", "mode": "governance", "retain_seconds": 90 * DAY},
            {"data_type": "audit_entries:mifid2", "mode": "compliance", "retain_seconds": 1827 * DAY}
        ]),
    );
    assert_eq!(status(audit_retention_at_least_5y, &tagged), Status::Pass);
    assert_eq!(status(audit_retention_locked_5y, &tagged), Status::Pass);
    assert_eq!(status(audit_retention_at_least_6y, &tagged), Status::Fail);
    // Five years in governance mode can be shortened.
    let governed = facts(
        json!(2557 * DAY),
        json!([{"data_type": "audit_entries", "mode": "governance", "retain_seconds": 2557 * DAY}]),
    );
    assert_eq!(status(audit_retention_at_least_6y, &governed), Status::Pass);
    let judged = audit_retention_locked_5y(&governed);
    assert_eq!(judged.status, Status::Fail);
    assert!(judged.reason.contains("governance mode"));
}

#[test]
fn retention_and_disposal() {
    let only_defaults = flipped(
        retention_policies_defined,
        catalog::RETENTION_POLICIES,
        json!([{"data_type": "sessions", "mode": "governance", "retain_seconds": 2_592_000}]),
    );
    assert_eq!(only_defaults.status, Status::Fail);
    assert!(only_defaults.reason.ends_with("audit_entries, consents"));
    assert_eq!(
        status(
            disposal_running,
            &good_but(catalog::RETENTION_LAST_RUN, json!(null))
        ),
        Status::Fail
    );
    let failed = json!({"id": "run_1", "state": "failed", "started_at": "x", "finished_at": null});
    assert_eq!(
        status(
            disposal_running,
            &good_but(catalog::RETENTION_LAST_RUN, failed)
        ),
        Status::Fail
    );
}

#[test]
fn operations() {
    assert_eq!(
        status(
            detection_and_alerting,
            &good_but(catalog::WEBHOOK_ENDPOINTS, json!(0))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            detection_and_alerting,
            &good_but(catalog::DETECTION_RULES, json!([]))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            login_monitoring,
            &good_but(catalog::DETECTION_RULES, json!(["custom"]))
        ),
        Status::Manual
    );
    let late = flipped(
        incidents_on_time,
        catalog::INCIDENTS_PAST_DEADLINE,
        json!(["INC-20260601-0001"]),
    );
    assert_eq!(late.status, Status::Fail);
    assert!(late.reason.ends_with("INC-20260601-0001"));
    let authenticated_only = json!({
        "rules": [{"name": "per-key", "key": "credential", "match": ["*"], "limit": 10,
                   "window_seconds": 1, "applies_to": "authenticated"}],
        "per_address_per_second": 1000, "auth_per_minute": 60
    });
    assert_eq!(
        status(
            rate_limited_edge,
            &good_but(catalog::RATE_LIMITS, authenticated_only)
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            abusive_addresses_blocked,
            &good_but(catalog::AUTO_BLOCKING, json!(false))
        ),
        Status::Fail
    );
}

#[test]
fn subjects_agents_and_privacy() {
    let no_consents = json!({"consents": 0, "subjects": 0, "erasures": 0});
    assert_eq!(
        status(
            consent_records,
            &good_but(catalog::SUBJECT_RECORDS, no_consents)
        ),
        Status::Manual
    );
    assert_eq!(
        status(
            erasure_capability,
            &good_but(catalog::ERASURE_CAPABLE, json!(false))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            pii_policy,
            &good_but(catalog::PII_POLICY, json!("/etc/pii.json"))
        ),
        Status::Manual
    );
    assert_eq!(
        status(
            agents_governed,
            &good_but(catalog::AGENTS_WITHOUT_GUARDRAILS, json!(["deploy-bot"]))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            agents_governed,
            &good_but(catalog::AGENTS_WITH_GUARDRAILS, json!(0))
        ),
        Status::NotApplicable
    );
    let open_roles = json!({"source": "api", "version": 3, "roles": ["admin", "ops"], "team_isolated_roles": []});
    assert_eq!(
        status(
            role_policy_isolation,
            &good_but(catalog::ROLE_POLICY, open_roles)
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            principals_active_90d,
            &good_but(catalog::PRINCIPALS_INACTIVE_90_DAYS, json!(["old-svc"]))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            users_have_mfa,
            &good_but(catalog::USERS_WITHOUT_MFA, json!(["carol"]))
        ),
        Status::Fail
    );
}
