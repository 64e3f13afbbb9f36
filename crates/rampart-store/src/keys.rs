//! [`KeyStore`] and [`CardStore`] on both backends, and the re-sealing of every sealed secret
//! that master-key rotation needs.

use rampart_crypto::{
    CardRecord, CardStore, KeyRecord, KeyStore, KeyType, KeyUpdate, KeyVersionRecord, NewKey,
    SealedSecret, sealed_key_name,
};

use crate::change::StoreChange;
use crate::{Store, StoreError, with_pool};
use rampart_crypto::KeyChange;

#[derive(sqlx::FromRow)]
struct KeyRow {
    name: String,
    key_type: String,
    latest_version: i64,
    min_decryption_version: i64,
    rotation_period_days: Option<i64>,
    created_at: i64,
    team_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    key_name: String,
    version: i64,
    created_at: i64,
    encryptions: i64,
}

#[derive(sqlx::FromRow)]
struct CardRow {
    token: String,
    fingerprint: String,
    brand: String,
    last_four: String,
    pan_ciphertext: String,
    expiry_ciphertext: Option<String>,
    key_version: i64,
    created_at: i64,
    subject_id: Option<String>,
}

fn version(value: i64, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt { what })
}

impl KeyRow {
    fn into_domain(self, versions: Vec<VersionRow>) -> Result<KeyRecord, StoreError> {
        Ok(KeyRecord {
            key_type: self
                .key_type
                .parse::<KeyType>()
                .map_err(|_| StoreError::Corrupt {
                    what: "keys.key_type",
                })?,
            latest_version: version(self.latest_version, "keys.latest_version")?,
            min_decryption_version: version(
                self.min_decryption_version,
                "keys.min_decryption_version",
            )?,
            rotation_period_days: self
                .rotation_period_days
                .map(|d| version(d, "keys.rotation_period_days"))
                .transpose()?,
            created_at: self.created_at,
            team_id: self.team_id.clone(),
            versions: versions
                .into_iter()
                .filter(|v| v.key_name == self.name)
                .map(|v| {
                    Ok(KeyVersionRecord {
                        version: version(v.version, "key_versions.version")?,
                        created_at: v.created_at,
                        encryptions: u64::try_from(v.encryptions).map_err(|_| {
                            StoreError::Corrupt {
                                what: "key_versions.encryptions",
                            }
                        })?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            name: self.name,
        })
    }
}

impl CardRow {
    fn into_domain(self) -> Result<CardRecord, StoreError> {
        Ok(CardRecord {
            token: self.token,
            fingerprint: self.fingerprint,
            brand: self.brand,
            last_four: self.last_four,
            pan_ciphertext: self.pan_ciphertext,
            expiry_ciphertext: self.expiry_ciphertext,
            key_version: version(self.key_version, "card_tokens.key_version")?,
            created_at: self.created_at,
            subject_id: self.subject_id,
        })
    }
}

macro_rules! key_columns {
    () => {
        "name, key_type, latest_version, min_decryption_version, rotation_period_days, created_at, team_id"
    };
}
macro_rules! card_columns {
    () => {
        "token, fingerprint, brand, last_four, pan_ciphertext, expiry_ciphertext, key_version, created_at, subject_id"
    };
}

impl Store {
    async fn versions_of(&self, names: &[String]) -> Result<Vec<VersionRow>, StoreError> {
        let mut all = Vec::new();
        for name in names {
            let rows: Vec<VersionRow> = with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT key_name, version, created_at, encryptions FROM key_versions
                     WHERE key_name = $1 ORDER BY version",
                )
                .bind(name)
                .fetch_all(pool)
                .await?
            });
            all.extend(rows);
        }
        Ok(all)
    }

    /// Every sealed secret, as `(name, version, sealed)`, for master-key rotation.
    pub async fn all_sealed_secrets(&self) -> Result<Vec<(String, u32, SealedSecret)>, StoreError> {
        let rows: Vec<(String, i64, Vec<u8>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, version, sealed FROM sealed_secrets ORDER BY name, version")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(name, v, sealed)| {
                Ok((
                    name,
                    version(v, "sealed_secrets.version")?,
                    SealedSecret::from_bytes(sealed),
                ))
            })
            .collect()
    }

