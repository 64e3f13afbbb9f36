//! MiFID II (Directive 2014/65/EU) with Delegated Regulation (EU) 2017/565, MiFIR and RTS 25:
//! record keeping (how long, on what medium), the security of information systems, and what
//! a person must check.

use super::remedies::{self, reviewed};
use super::{fact, manual};
use crate::checks;
use crate::control::{Framework, FrameworkId};

/// MiFID II.
pub static MIFID2: Framework = Framework {
    id: FrameworkId::Mifid2,
    title: "MiFID II organisational and record-keeping requirements",
    version: "Directive 2014/65/EU; Delegated Regulation (EU) 2017/565; Regulation (EU) No 600/2014",
    controls: &[
        fact(
            "mifid2-art16-6-retention",
            "Records are kept five years",
            "MiFID II Art. 16(6)-(7); Regulation (EU) No 600/2014 (MiFIR) Art. 25(1)",
            "Audit entries (those tagged mifid2 included) are kept at least 5 years (1827 days).",
            checks::audit_retention_at_least_5y,
            "Set `PUT /v1/retention/policies/audit_entries` `{\"retain_days\": 1827, \"mode\": \"compliance\"}` or longer (or the same on `audit_entries:mifid2` for entries tagged mifid2); for records an authority asks to keep up to 7 years, add a legal hold with `POST /v1/legal-holds`.",
        ),
        fact(
            "mifid2-dr72-1c-locked",
            "Retention of records cannot be shortened",
            "Delegated Regulation (EU) 2017/565 Art. 72(1)(c)",
            "A compliance-mode retention policy, which nobody can shorten or remove, keeps audit entries (tagged mifid2 or all) at least 5 years.",
            checks::audit_retention_locked_5y,
            "Set `PUT /v1/retention/policies/audit_entries:mifid2` `{\"retain_days\": 1827, \"mode\": \"compliance\"}` (or the same on `audit_entries`); a compliance policy can later be lengthened, never shortened or removed.",
        ),
        fact(
            "mifid2-dr72-1c-integrity",
            "Records cannot be altered unnoticed",
            "Delegated Regulation (EU) 2017/565 Art. 72(1)(b)-(c)",
            "The audit log verifies against its signed Merkle tree, and was verified in full at least once.",
            checks::audit_log_intact,
            remedies::AUDIT_INTEGRITY,
        ),
        fact(
            "mifid2-dr72-1c-checkpoint",
            "Records are anchored by signed checkpoints",
            "Delegated Regulation (EU) 2017/565 Art. 72(1)(c)",
            "The latest signed checkpoint of the audit log is at most 24 hours old.",
            checks::checkpoint_fresh,
            remedies::CHECKPOINT,
        ),
        fact(
            "mifid2-dr21-2-mfa",
            "Administrators use a second factor",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "Every administrator has a confirmed TOTP second factor.",
            checks::admins_have_mfa,
            remedies::MFA_ADMINS,
        ),
        fact(
            "mifid2-dr21-2-admins",
            "Few principals hold critical access",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "At most two enabled principals hold every permission; more are listed for a person's review.",
            checks::admins_few,
            remedies::ADMINS_FEW,
        ),
        fact(
            "mifid2-dr21-2-lockout",
            "Password guessing is stopped",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "An account locks after at most 100 failed logins from all addresses (NIST SP 800-63B §5.2.2).",
            checks::lockout_in_force,
            remedies::LOCKOUT,
        ),
        fact(
            "mifid2-dr21-2-sessions",
            "Sessions require re-authentication",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "Sessions last at most 12 hours and end after at most 30 minutes without a request (NIST SP 800-63B AAL2).",
            checks::sessions_aal2,
            remedies::SESSIONS_AAL2,
        ),
        fact(
            "mifid2-dr21-2-api-keys",
            "Unused credentials are revoked",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "No active API key has gone unused for 90 days.",
            checks::api_keys_used_90d,
            remedies::API_KEYS_UNUSED,
        ),
        fact(
            "mifid2-dr21-2-tls",
            "Information is encrypted in transit",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "The API listener serves TLS 1.2 or 1.3 only.",
            checks::tls_in_transit,
            remedies::TLS,
        ),
        fact(
            "mifid2-dr21-2-keys",
            "Encryption keys are rotated",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "Every named key has a rotation period and its latest version is within it.",
            checks::keys_within_rotation,
            remedies::KEY_ROTATION,
        ),
        fact(
            "mifid2-dr21-2-master-key",
            "The master key is stored apart from the data",
            "Delegated Regulation (EU) 2017/565 Art. 21(2)",
            "The master key, which seals every data key, comes from the environment rather than a file next to the data.",
            checks::master_key_separated,
            remedies::MASTER_KEY,
        ),
        fact(
            "mifid2-dr21-1c-agents",
            "Automated agents act within controls",
            "Delegated Regulation (EU) 2017/565 Art. 21(1)(c)",
            "Every AI agent (a principal owned by another) has guardrails: forbidden actions, approvals and limits.",
            checks::agents_governed,
            remedies::AGENTS,
        ),
        fact(
            "mifid2-art16-5-detection",
            "Security events raise alerts",
            "MiFID II Art. 16(5) second subparagraph",
            "Detection rules read every audit entry and notify at least one webhook endpoint.",
            checks::detection_and_alerting,
            remedies::DETECTION,
        ),
        fact(
            "mifid2-art16-5-incidents",
            "Incidents are handled on time",
            "MiFID II Art. 16(5) second subparagraph",
            "No open incident is past its escalation deadline.",
            checks::incidents_on_time,
            remedies::INCIDENTS,
        ),
        fact(
            "mifid2-art16-5-rate-limits",
            "The service resists abuse",
            "MiFID II Art. 16(5) second subparagraph",
            "A rate-limit rule counts unauthenticated requests by address, and logins are limited per address.",
            checks::rate_limited_edge,
            remedies::RATE_LIMITS,
        ),
        manual(
            "mifid2-art16-7",
            "Communications leading to transactions are recorded",
            "MiFID II Art. 16(7); Delegated Regulation (EU) 2017/565 Art. 76",
            "Rampart keeps the audit events it is sent, but cannot see telephone or chat recordings; a person checks them.",
            "check that telephone conversations and electronic communications relating to transactions are recorded, kept 5 years and given to clients on request",
            reviewed!(
                "Record the communications in the firm's recording system, or send them as audit events tagged `mifid2` (`compliance_tags: [\"mifid2\"]`) so the mifid2 retention policy keeps them."
            ),
        ),
        manual(
            "mifid2-dr72-1a",
            "The authority can reconstitute each transaction",
            "Delegated Regulation (EU) 2017/565 Art. 72(1)(a); 72(1)(d)",
            "Rampart exports its audit log with proofs, but cannot know whether the records reconstitute each key stage; a person checks it.",
            "check that the records reconstitute each key stage of a sampled transaction and can be handed to the authority readily",
            reviewed!(
                "Reconstitute a sampled transaction from `GET /v1/audit/entries?tag=mifid2` and hand over `GET /v1/audit/export` files, which `rampart audit verify` checks offline."
            ),
        ),
        manual(
            "mifid2-dr72-2",
            "The records of Annex I are kept",
            "Delegated Regulation (EU) 2017/565 Art. 72(2) and Annex I",
            "Rampart cannot know which of the firm's records it holds; a person checks the list.",
            "check that every record Annex I requires for the firm's activities is kept, in Rampart or elsewhere",
            reviewed!(
                "Map each Annex I record to where it is kept (audit action or system), with its retention period."
            ),
        ),
        manual(
            "mifid2-rts25-clocks",
            "Clocks are synchronized to UTC",
            "MiFID II Art. 50; Delegated Regulation (EU) 2017/574 Art. 1-4",
            "Rampart timestamps with the host clock but cannot see its synchronization; a person checks it.",
            "check that the hosts' clocks are traceable to UTC within the divergence and granularity the firm's activity requires",
            reviewed!(
                "Synchronize the hosts with NTP or PTP traceable to UTC, and keep the records of its divergence."
            ),
        ),
        manual(
            "mifid2-dr21-3",
            "Business continuity is planned",
            "Delegated Regulation (EU) 2017/565 Art. 21(3)",
            "Rampart does not back itself up; a person checks continuity.",
            "check that a business continuity policy covers the deployment: backups of the database, the master key escrowed apart, a tested restore",
            reviewed!(
                "Back up the database daily, escrow RAMPART_MASTER_KEY separately, and restore into a test deployment yearly with `POST /v1/audit/verify`."
            ),
        ),
        manual(
            "mifid2-dr30-31",
            "Outsourcing is controlled",
            "MiFID II Art. 16(5) first subparagraph; Delegated Regulation (EU) 2017/565 Art. 30-31",
            "Rampart cannot see contracts; a person checks them.",
            "check that outsourced critical functions (hosting, database) are under written agreements that keep the firm's and the authority's access",
            reviewed!(
                "Keep each outsourcing agreement with its access and audit rights, reviewed yearly."
            ),
        ),
        manual(
            "mifid2-dr21-5",
            "Arrangements are monitored and evaluated",
            "Delegated Regulation (EU) 2017/565 Art. 21(5)",
            "Rampart's reports are input to the evaluation, not the evaluation; a person checks it.",
            "check that the adequacy of these systems and arrangements was evaluated this year and deficiencies addressed",
            reviewed!(
                "Evaluate yearly with this report (`POST /v1/compliance/reports` `{\"framework\": \"mifid2\"}`) and its history (`GET /v1/compliance/controls/mifid2/{control}/history`)."
            ),
        ),
    ],
};
