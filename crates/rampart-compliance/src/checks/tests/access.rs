//! Authentication, credentials, cards, keys and transport.

use serde_json::json;

use super::super::testing::{facts_of, good_but, good_values};
use super::super::*;
use super::{flipped, status};
use crate::control::Status;
use crate::facts::catalog;

#[test]
fn mfa_policy_needs_the_admin_role() {
    assert_eq!(
        status(
            mfa_required_by_policy,
            &good_but(catalog::MFA_REQUIRED_ROLES, json!([]))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            mfa_required_by_policy,
            &good_but(catalog::MFA_REQUIRED_ROLES, json!(["operator"]))
        ),
        Status::Fail
    );
}

#[test]
fn passwords_follow_their_requirements() {
    let policy = |min: u64, digit: bool, memory: u64, iterations: u64| {
        json!({
            "min_length": min, "require_upper": false, "require_lower": true,
            "require_digit": digit, "require_symbol": false,
            "argon2_memory_kib": memory, "argon2_iterations": iterations, "argon2_parallelism": 1
        })
    };
    let with = |v| good_but(catalog::PASSWORD_POLICY, v);
    assert_eq!(
        status(password_length_12, &with(policy(11, true, 19_456, 2))),
        Status::Fail
    );
    assert_eq!(
        status(password_pci, &with(policy(12, false, 19_456, 2))),
        Status::Fail
    );
    assert_eq!(
        status(password_pci, &with(policy(16, true, 19_456, 2))),
        Status::Pass
    );
    assert_eq!(
        status(password_hashing_strong, &with(policy(12, true, 19_456, 1))),
        Status::Fail
    );
    assert_eq!(
        status(password_hashing_strong, &with(policy(12, true, 47_104, 1))),
        Status::Pass
    );
    assert_eq!(
        status(password_hashing_strong, &with(policy(12, true, 7_168, 5))),
        Status::Pass
    );
}

#[test]
fn lockout_follows_pci_and_nist() {
    let lockout = |per_address: u64, account: u64, seconds: u64| {
        good_but(
            catalog::LOCKOUT,
            json!({"max_login_attempts": per_address, "account_lockout_failures": account, "lockout_seconds": seconds}),
        )
    };
    assert_eq!(status(lockout_pci, &lockout(5, 10, 1800)), Status::Pass);
    assert_eq!(status(lockout_pci, &lockout(5, 11, 1800)), Status::Fail);
    assert_eq!(status(lockout_pci, &lockout(5, 10, 1799)), Status::Fail);
    // Rampart's defaults: 5 per address, 50 per account, 15 minutes.
    let defaults = lockout(5, 50, 900);
    let judged = lockout_pci(&defaults);
    assert_eq!(judged.status, Status::Fail);
    assert!(judged.reason.contains("50 failed logins") && judged.reason.contains("15 min"));
    assert_eq!(status(lockout_in_force, &defaults), Status::Pass);
    assert_eq!(
        status(lockout_in_force, &lockout(5, 101, 900)),
        Status::Fail
    );
}

#[test]
fn sessions_follow_pci_and_nist() {
    let sessions = |ttl: u64, idle: u64| {
        good_but(
            catalog::SESSIONS,
            json!({"session_ttl_seconds": ttl, "session_idle_seconds": idle}),
        )
    };
    // Rampart's defaults: an hour, 30 minutes idle.
    assert_eq!(
        status(idle_timeout_15min, &sessions(3600, 1800)),
        Status::Fail
    );
    assert_eq!(status(sessions_aal2, &sessions(3600, 1800)), Status::Pass);
    // A lifetime shorter than the idle timeout ends the session first.
    assert_eq!(
        status(idle_timeout_15min, &sessions(600, 1800)),
        Status::Pass
    );
    assert_eq!(status(sessions_aal2, &sessions(43_201, 900)), Status::Fail);
    assert_eq!(status(sessions_aal2, &sessions(43_200, 1801)), Status::Fail);
}

#[test]
fn api_key_checks_do_not_apply_without_keys() {
    let facts = facts_of(good_values().into_iter().map(|(k, v)| {
        if k == catalog::API_KEYS_ACTIVE {
            (k, json!(0))
        } else {
            (k, v)
        }
    }));
    for check in [api_keys_rotated_90d, api_keys_used_90d, api_keys_expire] {
        assert_eq!(status(check, &facts), Status::NotApplicable);
    }
    assert_eq!(
        status(
            api_keys_expire,
            &good_but(catalog::API_KEYS_WITHOUT_EXPIRY, json!(["ci"]))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            api_keys_rotated_90d,
            &good_but(catalog::API_KEYS_OLDER_THAN_90_DAYS, json!(["ci"]))
        ),
        Status::Fail
    );
}

