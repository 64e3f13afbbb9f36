//! Remediations shared by the frameworks' controls, in Rampart's terms: settings of
//! rampart.toml (and their `RAMPART_*` variables) and API calls.

/// Administrators without a second factor.
pub(super) const MFA_ADMINS: &str = "Have each administrator listed enroll TOTP with `POST \
     /v1/principals/{id}/totp` and confirm it with `POST /v1/principals/{id}/totp/confirm` \
     `{\"code\": \"123456\"}`; disable an administrator who no longer needs access with `DELETE \
     /v1/principals/{id}`.";

/// Password users without a second factor.
pub(super) const MFA_USERS: &str = "Have each user listed enroll TOTP (`POST \
     /v1/principals/{id}/totp`, then `POST /v1/principals/{id}/totp/confirm`), and mark their \
     roles `mfa_required: true` with `PUT /v1/policy` so no password-only login remains.";

/// No role requires MFA.
pub(super) const MFA_POLICY: &str = "Set `mfa_required: true` on the `admin` role (and on every \
     role granting `*`, `keys:manage`, `users:manage` or `cards:detokenize`) with `PUT \
     /v1/policy`, or in the YAML of the `policy_file` setting.";

/// Principals who may detokenize cards without a second factor.
pub(super) const MFA_CDE: &str = "Have each principal listed enroll TOTP (`POST \
     /v1/principals/{id}/totp`, then `POST /v1/principals/{id}/totp/confirm`), or take \
     `cards:detokenize` away from it by changing its roles with `PATCH /v1/principals/{id}`.";

/// Passwords shorter than 12 characters.
pub(super) const PASSWORD_12: &str = "Set `password_min_length = 12` in rampart.toml \
     (RAMPART_PASSWORD_MIN_LENGTH=12) and restart.";

/// PCI DSS 8.3.6 password rules.
pub(super) const PASSWORD_PCI: &str = "Set `password_min_length = 12`, `password_require_digit = \
     true` and `password_require_lower = true` in rampart.toml (RAMPART_PASSWORD_MIN_LENGTH, \
     RAMPART_PASSWORD_REQUIRE_DIGIT, RAMPART_PASSWORD_REQUIRE_LOWER) and restart.";

/// Weak password hashing.
pub(super) const HASHING: &str = "Set `argon2_memory_kib = 19456`, `argon2_iterations = 2` and \
     `argon2_parallelism = 1` or stronger in rampart.toml (RAMPART_ARGON2_MEMORY_KIB, \
     RAMPART_ARGON2_ITERATIONS, RAMPART_ARGON2_PARALLELISM) and restart; each password is \
     re-hashed at its next successful login.";

/// PCI DSS 8.3.4 lockout.
pub(super) const LOCKOUT_PCI: &str = "Set `account_lockout_failures = 10`, `max_login_attempts = \
     5` and `lockout_seconds = 1800` in rampart.toml (RAMPART_ACCOUNT_LOCKOUT_FAILURES, \
     RAMPART_MAX_LOGIN_ATTEMPTS, RAMPART_LOCKOUT_SECONDS) and restart.";

/// Lockout beyond NIST's 100 attempts.
pub(super) const LOCKOUT: &str = "Set `account_lockout_failures` to at most 100 (default 50) and \
     `max_login_attempts = 5` in rampart.toml (RAMPART_ACCOUNT_LOCKOUT_FAILURES, \
     RAMPART_MAX_LOGIN_ATTEMPTS) and restart.";

/// PCI DSS 8.2.8 idle timeout.
pub(super) const IDLE_15: &str = "Set `session_idle_seconds = 900` in rampart.toml \
     (RAMPART_SESSION_IDLE_SECONDS=900) and restart.";

/// NIST SP 800-63B AAL2 session limits.
pub(super) const SESSIONS_AAL2: &str = "Set `session_ttl_seconds` to at most 43200 and \
     `session_idle_seconds` to at most 1800 in rampart.toml (RAMPART_SESSION_TTL_SECONDS, \
     RAMPART_SESSION_IDLE_SECONDS) and restart.";

/// API keys older than 90 days.
pub(super) const API_KEYS_ROTATE: &str = "Rotate each key listed with `POST \
     /v1/api-keys/{id}/rotate` `{\"grace_seconds\": 3600}` (ids from `GET /v1/api-keys`) and \
     give the new key to its client within the grace period.";

