//! Break-glass: a new admin API key minted straight into the store by whoever holds the master
//! key (`rampart admin-key create`), for when every admin key is lost. The bootstrap key is shown
//! once; without this, losing it meant losing the deployment's administration.
//!
//! Holding the master key is the proof of permission: the deployment is opened as `serve` opens
//! it (the key checked against the sealed sentinel before anything is written), the key is
//! issued the way `init` issues the bootstrap key, and it is stored in the same transaction as
//! its `admin_key.break_glass` audit entry (actor `rampart-cli`), so there is never a key the
//! log does not show. Safe beside running servers: the append goes through the log's writer
//! like any other command's, and servers look new keys up in the database.

use rampart_access::{ApiKey, IdentityChange};
use rampart_audit::{NewEntry, SubmittedBy};
use rampart_store::{Store, StoreChange};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::LoadedSettings;
use crate::deployment::{self, OpenDeployment, StartupError};

/// The principal break-glass keys belong to: the one `rampart init` made.
pub const BREAK_GLASS_PRINCIPAL: &str = "bootstrap-admin";
/// The role that principal must still hold.
const ADMIN_ROLE: &str = "admin";
/// The audit action of a break-glass key.
pub const BREAK_GLASS_ACTION: &str = "admin_key.break_glass";

/// Who ran the command, for the audit entry (never a secret).
#[derive(Debug, Clone, Default)]
pub struct Operator {
    /// The host the command ran on.
    pub host: Option<String>,
    /// The operating-system user (name or uid).
    pub user: Option<String>,
}

/// A key minted by [`create_admin_key`], to show once.
#[derive(Debug)]
pub struct BreakGlassKey {
    /// The key itself.
    pub key: ApiKey,
    /// Its id (as `GET /v1/api-keys` lists it).
    pub key_id: Uuid,
    /// Its name.
    pub name: String,
    /// The principal it authenticates as.
    pub principal_id: Uuid,
    /// The audit entry that records it.
    pub audit_seq: u64,
}

/// Why no key was minted. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum BreakGlassError {
    /// The deployment could not be opened (not initialized, wrong master key, ...).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The key's name is empty or too long.
    #[error("--name must be 1 to 100 characters without control characters")]
    BadName,
    /// The bootstrap admin principal is gone, disabled or no longer an admin.
    #[error(
        "principal '{BREAK_GLASS_PRINCIPAL}' {problem}: a break-glass key would not administer the deployment; nothing was written"
    )]
    Principal {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Storage failed or refused the key.
    #[error("the key was not stored: {0}")]
    Store(String),
}

/// `rampart admin-key create`: opens the deployment of `loaded` (refusing an uninitialized one
/// with the `rampart init` command, and a wrong master key before any write), mints an admin
/// key named `name` for the bootstrap admin, and stores it with its audit entry.
pub async fn create_admin_key(
    loaded: &LoadedSettings,
    name: &str,
    operator: &Operator,
    now: OffsetDateTime,
) -> Result<BreakGlassKey, BreakGlassError> {
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(BreakGlassError::BadName);
    }
    if !deployment::is_initialized(&loaded.settings).await? {
        return Err(deployment::not_initialized(&loaded.settings).into());
    }
    let opened = deployment::open(loaded).await?;
    let result = mint(&opened, name, operator, now).await;
    opened.store.close().await;
    result
}

async fn mint(
    opened: &OpenDeployment,
    name: &str,
    operator: &Operator,
    now: OffsetDateTime,
) -> Result<BreakGlassKey, BreakGlassError> {
    let store: &Store = &opened.store;
    let record = store
        .principal_by_name(BREAK_GLASS_PRINCIPAL)
        .await
        .map_err(|e| BreakGlassError::Store(e.to_string()))?
        .ok_or(BreakGlassError::Principal {
            problem: "does not exist",
        })?;
    let principal = record.principal;
    if principal.disabled {
        return Err(BreakGlassError::Principal {
            problem: "is disabled",
        });
    }
    if !principal.roles.iter().any(|role| role == ADMIN_ROLE) {
        return Err(BreakGlassError::Principal {
            problem: "no longer holds the admin role",
        });
    }
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let (key, api_key) = opened
        .api_key_pepper
        .issue(principal.id, name, None, None, now)
        .map_err(|e| BreakGlassError::Store(e.to_string()))?;
    let key_id = api_key.id;
    let event = json!({
        "actor": {"type": "system", "id": "rampart-cli"},
        "action": BREAK_GLASS_ACTION,
        "resource": {"type": "api_key", "id": key_id.to_string()},
        "details": {
            "key_id": key_id.to_string(),
            "name": name,
            "principal_id": principal.id.to_string(),
            "principal": BREAK_GLASS_PRINCIPAL,
            "host": operator.host,
            "user": operator.user,
        },
        "status": "success",
        "data_classification": "confidential",
    });
    let entry = NewEntry::from_json(&event, "")
        .map_err(|_| BreakGlassError::Store("the audit entry is invalid".to_owned()))?;
    let receipt = opened
        .audit
        .append_with(
            vec![entry],
            SubmittedBy::rampart(),
            StoreChange::from(IdentityChange::InsertApiKey(api_key)),
        )
        .await
        .map_err(|e| BreakGlassError::Store(e.to_string()))?;
    Ok(BreakGlassKey {
        key,
        key_id,
        name: name.to_owned(),
        principal_id: principal.id,
        audit_seq: receipt.entries.first().map_or(0, |e| e.seq),
    })
}
