//! The keys service's writes: creation, rotation (compare-and-set on `latest_version`, so two
//! servers never make the same version), `PATCH` (a lower `min_decryption_version` only with
//! `allow_lowering`, compare-and-set in the store), and the maintenance tick (counts flushed,
//! rotation by period or before a version reaches 2^32 encryptions).

use std::error::Error as StdError;
use std::sync::Arc;

use rampart_access::{Granted, perm};
use rampart_audit::{Journal, JournalError};
use time::OffsetDateTime;

use super::{
    CARDS_KEY, KeyError, KeyService, LoadedKey, MAX_ROTATION_PERIOD_DAYS, ROTATE_AT_ENCRYPTIONS,
    TeamScope, is_internal, micros, valid_key_name,
};
use crate::{CardStore, KeyChange, KeyMaterial, KeyRecord, KeyStore, KeyType, KeyUpdate, NewKey};

/// What a new key is to be.
#[derive(Debug)]
pub struct KeySpec {
    /// The key's name.
    pub name: String,
    /// The key's type.
    pub key_type: KeyType,
    /// Days between automatic rotations, if any.
    pub rotation_period_days: Option<u32>,
    /// Imported material, oldest first: each becomes a version (Fernet keys, as
    /// `MultiFernet` holds them: the last one encrypts). Empty: new random material.
    pub materials: Vec<KeyMaterial>,
    /// The team the key belongs to, if any.
    pub team_id: Option<String>,
}

/// Most versions a new key may be imported with.
pub const MAX_IMPORTED_VERSIONS: usize = 16;

/// A journal's answer for a change whose refusal means `refused`.
fn committed(result: Result<(), JournalError>, refused: KeyError) -> Result<(), KeyError> {
    match result {
        Ok(()) => Ok(()),
        Err(JournalError::Refused) => Err(refused),
        Err(other) => Err(KeyError::Journal(other)),
    }
}

