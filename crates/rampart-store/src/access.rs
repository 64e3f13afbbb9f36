//! [`AccessStore`] on both backends.

use rampart_access::{AccessStore, ApiKeyHash, ApiKeyRecord, Principal, PrincipalKind};

use crate::codec::{from_list, from_micros, from_micros_opt, uuid};
use crate::{Store, StoreError, with_pool};

/// The columns of one `api_keys` row joined with its principal, as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    key_id: String,
    key_name: String,
    key_hash: String,
    scopes: Option<String>,
    key_created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    allowed_ips: Option<String>,
    last_used_at: Option<i64>,
    usage_count: i64,
    rotated_from: Option<String>,
    principal_id: String,
    kind: String,
    name: String,
    email: Option<String>,
    roles: String,
    teams: String,
    disabled: bool,
    principal_created_at: i64,
    subject_id: Option<String>,
    owner_id: Option<String>,
}

/// The `SELECT` list of [`KeyRow`] over `api_keys k JOIN principals p`.
pub(crate) const KEY_ROW_COLUMNS: &str = "k.id AS key_id, k.name AS key_name, k.key_hash, k.scopes,
    k.created_at AS key_created_at, k.expires_at, k.revoked_at, k.allowed_ips, k.last_used_at,
    k.usage_count, k.rotated_from,
    p.id AS principal_id, p.kind, p.name, p.email, p.roles, p.teams,
    p.disabled, p.created_at AS principal_created_at, p.subject_id, p.owner_id";

impl KeyRow {
    pub(crate) fn into_domain(self) -> Result<(ApiKeyRecord, Principal), StoreError> {
        let principal = Principal {
            id: uuid(&self.principal_id, "principals.id")?,
            kind: self
                .kind
                .parse::<PrincipalKind>()
                .map_err(|_| StoreError::Corrupt {
                    what: "principals.kind",
                })?,
            name: self.name,
            email: self.email,
            roles: from_list(&self.roles, "principals.roles")?,
            teams: from_list(&self.teams, "principals.teams")?,
            disabled: self.disabled,
            created_at: from_micros(self.principal_created_at, "principals.created_at")?,
            subject_id: self.subject_id,
            owner_id: self
                .owner_id
                .as_deref()
                .map(|o| uuid(o, "principals.owner_id"))
                .transpose()?,
        };
        let record = ApiKeyRecord {
            id: uuid(&self.key_id, "api_keys.id")?,
            principal_id: principal.id,
            name: self.key_name,
            hash: ApiKeyHash(self.key_hash),
            scopes: self
                .scopes
                .as_deref()
                .map(|s| from_list(s, "api_keys.scopes"))
                .transpose()?,
            created_at: from_micros(self.key_created_at, "api_keys.created_at")?,
            expires_at: from_micros_opt(self.expires_at, "api_keys.expires_at")?,
            revoked_at: from_micros_opt(self.revoked_at, "api_keys.revoked_at")?,
            allowed_ips: self
                .allowed_ips
                .as_deref()
                .map(|text| {
                    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
                        what: "api_keys.allowed_ips",
                    })
                })
                .transpose()?,
            last_used_at: from_micros_opt(self.last_used_at, "api_keys.last_used_at")?,
            usage_count: u64::try_from(self.usage_count).unwrap_or(0),
            rotated_from: self
                .rotated_from
                .as_deref()
                .map(|id| uuid(id, "api_keys.rotated_from"))
                .transpose()?,
        };
        Ok((record, principal))
    }
}

impl AccessStore for Store {
    type Error = StoreError;

    async fn find_api_key(
        &self,
        hash: &ApiKeyHash,
    ) -> Result<Option<(ApiKeyRecord, Principal)>, StoreError> {
        let row: Option<KeyRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {KEY_ROW_COLUMNS} FROM api_keys k JOIN principals p ON p.id = k.principal_id
                 WHERE k.key_hash = $1"
            )))
            .bind(&hash.0)
            .fetch_optional(pool)
            .await?
        });
        row.map(KeyRow::into_domain).transpose()
    }

    async fn insert_principal(&self, principal: &Principal) -> Result<(), StoreError> {
        let change = crate::StoreChange::from(rampart_access::IdentityChange::CreatePrincipal {
            principal: principal.clone(),
            password_hash: None,
        });
        if self.apply(&change).await? {
            Ok(())
        } else {
            Err(StoreError::Refused(change.refusal()))
        }
    }

    async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let change =
            crate::StoreChange::from(rampart_access::IdentityChange::InsertApiKey(record.clone()));
        if self.apply(&change).await? {
            Ok(())
        } else {
            Err(StoreError::Refused(change.refusal()))
        }
    }
}