    /// Replaces sealed secrets in one transaction (master-key rotation); every row must exist.
    pub async fn replace_sealed_secrets(
        &self,
        secrets: &[(String, u32, SealedSecret)],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (name, v, sealed) in secrets {
                let done = sqlx::query(
                    "UPDATE sealed_secrets SET sealed = $1 WHERE name = $2 AND version = $3",
                )
                .bind(sealed.as_bytes())
                .bind(name)
                .bind(i64::from(*v))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Corrupt { what: "sealed_secrets" });
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

impl KeyStore for Store {
    type Error = StoreError;

    async fn create_key(&self, key: &NewKey) -> Result<bool, StoreError> {
        self.apply(&StoreChange::Keys(KeyChange::CreateKey(key.clone())))
            .await
    }

    async fn load_key(
        &self,
        name: &str,
    ) -> Result<Option<(KeyRecord, Vec<(u32, SealedSecret)>)>, StoreError> {
        let Some(record) = self.key_record(name).await? else {
            return Ok(None);
        };
        let rows: Vec<(i64, Vec<u8>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT version, sealed FROM sealed_secrets WHERE name = $1 ORDER BY version",
            )
            .bind(sealed_key_name(name))
            .fetch_all(pool)
            .await?
        });
        let sealed = rows
            .into_iter()
            .map(|(v, bytes)| {
                Ok((
                    version(v, "sealed_secrets.version")?,
                    SealedSecret::from_bytes(bytes),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((record, sealed)))
    }

    async fn key_record(&self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        let row: Option<KeyRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", key_columns!(), " FROM keys WHERE name = $1"))
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        let Some(row) = row else { return Ok(None) };
        let versions = self.versions_of(std::slice::from_ref(&row.name)).await?;
        row.into_domain(versions).map(Some)
    }

    async fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", key_columns!(), " FROM keys WHERE name > $1 ORDER BY name LIMIT $2"))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        let Some(last) = rows.last().map(|r| r.name.clone()) else {
            return Ok(Vec::new());
        };
        // The versions of the whole page in one query (by the page's name range), not one per key.
        let versions: Vec<VersionRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT key_name, version, created_at, encryptions FROM key_versions
                 WHERE key_name > $1 AND key_name <= $2 ORDER BY key_name, version",
            )
            .bind(after.unwrap_or(""))
            .bind(&last)
            .fetch_all(pool)
            .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mine = versions
                .iter()
                .filter(|v| v.key_name == row.name)
                .map(|v| VersionRow {
                    key_name: v.key_name.clone(),
                    version: v.version,
                    created_at: v.created_at,
                    encryptions: v.encryptions,
                })
                .collect();
            out.push(row.into_domain(mine)?);
        }
        Ok(out)
    }

    async fn add_version(
        &self,
        name: &str,
        expected_latest: u32,
        sealed: &SealedSecret,
        created_at: i64,
    ) -> Result<bool, StoreError> {
        self.apply(&StoreChange::Keys(KeyChange::AddKeyVersion {
            name: name.to_owned(),
            expected_latest,
            sealed: sealed.clone(),
            created_at,
        }))
        .await
    }

    async fn update_key(
        &self,
        name: &str,
        update: &KeyUpdate,
        updated_at: i64,
    ) -> Result<Option<KeyRecord>, StoreError> {
        // Refused (gone, or a lowering not allowed): the caller sees the stored record.
        self.apply(&StoreChange::Keys(KeyChange::UpdateKey {
            name: name.to_owned(),
            update: update.clone(),
            updated_at,
        }))
        .await?;
        self.key_record(name).await
    }

    async fn add_encryptions(&self, name: &str, counts: &[(u32, u64)]) -> Result<(), StoreError> {
        for (v, n) in counts {
            let n = i64::try_from(*n).map_err(|_| StoreError::OutOfRange {
                what: "encryption count",
            })?;
            with_pool!(self, pool => {
                sqlx::query(
                    "UPDATE key_versions SET encryptions = encryptions + $1
                     WHERE key_name = $2 AND version = $3",
                )
                .bind(n)
                .bind(name)
                .bind(i64::from(*v))
                .execute(pool)
                .await?;
            });
        }
        Ok(())
    }
}

impl CardStore for Store {
    type Error = StoreError;

    async fn insert_card(&self, card: &CardRecord) -> Result<(), StoreError> {
        self.apply(&StoreChange::Keys(KeyChange::InsertCards(vec![
            card.clone(),
        ])))
        .await
        .map(|_| ())
    }

    async fn insert_cards(&self, cards: &[CardRecord]) -> Result<(), StoreError> {
        // Dropping the future before the commit (an error, or the caller gone) rolls back.
        self.apply(&StoreChange::Keys(KeyChange::InsertCards(cards.to_vec())))
            .await
            .map(|_| ())
    }

    async fn find_card(&self, token: &str) -> Result<Option<CardRecord>, StoreError> {
        let row: Option<CardRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", card_columns!(), " FROM card_tokens WHERE token = $1"))
                .bind(token)
                .fetch_optional(pool)
                .await?
        });
        row.map(CardRow::into_domain).transpose()
    }

    async fn count_cards_below(&self, version: u32) -> Result<u64, StoreError> {
        let (n,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM card_tokens WHERE key_version < $1")
                .bind(i64::from(version))
                .fetch_one(pool)
                .await?
        });
        u64::try_from(n).map_err(|_| StoreError::Corrupt { what: "card count" })
    }

    async fn cards_below(
        &self,
        version: u32,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CardRecord>, StoreError> {
        let rows: Vec<CardRow> = with_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", card_columns!(), " FROM card_tokens WHERE key_version < $1 AND token > $2 ORDER BY token LIMIT $3"))
            .bind(i64::from(version))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(CardRow::into_domain).collect()
    }

    async fn replace_card_ciphertexts(
        &self,
        cards: &[(CardRecord, u32)],
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut replaced = 0;
            for (card, old_version) in cards {
                let done = sqlx::query(
                    "UPDATE card_tokens SET pan_ciphertext = $1, expiry_ciphertext = $2, key_version = $3
                     WHERE token = $4 AND key_version = $5",
                )
                .bind(&card.pan_ciphertext)
                .bind(card.expiry_ciphertext.as_deref())
                .bind(i64::from(card.key_version))
                .bind(&card.token)
                .bind(i64::from(*old_version))
                .execute(&mut *tx)
                .await?;
                replaced += done.rows_affected();
            }
            tx.commit().await?;
            Ok(replaced)
        })
    }
}