impl<S> KeyService<S>
where
    S: KeyStore + Sync,
    S::Error: StdError + Send + Sync + 'static,
{
    /// Checks a new key and seals its first version.
    fn new_key(&self, spec: KeySpec, now: OffsetDateTime) -> Result<NewKey, KeyError> {
        if !(valid_key_name(&spec.name) || is_internal(&spec.name)) {
            return Err(KeyError::InvalidName);
        }
        if spec
            .rotation_period_days
            .is_some_and(|d| d == 0 || d > MAX_ROTATION_PERIOD_DAYS)
        {
            return Err(KeyError::Invalid {
                field: "rotation_period_days",
                message: format!("must be from 1 to {MAX_ROTATION_PERIOD_DAYS}"),
            });
        }
        if spec.materials.len() > MAX_IMPORTED_VERSIONS {
            return Err(KeyError::Invalid {
                field: "import_keys",
                message: format!("at most {MAX_IMPORTED_VERSIONS} keys"),
            });
        }
        for (i, material) in spec.materials.iter().enumerate() {
            let repeated = spec.materials.iter().skip(i + 1).any(|other| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    &material.expose()[..],
                    &other.expose()[..],
                ))
            });
            if repeated {
                return Err(KeyError::Invalid {
                    field: "import_keys",
                    message: "the same key is given twice".to_owned(),
                });
            }
        }
        let mut materials = spec.materials.into_iter();
        let first = match materials.next() {
            Some(material) => material,
            None => KeyMaterial::generate()?,
        };
        let mut later_versions = Vec::new();
        for (version, material) in (2u32..).zip(materials) {
            later_versions.push(self.seal(&spec.name, version, &material)?);
        }
        Ok(NewKey {
            first_version: self.seal(&spec.name, 1, &first)?,
            later_versions,
            name: spec.name,
            key_type: spec.key_type,
            rotation_period_days: spec.rotation_period_days,
            created_at: micros(now),
            team_id: spec.team_id,
        })
    }

    /// Creates a key for a caller: a name of its own (not `rampart.*`), for one of the caller's
    /// teams unless its roles bypass team isolation. The change commits with its audit entry.
    pub async fn create(
        &self,
        _granted: Granted<perm::KeysManage>,
        scope: TeamScope<'_>,
        spec: KeySpec,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        if is_internal(&spec.name) {
            return Err(KeyError::Reserved(spec.name));
        }
        if let Some(team) = &spec.team_id
            && !scope.includes(team)
        {
            return Err(KeyError::Invalid {
                field: "team_id",
                message: "is not a team of the caller (only roles that bypass team isolation create keys for other teams)".to_owned(),
            });
        }
        let name = spec.name.clone();
        let key = self.new_key(spec, now)?;
        committed(
            journal.commit(KeyChange::CreateKey(key)).await,
            KeyError::NameTaken(name.clone()),
        )?;
        self.reload(&name).await
    }

    /// Creates one of Rampart's own keys unless it exists (another server may create it first).
    /// Not audited: Rampart makes it on first use.
    pub async fn ensure_internal(
        &self,
        name: &str,
        key_type: KeyType,
        now: OffsetDateTime,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        match self.get(name).await {
            Err(KeyError::NotFound(_)) => {}
            other => return other,
        }
        let key = self.new_key(
            KeySpec {
                name: name.to_owned(),
                key_type,
                rotation_period_days: None,
                materials: Vec::new(),
                team_id: None,
            },
            now,
        )?;
        // `false`: the name was taken meanwhile, which is just as good.
        self.store
            .create_key(&key)
            .await
            .map_err(KeyError::storage)?;
        self.reload(name).await
    }

    /// Adds version `expected_latest + 1` unless another writer rotated since `expected_latest`
    /// was read ([`KeyError::Conflict`]).
    async fn rotate_from(
        &self,
        name: &str,
        expected_latest: u32,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let next = expected_latest.checked_add(1).ok_or(KeyError::Conflict)?;
        let material = KeyMaterial::generate()?;
        let change = KeyChange::AddKeyVersion {
            name: name.to_owned(),
            expected_latest,
            sealed: self.seal(name, next, &material)?,
            created_at: micros(now),
        };
        committed(journal.commit(change).await, KeyError::Conflict)?;
        self.reload(name).await
    }

    /// Adds a version to a key the caller sees and makes it the latest; [`KeyError::Conflict`]
    /// when another request rotated it at the same moment.
    pub async fn rotate(
        &self,
        _granted: Granted<perm::KeysManage>,
        scope: TeamScope<'_>,
        name: &str,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let record = self.record_for(scope, name).await?;
        self.rotate_from(name, record.latest_version, now, journal)
            .await
    }

    /// Rotates a key for the operator (`rampart keys rotate`, who holds the master key rather
    /// than a permission), Rampart's own keys included.
    pub async fn rotate_by_operator(
        &self,
        name: &str,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let record = self.record(name).await?;
        self.rotate_from(name, record.latest_version, now, journal)
            .await
    }

    /// Rotates every key whose rotation period has passed at `now` or whose latest version
    /// nears its encryption limit, each through `journal`. Returns the names rotated; a key
    /// another server rotated first is left alone.
    pub async fn rotate_due(
        &self,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Vec<String>, KeyError> {
        let at = micros(now);
        let mut rotated = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_keys(after.as_deref(), 500)
                .await
                .map_err(KeyError::storage)?;
            let Some(last) = page.last() else { break };
            after = Some(last.name.clone());
            for record in &page {
                let by_period = record.next_rotation_at().is_some_and(|due| due <= at);
                let by_count = record
                    .versions
                    .iter()
                    .find(|v| v.version == record.latest_version)
                    .is_some_and(|v| v.encryptions >= ROTATE_AT_ENCRYPTIONS);
                if !(by_period || by_count) {
                    continue;
                }
                match self
                    .rotate_from(&record.name, record.latest_version, now, journal)
                    .await
                {
                    Ok(_) => {
                        tracing::info!(key = %record.name, by_period, by_count, "key rotated automatically");
                        rotated.push(record.name.clone());
                    }
                    // Another server rotated it first.
                    Err(KeyError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(rotated)
    }

    /// One tick of the maintenance task: flushes the encryption counts (a failure is logged and
    /// the tick goes on), then rotates what is due at `now` through `journal`, which records
    /// each automatic rotation. Returns the names rotated.
    pub async fn maintenance_tick(
        &self,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
    ) -> Result<Vec<String>, KeyError> {
        if let Err(e) = self.flush_counts().await {
            tracing::warn!(error = %e, "cannot store key encryption counts");
        }
        self.rotate_due(now, journal).await
    }
}

impl<S> KeyService<S>
where
    S: KeyStore + CardStore + Sync,
    <S as KeyStore>::Error: StdError + Send + Sync + 'static,
    <S as CardStore>::Error: StdError + Send + Sync + 'static,
{
    /// Changes `min_decryption_version` and/or `rotation_period_days` of a key the caller sees.
    /// A lower minimum needs `allow_lowering`; the cards key's minimum rises only once no stored
    /// card is under an older version. [`KeyError::Conflict`] when another request raised the
    /// minimum meanwhile. `checking` is shown the stored key the update is checked against
    /// before anything is decided, so a refused update can be recorded with what it would have
    /// changed.
    #[allow(
        clippy::too_many_arguments,
        reason = "the proof, the caller's scope, the clock, the journal and the audit hook are each a concern of their own"
    )]
    pub async fn update(
        &self,
        _granted: Granted<perm::KeysManage>,
        scope: TeamScope<'_>,
        name: &str,
        update: KeyUpdate,
        now: OffsetDateTime,
        journal: &impl Journal<KeyChange>,
        checking: impl FnOnce(&KeyRecord) + Send,
    ) -> Result<Arc<LoadedKey>, KeyError> {
        let record = self.record_for(scope, name).await?;
        checking(&record);
        if let Some(min) = update.min_decryption_version {
            // Retiring a version of the cards key while cards are still under it would strand
            // them.
            if name == CARDS_KEY {
                let count = self
                    .store
                    .count_cards_below(min)
                    .await
                    .map_err(KeyError::storage)?;
                if count > 0 {
                    return Err(KeyError::CardsStranded {
                        count,
                        min,
                        key: name.to_owned(),
                    });
                }
            }
            if min < 1 || min > record.latest_version {
                return Err(KeyError::Invalid {
                    field: "min_decryption_version",
                    message: format!(
                        "must be between 1 and the latest version ({})",
                        record.latest_version
                    ),
                });
            }
            if min < record.min_decryption_version && !update.allow_lowering {
                return Err(KeyError::Invalid {
                    field: "min_decryption_version",
                    message: format!(
                        "would lower the minimum from {} to {min}, reviving retired versions; send \"allow_lowering\": true to do so on purpose",
                        record.min_decryption_version
                    ),
                });
            }
        }
        if update
            .rotation_period_days
            .flatten()
            .is_some_and(|d| d == 0 || d > MAX_ROTATION_PERIOD_DAYS)
        {
            return Err(KeyError::Invalid {
                field: "rotation_period_days",
                message: format!(
                    "must be from 1 to {MAX_ROTATION_PERIOD_DAYS} (or null to turn rotation off)"
                ),
            });
        }
        let change = KeyChange::UpdateKey {
            name: name.to_owned(),
            update,
            updated_at: micros(now),
        };
        match journal.commit(change).await {
            Ok(()) => {}
            // The key is gone, or another request raised the minimum between our read and
            // our write (the store refused to lower it).
            Err(JournalError::Refused) => {
                self.record(name).await?;
                return Err(KeyError::Conflict);
            }
            Err(other) => return Err(KeyError::Journal(other)),
        }
        self.reload(name).await
    }
}
