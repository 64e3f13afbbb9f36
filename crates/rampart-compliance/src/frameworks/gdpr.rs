//! GDPR (Regulation (EU) 2016/679): the principles, rights and security obligations Rampart's
//! deployment bears on, and those a person must check.

use super::remedies::{self, reviewed};
use super::{fact, manual};
use crate::checks;
use crate::control::{Framework, FrameworkId};

/// GDPR.
pub static GDPR: Framework = Framework {
    id: FrameworkId::Gdpr,
    title: "General Data Protection Regulation",
    version: "Regulation (EU) 2016/679",
    controls: &[
        fact(
            "gdpr-art5-1e",
            "Personal data is kept no longer than needed",
            "GDPR Art. 5(1)(e)",
            "Audit entries, consents and sessions each have a retention policy.",
            checks::retention_policies_defined,
            remedies::RETENTION_POLICIES,
        ),
        fact(
            "gdpr-art5-1e-disposal",
            "Data past retention is disposed of",
            "GDPR Art. 5(1)(e)",
            "The latest disposal run finished or is under way (legal holds in force are listed).",
            checks::disposal_running,
            remedies::DISPOSAL,
        ),
        fact(
            "gdpr-art5-2",
            "Processing can be demonstrated",
            "GDPR Art. 5(2); Art. 5(1)(f)",
            "The audit log verifies against its signed Merkle tree, and was verified in full at least once.",
            checks::audit_log_intact,
            remedies::AUDIT_INTEGRITY,
        ),
        fact(
            "gdpr-art7-1",
            "Consent can be demonstrated",
            "GDPR Art. 7(1)",
            "Consents are recorded in Rampart's append-only ledger; none recorded needs a person to check where consent is kept.",
            checks::consent_records,
            remedies::CONSENT,
        ),
        fact(
            "gdpr-art17",
            "Personal data can be erased",
            "GDPR Art. 17(1)",
            "Personal data is sealed under a key per subject, so erasure destroys that key.",
            checks::erasure_capability,
            remedies::ERASURE,
        ),
        fact(
            "gdpr-art25-1",
            "Personal data is pseudonymised by design",
            "GDPR Art. 25(1)",
            "The PII policy in force is the default one, which hashes, masks or redacts every personal data type it finds.",
            checks::pii_policy,
            remedies::PII,
        ),
        fact(
            "gdpr-art25-2",
            "Access is limited by default",
            "GDPR Art. 25(2)",
            "The role policy in force keeps some roles within their teams, so personal data is not open to every principal.",
            checks::role_policy_isolation,
            remedies::ROLE_ISOLATION,
        ),
        fact(
            "gdpr-art32-1a",
            "Personal data is encrypted in transit",
            "GDPR Art. 32(1)(a)",
            "The API listener serves TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "gdpr-art32-1a-keys",
            "Encryption keys are rotated",
            "GDPR Art. 32(1)(a)",
            "Every named key has a rotation period and its latest version is within it.",
            checks::keys_within_rotation,
            remedies::KEY_ROTATION,
        ),
        fact(
            "gdpr-art32-1a-master-key",
            "The master key is stored apart from the data",
            "GDPR Art. 32(1)(a)",
            "The master key, which seals every data and subject key, comes from the environment rather than a file next to the data.",
            checks::master_key_separated,
            remedies::MASTER_KEY,
        ),
        fact(
            "gdpr-art32-1b-mfa",
            "Administrators use a second factor",
            "GDPR Art. 32(1)(b)",
            "Every administrator has a confirmed TOTP second factor.",
            checks::admins_have_mfa,
            remedies::MFA_ADMINS,
        ),
        fact(
            "gdpr-art32-1b-lockout",
            "Password guessing is stopped",
            "GDPR Art. 32(1)(b)",
            "An account locks after at most 100 failed logins from all addresses (NIST SP 800-63B §5.2.2).",
            checks::lockout_in_force,
            remedies::LOCKOUT,
        ),
        fact(
            "gdpr-art32-1b-api-keys",
            "Unused credentials are revoked",
            "GDPR Art. 32(1)(b)",
            "No active API key has gone unused for 90 days.",
            checks::api_keys_used_90d,
            remedies::API_KEYS_UNUSED,
        ),
        fact(
            "gdpr-art32-1b-rate-limits",
            "The service resists abuse",
            "GDPR Art. 32(1)(b)",
            "A rate-limit rule counts unauthenticated requests by address, and logins are limited per address.",
            checks::rate_limited_edge,
            remedies::RATE_LIMITS,
        ),
        fact(
            "gdpr-art33-1",
            "Breaches are notified within 72 hours",
            "GDPR Art. 33(1)",
            "No open incident, a personal-data breach's 72-hour notification deadline included, is past its deadline.",
            checks::incidents_on_time,
            "Notify the supervisory authority of each personal-data breach listed and record it with `POST /v1/incidents/{id}/timeline` `{\"kind\": \"action\", \"text\": \"notified the supervisory authority\"}`; acknowledge and resolve the others with `POST /v1/incidents/{id}/acknowledge` and `POST /v1/incidents/{id}/resolve`.",
        ),
        fact(
            "gdpr-art33-1-detection",
            "Breaches are detected",
            "GDPR Art. 33(1)",
            "Detection rules read every audit entry and notify at least one webhook endpoint.",
            checks::detection_and_alerting,
            remedies::DETECTION,
        ),
        manual(
            "gdpr-art6-1",
            "Each processing has a lawful basis",
            "GDPR Art. 6(1)",
            "Rampart records consent but cannot judge the other lawful bases; a person checks them.",
            "check that every processing of personal data has a documented lawful basis",
            reviewed!(
                "Record each processing purpose's lawful basis in the records of processing; record consent-based ones with `POST /v1/subjects/{id}/consents`."
            ),
        ),
        manual(
            "gdpr-art13",
            "Data subjects are informed",
            "GDPR Art. 13; Art. 14",
            "Rampart cannot see privacy notices; a person checks them.",
            "check that the privacy notice names the purposes, retention periods and rights, and matches the retention policies in force",
            reviewed!(
                "Compare the privacy notice with `GET /v1/retention/policies` and update whichever is wrong."
            ),
        ),
        manual(
            "gdpr-art15-20",
            "Access and portability requests are answered",
            "GDPR Art. 15; Art. 20",
            "Rampart exports what it holds about a subject, but not what the application holds; a person checks the rest.",
            "check that subject access and portability requests are answered within one month with Rampart's export and the application's own data",
            reviewed!(
                "Answer each request with `GET /v1/subjects/{id}/export` and the application's data, and log the answer date."
            ),
        ),
        manual(
            "gdpr-art28",
            "Processors are bound by contract",
            "GDPR Art. 28(3)",
            "Rampart cannot see contracts; a person checks them.",
            "check that every processor (hosting, database, webhook receivers) has signed a data processing agreement",
            reviewed!(
                "Keep each data processing agreement with the personal data the processor can reach."
            ),
        ),
        manual(
            "gdpr-art30",
            "Processing is recorded",
            "GDPR Art. 30(1)",
            "Rampart cannot write the records of processing activities; a person checks them.",
            "check that the records of processing activities list the processing Rampart supports, with its retention periods",
            reviewed!(
                "Keep the records of processing up to date, with the retention periods of `GET /v1/retention/policies`."
            ),
        ),
        manual(
            "gdpr-art32-1c",
            "Availability can be restored",
            "GDPR Art. 32(1)(c)",
            "Rampart does not back itself up; a person checks backups and restores.",
            "check that the database and the master key are backed up apart and a restore was tested",
            reviewed!(
                "Back up the database daily and escrow RAMPART_MASTER_KEY separately; restore into a test deployment yearly and run `POST /v1/audit/verify` on it."
            ),
        ),
        manual(
            "gdpr-art32-1d",
            "Security is tested regularly",
            "GDPR Art. 32(1)(d)",
            "Rampart cannot run or judge security tests; a person checks them.",
            "check that the technical and organisational measures were tested this year (penetration test, restore test, review of this report)",
            reviewed!("Test the measures yearly and keep the reports with this compliance report."),
        ),
        manual(
            "gdpr-art34",
            "Data subjects are told of high-risk breaches",
            "GDPR Art. 34(1)",
            "Rampart tracks incidents but cannot know whether subjects were told; a person checks it.",
            "check that data subjects were told without undue delay of each breach likely to result in a high risk to them",
            reviewed!(
                "Record each communication in the incident's timeline with `POST /v1/incidents/{id}/timeline` `{\"kind\": \"action\", \"text\": \"data subjects informed\"}`."
            ),
        ),
        manual(
            "gdpr-art35",
            "High-risk processing is assessed",
            "GDPR Art. 35(1)",
            "Rampart cannot write a data protection impact assessment; a person checks it.",
            "check that a data protection impact assessment exists for high-risk processing (large-scale special categories, systematic monitoring, AI agents deciding on people)",
            reviewed!(
                "Carry out the assessment before such processing starts and review it after significant changes."
            ),
        ),
        manual(
            "gdpr-art44",
            "Transfers outside the EEA are safeguarded",
            "GDPR Art. 44; Art. 46",
            "Rampart cannot see where its hosts and webhook receivers are; a person checks them.",
            "check that personal data leaving the EEA (hosting, database replicas, webhook receivers) is covered by an adequacy decision or standard contractual clauses",
            reviewed!(
                "List where the deployment, its backups and each `GET /v1/webhooks` receiver are located, with the transfer safeguard of each outside the EEA."
            ),
        ),
    ],
};
