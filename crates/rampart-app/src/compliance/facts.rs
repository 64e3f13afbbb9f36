//! Facts gathered from the running deployment, each with its source: settings, the identity
//! store and the role policy in force, keys, the audit log (verified from the last verified
//! checkpoint), retention, threat protection, monitoring, subjects and agents.

use rampart_access::{IdentityStore, Policy};
use rampart_audit::{ActionFilter, AuditStore, EntryFilter};
use rampart_compliance::{ComplianceStore, Facts, Inventory, catalog};
use rampart_crypto::{KeyStore, SealedSecretStore};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{ComplianceError, ComplianceService};

mod audit;
mod operations;

use crate::config::Settings;
pub(crate) use audit::problem_lines;

/// Rows read per page when listing principals, API keys and keys.
const PAGE: u32 = 500;

/// What a report records of the audit log besides the facts.
pub(crate) struct AuditSeen {
    pub tree_size: u64,
    pub root_hash: String,
}

pub(super) fn err<E: std::error::Error + Send + Sync + 'static>(e: E) -> ComplianceError {
    ComplianceError::store(e)
}

pub(super) fn names(mut list: Vec<String>) -> Value {
    list.sort();
    list.dedup();
    Value::from(list)
}

impl ComplianceService {
    /// Gathers every fact of the catalog from the deployment as it is `now`.
    pub(crate) async fn gather(
        &self,
        now: OffsetDateTime,
    ) -> Result<(Facts, AuditSeen), ComplianceError> {
        let mut facts = Facts::new();
        let inventory = self.store.inventory().await.map_err(err)?;
        self.settings_facts(&mut facts);
        self.identity_facts(&mut facts, &inventory, now).await?;
        self.key_facts(&mut facts, &inventory, now).await?;
        let seen = self
            .audit_facts(&mut facts, inventory.last_full_verification, now)
            .await?;
        self.retention_facts(&mut facts).await?;
        self.monitoring_facts(&mut facts, now).await?;
        Ok((facts, seen))
    }

    fn settings_facts(&self, facts: &mut Facts) {
        let s: &Settings = &self.settings;
        facts.insert(
            catalog::MASTER_KEY_SOURCE,
            self.master_key_source,
            "deployment: where the master key was read at start",
        );
        facts.insert(
            catalog::TLS_ENABLED,
            s.tls_enabled(),
            "settings: tls_cert, tls_key",
        );
        let versions: Vec<&str> = if s.tls_enabled() {
            // rampart-server's rustls configuration offers exactly these (`tls::server_config`).
            s.tls_min_version.accepted_versions().to_vec()
        } else {
            Vec::new()
        };
        facts.insert(
            catalog::TLS_VERSIONS,
            versions,
            "settings: tls_min_version (the server's TLS configuration)",
        );
        facts.insert(
            catalog::MTLS_REQUIRED,
            s.tls_enabled() && s.tls_client_ca.is_some(),
            "settings: tls_client_ca",
        );
        facts.insert(
            catalog::LISTEN_ADDRESS,
            s.listen.to_string(),
            "settings: listen",
        );
        facts.insert(
            catalog::PASSWORD_POLICY,
            json!({
                "min_length": s.password_min_length,
                "require_upper": s.password_require_upper,
                "require_lower": s.password_require_lower,
                "require_digit": s.password_require_digit,
                "require_symbol": s.password_require_symbol,
                "argon2_memory_kib": s.argon2_memory_kib,
                "argon2_iterations": s.argon2_iterations,
                "argon2_parallelism": s.argon2_parallelism,
            }),
            "settings: password_*, argon2_*",
        );
        facts.insert(
            catalog::LOCKOUT,
            json!({
                "max_login_attempts": s.max_login_attempts,
                "lockout_seconds": s.lockout_seconds,
                "account_lockout_failures": s.account_lockout_failures,
            }),
            "settings: max_login_attempts, lockout_seconds, account_lockout_failures",
        );
        facts.insert(
            catalog::SESSIONS,
            json!({
                "session_ttl_seconds": s.session_ttl_seconds,
                "session_idle_seconds": s.session_idle_seconds,
            }),
            "settings: session_ttl_seconds, session_idle_seconds",
        );
        facts.insert(
            catalog::AUTO_BLOCKING,
            s.block_after_failures > 0,
            "settings: block_after_failures",
        );
        facts.insert(
            catalog::PII_POLICY,
            s.privacy_policy_file
                .as_ref()
                .map_or_else(|| "default".to_owned(), |p| format!("file {}", p.display())),
            "settings: privacy_policy_file",
        );
    }

    async fn policy(&self) -> Result<(Policy, u64, &'static str), ComplianceError> {
        let stored = self.store.stored_policy().await.map_err(err)?;
        crate::wiring::access_policy(&self.settings, stored.as_ref())
            .map_err(|e| ComplianceError::Facts(e.to_string()))
    }

