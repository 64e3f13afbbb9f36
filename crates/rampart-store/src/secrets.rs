//! [`SealedSecretStore`] on both backends.

use rampart_crypto::{SealedSecret, SealedSecretStore};

use crate::{Store, StoreError, with_pool};

impl SealedSecretStore for Store {
    type Error = StoreError;

    async fn load_sealed(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<SealedSecret>, StoreError> {
        with_pool!(self, pool => {
            let row: Option<(Vec<u8>,)> =
                sqlx::query_as("SELECT sealed FROM sealed_secrets WHERE name = $1 AND version = $2")
                    .bind(name)
                    .bind(i64::from(version))
                    .fetch_optional(pool)
                    .await?;
            Ok(row.map(|(bytes,)| SealedSecret::from_bytes(bytes)))
        })
    }

    async fn store_sealed_if_absent(
        &self,
        name: &str,
        version: u32,
        sealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let now = crate::codec::micros(time::OffsetDateTime::now_utc())?;
        with_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO sealed_secrets (name, version, sealed, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name, version) DO NOTHING",
            )
            .bind(name)
            .bind(i64::from(version))
            .bind(sealed.as_bytes())
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