/// API keys unused for 90 days.
pub(super) const API_KEYS_UNUSED: &str = "Revoke each key listed with `DELETE /v1/api-keys/{id}` \
     (ids from `GET /v1/api-keys`); create a new one with `POST /v1/api-keys` when a client \
     needs it again.";

/// API keys without expiry.
pub(super) const API_KEYS_EXPIRY: &str = "Replace each key listed with one that expires: `POST \
     /v1/api-keys` with `\"expires_in_days\": 90` and the same principal and scopes, move its \
     client over, then revoke the old key with `DELETE /v1/api-keys/{id}`.";

/// Principals inactive for 90 days.
pub(super) const PRINCIPALS_INACTIVE: &str = "Disable each principal listed with `DELETE \
     /v1/principals/{id}` (its sessions and API keys stop at once, its history stays); enable it \
     again with `PATCH /v1/principals/{id}` `{\"disabled\": false}` when it is needed.";

/// More than two administrators.
pub(super) const ADMINS_FEW: &str = "Give each administrator who does not need every permission \
     a narrower role with `PATCH /v1/principals/{id}` `{\"roles\": [\"operator\"]}`, keeping at \
     most two, or record why each needs full access.";

/// Every role bypasses team isolation.
pub(super) const ROLE_ISOLATION: &str = "Remove `bypass_team_isolation: true` from every role \
     that need not reach all teams, with `PUT /v1/policy` or in the YAML of the `policy_file` \
     setting, and give principals their teams with `PATCH /v1/principals/{id}` `{\"teams\": \
     [\"payments\"]}`.";

/// Agents without guardrails.
pub(super) const AGENTS: &str = "Set guardrails for each agent listed with `PUT \
     /v1/agents/{id}/guardrails` (`max_actions_per_hour`, `forbidden_actions`, \
     `require_approval`, `\"otherwise\": \"deny\"`), or disable it with `DELETE \
     /v1/principals/{id}`.";

/// Holders of `cards:detokenize` to review.
pub(super) const DETOKENIZE: &str = "Take `cards:detokenize` out of roles that need not see full \
     card numbers (`PUT /v1/policy`), or move each principal listed to such a role with `PATCH \
     /v1/principals/{id}`; record the business need of each one that keeps it.";

/// The vault accepts security codes.
pub(super) const SAD: &str = "Restore the vault's refusal: run a released `rampart` build (the \
     refusal of CVV, CVC and PIN fields is built into `POST /v1/cards/tokenize`), confirm that a \
     request with a `cvv` field is answered 422, and purge any security code the application \
     stored.";

/// Who may reach the API.
pub(super) const NETWORK: &str = "Require client certificates with `tls_client_ca = \
     \"/etc/rampart/client-ca.pem\"` in rampart.toml (RAMPART_TLS_CLIENT_CA, or `rampart serve \
     --tls-client-ca PEM`), or allow only your networks with `PUT /v1/ip-rules` `{\"allow\": \
     [\"10.0.0.0/8\"], \"deny\": []}`.";

/// TLS off or weak.
pub(super) const TLS: &str = "Set `tls_cert` and `tls_key` in rampart.toml (RAMPART_TLS_CERT, \
     RAMPART_TLS_KEY, or `rampart serve --tls-cert PEM --tls-key PEM`) and restart: Rampart then \
     accepts TLS 1.2 and 1.3 only. Behind a proxy, set `listen = \"127.0.0.1:8470\"` and let the \
     proxy terminate TLS 1.2 or later.";

/// The master key stored next to the data.
pub(super) const MASTER_KEY: &str = "Put the base64 key of `master.key` in your secrets manager \
     and pass it as RAMPART_MASTER_KEY, restart, then delete `master.key` from the data \
     directory and from its backups.";

/// Keys past rotation or without a period.
pub(super) const KEY_ROTATION: &str = "Rotate each key listed as past its period with `POST \
     /v1/keys/{name}/rotate` and re-encrypt old data with `rampart keys rewrap-all --key NAME`; \
     give each key without a period one with `PATCH /v1/keys/{name}` `{\"rotation_period_days\": \
     365}` (or your cryptoperiod).";

/// The audit log does not verify.
pub(super) const AUDIT_INTEGRITY: &str = "Run `POST /v1/audit/verify` (it re-hashes every entry \
     and lists each problem); if problems remain, compare the entries named with your last export \
     (`rampart audit verify FILE.ndjson`), open an incident with `POST /v1/incidents` and restore \
     the store from the last backup that verifies.";

