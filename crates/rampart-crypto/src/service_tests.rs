//! Tests of the keys service and the card vault over an in-memory store and journal.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rampart_access::{Caller, CheckedCredential, CredentialKind, Granted, Policy, Principal, perm};
use rampart_audit::{Journal, JournalError};
use rampart_privacy::Pan;
use time::OffsetDateTime;

use crate::{
    CardRecord, CardStore, CardVault, KeyChange, KeyError, KeyRecord, KeyService, KeySpec,
    KeyStore, KeyType, KeyUpdate, KeyVersionRecord, MasterKey, NewKey, SealedKey, SealedSecret,
    TeamScope,
};

#[derive(Debug, thiserror::Error)]
#[error("fake storage failed")]
struct FakeError;

#[derive(Default)]
struct Tables {
    keys: BTreeMap<String, (KeyRecord, Vec<(u32, SealedSecret)>)>,
    cards: BTreeMap<String, CardRecord>,
}

/// An in-memory store; its writes follow the same preconditions as the SQL ones.
#[derive(Clone, Default)]
struct FakeStore(Arc<Mutex<Tables>>);

impl FakeStore {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.0.lock().expect("not poisoned")
    }

    fn apply(&self, change: &KeyChange) -> bool {
        let mut tables = self.tables();
        match change {
            KeyChange::CreateKey(key) => {
                if tables.keys.contains_key(&key.name) {
                    return false;
                }
                let sealed: Vec<(u32, SealedSecret)> = (1u32..)
                    .zip(std::iter::once(&key.first_version).chain(&key.later_versions))
                    .map(|(v, s)| (v, s.clone()))
                    .collect();
                let record = KeyRecord {
                    name: key.name.clone(),
                    key_type: key.key_type,
                    latest_version: sealed.last().map_or(1, |(v, _)| *v),
                    min_decryption_version: 1,
                    rotation_period_days: key.rotation_period_days,
                    created_at: key.created_at,
                    versions: sealed
                        .iter()
                        .map(|(version, _)| KeyVersionRecord {
                            version: *version,
                            created_at: key.created_at,
                            encryptions: 0,
                        })
                        .collect(),
                    team_id: key.team_id.clone(),
                };
                tables.keys.insert(key.name.clone(), (record, sealed));
                true
            }
            KeyChange::AddKeyVersion {
                name,
                expected_latest,
                sealed,
                created_at,
            } => match tables.keys.get_mut(name) {
                Some((record, versions)) if record.latest_version == *expected_latest => {
                    record.latest_version += 1;
                    record.versions.push(KeyVersionRecord {
                        version: record.latest_version,
                        created_at: *created_at,
                        encryptions: 0,
                    });
                    versions.push((record.latest_version, sealed.clone()));
                    true
                }
                _ => false,
            },
            KeyChange::UpdateKey { name, update, .. } => match tables.keys.get_mut(name) {
                Some((record, _)) => {
                    if let Some(min) = update.min_decryption_version {
                        if min < record.min_decryption_version && !update.allow_lowering {
                            return false;
                        }
                        record.min_decryption_version = min;
                    }
                    if let Some(period) = update.rotation_period_days {
                        record.rotation_period_days = period;
                    }
                    true
                }
                None => false,
            },
            KeyChange::InsertCards(cards) => {
                for card in cards {
                    tables.cards.insert(card.token.clone(), card.clone());
                }
                true
            }
        }
    }
}

impl KeyStore for FakeStore {
    type Error = FakeError;

    async fn create_key(&self, key: &NewKey) -> Result<bool, FakeError> {
        Ok(self.apply(&KeyChange::CreateKey(key.clone())))
    }

    async fn load_key(&self, name: &str) -> Result<Option<SealedKey>, FakeError> {
        Ok(self.tables().keys.get(name).cloned())
    }

    async fn key_record(&self, name: &str) -> Result<Option<KeyRecord>, FakeError> {
        Ok(self.tables().keys.get(name).map(|(r, _)| r.clone()))
    }

    async fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, FakeError> {
        Ok(self
            .tables()
            .keys
            .values()
            .filter(|(r, _)| after.is_none_or(|a| r.name.as_str() > a))
            .take(limit as usize)
            .map(|(r, _)| r.clone())
            .collect())
    }

