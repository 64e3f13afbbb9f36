//! Named keys, their versions and the card vault, on both backends.

use rampart_crypto::{
    CardRecord, CardStore, KeyStore, KeyType, KeyUpdate, MasterKey, NewKey, SealContext,
    SealedSecretStore, sealed_key_name,
};
use secrecy::ExposeSecret;

use crate::fixture::Fixture;

on_both_backends!(
    keys_are_created_once_and_rotate_without_races,
    key_updates_and_counts_persist,
    cards_are_found_and_rewrapped_only_once,
    every_sealed_secret_can_be_resealed,
    card_batches_are_stored_whole_or_not_at_all,
    a_lower_minimum_needs_allow_lowering,
    cards_keep_their_data_subject_link,
    a_key_imported_with_several_versions_keeps_them_all,
);

async fn a_key_imported_with_several_versions_keeps_them_all(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let kek = MasterKey::generate().expect("rng").key_encryption_key();
    let seal = |v: u32, bytes: &[u8]| {
        kek.seal(&SealContext::new(sealed_key_name("legacy"), v), bytes)
            .expect("seals")
    };
    let mut key = new_key("legacy", seal(1, b"oldest"));
    key.later_versions = vec![seal(2, b"middle"), seal(3, b"newest")];
    assert!(f.store.create_key(&key).await.expect("creates"));
    let (record, sealed) = f
        .store
        .load_key("legacy")
        .await
        .expect("loads")
        .expect("exists");
    assert_eq!(record.latest_version, 3);
    assert_eq!(
        record
            .versions
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let opened: Vec<Vec<u8>> = sealed
        .iter()
        .map(|(v, s)| {
            kek.open(&SealContext::new(sealed_key_name("legacy"), *v), s)
                .expect("opens")
                .expose_secret()
                .to_vec()
        })
        .collect();
    assert_eq!(
        opened,
        [b"oldest".to_vec(), b"middle".to_vec(), b"newest".to_vec()]
    );
    // Rotation goes on from the latest.
    assert!(
        f.store
            .add_version("legacy", 3, &seal(4, b"next"), 2_000_000)
            .await
            .expect("rotates")
    );
}

fn new_key(name: &str, sealed: rampart_crypto::SealedSecret) -> NewKey {
    NewKey {
        name: name.to_owned(),
        key_type: KeyType::Fernet,
        rotation_period_days: Some(30),
        created_at: 1_000_000,
        first_version: sealed,
        later_versions: Vec::new(),
        team_id: None,
    }
}

async fn keys_are_created_once_and_rotate_without_races(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let kek = MasterKey::generate().expect("rng").key_encryption_key();
    let seal = |v: u32, bytes: &[u8]| {
        kek.seal(&SealContext::new(sealed_key_name("payments"), v), bytes)
            .expect("seals")
    };
    assert!(
        f.store
            .create_key(&new_key("payments", seal(1, b"one")))
            .await
            .expect("creates")
    );
    assert!(
        !f.store
            .create_key(&new_key("payments", seal(1, b"other")))
            .await
            .expect("runs")
    );
    assert!(
        f.store
            .add_version("payments", 1, &seal(2, b"two"), 2_000_000)
            .await
            .expect("rotates")
    );
    // A writer that read version 1 loses the race instead of making a second version 2.
    assert!(
        !f.store
            .add_version("payments", 1, &seal(2, b"late"), 2_000_001)
            .await
            .expect("runs")
    );
    let (record, sealed) = f
        .store
        .load_key("payments")
        .await
        .expect("loads")
        .expect("exists");
    assert_eq!(record.key_type, KeyType::Fernet);
    assert_eq!(record.latest_version, 2);
    assert_eq!(
        record
            .versions
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        record.next_rotation_at(),
        Some(2_000_000 + 30 * 86_400_000_000)
    );
    assert_eq!(sealed.len(), 2);
    let opened = kek
        .open(
            &SealContext::new(sealed_key_name("payments"), 2),
            &sealed[1].1,
        )
        .expect("opens");
    assert_eq!(opened.expose_secret(), b"two");
    assert!(f.store.load_key("missing").await.expect("runs").is_none());
    assert!(
        !f.store
            .add_version("missing", 1, &seal(2, b"x"), 1)
            .await
            .expect("runs")
    );
    f.store
        .create_key(&new_key("audit", seal(1, b"a")))
        .await
        .expect("creates");
    let first = f.store.list_keys(None, 1).await.expect("lists");
    assert_eq!(
        first.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        vec!["audit"]
    );
    let rest = f.store.list_keys(Some("audit"), 10).await.expect("lists");
    assert_eq!(
        rest.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        vec!["payments"]
    );
}

async fn key_updates_and_counts_persist(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let kek = MasterKey::generate().expect("rng").key_encryption_key();
    let sealed = kek
        .seal(&SealContext::new(sealed_key_name("k"), 1), b"x")
        .expect("seals");
    f.store
        .create_key(&new_key("k", sealed))
        .await
        .expect("creates");
    let update = KeyUpdate {
        min_decryption_version: Some(1),
        rotation_period_days: Some(None),
        allow_lowering: false,
    };
    let record = f
        .store
        .update_key("k", &update, 5)
        .await
        .expect("runs")
        .expect("exists");
    assert_eq!(record.rotation_period_days, None);
    assert_eq!(record.next_rotation_at(), None);
    assert!(
        f.store
            .update_key("nope", &update, 5)
            .await
            .expect("runs")
            .is_none()
    );
    f.store
        .add_encryptions("k", &[(1, 7)])
        .await
        .expect("counts");
    f.store
        .add_encryptions("k", &[(1, 5)])
        .await
        .expect("counts");
    let record = f
        .store
        .key_record("k")
        .await
        .expect("runs")
        .expect("exists");
    assert_eq!(record.versions[0].encryptions, 12);
    // Versions and their material are append-only history: a bad type is refused by the schema.
    assert!(
        f.try_exec_raw("UPDATE keys SET key_type = 'rot13' WHERE name = 'k'")
            .await
            .is_err()
    );
}

fn card(token: &str, version: u32) -> CardRecord {
    CardRecord {
        token: token.to_owned(),
        fingerprint: "ab".repeat(32),
        brand: "visa".to_owned(),
        last_four: "1111".to_owned(),
        pan_ciphertext: format!("rampart:v{version}:AAAA"),
        expiry_ciphertext: None,
        key_version: version,
        created_at: 1,
        subject_id: None,
    }
}

async fn cards_are_found_and_rewrapped_only_once(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    for (token, version) in [("tok_a", 1), ("tok_b", 1), ("tok_c", 2)] {
        f.store
            .insert_card(&card(token, version))
            .await
            .expect("inserts");
    }
    assert!(
        f.store.insert_card(&card("tok_a", 1)).await.is_err(),
        "tokens are unique"
    );
    assert_eq!(
        f.store.find_card("tok_b").await.expect("runs"),
        Some(card("tok_b", 1))
    );
    assert_eq!(f.store.find_card("tok_zz").await.expect("runs"), None);
    assert_eq!(f.store.count_cards_below(2).await.expect("counts"), 2);
    let batch = f.store.cards_below(2, None, 10).await.expect("reads");
    assert_eq!(
        batch.iter().map(|c| c.token.as_str()).collect::<Vec<_>>(),
        vec!["tok_a", "tok_b"]
    );
    let after_a = f
        .store
        .cards_below(2, Some("tok_a"), 10)
        .await
        .expect("reads");
    assert_eq!(after_a, vec![card("tok_b", 1)]);
    let updated: Vec<(CardRecord, u32)> = batch.iter().map(|c| (card(&c.token, 2), 1)).collect();
    assert_eq!(
        f.store
            .replace_card_ciphertexts(&updated)
            .await
            .expect("replaces"),
        2
    );
    // A second writer with the same stale batch replaces nothing.
    assert_eq!(
        f.store
            .replace_card_ciphertexts(&updated)
            .await
            .expect("runs"),
        0
    );
    assert_eq!(f.store.count_cards_below(2).await.expect("counts"), 0);
}

async fn every_sealed_secret_can_be_resealed(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let kek = MasterKey::generate().expect("rng").key_encryption_key();
    for name in ["a", "b"] {
        let sealed = kek
            .seal(&SealContext::new(name, 1), name.as_bytes())
            .expect("seals");
        f.store
            .store_sealed_if_absent(name, 1, &sealed)
            .await
            .expect("stores");
    }
    let all = f.store.all_sealed_secrets().await.expect("reads");
    assert_eq!(all.len(), 2);
    let new = MasterKey::generate().expect("rng").key_encryption_key();
    let resealed: Vec<_> = all
        .iter()
        .map(|(name, v, sealed)| {
            let context = SealContext::new(name.clone(), *v);
            let plain = kek.open(&context, sealed).expect("opens");
            (
                name.clone(),
                *v,
                new.seal(&context, plain.expose_secret()).expect("seals"),
            )
        })
        .collect();
    f.store
        .replace_sealed_secrets(&resealed)
        .await
        .expect("replaces");
    let sealed = f
        .store
        .load_sealed("b", 1)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(
        new.open(&SealContext::new("b", 1), &sealed)
            .expect("opens")
            .expose_secret(),
        b"b"
    );
}

async fn card_batches_are_stored_whole_or_not_at_all(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    f.store
        .insert_cards(&[card("tok_a", 1), card("tok_b", 1)])
        .await
        .expect("stores");
    assert_eq!(f.store.count_cards_below(2).await.expect("counts"), 2);
    // The last card of this batch collides: none of it is stored.
    assert!(
        f.store
            .insert_cards(&[card("tok_c", 1), card("tok_d", 1), card("tok_a", 1)])
            .await
            .is_err()
    );
    assert_eq!(f.store.count_cards_below(2).await.expect("counts"), 2);
    assert_eq!(f.store.find_card("tok_c").await.expect("runs"), None);
    f.store.insert_cards(&[]).await.expect("nothing to store");
}

async fn a_lower_minimum_needs_allow_lowering(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let kek = MasterKey::generate().expect("rng").key_encryption_key();
    let sealed = kek
        .seal(&SealContext::new(sealed_key_name("k"), 1), b"x")
        .expect("seals");
    f.store
        .create_key(&new_key("k", sealed))
        .await
        .expect("creates");
    let second = kek
        .seal(&SealContext::new(sealed_key_name("k"), 2), b"y")
        .expect("seals");
    assert!(f.store.add_version("k", 1, &second, 2).await.expect("adds"));
    let set = |min, allow_lowering, period| KeyUpdate {
        min_decryption_version: Some(min),
        rotation_period_days: period,
        allow_lowering,
    };
    let record = f
        .store
        .update_key("k", &set(2, false, None), 3)
        .await
        .expect("runs");
    assert_eq!(record.expect("exists").min_decryption_version, 2);
    // Lowering without permission changes nothing, not even the other fields.
    let record = f
        .store
        .update_key("k", &set(1, false, Some(Some(7))), 4)
        .await
        .expect("runs")
        .expect("exists");
    assert_eq!(record.min_decryption_version, 2);
    assert_eq!(record.rotation_period_days, Some(30));
    let record = f
        .store
        .update_key("k", &set(1, true, None), 5)
        .await
        .expect("runs")
        .expect("exists");
    assert_eq!(record.min_decryption_version, 1);
}

/// Issue 17: a card's `subject_id` is stored with it (alone or in a batch) and read back by
/// every reader, and survives re-encryption.
async fn cards_keep_their_data_subject_link(f: Fixture) {
    f.store.migrate().await.expect("migrates");
    let linked = |token: &str| CardRecord {
        subject_id: Some("cust-9".to_owned()),
        ..card(token, 1)
    };
    f.store
        .insert_card(&linked("tok_one"))
        .await
        .expect("stores");
    f.store
        .insert_cards(&[linked("tok_two"), card("tok_three", 1)])
        .await
        .expect("stores");
    for (token, subject) in [
        ("tok_one", Some("cust-9")),
        ("tok_two", Some("cust-9")),
        ("tok_three", None),
    ] {
        let found = f
            .store
            .find_card(token)
            .await
            .expect("reads")
            .expect("found");
        assert_eq!(found.subject_id.as_deref(), subject, "{token}");
    }
    let below = f.store.cards_below(2, None, 10).await.expect("reads");
    assert_eq!(below.len(), 3);
    let rewrapped: Vec<(CardRecord, u32)> = below
        .into_iter()
        .map(|c| {
            (
                CardRecord {
                    key_version: 2,
                    pan_ciphertext: "rampart:v2:AAAA".to_owned(),
                    ..c
                },
                1,
            )
        })
        .collect();
    assert_eq!(
        f.store
            .replace_card_ciphertexts(&rewrapped)
            .await
            .expect("rewraps"),
        3
    );
    let found = f
        .store
        .find_card("tok_one")
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(
        (found.key_version, found.subject_id.as_deref()),
        (2, Some("cust-9"))
    );
}
