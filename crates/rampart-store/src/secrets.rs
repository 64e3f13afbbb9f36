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
}