    async fn add_version(
        &self,
        name: &str,
        expected_latest: u32,
        sealed: &SealedSecret,
        created_at: i64,
    ) -> Result<bool, FakeError> {
        Ok(self.apply(&KeyChange::AddKeyVersion {
            name: name.to_owned(),
            expected_latest,
            sealed: sealed.clone(),
            created_at,
        }))
    }

    async fn update_key(
        &self,
        name: &str,
        update: &KeyUpdate,
        updated_at: i64,
    ) -> Result<Option<KeyRecord>, FakeError> {
        self.apply(&KeyChange::UpdateKey {
            name: name.to_owned(),
            update: update.clone(),
            updated_at,
        });
        self.key_record(name).await
    }

    async fn add_encryptions(&self, name: &str, counts: &[(u32, u64)]) -> Result<(), FakeError> {
        let mut tables = self.tables();
        let (record, _) = tables.keys.get_mut(name).ok_or(FakeError)?;
        for (version, n) in counts {
            if let Some(v) = record.versions.iter_mut().find(|v| v.version == *version) {
                v.encryptions += n;
            }
        }
        Ok(())
    }
}

impl CardStore for FakeStore {
    type Error = FakeError;

    async fn insert_card(&self, card: &CardRecord) -> Result<(), FakeError> {
        self.apply(&KeyChange::InsertCards(vec![card.clone()]));
        Ok(())
    }

    async fn insert_cards(&self, cards: &[CardRecord]) -> Result<(), FakeError> {
        self.apply(&KeyChange::InsertCards(cards.to_vec()));
        Ok(())
    }

    async fn find_card(&self, token: &str) -> Result<Option<CardRecord>, FakeError> {
        Ok(self.tables().cards.get(token).cloned())
    }

    async fn count_cards_below(&self, version: u32) -> Result<u64, FakeError> {
        Ok(self
            .tables()
            .cards
            .values()
            .filter(|c| c.key_version < version)
            .count() as u64)
    }

