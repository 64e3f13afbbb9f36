//! Fact sets for tests: a compliant deployment, every catalog fact gathered.

use serde_json::{Value, json};

use crate::facts::{FactKey, Facts, catalog};

const DAY: u64 = 86_400;

/// Every catalog fact with a compliant value, in catalog order.
pub(crate) fn good_values() -> Vec<(FactKey, Value)> {
    vec![
        (catalog::MASTER_KEY_SOURCE, json!("env")),
        (catalog::TLS_ENABLED, json!(true)),
        (catalog::TLS_VERSIONS, json!(["TLSv1.2", "TLSv1.3"])),
        (catalog::MTLS_REQUIRED, json!(true)),
        (catalog::LISTEN_ADDRESS, json!("0.0.0.0:8443")),
        (catalog::KEYS_TOTAL, json!(3)),
        (catalog::KEYS_PAST_ROTATION, json!([])),
        (catalog::KEYS_WITHOUT_ROTATION_PERIOD, json!([])),
        (catalog::CARDS_STORED, json!(1200)),
        (catalog::DETOKENIZE_HOLDERS, json!([])),
        (catalog::CARD_REFUSALS, json!(4)),
        (catalog::CVV_REFUSED, json!(true)),
        (catalog::ADMINS, json!(["root", "ops-lead"])),
        (catalog::ADMINS_WITHOUT_MFA, json!([])),
        (catalog::USERS_WITHOUT_MFA, json!([])),
        (catalog::MFA_REQUIRED_ROLES, json!(["admin"])),
        (catalog::PRINCIPALS_ENABLED, json!(12)),
        (
            catalog::PASSWORD_POLICY,
            json!({
                "min_length": 12, "require_upper": true, "require_lower": true,
                "require_digit": true, "require_symbol": false,
                "argon2_memory_kib": 19456, "argon2_iterations": 2, "argon2_parallelism": 1
            }),
        ),
        (
            catalog::LOCKOUT,
            json!({"max_login_attempts": 5, "lockout_seconds": 1800, "account_lockout_failures": 10}),
        ),
        (
            catalog::SESSIONS,
            json!({"session_ttl_seconds": 3600, "session_idle_seconds": 900}),
        ),
        (catalog::API_KEYS_OLDER_THAN_90_DAYS, json!([])),
        (catalog::API_KEYS_UNUSED_90_DAYS, json!([])),
        (catalog::API_KEYS_WITHOUT_EXPIRY, json!([])),
        (catalog::API_KEYS_ACTIVE, json!(4)),
        (
            catalog::ROLE_POLICY,
            json!({
                "source": "default", "version": 1,
                "roles": ["viewer", "developer", "operator", "admin", "security_auditor"],
                "team_isolated_roles": ["viewer", "developer", "operator"]
            }),
        ),
        (
            catalog::AUDIT_VERIFICATION,
            json!({
                "ok": true, "tree_size": 5000, "root_hash": "9f86d081884c7d659a2feaa0c55ad015",
                "checked_entries": 120, "from_tree_size": 4880, "problems": []
            }),
        ),
        (
            catalog::AUDIT_LAST_FULL_VERIFICATION,
            json!("2026-05-31T02:00:00Z"),
        ),
        (catalog::AUDIT_CHECKPOINT_AGE_SECONDS, json!(40)),
        (
            catalog::RETENTION_POLICIES,
            json!([
                {"data_type": "audit_entries", "mode": "compliance", "retain_seconds": 2557 * DAY},
                {"data_type": "consents", "mode": "governance", "retain_seconds": 1095 * DAY},
                {"data_type": "sessions", "mode": "governance", "retain_seconds": 30 * DAY},
                {"data_type": "webhook_deliveries", "mode": "governance", "retain_seconds": 90 * DAY}
            ]),
        ),
        (catalog::AUDIT_RETENTION_SECONDS, json!(2557 * DAY)),
        (catalog::LEGAL_HOLDS, json!(["litigation-2026-01"])),
        (
            catalog::RETENTION_LAST_RUN,
            json!({
                "id": "run_0193a6f2", "state": "done",
                "started_at": "2026-05-31T03:00:00Z", "finished_at": "2026-05-31T03:00:09Z"
            }),
        ),
        (
            catalog::RATE_LIMITS,
            json!({
                "rules": [{
                    "name": "api-per-ip", "key": "ip", "match": ["*"], "limit": 100,
                    "window_seconds": 60, "burst": 20, "shared": false,
                    "applies_to": "unauthenticated"
                }],
                "per_address_per_second": 1000, "auth_per_minute": 60
            }),
        ),
        (catalog::AUTO_BLOCKING, json!(true)),
        (
            catalog::DETECTION_RULES,
            json!([
                "failed_logins",
                "unauthorized_access",
                "suspicious_requests",
                "privileged_actions",
                "bulk_decryption"
            ]),
        ),
        (catalog::WEBHOOK_ENDPOINTS, json!(1)),
        (catalog::OPEN_INCIDENTS, json!(1)),
        (catalog::INCIDENTS_PAST_DEADLINE, json!([])),
        (
            catalog::SUBJECT_RECORDS,
            json!({"consents": 340, "subjects": 120, "erasures": 3}),
        ),
        (catalog::ERASURE_CAPABLE, json!(true)),
        (catalog::AGENTS_WITHOUT_GUARDRAILS, json!([])),
        (catalog::AGENTS_WITH_GUARDRAILS, json!(2)),
        (catalog::PII_POLICY, json!("default")),
        (catalog::PRINCIPALS_INACTIVE_90_DAYS, json!([])),
        (catalog::IP_RULES, json!({"allow": [], "deny": []})),
    ]
}

/// A compliant deployment: every catalog fact gathered.
pub(crate) fn good_facts() -> Facts {
    facts_of(good_values())
}

/// Facts of `values`, each read from `test`.
pub(crate) fn facts_of(values: impl IntoIterator<Item = (FactKey, Value)>) -> Facts {
    let mut facts = Facts::new();
    for (key, value) in values {
        facts.insert(key, value, "test");
    }
    facts
}

/// The good facts with `key` set to `value` instead.
pub(crate) fn good_but(key: FactKey, value: Value) -> Facts {
    let mut facts = good_facts();
    facts.insert(key, value, "test");
    facts
}
