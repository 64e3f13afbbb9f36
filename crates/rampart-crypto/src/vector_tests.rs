//! The public Wycheproof vectors (`../shared/vectors/wycheproof/`) run through the primitives
//! the key hierarchy uses. Without the vectors these tests say "skipped: no vectors" and pass,
//! unless `RAMPART_REQUIRE_VECTORS=1` (as `.ci/run` sets) makes that a failure.

use std::path::PathBuf;

use serde_json::Value;

use crate::master_key::hkdf_sha256;
use crate::seal::{aes256gcm_open, aes256gcm_seal};

fn vectors(name: &str) -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/wycheproof")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("vector file is JSON")),
        Err(_) if std::env::var("RAMPART_REQUIRE_VECTORS").as_deref() == Ok("1") => {
            panic!("vectors required but {} is missing", path.display())
        }
        Err(_) => {
            eprintln!("skipped: no vectors ({} not found)", path.display());
            None
        }
    }
}

fn hex(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("hex string");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn tests(doc: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    doc["testGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| {
            group["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .map(move |t| (group, t))
        })
}

#[test]
fn hkdf_sha256_passes_wycheproof() {
    let Some(doc) = vectors("hkdf_sha256_test.json") else {
        return;
    };
    let mut checked = 0;
    for (_, case) in tests(&doc) {
        let id = &case["tcId"];
        let size = usize::try_from(case["size"].as_u64().expect("size")).expect("fits");
        let mut out = vec![0u8; size];
        let result = hkdf_sha256(
            &hex(&case["ikm"]),
            &hex(&case["salt"]),
            &hex(&case["info"]),
            &mut out,
        );
        match case["result"].as_str() {
            Some("valid") => {
                result.unwrap_or_else(|e| panic!("case {id}: {e}"));
                assert_eq!(out, hex(&case["okm"]), "case {id}");
            }
            _ => assert!(result.is_err(), "case {id}: invalid case accepted"),
        }
        checked += 1;
    }
    assert!(checked > 50, "only {checked} HKDF cases");
}

#[test]
fn aes256gcm_passes_wycheproof() {
    let Some(doc) = vectors("aes_gcm_test.json") else {
        return;
    };
    let mut checked = 0;
    for (group, case) in tests(&doc) {
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        let id = &case["tcId"];
        let key: [u8; 32] = hex(&case["key"]).try_into().expect("256-bit key");
        let nonce: [u8; 12] = hex(&case["iv"]).try_into().expect("96-bit iv");
        let aad = hex(&case["aad"]);
        let msg = hex(&case["msg"]);
        let mut sealed = hex(&case["ct"]);
        sealed.extend(hex(&case["tag"]));
        let opened = aes256gcm_open(&key, nonce, &aad, &sealed);
        match case["result"].as_str() {
            Some("valid") => {
                assert_eq!(
                    aes256gcm_seal(&key, nonce, &aad, &msg).expect("seals"),
                    sealed,
                    "case {id}"
                );
                assert_eq!(
                    opened.as_deref().map(Vec::as_slice),
                    Some(msg.as_slice()),
                    "case {id}"
                );
            }
            _ => assert!(opened.is_none(), "case {id}: invalid ciphertext opened"),
        }
        checked += 1;
    }
    assert!(checked > 50, "only {checked} AES-256-GCM cases");
}

/// AES-256-GCM vectors through the keys service's own path: a [`Keyring`] built from the
/// vector's key decrypts the `rampart:v1:` envelope of `iv || ct || tag` (valid cases give the
/// message, invalid ones a clean authentication error).
#[test]
fn keyring_decryption_passes_wycheproof_aes_gcm() {
    use crate::{BodyEncoding, Envelope, KeyMaterial, KeyOpError, KeyType, Keyring};
    let Some(doc) = vectors("aes_gcm_test.json") else {
        return;
    };
    let mut checked = 0;
    for (group, case) in tests(&doc) {
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        let id = &case["tcId"];
        let key = KeyMaterial::from_slice(&hex(&case["key"])).expect("256-bit key");
        let ring = Keyring::new(KeyType::Aes256Gcm, 1, [(1, key)]).expect("ring");
        let mut body = hex(&case["iv"]);
        body.extend(hex(&case["ct"]));
        body.extend(hex(&case["tag"]));
        let text = Envelope::format(1, &body, BodyEncoding::UrlSafe);
        let aad = hex(&case["aad"]);
        let opened = ring.decrypt(&text, Some(&aad), None);
        match case["result"].as_str() {
            Some("valid") => assert_eq!(
                opened.map(|(pt, _)| pt.to_vec()),
                Ok(hex(&case["msg"])),
                "case {id}"
            ),
            _ => assert_eq!(
                opened.map(|(pt, _)| pt.to_vec()),
                Err(KeyOpError::Authentication),
                "case {id}"
            ),
        }
        checked += 1;
    }
    assert!(checked > 50, "only {checked} AES-256-GCM cases");
}

#[test]
fn ed25519_verification_passes_wycheproof() {
    let Some(doc) = vectors("ed25519_test.json") else {
        return;
    };
    let mut checked = 0;
    for group in doc["testGroups"].as_array().expect("groups") {
        let public = hex(&group["publicKey"]["pk"]);
        for case in group["tests"].as_array().expect("tests") {
            let id = &case["tcId"];
            let valid = crate::verify_ed25519(&public, &hex(&case["msg"]), &hex(&case["sig"]));
            assert_eq!(valid, case["result"] == "valid", "case {id}");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} Ed25519 cases");
}

#[test]
fn hmac_sha256_passes_wycheproof() {
    let Some(doc) = vectors("hmac_sha256_test.json") else {
        return;
    };
    let mut checked = 0;
    for (group, case) in tests(&doc) {
        let id = &case["tcId"];
        let tag_len = usize::try_from(group["tagSize"].as_u64().expect("size") / 8).expect("fits");
        let mac = crate::hmac_sha256(&hex(&case["key"]), &hex(&case["msg"]));
        let matches = mac[..tag_len] == hex(&case["tag"])[..];
        assert_eq!(matches, case["result"] == "valid", "case {id}");
        checked += 1;
    }
    assert!(checked > 50, "only {checked} HMAC cases");
}
