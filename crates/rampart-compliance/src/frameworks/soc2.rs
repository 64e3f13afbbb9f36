//! SOC 2: the Trust Services Criteria (2017, points of focus revised 2022) that Rampart's
//! deployment bears on: logical access (CC6), system operations (CC7) and confidentiality
//! (C1), and the criteria a person must check.

use super::remedies::{self, reviewed};
use super::{fact, manual};
use crate::checks;
use crate::control::{Framework, FrameworkId};

/// SOC 2.
pub static SOC2: Framework = Framework {
    id: FrameworkId::Soc2,
    title: "SOC 2 Trust Services Criteria",
    version: "2017 (points of focus revised 2022)",
    controls: &[
        fact(
            "soc2-cc6.1-mfa",
            "Administrators use a second factor",
            "SOC 2 TSC CC6.1",
            "Every administrator (a principal holding `*` or the admin role) has a confirmed TOTP second factor.",
            checks::admins_have_mfa,
            remedies::MFA_ADMINS,
        ),
        fact(
            "soc2-cc6.1-user-mfa",
            "Password users use a second factor",
            "SOC 2 TSC CC6.1",
            "Every enabled principal that signs in with a password has a confirmed TOTP second factor.",
            checks::users_have_mfa,
            remedies::MFA_USERS,
        ),
        fact(
            "soc2-cc6.1-mfa-policy",
            "The role policy enforces MFA",
            "SOC 2 TSC CC6.1",
            "Some role, the admin role among them, is marked `mfa_required`, so its holders cannot sign in with a password alone.",
            checks::mfa_required_by_policy,
            remedies::MFA_POLICY,
        ),
        fact(
            "soc2-cc6.1-passwords",
            "Passwords have at least 12 characters",
            "SOC 2 TSC CC6.1",
            "The password policy in force requires at least 12 characters.",
            checks::password_length_12,
            remedies::PASSWORD_12,
        ),
        fact(
            "soc2-cc6.1-hashing",
            "Passwords are stored with a strong hash",
            "SOC 2 TSC CC6.1",
            "Passwords are hashed with argon2id at or above one of OWASP's minimum configurations.",
            checks::password_hashing_strong,
            remedies::HASHING,
        ),
        fact(
            "soc2-cc6.1-lockout",
            "Repeated failed logins lock the account",
            "SOC 2 TSC CC6.1",
            "An account locks after at most 100 failed logins from all addresses (NIST SP 800-63B §5.2.2).",
            checks::lockout_in_force,
            remedies::LOCKOUT,
        ),
        fact(
            "soc2-cc6.1-sessions",
            "Sessions require re-authentication",
            "SOC 2 TSC CC6.1",
            "Sessions last at most 12 hours and end after at most 30 minutes without a request (NIST SP 800-63B AAL2).",
            checks::sessions_aal2,
            remedies::SESSIONS_AAL2,
        ),
        fact(
            "soc2-cc6.1-keys",
            "Encryption keys are rotated",
            "SOC 2 TSC CC6.1",
            "Every named key has a rotation period and its latest version is within it.",
            checks::keys_within_rotation,
            remedies::KEY_ROTATION,
        ),
        fact(
            "soc2-cc6.1-master-key",
            "The master key is stored apart from the data",
            "SOC 2 TSC CC6.1",
            "The master key comes from the environment (a secrets manager), not a file in the data directory.",
            checks::master_key_separated,
            remedies::MASTER_KEY,
        ),
        fact(
            "soc2-cc6.1-api-key-rotation",
            "API keys are rotated",
            "SOC 2 TSC CC6.1",
            "No active API key is older than 90 days.",
            checks::api_keys_rotated_90d,
            remedies::API_KEYS_ROTATE,
        ),
        fact(
            "soc2-cc6.2-inactive",
            "Dormant principals are disabled",
            "SOC 2 TSC CC6.2",
            "No enabled principal has gone 90 days without a login or an API-key use.",
            checks::principals_active_90d,
            remedies::PRINCIPALS_INACTIVE,
        ),
        fact(
            "soc2-cc6.2-api-keys-unused",
            "Unused API keys are revoked",
            "SOC 2 TSC CC6.2",
            "No active API key has gone unused for 90 days.",
            checks::api_keys_used_90d,
            remedies::API_KEYS_UNUSED,
        ),
        fact(
            "soc2-cc6.2-api-key-expiry",
            "API keys expire",
            "SOC 2 TSC CC6.2",
            "Every active API key has an expiry.",
            checks::api_keys_expire,
            remedies::API_KEYS_EXPIRY,
        ),
        fact(
            "soc2-cc6.3-roles",
            "Roles keep principals within their teams",
            "SOC 2 TSC CC6.3",
            "The role policy in force keeps some roles within their teams rather than letting every role bypass team isolation.",
            checks::role_policy_isolation,
            remedies::ROLE_ISOLATION,
        ),
        fact(
            "soc2-cc6.3-admins",
            "Few principals hold every permission",
            "SOC 2 TSC CC6.3",
            "At most two enabled principals are administrators; more are listed for a person's review.",
            checks::admins_few,
            remedies::ADMINS_FEW,
        ),
        fact(
            "soc2-cc6.3-agents",
            "AI agents act within guardrails",
            "SOC 2 TSC CC6.3",
            "Every AI agent (a principal owned by another) has guardrails.",
            checks::agents_governed,
            remedies::AGENTS,
        ),
        fact(
            "soc2-cc6.6-network",
            "Who may reach the API is restricted",
            "SOC 2 TSC CC6.6",
            "The API requires client certificates or admits only allow-listed addresses.",
            checks::network_access_restricted,
            remedies::NETWORK,
        ),
        fact(
            "soc2-cc6.6-rate-limits",
            "Unauthenticated traffic is rate limited",
            "SOC 2 TSC CC6.6",
            "A rate-limit rule counts unauthenticated requests by address, and logins are limited per address.",
            checks::rate_limited_edge,
            remedies::RATE_LIMITS,
        ),
        fact(
            "soc2-cc6.6-blocking",
            "Abusive addresses are blocked",
            "SOC 2 TSC CC6.6",
            "Addresses with repeated authentication failures are blocked automatically.",
            checks::abusive_addresses_blocked,
            remedies::BLOCKING,
        ),
        fact(
            "soc2-cc6.7-tls",
            "Data in transit is encrypted",
            "SOC 2 TSC CC6.7",
            "The API listener serves TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "soc2-cc7.2-detection",
            "Security events raise alerts",
            "SOC 2 TSC CC7.2",
            "Detection rules read the audit log and notify at least one webhook endpoint.",
            checks::detection_and_alerting,
            remedies::DETECTION,
        ),
        fact(
            "soc2-cc7.2-audit-integrity",
            "The audit log is intact",
            "SOC 2 TSC CC7.2",
            "The audit log verifies against its signed Merkle tree, and was verified in full at least once.",
            checks::audit_log_intact,
            remedies::AUDIT_INTEGRITY,
        ),
        fact(
            "soc2-cc7.2-checkpoint",
            "The audit log is being signed",
            "SOC 2 TSC CC7.2",
            "The latest signed checkpoint of the audit log is at most 24 hours old.",
            checks::checkpoint_fresh,
            remedies::CHECKPOINT,
        ),
        fact(
            "soc2-cc7.4-incidents",
            "Incidents are handled on time",
            "SOC 2 TSC CC7.4",
            "No open incident is past its escalation or notification deadline.",
            checks::incidents_on_time,
            remedies::INCIDENTS,
        ),
        fact(
            "soc2-c1.1-retention",
            "Retention periods are defined",
            "SOC 2 TSC C1.1",
            "Audit entries, consents and sessions each have a retention policy.",
            checks::retention_policies_defined,
            remedies::RETENTION_POLICIES,
        ),
        fact(
            "soc2-c1.2-disposal",
            "Data past retention is disposed of",
            "SOC 2 TSC C1.2",
            "The latest disposal run finished or is under way (legal holds in force are listed).",
            checks::disposal_running,
            remedies::DISPOSAL,
        ),
        manual(
            "soc2-cc1.4-personnel",
            "Personnel are screened and competent",
            "SOC 2 TSC CC1.4",
            "Rampart holds no record of hiring or training; a person checks them.",
            "check that people with production access were screened before hiring and are trained for their role",
            reviewed!(
                "Keep background-check and role-training records for every principal of type user listed by `GET /v1/principals`."
            ),
        ),
        manual(
            "soc2-cc2.2-awareness",
            "Security responsibilities are communicated",
            "SOC 2 TSC CC2.2",
            "Rampart holds no record of security awareness training; a person checks it.",
            "check that everyone with access completed security awareness training this year",
            reviewed!("Run annual security awareness training and keep its completion records."),
        ),
        manual(
            "soc2-cc3.2-risk",
            "Risks are assessed",
            "SOC 2 TSC CC3.2",
            "Rampart cannot judge a risk assessment; a person checks it.",
            "check that a risk assessment covering the systems Rampart protects was done or updated this year",
            reviewed!(
                "Assess the risks to the systems Rampart protects at least yearly, and link the assessment in the review."
            ),
        ),
        manual(
            "soc2-cc6.3-access-review",
            "Access is reviewed periodically",
            "SOC 2 TSC CC6.2; CC6.3",
            "Rampart lists principals, roles and keys, but a person must confirm each is still needed.",
            "check that a person reviewed every principal's roles and API keys this quarter",
            reviewed!(
                "Review `GET /v1/principals` and `GET /v1/api-keys` quarterly; change roles with `PATCH /v1/principals/{id}` and revoke keys with `DELETE /v1/api-keys/{id}`."
            ),
        ),
        manual(
            "soc2-cc6.4-physical",
            "Physical access is restricted",
            "SOC 2 TSC CC6.4",
            "Rampart cannot see data centers or offices; a person checks them.",
            "check that physical access to the hosts running Rampart and its database is restricted (or covered by the hosting provider's SOC 2 report)",
            reviewed!(
                "Obtain the hosting provider's SOC 2 report, or document the physical controls of your own facilities."
            ),
        ),
        manual(
            "soc2-cc6.5-media",
            "Retired media are wiped",
            "SOC 2 TSC CC6.5",
            "Rampart cannot see retired disks or backups; a person checks them.",
            "check that disks and backups holding Rampart's data directory or database are wiped or destroyed when retired",
            reviewed!(
                "Document how disks and backups of the data directory and database are wiped, and keep the destruction records."
            ),
        ),
        manual(
            "soc2-cc6.8-malware",
            "Malicious software is prevented",
            "SOC 2 TSC CC6.8",
            "Rampart cannot see the hosts' software; a person checks it.",
            "check that the hosts running Rampart accept only approved software and run malware protection",
            reviewed!(
                "Install `rampart` only from its official releases, and document the hosts' malware protection."
            ),
        ),
        manual(
            "soc2-cc7.1-vulnerabilities",
            "Vulnerabilities are found and fixed",
            "SOC 2 TSC CC7.1",
            "Rampart does not scan its hosts; a person checks the scans.",
            "check that the hosts and dependencies of the deployment were scanned for vulnerabilities this quarter and findings fixed",
            reviewed!(
                "Scan the hosts and container images quarterly and upgrade `rampart` when a release fixes a vulnerability."
            ),
        ),
        manual(
            "soc2-cc8.1-change",
            "Changes are authorized and tested",
            "SOC 2 TSC CC8.1",
            "Rampart audits its own configuration changes but cannot judge the change process; a person checks it.",
            "check that changes to Rampart's configuration, role policy and releases were approved and tested before going live",
            reviewed!(
                "Keep rampart.toml, the `policy_file` and the rule files under version control with reviewed changes; the audit log (`GET /v1/audit/entries?action=policy.update`) shows when each took effect."
            ),
        ),
        manual(
            "soc2-cc9.2-vendors",
            "Vendors are assessed",
            "SOC 2 TSC CC9.2",
            "Rampart cannot see vendor contracts; a person checks them.",
            "check that hosting, database and webhook-receiving vendors were assessed and their commitments are in contract",
            reviewed!(
                "Keep a vendor list with each vendor's assessment and contract, reviewed yearly."
            ),
        ),
        manual(
            "soc2-a1.2-backups",
            "Backups are taken",
            "SOC 2 TSC A1.2",
            "Rampart does not back itself up; a person checks the backups.",
            "check that the database (and the data directory with SQLite) is backed up daily and the master key is escrowed apart from it",
            reviewed!(
                "Back up the database daily (for SQLite, the data directory) and escrow RAMPART_MASTER_KEY separately; keep `rampart audit export` files of each period."
            ),
        ),
        manual(
            "soc2-a1.3-recovery",
            "Recovery is tested",
            "SOC 2 TSC A1.3",
            "Rampart cannot know whether a restore was tested; a person checks it.",
            "check that a restore from backup was tested this year and the restored audit log verified",
            reviewed!(
                "Restore a backup into a test deployment yearly and run `POST /v1/audit/verify` on it."
            ),
        ),
    ],
};
