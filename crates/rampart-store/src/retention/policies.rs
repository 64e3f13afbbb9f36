//! Retention policies on both backends. The database keeps a compliance policy from being
//! shortened, weakened or removed (migration 0014's triggers) whatever the caller checked.

use rampart_retention::{DataType, Mode, Policy};

use super::to_u64;
use crate::codec::{from_micros, micros};
use crate::{Store, StoreError, with_pool};

type PolicyRow = (String, i64, String, i64, String);

pub(super) fn policy_of(row: PolicyRow) -> Result<Policy, StoreError> {
    let (data_type, retain_seconds, mode, updated_at, updated_by) = row;
    Ok(Policy {
        data_type: DataType::parse(&data_type).ok_or(StoreError::Corrupt {
            what: "retention_policies.data_type",
        })?,
        retain_seconds: to_u64(retain_seconds, "retention_policies.retain_seconds")?,
        mode: Mode::parse(&mode).ok_or(StoreError::Corrupt {
            what: "retention_policies.mode",
        })?,
        updated_at: from_micros(updated_at, "retention_policies.updated_at")?,
        updated_by,
    })
}

impl Store {
    pub(super) async fn retention_policies(&self) -> Result<Vec<Policy>, StoreError> {
        let rows: Vec<PolicyRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT data_type, retain_seconds, mode, updated_at, updated_by
                 FROM retention_policies ORDER BY data_type",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(policy_of).collect()
    }

    pub(super) async fn put_retention_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        let seconds = super::to_i64(policy.retain_seconds)?;
        let at = micros(policy.updated_at)?;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO retention_policies (data_type, retain_seconds, mode, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (data_type) DO UPDATE SET retain_seconds = excluded.retain_seconds,
                     mode = excluded.mode, updated_at = excluded.updated_at,
                     updated_by = excluded.updated_by",
            )
            .bind(policy.data_type.to_string())
            .bind(seconds)
            .bind(policy.mode.as_str())
            .bind(at)
            .bind(&policy.updated_by)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn remove_retention_policy(
        &self,
        data_type: &DataType,
    ) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM retention_policies WHERE data_type = $1")
                .bind(data_type.to_string())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed == 1)
    }
}
