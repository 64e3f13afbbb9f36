//! Signed documents: round trip, tampering, RFC 8785 independence of the file's layout, and a
//! document signed outside Rampart (Python `cryptography`) verified here.

use serde_json::json;

use super::*;

fn signer(seed: u8) -> LogSigner {
    LogSigner::from_seed("rampart.test/log", &[seed; 32]).expect("seed")
}

fn certificate() -> Value {
    json!({"subject_id_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "requested_at": "2026-12-05T04:00:00.000000Z", "completed_at": null,
        "actions": [{"store": "rampart.audit.personal", "entries": 3, "method": "key destroyed"},
            {"store": "scans-db", "records_deleted": 12, "confirmed_at": "2026-12-05T04:01:00Z"}],
        "note": "élan"})
}

#[test]
fn a_signed_document_verifies() {
    let mut doc = certificate();
    signer(7).sign_document(&mut doc).expect("signs");
    let encoded = doc[SIGNATURE_MEMBER].as_str().expect("a string");
    assert_eq!(STANDARD.decode(encoded).expect("base64").len(), 64);
    assert_eq!(signer(7).verifier().verify_document(&doc), Ok(()));
    // Signing again replaces the signature (Ed25519 is deterministic: the same one).
    let mut again = doc.clone();
    signer(7).sign_document(&mut again).expect("signs");
    assert_eq!(again, doc);
    // Another key's verifier refuses it.
    assert_eq!(
        signer(8).verifier().verify_document(&doc),
        Err(SignedDocumentError::BadSignature)
    );
}

#[test]
fn changing_adding_or_removing_any_member_breaks_the_signature() {
    let mut doc = certificate();
    signer(7).sign_document(&mut doc).expect("signs");
    let verifier = signer(7).verifier();
    let mut tampered = Vec::new();
    for key in certificate().as_object().expect("object").keys() {
        let mut changed = doc.clone();
        changed[key] = json!("changed");
        tampered.push(changed);
        let mut removed = doc.clone();
        removed.as_object_mut().expect("object").remove(key);
        tampered.push(removed);
    }
    let mut nested = doc.clone();
    nested["actions"][1]["records_deleted"] = json!(11);
    tampered.push(nested);
    let mut added = doc.clone();
    added["extra"] = json!(null);
    tampered.push(added);
    let mut reordered = doc.clone();
    if let Some(actions) = reordered["actions"].as_array_mut() {
        actions.reverse();
    }
    tampered.push(reordered);
    for changed in tampered {
        assert_eq!(
            verifier.verify_document(&changed),
            Err(SignedDocumentError::BadSignature),
            "{changed}"
        );
    }
}

#[test]
fn member_order_and_white_space_do_not_matter() {
    let mut doc = certificate();
    signer(7).sign_document(&mut doc).expect("signs");
    let signature = doc[SIGNATURE_MEMBER].as_str().expect("string").to_owned();
    // The same document written by hand: other member order, indentation, escapes.
    let text = format!(
        r#"{{
          "signature_b64" : "{signature}",
          "note": "\u00e9lan",
          "actions": [
            {{"method": "key destroyed", "store": "rampart.audit.personal", "entries": 3.0}},
            {{"store": "scans-db", "confirmed_at": "2026-12-05T04:01:00Z", "records_deleted": 1.2e1}}
          ],
          "completed_at": null,
          "requested_at": "2026-12-05T04:00:00.000000Z",
          "subject_id_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        }}"#
    );
    let parsed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(signer(7).verifier().verify_document(&parsed), Ok(()));
    assert_eq!(
        document_signing_input(&parsed),
        document_signing_input(&certificate())
    );
}

/// Signed with Python's `cryptography` (seed 32 bytes of 7) over `json.dumps(doc,
/// sort_keys=True, separators=(',', ':'), ensure_ascii=False)`, which is RFC 8785 for this
/// document: the format needs nothing of Rampart's to produce or check.
#[test]
fn a_document_signed_by_another_ed25519_library_verifies() {
    const SIGNATURE: &str =
        "XNi29DWVGCjqHz/NO0ab16i31AjuM1RNc4y8QzW0If6Wz9FSvmaGyiRDAAobuV1E2MA0ege4P2u48OecsURsAA==";
    const PUBLIC_KEY: &str = "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=";
    let mut doc = certificate();
    doc[SIGNATURE_MEMBER] = json!(SIGNATURE);
    let verifier = verifier_from_key_text(PUBLIC_KEY).expect("raw key");
    assert_eq!(verifier.public_key, signer(7).verifier().public_key);
    assert_eq!(verifier.verify_document(&doc), Ok(()));
    // And ours is the same signature (Ed25519 signatures are deterministic).
    let mut ours = certificate();
    signer(7).sign_document(&mut ours).expect("signs");
    assert_eq!(ours[SIGNATURE_MEMBER], json!(SIGNATURE));
    // Checked with ring alone over an independently canonicalized copy.
    let mut unsigned = doc.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove(SIGNATURE_MEMBER);
    let input = serde_json_canonicalizer::to_vec(&unsigned).expect("jcs");
    let key = STANDARD.decode(PUBLIC_KEY).expect("base64");
    signature::UnparsedPublicKey::new(&signature::ED25519, &key)
        .verify(&input, &STANDARD.decode(SIGNATURE).expect("base64"))
        .expect("ring verifies");
}

#[test]
fn keys_are_accepted_as_verifier_key_or_raw_base64() {
    let mut doc = certificate();
    signer(7).sign_document(&mut doc).expect("signs");
    let verifier = signer(7).verifier();
    let from_string = verifier_from_key_text(&verifier.verifier_key()).expect("verifier key");
    assert_eq!(from_string, verifier);
    let from_raw = verifier_from_key_text(&format!("{}\n", STANDARD.encode(verifier.public_key)))
        .expect("raw key");
    for key in [from_string, from_raw] {
        assert_eq!(key.verify_document(&doc), Ok(()));
    }
    assert!(matches!(
        verifier_from_key_text("not a key"),
        Err(SignedDocumentError::Key(NoteError::MalformedKey(_)))
    ));
}

#[test]
fn malformed_documents_are_named_without_their_content() {
    let verifier = signer(7).verifier();
    assert_eq!(
        verifier.verify_document(&json!(["a"])),
        Err(SignedDocumentError::NotAnObject)
    );
    assert_eq!(
        signer(7).sign_document(&mut json!("text")),
        Err(SignedDocumentError::NotAnObject)
    );
    assert_eq!(
        verifier.verify_document(&certificate()),
        Err(SignedDocumentError::Unsigned)
    );
    for bad in [
        json!(5),
        json!("not base64!"),
        json!(STANDARD.encode([0u8; 63])),
    ] {
        let mut doc = certificate();
        doc[SIGNATURE_MEMBER] = bad;
        let error = verifier.verify_document(&doc).expect_err("malformed");
        assert_eq!(error, SignedDocumentError::MalformedSignature);
        assert!(!error.to_string().contains("élan"));
    }
    let mut zeros = certificate();
    zeros[SIGNATURE_MEMBER] = json!(STANDARD.encode([0u8; 64]));
    assert_eq!(
        verifier.verify_document(&zeros),
        Err(SignedDocumentError::BadSignature)
    );
}
