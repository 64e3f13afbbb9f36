//! HIPAA Security Rule (45 CFR Part 164 Subpart C): the administrative and technical
//! safeguards Rampart's deployment bears on, and those a person must check.

use super::remedies::{self, reviewed};
use super::{fact, manual};
use crate::checks;
use crate::control::{Framework, FrameworkId};

/// HIPAA.
pub static HIPAA: Framework = Framework {
    id: FrameworkId::Hipaa,
    title: "HIPAA Security Rule",
    version: "45 CFR Part 164 Subpart C (as amended 2013)",
    controls: &[
        fact(
            "hipaa-164.308(a)(1)(ii)(d)",
            "Information system activity is reviewed",
            "45 CFR §164.308(a)(1)(ii)(D)",
            "Detection rules read every audit entry and notify at least one webhook endpoint.",
            checks::detection_and_alerting,
            remedies::DETECTION,
        ),
        fact(
            "hipaa-164.308(a)(3)(ii)(c)",
            "Access ends when it is no longer needed",
            "45 CFR §164.308(a)(3)(ii)(C)",
            "No enabled principal has gone 90 days without a login or an API-key use.",
            checks::principals_active_90d,
            remedies::PRINCIPALS_INACTIVE,
        ),
        fact(
            "hipaa-164.308(a)(4)(ii)(b)",
            "Access is authorized by role",
            "45 CFR §164.308(a)(4)(ii)(B)",
            "The role policy in force keeps some roles within their teams rather than letting every role bypass team isolation.",
            checks::role_policy_isolation,
            remedies::ROLE_ISOLATION,
        ),
        fact(
            "hipaa-164.308(a)(4)(ii)(c)",
            "Few principals hold every permission",
            "45 CFR §164.308(a)(4)(ii)(C)",
            "At most two enabled principals are administrators; more are listed for a person's review.",
            checks::admins_few,
            remedies::ADMINS_FEW,
        ),
        fact(
            "hipaa-164.308(a)(5)(ii)(c)",
            "Log-in attempts are monitored",
            "45 CFR §164.308(a)(5)(ii)(C)",
            "The failed_logins detection rule is in force and notifies at least one webhook endpoint.",
            checks::login_monitoring,
            remedies::LOGIN_MONITORING,
        ),
        fact(
            "hipaa-164.308(a)(5)(ii)(d)",
            "Passwords are managed",
            "45 CFR §164.308(a)(5)(ii)(D)",
            "The password policy in force requires at least 12 characters.",
            checks::password_length_12,
            remedies::PASSWORD_12,
        ),
        fact(
            "hipaa-164.308(a)(6)(ii)",
            "Security incidents are responded to",
            "45 CFR §164.308(a)(6)(ii)",
            "No open incident is past its escalation or notification deadline.",
            checks::incidents_on_time,
            remedies::INCIDENTS,
        ),
        fact(
            "hipaa-164.312(a)(1)",
            "Software programs act within granted rights",
            "45 CFR §164.312(a)(1)",
            "Every AI agent (a software program with access rights) has guardrails.",
            checks::agents_governed,
            remedies::AGENTS,
        ),
        fact(
            "hipaa-164.312(a)(1)-api-keys",
            "Software credentials expire",
            "45 CFR §164.312(a)(1)",
            "Every active API key has an expiry.",
            checks::api_keys_expire,
            remedies::API_KEYS_EXPIRY,
        ),
        fact(
            "hipaa-164.312(a)(2)(iii)",
            "Sessions log off automatically",
            "45 CFR §164.312(a)(2)(iii)",
            "Sessions end after at most 30 minutes without a request and 12 hours in all (NIST SP 800-63B AAL2).",
            checks::sessions_aal2,
            remedies::SESSIONS_AAL2,
        ),
        fact(
            "hipaa-164.312(a)(2)(iv)",
            "The encryption key is stored apart from ePHI",
            "45 CFR §164.312(a)(2)(iv)",
            "The master key, which seals every data key, comes from the environment rather than a file next to the data.",
            checks::master_key_separated,
            remedies::MASTER_KEY,
        ),
        fact(
            "hipaa-164.312(a)(2)(iv)-rotation",
            "Encryption keys are rotated",
            "45 CFR §164.312(a)(2)(iv)",
            "Every named key has a rotation period and its latest version is within it.",
            checks::keys_within_rotation,
            remedies::KEY_ROTATION,
        ),
        fact(
            "hipaa-164.312(b)",
            "Activity is recorded",
            "45 CFR §164.312(b)",
            "The latest signed checkpoint of the audit log is at most 24 hours old.",
            checks::checkpoint_fresh,
            remedies::CHECKPOINT,
        ),
        fact(
            "hipaa-164.312(c)(2)",
            "Records are protected from alteration",
            "45 CFR §164.312(c)(1); §164.312(c)(2)",
            "The audit log, sealed ePHI included, verifies against its signed Merkle tree and was verified in full at least once.",
            checks::audit_log_intact,
            remedies::AUDIT_INTEGRITY,
        ),
        fact(
            "hipaa-164.312(d)",
            "Administrators prove their identity with a second factor",
            "45 CFR §164.312(d)",
            "Every administrator has a confirmed TOTP second factor.",
            checks::admins_have_mfa,
            remedies::MFA_ADMINS,
        ),
        fact(
            "hipaa-164.312(d)-lockout",
            "Password guessing is stopped",
            "45 CFR §164.312(d)",
            "An account locks after at most 100 failed logins from all addresses (NIST SP 800-63B §5.2.2).",
            checks::lockout_in_force,
            remedies::LOCKOUT,
        ),
        fact(
            "hipaa-164.312(e)(1)",
            "ePHI is encrypted in transit",
            "45 CFR §164.312(e)(1); §164.312(e)(2)(ii)",
            "The API listener serves TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "hipaa-164.316(b)(2)(i)",
            "Records are kept six years",
            "45 CFR §164.316(b)(2)(i)",
            "Audit entries (those tagged hipaa included) are kept at least 6 years (2192 days).",
            checks::audit_retention_at_least_6y,
            "Set `PUT /v1/retention/policies/audit_entries` `{\"retain_days\": 2192, \"mode\": \"compliance\"}` or longer (or the same on `audit_entries:hipaa` for entries tagged hipaa); a compliance policy can later be lengthened, never shortened.",
        ),
        manual(
            "hipaa-164.308(a)(1)(ii)(a)",
            "Risks to ePHI are analysed",
            "45 CFR §164.308(a)(1)(ii)(A)",
            "Rampart cannot judge a risk analysis; a person checks it.",
            "check that an accurate and thorough risk analysis of the ePHI the deployment protects is current",
            reviewed!(
                "Analyse the risks to the ePHI Rampart and the application hold, and update the analysis after each significant change."
            ),
        ),
        manual(
            "hipaa-164.308(a)(2)",
            "A security official is assigned",
            "45 CFR §164.308(a)(2)",
            "Rampart holds no record of who is responsible; a person checks it.",
            "check that a security official responsible for the Security Rule is named",
            reviewed!(
                "Name the security official in writing and give them the `security_auditor` role with `PATCH /v1/principals/{id}`."
            ),
        ),
        manual(
            "hipaa-164.308(a)(5)(i)",
            "Workforce is trained",
            "45 CFR §164.308(a)(5)(i)",
            "Rampart holds no training records; a person checks them.",
            "check that every workforce member with access completed security awareness training",
            reviewed!(
                "Train every user principal's holder at hire and periodically, and keep completion records."
            ),
        ),
        manual(
            "hipaa-164.308(a)(7)(ii)(a)",
            "ePHI is backed up",
            "45 CFR §164.308(a)(7)(ii)(A)",
            "Rampart does not back itself up; a person checks the backups.",
            "check that retrievable exact copies of the database (and the data directory with SQLite) are made, with the master key escrowed apart",
            reviewed!(
                "Back up the database daily (for SQLite, the data directory) and escrow RAMPART_MASTER_KEY separately; keep `rampart audit export` files of each period."
            ),
        ),
        manual(
            "hipaa-164.308(a)(7)(ii)(b)",
            "Data can be restored after a disaster",
            "45 CFR §164.308(a)(7)(ii)(B)",
            "Rampart cannot know whether recovery works; a person checks it.",
            "check that a disaster recovery plan restores the deployment and that a restore was tested",
            reviewed!(
                "Restore a backup into a test deployment at least yearly and run `POST /v1/audit/verify` on it."
            ),
        ),
        manual(
            "hipaa-164.308(a)(8)",
            "Safeguards are evaluated periodically",
            "45 CFR §164.308(a)(8)",
            "Rampart's reports are input to the evaluation, not the evaluation; a person checks it.",
            "check that a technical and non-technical evaluation of the safeguards was done after the last significant change",
            reviewed!(
                "Evaluate the safeguards yearly using this report (`POST /v1/compliance/reports` `{\"framework\": \"hipaa\"}`) and the manual controls' evidence."
            ),
        ),
        manual(
            "hipaa-164.308(b)(1)",
            "Business associate agreements are in place",
            "45 CFR §164.308(b)(1); §164.314(a)",
            "Rampart cannot see contracts; a person checks them.",
            "check that every business associate handling ePHI (hosting, database, webhook receivers) has signed a business associate agreement",
            reviewed!(
                "Keep each business associate agreement with the list of ePHI the associate can reach."
            ),
        ),
        manual(
            "hipaa-164.310(a)(1)",
            "Facility access is controlled",
            "45 CFR §164.310(a)(1)",
            "Rampart cannot see facilities; a person checks them.",
            "check that physical access to the hosts running Rampart and its database is limited to authorized people",
            reviewed!(
                "Obtain the hosting provider's attestation of physical controls, or document those of your own facilities."
            ),
        ),
        manual(
            "hipaa-164.310(d)(1)",
            "Devices and media are controlled",
            "45 CFR §164.310(d)(1)",
            "Rampart cannot see disks and backup media; a person checks them.",
            "check that disks and backups holding the database or data directory are tracked and wiped before disposal or reuse",
            reviewed!(
                "Keep an inventory of media holding Rampart's data and records of their wiping or destruction."
            ),
        ),
        manual(
            "hipaa-164.312(a)(2)(ii)",
            "Emergency access is possible",
            "45 CFR §164.312(a)(2)(ii)",
            "Rampart cannot judge an emergency procedure; a person checks it.",
            "check that a documented break-glass procedure obtains access to ePHI in an emergency",
            reviewed!(
                "Keep a break-glass administrator with TOTP whose credentials are sealed offline, and document when and how it is used; its use is audited."
            ),
        ),
        manual(
            "hipaa-164.404",
            "Individuals are notified of breaches",
            "45 CFR §164.404(b)",
            "Rampart tracks incidents but cannot know whether individuals were told; a person checks it.",
            "check that individuals affected by each breach of unsecured PHI were notified without unreasonable delay and within 60 days of discovery",
            reviewed!(
                "Record each notification in the incident's timeline with `POST /v1/incidents/{id}/timeline` `{\"kind\": \"action\", \"text\": \"individuals notified\"}`."
            ),
        ),
    ],
};