#[test]
fn many_administrators_need_a_review() {
    let judged = flipped(admins_few, catalog::ADMINS, json!(["a", "b", "c"]));
    assert_eq!(judged.status, Status::Manual);
    assert!(judged.reason.contains("a, b, c"));
}

#[test]
fn card_controls_do_not_apply_without_card_data() {
    let mut facts = good_but(catalog::CARDS_STORED, json!(0));
    for check in [detokenize_least_privilege, cde_access_mfa] {
        assert_eq!(status(check, &facts), Status::NotApplicable);
    }
    facts.insert(
        catalog::DETOKENIZE_HOLDERS,
        json!(["alice", "payments-svc"]),
        "test",
    );
    facts.insert(catalog::USERS_WITHOUT_MFA, json!(["alice"]), "test");
    let review = detokenize_least_privilege(&facts);
    assert_eq!(review.status, Status::Manual);
    assert!(review.reason.contains("2 principals") && review.reason.contains("payments-svc"));
    let mfa = cde_access_mfa(&facts);
    assert_eq!(mfa.status, Status::Fail);
    assert!(mfa.reason.ends_with(": alice"), "{}", mfa.reason);
    assert_eq!(
        status(sad_refused, &good_but(catalog::CVV_REFUSED, json!(false))),
        Status::Fail
    );
}

#[test]
fn the_master_key_must_not_sit_next_to_the_data() {
    assert_eq!(
        status(
            master_key_separated,
            &good_but(catalog::MASTER_KEY_SOURCE, json!("file"))
        ),
        Status::Fail
    );
    assert_eq!(
        status(
            master_key_separated,
            &good_but(catalog::MASTER_KEY_SOURCE, json!("hsm"))
        ),
        Status::Manual
    );
}

#[test]
fn keys_past_rotation_or_without_a_period_fail() {
    let past = flipped(
        keys_within_rotation,
        catalog::KEYS_PAST_ROTATION,
        json!(["payments"]),
    );
    assert_eq!(past.status, Status::Fail);
    assert_eq!(past.reason, "1 key is past its rotation period: payments");
    let none = flipped(
        keys_within_rotation,
        catalog::KEYS_WITHOUT_ROTATION_PERIOD,
        json!(["pii"]),
    );
    assert_eq!(none.status, Status::Fail);
    assert_eq!(
        status(
            keys_within_rotation,
            &good_but(catalog::KEYS_TOTAL, json!(0))
        ),
        Status::NotApplicable
    );
}

#[test]
fn tls_must_be_on_and_strong() {
    assert_eq!(
        status(
            tls_in_transit,
            &good_but(catalog::TLS_ENABLED, json!(false))
        ),
        Status::Fail
    );
    let weak = flipped(
        tls_in_transit,
        catalog::TLS_VERSIONS,
        json!(["TLSv1.1", "TLSv1.2"]),
    );
    assert_eq!(weak.status, Status::Fail);
    assert!(weak.reason.ends_with("TLSv1.1"));
    let mut proxied = good_but(catalog::TLS_ENABLED, json!(false));
    proxied.insert(catalog::LISTEN_ADDRESS, json!("127.0.0.1:8470"), "test");
    // On loopback too: a proxy Rampart cannot see is a waiver's reason, never a pass.
    let behind = tls_in_transit(&proxied);
    assert_eq!(behind.status, Status::Fail);
    assert!(behind.reason.contains("waiver"), "{}", behind.reason);
    assert_eq!(
        status(
            tls_in_transit,
            &good_but(catalog::TLS_VERSIONS, json!(["1.3"]))
        ),
        Status::Pass
    );
}

#[test]
fn network_restriction_by_certificate_or_allow_list() {
    let open = good_but(catalog::MTLS_REQUIRED, json!(false));
    assert_eq!(status(network_access_restricted, &open), Status::Manual);
    let mut listed = open;
    listed.insert(
        catalog::IP_RULES,
        json!({"allow": ["10.0.0.0/8"], "deny": []}),
        "test",
    );
    assert_eq!(status(network_access_restricted, &listed), Status::Pass);
}
