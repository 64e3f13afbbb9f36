//! PCI DSS v4.0.1: the requirements Rampart's card vault, keys, identities and audit log bear
//! on, and those a person must check.

use super::remedies::{self, reviewed};
use super::{fact, manual};
use crate::checks;
use crate::control::{Framework, FrameworkId};

/// PCI DSS.
pub static PCI_DSS: Framework = Framework {
    id: FrameworkId::PciDss,
    title: "Payment Card Industry Data Security Standard",
    version: "4.0.1",
    controls: &[
        fact(
            "pci-dss-1.3.1",
            "Inbound traffic is restricted",
            "PCI DSS v4.0.1 Req. 1.3.1",
            "The API requires client certificates or admits only allow-listed addresses.",
            checks::network_access_restricted,
            remedies::NETWORK,
        ),
        fact(
            "pci-dss-2.2.7",
            "Administrative access is encrypted",
            "PCI DSS v4.0.1 Req. 2.2.7",
            "The API, administration included, is served over TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "pci-dss-3.3.1",
            "Sensitive authentication data is not stored",
            "PCI DSS v4.0.1 Req. 3.3.1; 3.3.1.2; 3.3.1.3",
            "The vault refuses tokenization requests carrying a card security code or PIN.",
            checks::sad_refused,
            remedies::SAD,
        ),
        fact(
            "pci-dss-3.4.1",
            "Full card numbers are shown only to those with a need",
            "PCI DSS v4.0.1 Req. 3.4.1",
            "Lists who may detokenize cards: nobody passes, holders need a person's review, and it does not apply without stored cards.",
            checks::detokenize_least_privilege,
            remedies::DETOKENIZE,
        ),
        fact(
            "pci-dss-3.6.1.2",
            "The key-encrypting key is stored apart",
            "PCI DSS v4.0.1 Req. 3.6.1.2",
            "The master key, which seals every data key, comes from the environment rather than a file next to the data.",
            checks::master_key_separated,
            remedies::MASTER_KEY,
        ),
        fact(
            "pci-dss-3.7.4",
            "Keys change at the end of their cryptoperiod",
            "PCI DSS v4.0.1 Req. 3.7.4",
            "Every named key has a rotation period (its cryptoperiod) and its latest version is within it.",
            checks::keys_within_rotation,
            remedies::KEY_ROTATION,
        ),
        fact(
            "pci-dss-4.2.1",
            "Card data is encrypted in transit",
            "PCI DSS v4.0.1 Req. 4.2.1",
            "The API that receives card numbers serves TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "pci-dss-7.2.1",
            "An access control model is defined",
            "PCI DSS v4.0.1 Req. 7.2.1",
            "The role policy in force keeps some roles within their teams rather than letting every role bypass team isolation.",
            checks::role_policy_isolation,
            remedies::ROLE_ISOLATION,
        ),
        fact(
            "pci-dss-7.2.2",
            "Privileges follow least privilege",
            "PCI DSS v4.0.1 Req. 7.2.2",
            "At most two enabled principals hold every permission; more are listed for a person's review.",
            checks::admins_few,
            remedies::ADMINS_FEW,
        ),
        fact(
            "pci-dss-7.2.5",
            "System accounts act within limits",
            "PCI DSS v4.0.1 Req. 7.2.5",
            "Every AI agent (an automated system account) has guardrails limiting what it may do.",
            checks::agents_governed,
            remedies::AGENTS,
        ),
        fact(
            "pci-dss-8.2.6",
            "Inactive accounts are disabled",
            "PCI DSS v4.0.1 Req. 8.2.6",
            "No enabled principal has gone 90 days without a login or an API-key use.",
            checks::principals_active_90d,
            remedies::PRINCIPALS_INACTIVE,
        ),
        fact(
            "pci-dss-8.2.6-api-keys",
            "Inactive API keys are revoked",
            "PCI DSS v4.0.1 Req. 8.2.6",
            "No active API key has gone unused for 90 days.",
            checks::api_keys_used_90d,
            remedies::API_KEYS_UNUSED,
        ),
        fact(
            "pci-dss-8.2.8",
            "Idle sessions end after 15 minutes",
            "PCI DSS v4.0.1 Req. 8.2.8",
            "A session ends after at most 15 minutes without a request.",
            checks::idle_timeout_15min,
            remedies::IDLE_15,
        ),
        fact(
            "pci-dss-8.3.2",
            "Passwords are unreadable in storage",
            "PCI DSS v4.0.1 Req. 8.3.2",
            "Passwords are hashed with argon2id at or above one of OWASP's minimum configurations.",
            checks::password_hashing_strong,
            remedies::HASHING,
        ),
        fact(
            "pci-dss-8.3.4",
            "Failed logins lock the account",
            "PCI DSS v4.0.1 Req. 8.3.4",
            "An account locks after at most 10 failed logins from all addresses, for at least 30 minutes.",
            checks::lockout_pci,
            remedies::LOCKOUT_PCI,
        ),
        fact(
            "pci-dss-8.3.6",
            "Passwords meet the minimum complexity",
            "PCI DSS v4.0.1 Req. 8.3.6",
            "Passwords need at least 12 characters with both a digit and a letter.",
            checks::password_pci,
            remedies::PASSWORD_PCI,
        ),
        fact(
            "pci-dss-8.4.1",
            "Administrative access uses MFA",
            "PCI DSS v4.0.1 Req. 8.4.1",
            "Every administrator has a confirmed TOTP second factor.",
            checks::admins_have_mfa,
            remedies::MFA_ADMINS,
        ),
        fact(
            "pci-dss-8.4.1-policy",
            "The role policy enforces MFA for administrators",
            "PCI DSS v4.0.1 Req. 8.4.1",
            "The admin role (and any other) is marked `mfa_required`, so a new administrator cannot sign in with a password alone.",
            checks::mfa_required_by_policy,
            remedies::MFA_POLICY,
        ),
        fact(
            "pci-dss-8.4.2",
            "Access to card data uses MFA",
            "PCI DSS v4.0.1 Req. 8.4.2",
            "Every password user who may detokenize cards has a confirmed second factor.",
            checks::cde_access_mfa,
            remedies::MFA_CDE,
        ),
        fact(
            "pci-dss-8.6.3",
            "Application credentials are changed periodically",
            "PCI DSS v4.0.1 Req. 8.6.3",
            "No active API key is older than 90 days.",
            checks::api_keys_rotated_90d,
            remedies::API_KEYS_ROTATE,
        ),
        fact(
            "pci-dss-8.6.3-expiry",
            "Application credentials expire",
            "PCI DSS v4.0.1 Req. 8.6.3",
            "Every active API key has an expiry.",
            checks::api_keys_expire,
            remedies::API_KEYS_EXPIRY,
        ),
        fact(
            "pci-dss-10.2.1",
            "Audit logs are enabled and active",
            "PCI DSS v4.0.1 Req. 10.2.1",
            "The latest signed checkpoint of the audit log is at most 24 hours old.",
            checks::checkpoint_fresh,
            remedies::CHECKPOINT,
        ),
        fact(
            "pci-dss-10.3.4",
            "Changes to audit logs are detected",
            "PCI DSS v4.0.1 Req. 10.3.4",
            "The audit log verifies against its signed Merkle tree, and was verified in full at least once.",
            checks::audit_log_intact,
            remedies::AUDIT_INTEGRITY,
        ),
        fact(
            "pci-dss-10.4.1.1",
            "Audit logs are reviewed automatically",
            "PCI DSS v4.0.1 Req. 10.4.1.1",
            "Detection rules read every audit entry and notify at least one webhook endpoint.",
            checks::detection_and_alerting,
            remedies::DETECTION,
        ),
        fact(
            "pci-dss-10.5.1",
            "Audit logs are kept 12 months",
            "PCI DSS v4.0.1 Req. 10.5.1",
            "Audit entries (those tagged pci-dss included) are kept at least 366 days.",
            checks::audit_retention_at_least_1y,
            "Set `PUT /v1/retention/policies/audit_entries` `{\"retain_days\": 366, \"mode\": \"compliance\"}` or longer (or the same on `audit_entries:pci-dss` for entries tagged pci-dss); a compliance policy can later be lengthened, never shortened.",
        ),
        fact(
            "pci-dss-12.10.1",
            "Incidents are responded to on time",
            "PCI DSS v4.0.1 Req. 12.10.1",
            "No open incident is past its escalation deadline.",
            checks::incidents_on_time,
            remedies::INCIDENTS,
        ),
        manual(
            "pci-dss-3.2.1",
            "Account data is kept to a minimum",
            "PCI DSS v4.0.1 Req. 3.2.1",
            "Rampart cannot tell which card tokens are still needed; a person checks them.",
            "check that card tokens no longer needed for business are deleted, per the data retention policy",
            reviewed!(
                "List the tokens the application still references and delete the others through the application's retention job; card tokens linked to an erased subject are deleted by `POST /v1/subjects/{id}/erasure`."
            ),
        ),
        manual(
            "pci-dss-3.5.1",
            "Card numbers are unreadable wherever stored",
            "PCI DSS v4.0.1 Req. 3.5.1",
            "Rampart stores card numbers only encrypted, but cannot see the application's databases, logs and backups; a person checks them.",
            "check that no full card number is stored outside Rampart's vault (application databases, logs, backups)",
            reviewed!(
                "Scan application data with `POST /v1/detect` (or `rampart redact --stats` over exports) for `credit_card` findings, and replace every card number found with a token from `POST /v1/cards/tokenize`."
            ),
        ),
        manual(
            "pci-dss-5.2.1",
            "Anti-malware is deployed",
            "PCI DSS v4.0.1 Req. 5.2.1",
            "Rampart cannot see the hosts' software; a person checks it.",
            "check that anti-malware runs on the hosts of the deployment, or that a documented evaluation found them not at risk",
            reviewed!(
                "Deploy anti-malware on the hosts running Rampart, or document the periodic evaluation of Req. 5.2.3."
            ),
        ),
        manual(
            "pci-dss-6.3.3",
            "Security patches are installed",
            "PCI DSS v4.0.1 Req. 6.3.3",
            "Rampart does not know which release fixes what; a person checks it.",
            "check that critical security patches, Rampart releases included, were installed within one month of release",
            reviewed!(
                "Upgrade `rampart` and the hosts within a month of each critical security release, and keep the change records."
            ),
        ),
        manual(
            "pci-dss-7.2.4",
            "Accounts and privileges are reviewed every six months",
            "PCI DSS v4.0.1 Req. 7.2.4",
            "Rampart lists principals and roles, but a person must confirm each is still appropriate.",
            "check that every principal's roles and API keys were reviewed in the last six months",
            reviewed!(
                "Review `GET /v1/principals` and `GET /v1/api-keys` every six months; change roles with `PATCH /v1/principals/{id}` and revoke keys with `DELETE /v1/api-keys/{id}`."
            ),
        ),
        manual(
            "pci-dss-10.6.1",
            "Clocks are synchronized",
            "PCI DSS v4.0.1 Req. 10.6.1",
            "Rampart timestamps with the host clock but cannot see its synchronization; a person checks it.",
            "check that the hosts running Rampart synchronize their clocks with NTP from designated time sources",
            reviewed!(
                "Configure chrony or another NTP client on each host against your designated time servers and keep its configuration under change control."
            ),
        ),
        manual(
            "pci-dss-11.3.1",
            "Internal vulnerability scans are run",
            "PCI DSS v4.0.1 Req. 11.3.1",
            "Rampart does not scan its hosts; a person checks the scans.",
            "check that internal vulnerability scans of the deployment ran at least once every three months and high-risk findings were fixed",
            reviewed!("Scan the hosts quarterly and rescan after fixes; keep the reports."),
        ),
        manual(
            "pci-dss-11.4.2",
            "Penetration tests are run",
            "PCI DSS v4.0.1 Req. 11.4.2; 11.4.3",
            "Rampart cannot run or judge penetration tests; a person checks them.",
            "check that the deployment was penetration-tested this year and after significant changes",
            reviewed!(
                "Have the API and its network penetration-tested yearly and keep the report and the fixes."
            ),
        ),
        manual(
            "pci-dss-12.6.1",
            "Personnel learn their security duties",
            "PCI DSS v4.0.1 Req. 12.6.1",
            "Rampart holds no training records; a person checks them.",
            "check that everyone with access to card data completed security awareness training this year",
            reviewed!(
                "Run security awareness training at hire and yearly for every user principal, and keep completion records."
            ),
        ),
        manual(
            "pci-dss-12.8.1",
            "Service providers are listed",
            "PCI DSS v4.0.1 Req. 12.8.1",
            "Rampart cannot see contracts; a person checks them.",
            "check that every service provider with access to card data (hosting, database, webhook receivers) is listed with the services it provides",
            reviewed!(
                "Keep the list of service providers with the account data they can reach, and their PCI DSS attestation of compliance."
            ),
        ),
    ],
};