    async fn identity_facts(
        &self,
        facts: &mut Facts,
        inventory: &Inventory,
        now: OffsetDateTime,
    ) -> Result<(), ComplianceError> {
        let (policy, version, source) = self.policy().await?;
        let mut principals = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_principals(after, PAGE).await.map_err(err)?;
            after = page.last().map(|p| p.principal.id);
            let done = page.len() < PAGE as usize;
            principals.extend(page);
            if done {
                break;
            }
        }
        let enabled: Vec<_> = principals
            .iter()
            .filter(|p| !p.principal.disabled)
            .collect();
        let grants = |roles: &[String], perm: &str| policy.grants(roles, perm).is_some();
        let is_admin = |roles: &[String]| {
            roles.iter().any(|r| r == "admin")
                || grants(roles, "roles:manage")
                || grants(roles, "users:manage")
        };
        let admins: Vec<String> = enabled
            .iter()
            .filter(|p| is_admin(&p.principal.roles))
            .map(|p| p.principal.name.clone())
            .collect();
        let admins_without_mfa: Vec<String> = enabled
            .iter()
            .filter(|p| {
                is_admin(&p.principal.roles) && p.password_hash.is_some() && !p.totp_enabled
            })
            .map(|p| p.principal.name.clone())
            .collect();
        let users_without_mfa: Vec<String> = enabled
            .iter()
            .filter(|p| p.password_hash.is_some() && !p.totp_enabled)
            .map(|p| p.principal.name.clone())
            .collect();
        let detokenize: Vec<String> = enabled
            .iter()
            .filter(|p| grants(&p.principal.roles, "cards:detokenize"))
            .map(|p| p.principal.name.clone())
            .collect();
        let from = "identity store: principals, with the role policy in force";
        facts.insert(
            catalog::PRINCIPALS_ENABLED,
            enabled.len() as u64,
            "identity store: principals",
        );
        facts.insert(catalog::ADMINS, names(admins), from);
        facts.insert(catalog::ADMINS_WITHOUT_MFA, names(admins_without_mfa), from);
        facts.insert(catalog::USERS_WITHOUT_MFA, names(users_without_mfa), from);
        facts.insert(catalog::DETOKENIZE_HOLDERS, names(detokenize), from);
        let document = policy.document();
        let mfa_roles: Vec<String> = document
            .roles
            .iter()
            .filter(|(_, r)| r.mfa_required)
            .map(|(n, _)| n.clone())
            .collect();
        let bypass: Vec<String> = document
            .roles
            .iter()
            .filter(|(_, r)| r.bypass_team_isolation)
            .map(|(n, _)| n.clone())
            .collect();
        facts.insert(
            catalog::MFA_REQUIRED_ROLES,
            mfa_roles,
            "role policy in force",
        );
        facts.insert(
            catalog::ROLE_POLICY,
            json!({
                "source": source,
                "version": version,
                "roles": document.roles.keys().collect::<Vec<_>>(),
                "roles_bypassing_team_isolation": bypass,
            }),
            "role policy in force",
        );
        let last_login: std::collections::HashMap<&str, OffsetDateTime> = inventory
            .last_logins
            .iter()
            .map(|(id, at)| (id.as_str(), *at))
            .collect();
        // API keys.
        let names_by_id: std::collections::HashMap<_, _> = principals
            .iter()
            .map(|p| (p.principal.id, p.principal.name.as_str()))
            .collect();
        let mut keys = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_api_keys(None, after, PAGE)
                .await
                .map_err(err)?;
            after = page.last().map(|k| k.id);
            let done = page.len() < PAGE as usize;
            keys.extend(page);
            if done {
                break;
            }
        }
        let horizon = now - Duration::days(90);
        let active: Vec<_> = keys
            .iter()
            .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now))
            .collect();
        let label = |k: &rampart_access::ApiKeyRecord| {
            let owner = names_by_id.get(&k.principal_id).copied().unwrap_or("?");
            format!("{} ({owner}, {})", k.name, k.id)
        };
        let old: Vec<String> = active
            .iter()
            .filter(|k| k.created_at < horizon)
            .map(|k| label(k))
            .collect();
        let unused: Vec<String> = active
            .iter()
            .filter(|k| k.last_used_at.unwrap_or(k.created_at) < horizon)
            .map(|k| label(k))
            .collect();
        let no_expiry: Vec<String> = active
            .iter()
            .filter(|k| k.expires_at.is_none())
            .map(|k| label(k))
            .collect();
        let mut last_active: std::collections::HashMap<uuid::Uuid, OffsetDateTime> = principals
            .iter()
            .map(|p| {
                let id = p.principal.id;
                let login = last_login.get(id.to_string().as_str()).copied();
                (
                    id,
                    login.map_or(p.principal.created_at, |at| at.max(p.principal.created_at)),
                )
            })
            .collect();
        for key in &keys {
            if let (Some(used), Some(at)) =
                (key.last_used_at, last_active.get_mut(&key.principal_id))
            {
                *at = (*at).max(used);
            }
        }
        let inactive: Vec<String> = enabled
            .iter()
            .filter(|p| {
                last_active
                    .get(&p.principal.id)
                    .is_some_and(|at| *at < horizon)
            })
            .map(|p| p.principal.name.clone())
            .collect();
        facts.insert(
            catalog::PRINCIPALS_INACTIVE_90_DAYS,
            names(inactive),
            "identity store: principals, sessions (logins) and API-key use",
        );
        let from = "identity store: api_keys (usage counted by every node)";
        facts.insert(catalog::API_KEYS_ACTIVE, active.len() as u64, from);
        facts.insert(catalog::API_KEYS_OLDER_THAN_90_DAYS, names(old), from);
        facts.insert(catalog::API_KEYS_UNUSED_90_DAYS, names(unused), from);
        facts.insert(catalog::API_KEYS_WITHOUT_EXPIRY, names(no_expiry), from);
        Ok(())
    }

    async fn key_facts(
        &self,
        facts: &mut Facts,
        inventory: &Inventory,
        now: OffsetDateTime,
    ) -> Result<(), ComplianceError> {
        let mut records = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_keys(after.as_deref(), PAGE)
                .await
                .map_err(err)?;
            after = page.last().map(|k| k.name.clone());
            let done = page.len() < PAGE as usize;
            records.extend(page);
            if done {
                break;
            }
        }
        let now_micros = i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
        let past: Vec<String> = records
            .iter()
            .filter(|k| k.next_rotation_at().is_some_and(|due| due <= now_micros))
            .map(|k| k.name.clone())
            .collect();
        let without: Vec<String> = records
            .iter()
            .filter(|k| k.rotation_period_days.is_none())
            .map(|k| k.name.clone())
            .collect();
        let from = "key store: keys and their versions";
        facts.insert(catalog::KEYS_TOTAL, records.len() as u64, from);
        facts.insert(catalog::KEYS_PAST_ROTATION, names(past), from);
        facts.insert(catalog::KEYS_WITHOUT_ROTATION_PERIOD, names(without), from);
        facts.insert(
            catalog::CARDS_STORED,
            inventory.cards_stored,
            "card vault: card_tokens",
        );
        let refusals = self
            .store
            .count(&EntryFilter {
                action: Some(ActionFilter::Exact("cards.tokenize".to_owned())),
                status: Some("failure".to_owned()),
                ..EntryFilter::default()
            })
            .await
            .map_err(err)?;
        facts.insert(
            catalog::CARD_REFUSALS,
            refusals,
            "audit log: cards.tokenize entries with status failure",
        );
        facts.insert(
            catalog::CVV_REFUSED,
            ["cvv", "CVC2", "card_security_code", "pin"]
                .iter()
                .all(|name| rampart_crypto::is_security_code_field(name)),
            "the vault's request rules, checked now against cvv, cvc, security_code and pin",
        );
        facts.insert(
            catalog::SUBJECT_RECORDS,
            json!({
                "consents": inventory.consents,
                "subjects": inventory.live_subjects,
                "erasures_completed": inventory.erasures_completed,
                "erasures_pending": inventory.erasures_pending,
            }),
            "subject store: consents, subject_keys, erasures",
        );
        let lookup_key = self
            .store
            .load_sealed(rampart_subjects::LookupKey::SECRET_NAME, 1)
            .await
            .map_err(err)?;
        facts.insert(
            catalog::ERASURE_CAPABLE,
            lookup_key.is_some(),
            "sealed secrets: the subject lookup key, which per-subject sealing (and so erasure by \
             destroying a subject's key) needs",
        );
        let (with, without): (Vec<_>, Vec<_>) = inventory.agents.iter().partition(|(_, g)| *g);
        facts.insert(
            catalog::AGENTS_WITHOUT_GUARDRAILS,
            names(without.into_iter().map(|(n, _)| n.clone()).collect()),
            "identity store: principals with an owner; agent_guardrails",
        );
        facts.insert(
            catalog::AGENTS_WITH_GUARDRAILS,
            with.len() as u64,
            "agent_guardrails",
        );
        facts.insert(
            catalog::AUDIT_LAST_FULL_VERIFICATION,
            inventory
                .last_full_verification
                .map(rampart_compliance::rfc3339),
            "audit_verifications: the newest full verification that found the log intact",
        );
        Ok(())
    }
}
