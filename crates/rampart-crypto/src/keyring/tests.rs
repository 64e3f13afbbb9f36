//! Unit tests of the keyring: every key type, versions, limits, and what it never prints.
use super::*;

fn ring(key_type: KeyType, versions: u32, min: u32) -> Keyring {
    Keyring::new(
        key_type,
        min,
        (1..=versions).map(|v| (v, KeyMaterial::generate().expect("rng"))),
    )
    .expect("ring")
}

#[test]
fn aes_round_trips_with_and_without_associated_data() {
    let ring = ring(KeyType::Aes256Gcm, 2, 1);
    let (ct, version) = ring.encrypt(b"hello", Some(b"ctx")).expect("encrypts");
    assert_eq!(version, 2);
    assert!(ct.starts_with("rampart:v2:"));
    let (pt, v) = ring.decrypt(&ct, Some(b"ctx"), None).expect("decrypts");
    assert_eq!((pt.as_slice(), v), (b"hello".as_slice(), 2));
    assert_eq!(
        ring.decrypt(&ct, Some(b"other"), None),
        Err(KeyOpError::Authentication)
    );
    assert_eq!(
        ring.decrypt(&ct, None, None),
        Err(KeyOpError::Authentication)
    );
    let (empty, _) = ring.encrypt(b"", None).expect("encrypts");
    assert_eq!(
        ring.decrypt(&empty, None, None).expect("decrypts").0.len(),
        0
    );
}

#[test]
fn aes_refuses_tampering_truncation_and_old_versions() {
    let old = ring(KeyType::Aes256Gcm, 1, 1);
    let (ct, _) = old.encrypt(b"secret", None).expect("encrypts");
    let mut envelope = Envelope::parse(&ct, BodyEncoding::UrlSafe).expect("parses");
    for i in 0..envelope.body.len() {
        envelope.body[i] ^= 0x01;
        let tampered = Envelope::format(1, &envelope.body, BodyEncoding::UrlSafe);
        assert_eq!(
            old.decrypt(&tampered, None, None),
            Err(KeyOpError::Authentication),
            "byte {i}"
        );
        envelope.body[i] ^= 0x01;
    }
    let short = Envelope::format(1, &envelope.body[..27], BodyEncoding::UrlSafe);
    assert_eq!(old.decrypt(&short, None, None), Err(KeyOpError::Truncated));
    let unknown = Envelope::format(9, &envelope.body, BodyEncoding::UrlSafe);
    assert!(matches!(
        old.decrypt(&unknown, None, None),
        Err(KeyOpError::UnknownVersion { version: 9, .. })
    ));
    let raised = ring(KeyType::Aes256Gcm, 3, 2);
    assert!(matches!(
        raised.decrypt(&ct, None, None),
        Err(KeyOpError::BelowMinimum {
            version: 1,
            min: 2,
            ..
        })
    ));
    assert!(matches!(
        old.decrypt("vault:v1:abc", None, None),
        Err(KeyOpError::Malformed { .. })
    ));
}

#[test]
fn rewrap_moves_to_the_latest_version_and_keeps_binding() {
    let mut materials: Vec<(u32, [u8; 32])> = vec![(1, [1; 32])];
    let build = |m: &Vec<(u32, [u8; 32])>| {
        Keyring::new(
            KeyType::Aes256Gcm,
            1,
            m.iter()
                .map(|(v, b)| (*v, KeyMaterial::from_slice(b).expect("32"))),
        )
        .expect("ring")
    };
    let (ct, _) = build(&materials)
        .encrypt(b"pan", Some(b"aad"))
        .expect("enc");
    materials.push((2, [2; 32]));
    let two = build(&materials);
    let (rewrapped, version) = two.rewrap(&ct, Some(b"aad")).expect("rewraps");
    assert_eq!(version, 2);
    assert_eq!(
        two.decrypt(&rewrapped, Some(b"aad"), None)
            .expect("dec")
            .0
            .as_slice(),
        b"pan"
    );
    assert_eq!(two.rewrap(&ct, None), Err(KeyOpError::Authentication));
}