    async fn cards_below(
        &self,
        version: u32,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CardRecord>, FakeError> {
        Ok(self
            .tables()
            .cards
            .values()
            .filter(|c| c.key_version < version && after.is_none_or(|a| c.token.as_str() > a))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn replace_card_ciphertexts(
        &self,
        cards: &[(CardRecord, u32)],
    ) -> Result<u64, FakeError> {
        let mut tables = self.tables();
        let mut replaced = 0;
        for (card, old) in cards {
            if let Some(stored) = tables.cards.get_mut(&card.token)
                && stored.key_version == *old
            {
                *stored = card.clone();
                replaced += 1;
            }
        }
        Ok(replaced)
    }
}

/// A journal that applies each change to the fake store and keeps it; `before` runs first
/// (another writer acting between the service's read and its write).
struct FakeJournal {
    store: FakeStore,
    committed: Mutex<Vec<KeyChange>>,
    before: Box<dyn Fn(&FakeStore) + Send + Sync>,
}

impl FakeJournal {
    fn new(store: &FakeStore) -> Self {
        Self::racing(store, |_| {})
    }

    fn racing(store: &FakeStore, before: impl Fn(&FakeStore) + Send + Sync + 'static) -> Self {
        Self {
            store: store.clone(),
            committed: Mutex::new(Vec::new()),
            before: Box::new(before),
        }
    }

    fn count(&self) -> usize {
        self.committed.lock().expect("not poisoned").len()
    }
}

impl Journal<KeyChange> for FakeJournal {
    async fn commit(&self, change: KeyChange) -> Result<(), JournalError> {
        (self.before)(&self.store);
        if !self.store.apply(&change) {
            return Err(JournalError::Refused);
        }
        self.committed.lock().expect("not poisoned").push(change);
        Ok(())
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid")
}

fn kek() -> Arc<crate::KeyEncryptionKey> {
    Arc::new(MasterKey::generate().expect("rng").key_encryption_key())
}

fn service(store: &FakeStore) -> Arc<KeyService<FakeStore>> {
    Arc::new(KeyService::new(store.clone(), kek()))
}

/// The bootstrap admin, whose proofs the tests use.
fn admin() -> Caller {
    Caller::new(
        Principal::bootstrap_admin(now()),
        CheckedCredential {
            id: uuid::Uuid::nil(),
            kind: CredentialKind::ApiKey,
            scopes: None,
            expires_at: None,
            allowed_ips: None,
            second_factor: false,
        },
    )
}

fn granted<P: rampart_access::Required>() -> Granted<P> {
    admin()
        .require::<P>(&Policy::default_policy())
        .expect("the admin holds every permission")
}

fn spec(name: &str, team: Option<&str>) -> KeySpec {
    KeySpec {
        name: name.to_owned(),
        key_type: KeyType::Aes256Gcm,
        rotation_period_days: None,
        materials: Vec::new(),
        team_id: team.map(str::to_owned),
    }
}

const EVERYONE: TeamScope<'static> = TeamScope::new(&[], true);

#[tokio::test]
async fn created_keys_encrypt_and_a_taken_name_is_refused() {
    let store = FakeStore::default();
    let keys = service(&store);
    let journal = FakeJournal::new(&store);
    let key = keys
        .create(granted(), EVERYONE, spec("payments", None), now(), &journal)
        .await
        .expect("created");
    assert_eq!(key.record.created_at, 1_800_000_000_000_000);
    let (ciphertext, version) = key.ring.encrypt(b"x", None).expect("encrypts");
    assert_eq!(version, 1);
    let usable = keys
        .usable::<perm::KeysDecrypt>(granted(), EVERYONE, "payments", None)
        .await
        .expect("usable");
    assert_eq!(
        &*usable
            .ring
            .decrypt(&ciphertext, None, None)
            .expect("opens")
            .0,
        b"x"
    );
    let again = keys
        .create(granted(), EVERYONE, spec("payments", None), now(), &journal)
        .await;
    assert!(matches!(again, Err(KeyError::NameTaken(name)) if name == "payments"));
    let reserved = keys
        .create(
            granted(),
            EVERYONE,
            spec("rampart.mine", None),
            now(),
            &journal,
        )
        .await;
    assert!(matches!(reserved, Err(KeyError::Reserved(_))));
    assert_eq!(journal.count(), 1);
}

#[tokio::test]
async fn a_rotation_refused_by_compare_and_set_is_a_conflict_and_a_retry_succeeds() {
    let store = FakeStore::default();
    let kek = kek();
    let keys = Arc::new(KeyService::new(store.clone(), Arc::clone(&kek)));
    keys.create(
        granted(),
        EVERYONE,
        spec("k", None),
        now(),
        &FakeJournal::new(&store),
    )
    .await
    .expect("created");
    // Another server rotates between our read and our write: compare-and-set refuses ours.
    let other = Arc::new(KeyService::new(store.clone(), kek));
    let racing = FakeJournal::racing(&store, move |s| {
        let latest = s
            .tables()
            .keys
            .get("k")
            .map_or(0, |(r, _)| r.latest_version);
        if latest == 1 {
            let sealed = other
                .kek()
                .seal(
                    &crate::SealContext::new(crate::sealed_key_name("k"), 2),
                    &[7; 32],
                )
                .expect("seals");
            s.apply(&KeyChange::AddKeyVersion {
                name: "k".to_owned(),
                expected_latest: 1,
                sealed,
                created_at: 1,
            });
        }
    });
    let refused = keys.rotate(granted(), EVERYONE, "k", now(), &racing).await;
    assert!(matches!(refused, Err(KeyError::Conflict)), "{refused:?}");
    assert_eq!(racing.count(), 0);
    // Retrying reads the new latest and succeeds.
    let rotated = keys
        .rotate(granted(), EVERYONE, "k", now(), &FakeJournal::new(&store))
        .await
        .expect("rotates");
    assert_eq!(rotated.record.latest_version, 3);
    assert_eq!(rotated.ring.latest_version(), 3);
}

#[tokio::test]
async fn keys_due_by_period_rotate_once_per_tick_through_the_journal() {
    let store = FakeStore::default();
    let keys = service(&store);
    let mut monthly = spec("monthly", None);
    monthly.rotation_period_days = Some(30);
    keys.create(
        granted(),
        EVERYONE,
        monthly,
        now(),
        &FakeJournal::new(&store),
    )
    .await
    .expect("created");
    keys.create(
        granted(),
        EVERYONE,
        spec("never", None),
        now(),
        &FakeJournal::new(&store),
    )
    .await
    .expect("created");
    let journal = FakeJournal::new(&store);
    assert!(
        keys.maintenance_tick(now(), &journal)
            .await
            .expect("tick")
            .is_empty()
    );
    let later = now() + time::Duration::days(31);
    assert_eq!(
        keys.maintenance_tick(later, &journal).await.expect("tick"),
        vec!["monthly"]
    );
    assert!(
        keys.maintenance_tick(later, &journal)
            .await
            .expect("tick")
            .is_empty()
    );
    assert_eq!(journal.count(), 1);
}

#[tokio::test]
async fn a_key_of_another_team_does_not_exist_for_the_caller() {
    let store = FakeStore::default();
    let keys = service(&store);
    let journal = FakeJournal::new(&store);
    keys.create(
        granted(),
        EVERYONE,
        spec("red-key", Some("red")),
        now(),
        &journal,
    )
    .await
    .expect("created");
    let blue_teams = ["blue".to_owned()];
    let blue = TeamScope::new(&blue_teams, false);
    let red_teams = ["red".to_owned()];
    let red = TeamScope::new(&red_teams, false);
    assert!(matches!(
        keys.usable::<perm::KeysEncrypt>(granted(), blue, "red-key", None)
            .await,
        Err(KeyError::OtherTeam(_))
    ));
    assert!(matches!(
        keys.read(granted(), blue, "red-key").await,
        Err(KeyError::OtherTeam(_))
    ));
    assert!(matches!(
        keys.rotate(granted(), blue, "red-key", now(), &journal)
            .await,
        Err(KeyError::OtherTeam(_))
    ));
    let page = keys.list(granted(), blue, None, 10).await.expect("lists");
    assert!(page.keys.is_empty());
    assert!(
        keys.usable::<perm::KeysEncrypt>(granted(), red, "red-key", None)
            .await
            .is_ok()
    );
    assert_eq!(
        keys.list(granted(), red, None, 10)
            .await
            .expect("lists")
            .keys
            .len(),
        1
    );
    // Nobody creates a key for a team that is not theirs.
    let foreign = keys
        .create(granted(), blue, spec("x", Some("red")), now(), &journal)
        .await;
    assert!(matches!(
        foreign,
        Err(KeyError::Invalid {
            field: "team_id",
            ..
        })
    ));
}

#[tokio::test]
async fn the_cards_key_minimum_rises_only_after_every_card_is_rewrapped() {
    let store = FakeStore::default();
    let keys = service(&store);
    let vault = CardVault::new(
        Arc::clone(&keys),
        store.clone(),
        secrecy::SecretBox::new(Box::from([9u8; 32].as_slice())),
    );
    let journal = FakeJournal::new(&store);
    let pan = Pan::parse("4111111111111111").expect("valid");
    let card = vault
        .tokenize(granted(), &pan, Some("12/29"), None, now(), &journal)
        .await
        .expect("tokenized");
    assert_eq!(card.last_four, "1111");
    assert!(!card.pan_ciphertext.contains("4111111111111111"));
    keys.rotate(granted(), EVERYONE, crate::CARDS_KEY, now(), &journal)
        .await
        .expect("rotates");
    let raise = KeyUpdate {
        min_decryption_version: Some(2),
        ..KeyUpdate::default()
    };
    let stranded = keys
        .update(
            granted(),
            EVERYONE,
            crate::CARDS_KEY,
            raise.clone(),
            now(),
            &journal,
            |_| {},
        )
        .await;
    assert!(matches!(
        stranded,
        Err(KeyError::CardsStranded {
            count: 1,
            min: 2,
            ..
        })
    ));
    let progress = vault.rewrap_all(10, |_| {}).await.expect("rewraps");
    assert_eq!(progress.done, 1);
    let seen = Mutex::new(None);
    keys.update(
        granted(),
        EVERYONE,
        crate::CARDS_KEY,
        raise,
        now(),
        &journal,
        |stored| *seen.lock().expect("not poisoned") = Some(stored.min_decryption_version),
    )
    .await
    .expect("raised");
    assert_eq!(*seen.lock().expect("not poisoned"), Some(1));
    let back = vault
        .detokenize(granted(), &card.token)
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(back.pan.as_str(), "4111111111111111");
    assert_eq!(back.expiry.as_deref().map(String::as_str), Some("12/29"));
    assert!(
        vault
            .detokenize(granted(), "4111111111111111")
            .await
            .expect("reads")
            .is_none()
    );
}