/// No recent signed checkpoint.
pub(super) const CHECKPOINT: &str = "Check that `rampart serve` is running and its audit log \
     accepts entries (`GET /v1/health` shows `audit.tree_size` growing): every commit signs a new \
     checkpoint. Then run `POST /v1/audit/verify`.";

/// No detection rules or no receiver.
pub(super) const DETECTION: &str = "Load detection rules with `PUT /v1/detection-rules` (or the \
     `detection_rules_file` setting; the defaults are failed_logins, unauthorized_access, \
     suspicious_requests, privileged_actions and bulk_decryption) and register a receiver with \
     `POST /v1/webhooks` `{\"url\": \"https://…\", \"events\": [\"alert.opened\", \
     \"incident.opened\", \"incident.escalated\"]}`.";

/// No rule watching failed logins.
pub(super) const LOGIN_MONITORING: &str = "Add a rule with `PUT /v1/detection-rules`: \
     `{\"name\": \"failed_logins\", \"match\": {\"action\": \"auth.login\", \"status\": \
     \"failure\"}, \"group_by\": [\"actor.id\"], \"threshold\": 5, \"window_seconds\": 300, \
     \"severity\": \"medium\"}`, and register a receiver of `alert.opened` with `POST \
     /v1/webhooks`.";

/// Incidents past their deadline.
pub(super) const INCIDENTS: &str = "Acknowledge each incident listed with `POST \
     /v1/incidents/{id}/acknowledge`, record what was done with `POST \
     /v1/incidents/{id}/timeline` `{\"kind\": \"action\", \"text\": \"...\"}`, and close it with \
     `POST /v1/incidents/{id}/resolve` `{\"resolution\": \"...\"}`.";

/// No edge rate limit.
pub(super) const RATE_LIMITS: &str = "Add a rule with `PUT /v1/rate-limits` (or the \
     `rate_limits_file` setting): `{\"name\": \"api-per-ip\", \"key\": \"ip\", \"match\": \
     [\"*\"], \"limit\": 100, \"window_seconds\": 60, \"burst\": 20, \"applies_to\": \
     \"unauthenticated\"}`, and keep `auth_rate_limit_per_minute = 60` in rampart.toml.";

/// No automatic blocking.
pub(super) const BLOCKING: &str = "Set `block_after_failures = 20` (with `block_window_seconds = \
     300` and `block_seconds = 3600`) in rampart.toml (RAMPART_BLOCK_AFTER_FAILURES) and \
     restart.";

/// Data types without a retention period.
pub(super) const RETENTION_POLICIES: &str = "Set a period for each data type listed: `PUT \
     /v1/retention/policies/audit_entries` `{\"retain_days\": 2557, \"mode\": \"compliance\"}`, \
     `PUT /v1/retention/policies/consents` `{\"retain_days\": 1095, \"mode\": \"governance\"}`, \
     `PUT /v1/retention/policies/sessions` `{\"retain_days\": 30, \"mode\": \"governance\"}`.";

/// Disposal not running.
pub(super) const DISPOSAL: &str = "Run `POST /v1/retention/run?dry_run=true` to see what is due, \
     then `POST /v1/retention/run?dry_run=false` (or `rampart retention run`); keep \
     `retention_interval_seconds = 86400` in rampart.toml so it runs daily.";

/// No consent recorded.
pub(super) const CONSENT: &str = "Record consent from the application's consent flow with `POST \
     /v1/subjects/{id}/consents` `{\"purpose\": \"analytics\", \"given\": true, \"source\": \
     \"signup-form\", \"policy_version\": \"2026-05\"}`, or document the other lawful basis.";

/// Personal data not erasable.
pub(super) const ERASURE: &str = "Send personal data in audit events only in `personal`, with \
     `subject_id` (never in `details`, `actor` or `resource`), so Rampart seals it under the \
     subject's key and `POST /v1/subjects/{id}/erasure` can destroy it.";

/// A custom PII policy.
pub(super) const PII: &str = "Review the file of the `privacy_policy_file` setting: give every \
     personal data type `hash`, `mask`, `redact`, `encrypt` or `tokenize` rather than `keep`, or \
     remove the setting to use the default policy.";

/// How a person records a manual control's review.
macro_rules! reviewed {
    ($what:literal) => {
        concat!(
            $what,
            " Record the review with `POST /v1/compliance/waivers` (`reason`: where its evidence \
             is kept; `expires_at`: when the next review is due)."
        )
    };
}
pub(super) use reviewed;
