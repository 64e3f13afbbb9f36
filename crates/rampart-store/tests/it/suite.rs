//! Each test here runs once per backend: `sqlite::name` and `postgres::name`.

use crate::fixture::Fixture;
use rampart_access::{AccessStore, ApiKey, ApiKeyPepper, Principal};
use rampart_crypto::{MasterKey, SealedSecretStore, Sentinel};
use rampart_store::{Backend, Deployment, Initialization, MIGRATIONS, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

on_both_backends!(
    migrations_apply_once,
    schema_newer_than_binary_is_refused,
    edited_migration_is_refused,
    initialize_writes_everything_once,
    second_initialize_changes_nothing,
    api_keys_are_found_by_hash_only,
    corrupt_rows_are_errors_not_panics,
);

struct Seeded {
    init: Initialization,
    key: ApiKey,
    pepper: ApiKeyPepper,
    master: MasterKey,
}

fn seed() -> Seeded {
    // Storage keeps microseconds, as API.md's timestamps do.
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .expect("valid nanosecond");
    let master = MasterKey::generate().expect("rng");
    let kek = master.key_encryption_key();
    let pepper = ApiKeyPepper::new(*rampart_crypto::random_secret::<32>().expect("rng"));
    let sealed_pepper = kek
        .seal(
            &rampart_crypto::SealContext::new(ApiKeyPepper::SECRET_NAME, 1),
            pepper.expose(),
        )
        .expect("seals");
    let admin = Principal::bootstrap_admin(now);
    let (key, admin_key) = pepper
        .issue(admin.id, "bootstrap", None, None, now)
        .expect("rng");
    let init = Initialization {
        deployment: Deployment {
            id: Uuid::now_v7(),
            created_at: time::OffsetDateTime::from_unix_timestamp(now.unix_timestamp())
                .expect("valid"),
            created_by_version: "test".into(),
        },
        sealed_secrets: vec![
            (
                Sentinel::NAME.into(),
                1,
                Sentinel::seal(&kek).expect("seals"),
            ),
            (ApiKeyPepper::SECRET_NAME.into(), 1, sealed_pepper),
        ],
        admin,
        admin_key,
    };
    Seeded {
        init,
        key,
        pepper,
        master,
    }
}

async fn migrations_apply_once(f: Fixture) {
    assert_eq!(f.store.schema_version().await.expect("reads"), None);
    let first = f.store.migrate().await.expect("migrates");
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(first.applied, all);
    let second = f.store.migrate().await.expect("migrates again");
    assert!(second.applied.is_empty());
    assert_eq!(second.version, first.version);
    assert_eq!(
        f.store.schema_version().await.expect("reads"),
        all.last().copied()
    );
    assert_eq!(f.store.deployment().await.expect("reads"), None);
    f.store.ping().await.expect("pings");
}

async fn schema_newer_than_binary_is_refused(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    f.exec_raw("INSERT INTO rampart_schema_migrations VALUES (9999, 'future', 'x', 0)")
        .await;
    match f.store.migrate().await {
        Err(StoreError::SchemaTooNew { found: 9999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

async fn edited_migration_is_refused(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    f.exec_raw("UPDATE rampart_schema_migrations SET checksum = 'edited' WHERE version = 1")
        .await;
    match f.store.migrate().await {
        Err(StoreError::MigrationChanged { version: 1 }) => {}
        other => panic!("expected MigrationChanged, got {other:?}"),
    }
}

async fn initialize_writes_everything_once(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let seeded = seed();
    f.store.initialize(&seeded.init).await.expect("initializes");
    let deployment = f
        .store
        .deployment()
        .await
        .expect("reads")
        .expect("initialized");
    assert_eq!(deployment, seeded.init.deployment);

    let sentinel = f
        .store
        .load_sealed(Sentinel::NAME, 1)
        .await
        .expect("reads")
        .expect("stored");
    Sentinel::verify(&seeded.master.key_encryption_key(), &sentinel).expect("sentinel opens");
    assert!(
        Sentinel::verify(
            &MasterKey::generate().expect("rng").key_encryption_key(),
            &sentinel
        )
        .is_err()
    );
    assert_eq!(
        f.store.load_sealed(Sentinel::NAME, 2).await.expect("reads"),
        None
    );
    assert_eq!(
        f.store.load_sealed("missing", 1).await.expect("reads"),
        None
    );
}

async fn second_initialize_changes_nothing(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let first = seed();
    f.store.initialize(&first.init).await.expect("initializes");
    let second = seed();
    match f.store.initialize(&second.init).await {
        Err(StoreError::AlreadyInitialized) => {}
        other => panic!("expected AlreadyInitialized, got {other:?}"),
    }
    assert_eq!(
        f.store.deployment().await.expect("reads"),
        Some(first.init.deployment.clone())
    );
    // The second key was not stored: the whole second initialization rolled back.
    assert_eq!(
        f.store
            .find_api_key(&second.pepper.hash(&second.key))
            .await
            .expect("reads"),
        None
    );
    assert!(
        f.store
            .find_api_key(&first.pepper.hash(&first.key))
            .await
            .expect("reads")
            .is_some()
    );
}

async fn api_keys_are_found_by_hash_only(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let seeded = seed();
    f.store.initialize(&seeded.init).await.expect("initializes");
    let (record, principal) = f
        .store
        .find_api_key(&seeded.pepper.hash(&seeded.key))
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(record, seeded.init.admin_key);
    assert_eq!(principal, seeded.init.admin);
    let other_pepper = ApiKeyPepper::new([9; 32]);
    assert_eq!(
        f.store
            .find_api_key(&other_pepper.hash(&seeded.key))
            .await
            .expect("reads"),
        None
    );
}

async fn corrupt_rows_are_errors_not_panics(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let seeded = seed();
    f.store.initialize(&seeded.init).await.expect("initializes");
    f.exec_raw("UPDATE principals SET roles = 'not json'").await;
    match f.store.find_api_key(&seeded.pepper.hash(&seeded.key)).await {
        Err(StoreError::Corrupt {
            what: "principals.roles",
        }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let _ = Backend::Sqlite.as_str();
}
