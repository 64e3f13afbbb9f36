#![allow(clippy::indexing_slicing)]

mod access;
mod records;

use serde_json::{Value, json};

use super::testing::{good_but, good_facts, good_values};
use super::*;
use crate::control::Status;
use crate::facts::{FactKey, catalog};

pub(super) type Check = fn(&Facts) -> Judgment;

/// Every check, by name.
const CHECKS: &[(&str, Check)] = &[
    ("admins_have_mfa", admins_have_mfa),
    ("users_have_mfa", users_have_mfa),
    ("mfa_required_by_policy", mfa_required_by_policy),
    ("password_length_12", password_length_12),
    ("password_pci", password_pci),
    ("password_hashing_strong", password_hashing_strong),
    ("lockout_pci", lockout_pci),
    ("lockout_in_force", lockout_in_force),
    ("idle_timeout_15min", idle_timeout_15min),
    ("sessions_aal2", sessions_aal2),
    ("api_keys_rotated_90d", api_keys_rotated_90d),
    ("api_keys_used_90d", api_keys_used_90d),
    ("api_keys_expire", api_keys_expire),
    ("principals_active_90d", principals_active_90d),
    ("admins_few", admins_few),
    ("role_policy_isolation", role_policy_isolation),
    ("agents_governed", agents_governed),
    ("sad_refused", sad_refused),
    ("detokenize_least_privilege", detokenize_least_privilege),
    ("cde_access_mfa", cde_access_mfa),
    ("master_key_separated", master_key_separated),
    ("keys_within_rotation", keys_within_rotation),
    ("tls_in_transit", tls_in_transit),
    ("network_access_restricted", network_access_restricted),
    ("audit_log_intact", audit_log_intact),
    ("checkpoint_fresh", checkpoint_fresh),
    ("audit_retention_at_least_1y", audit_retention_at_least_1y),
    ("audit_retention_at_least_5y", audit_retention_at_least_5y),
    ("audit_retention_at_least_6y", audit_retention_at_least_6y),
    ("audit_retention_locked_5y", audit_retention_locked_5y),
    ("retention_policies_defined", retention_policies_defined),
    ("disposal_running", disposal_running),
    ("detection_and_alerting", detection_and_alerting),
    ("login_monitoring", login_monitoring),
    ("incidents_on_time", incidents_on_time),
    ("rate_limited_edge", rate_limited_edge),
    ("abusive_addresses_blocked", abusive_addresses_blocked),
    ("consent_records", consent_records),
    ("erasure_capability", erasure_capability),
    ("pii_policy", pii_policy),
];

pub(super) fn status(check: Check, facts: &Facts) -> Status {
    check(facts).status
}

pub(super) fn flipped(check: Check, key: FactKey, value: Value) -> Judgment {
    check(&good_but(key, value))
}

#[test]
fn good_facts_cover_the_catalog_once() {
    let values = good_values();
    let names: Vec<&str> = values.iter().map(|(k, _)| k.name).collect();
    let catalog: Vec<&str> = catalog::ALL.iter().map(|k| k.name).collect();
    assert_eq!(names, catalog);
    let mut titles: Vec<&str> = catalog::ALL.iter().map(|k| k.title).collect();
    titles.sort_unstable();
    titles.dedup();
    assert_eq!(titles.len(), catalog::ALL.len(), "fact titles are unique");
}

#[test]
fn every_check_passes_on_good_facts_and_is_manual_on_none() {
    let good = good_facts();
    for (name, check) in CHECKS {
        let judged = check(&good);
        assert_eq!(judged.status, Status::Pass, "{name}: {}", judged.reason);
        assert!(!judged.evidence.is_empty(), "{name} cites its facts");
        assert!(
            !judged.reason.is_empty() && !judged.reason.ends_with('.'),
            "{name}"
        );
        let none = check(&Facts::new());
        assert_eq!(none.status, Status::Manual, "{name}");
        assert!(none.reason.contains("was not gathered"), "{name}");
    }
}

#[test]
fn a_fact_of_the_wrong_shape_is_manual_with_evidence() {
    for (name, check) in CHECKS {
        let cited: Vec<FactKey> = check(&good_facts())
            .evidence
            .iter()
            .filter_map(|e| catalog::ALL.iter().copied().find(|k| k.title == e.fact))
            .collect();
        for key in cited {
            let judged = flipped(*check, key, json!({"unexpected": [1, 2]}));
            assert_ne!(
                judged.status,
                Status::Pass,
                "{name} with a mangled {}",
                key.name
            );
        }
    }
}

#[test]
fn admins_without_mfa_are_named_in_the_reason_and_the_evidence() {
    let judged = flipped(
        admins_have_mfa,
        catalog::ADMINS_WITHOUT_MFA,
        json!(["alice", "bob"]),
    );
    assert_eq!(judged.status, Status::Fail);
    assert_eq!(
        judged.reason,
        "2 administrators have no second factor: alice, bob"
    );
    assert!(
        judged
            .evidence
            .iter()
            .any(|e| e.fact == catalog::ADMINS_WITHOUT_MFA.title
                && e.value == json!(["alice", "bob"]))
    );
}

#[test]
fn long_lists_are_shortened_in_the_reason_only() {
    let many: Vec<String> = (0..25).map(|i| format!("key-{i}")).collect();
    let judged = flipped(
        api_keys_used_90d,
        catalog::API_KEYS_UNUSED_90_DAYS,
        json!(many),
    );
    assert_eq!(judged.status, Status::Fail);
    assert!(
        judged.reason.ends_with("key-9 and 15 more"),
        "{}",
        judged.reason
    );
    assert!(judged.evidence.iter().any(|e| e.value == json!(many)));
}

#[test]
fn text_helpers() {
    assert_eq!(counted(1_u64, "key", "keys"), "1 key");
    assert_eq!(counted(0_usize, "key", "keys"), "0 keys");
    assert_eq!(duration(900), "15 min");
    assert_eq!(duration(86_400 * 366), "366 days");
    assert_eq!(duration(86_400), "1 day");
    assert_eq!(duration(7_200), "2 h");
    assert_eq!(duration(95), "95 s");
    assert_eq!(age(90_000), "25 h");
    assert_eq!(age(3 * 86_400 + 5), "3 days");
}