#[test]
fn fernet_decrypts_any_version_and_reports_it() {
    let mut one = vec![(1, KeyMaterial::from_slice(&[1; 32]).expect("32"))];
    let v1 = Keyring::new(KeyType::Fernet, 1, one.drain(..)).expect("ring");
    let (token, _) = v1.encrypt(b"legacy", None).expect("encrypts");
    assert!(token.starts_with("gAAAAA"));
    let both = Keyring::new(
        KeyType::Fernet,
        1,
        [(1, [1u8; 32]), (2, [2u8; 32])]
            .iter()
            .map(|(v, b)| (*v, KeyMaterial::from_slice(b).expect("32"))),
    )
    .expect("ring");
    let (pt, version) = both.decrypt(&token, None, None).expect("decrypts");
    assert_eq!((pt.as_slice(), version), (b"legacy".as_slice(), 1));
    let (fresh, v) = both.rewrap(&token, None).expect("rewraps");
    assert_eq!(v, 2);
    assert_eq!(both.decrypt(&fresh, None, None).expect("dec").1, 2);
    let raised = Keyring::new(
        KeyType::Fernet,
        2,
        [(1, [1u8; 32]), (2, [2u8; 32])]
            .iter()
            .map(|(v, b)| (*v, KeyMaterial::from_slice(b).expect("32"))),
    )
    .expect("ring");
    assert!(matches!(
        raised.decrypt(&token, None, None),
        Err(KeyOpError::BelowMinimum { version: 1, .. })
    ));
    assert_eq!(
        both.encrypt(b"x", Some(b"aad")),
        Err(KeyOpError::AssociatedDataUnsupported)
    );
    assert_eq!(
        ring(KeyType::Fernet, 1, 1).decrypt(&token, None, None),
        Err(KeyOpError::Fernet(FernetError::BadSignature))
    );
}

#[test]
fn hmac_and_signatures_verify_only_their_input() {
    let mac_ring = ring(KeyType::HmacSha256, 2, 1);
    let mac = mac_ring.hmac(b"input").expect("hmac");
    assert!(mac.starts_with("rampart:v2:"));
    assert_eq!(mac_ring.verify_hmac(b"input", &mac), Ok(true));
    assert_eq!(mac_ring.verify_hmac(b"inpuT", &mac), Ok(false));
    let sig_ring = ring(KeyType::Ed25519, 1, 1);
    let sig = sig_ring.sign(b"doc").expect("signs");
    assert_eq!(sig_ring.verify(b"doc", &sig), Ok(true));
    assert_eq!(sig_ring.verify(b"dog", &sig), Ok(false));
    let body = Envelope::parse(&sig, BodyEncoding::Standard)
        .expect("parses")
        .body;
    let public = sig_ring.public_key(1).expect("public key");
    assert!(verify_ed25519(&public, b"doc", &body));
}

#[test]
fn operations_refuse_the_wrong_key_type() {
    let aes = ring(KeyType::Aes256Gcm, 1, 1);
    assert!(matches!(
        aes.hmac(b"x"),
        Err(KeyOpError::WrongKeyType { .. })
    ));
    assert!(matches!(
        aes.sign(b"x"),
        Err(KeyOpError::WrongKeyType { .. })
    ));
    let mac = ring(KeyType::HmacSha256, 1, 1);
    assert!(matches!(
        mac.encrypt(b"x", None),
        Err(KeyOpError::WrongKeyType { .. })
    ));
    assert!(matches!(
        mac.decrypt("rampart:v1:AAAA", None, None),
        Err(KeyOpError::WrongKeyType { .. })
    ));
    assert!(matches!(
        ring(KeyType::Ed25519, 1, 1).verify_hmac(b"x", "rampart:v1:AAAA"),
        Err(KeyOpError::WrongKeyType { .. })
    ));
}

#[test]
fn stored_totals_count_towards_the_limit() {
    let mut ring = ring(KeyType::Aes256Gcm, 1, 1);
    ring.set_stored_encryptions(&[(1, MAX_ENCRYPTIONS_PER_VERSION - 1)]);
    assert!(ring.encrypt(b"x", None).is_ok());
    assert_eq!(ring.encrypt(b"x", None), Err(KeyOpError::Exhausted));
}

#[test]
fn counters_count_and_reset() {
    let ring = ring(KeyType::Aes256Gcm, 1, 1);
    for _ in 0..3 {
        ring.encrypt(b"x", None).expect("encrypts");
    }
    assert_eq!(ring.take_encryptions(), vec![(1, 3)]);
    assert_eq!(ring.take_encryptions(), vec![]);
}

#[test]
fn debug_shows_no_material() {
    let material = KeyMaterial::from_slice(&[0xAB; 32]).expect("32");
    assert_eq!(format!("{material:?}"), "KeyMaterial([REDACTED])");
    let ring = Keyring::new(KeyType::Aes256Gcm, 1, [(1, material)]).expect("ring");
    assert!(!format!("{ring:?}").to_lowercase().contains("ab, "));
}
