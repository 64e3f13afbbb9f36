use super::*;

fn erasure(stores: &[&str]) -> Erasure {
    Erasure {
        id: ErasureId::generate(),
        subject_id_sha256: crate::subject_id_sha256("user-1"),
        reason: "Art. 17".into(),
        stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        requested_at: OffsetDateTime::UNIX_EPOCH,
        requested_by: "p".into(),
        completed_at: None,
        effects: ErasureEffects {
            audit_entries: 3,
            keys_destroyed: 1,
            ..ErasureEffects::default()
        },
        subject_keys: vec![SubjectKeyId::generate()],
        confirmations: vec![],
        checkpoint: json!({"tree_size": 3}),
    }
}

#[test]
fn stores_confirm_once_each_and_the_last_completes() {
    let mut e = erasure(&["scans-db", "crm"]);
    let now = OffsetDateTime::UNIX_EPOCH;
    let doc = |store: &str| ConfirmationDocument {
        store: store.into(),
        records_deleted: 12,
    };
    assert_eq!(
        e.confirm(doc("billing"), "p", now),
        Err(ConfirmationError::UnknownStore)
    );
    let (first, completes) = e.confirm(doc("crm"), "p", now).expect("named");
    assert!(!completes);
    e.confirmations.push(first);
    assert_eq!(
        e.confirm(doc("crm"), "p", now),
        Err(ConfirmationError::AlreadyConfirmed)
    );
    assert_eq!(e.pending_stores(), ["scans-db"]);
    let (_, completes) = e.confirm(doc("scans-db"), "p", now).expect("named");
    assert!(completes);
}

#[test]
fn the_certificate_names_every_store_touched() {
    let mut e = erasure(&["scans-db"]);
    let pending = e.certificate();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["pending_stores"], json!(["scans-db"]));
    let stores: Vec<_> = pending["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["store"].as_str().expect("store").to_owned())
        .collect();
    assert_eq!(
        stores,
        [
            "rampart.audit.personal",
            "rampart.consents",
            "rampart.principals",
            "rampart.card_tokens",
            "scans-db"
        ]
    );
    assert_eq!(pending["actions"][0]["entries"], 3);
    e.completed_at = Some(OffsetDateTime::UNIX_EPOCH);
    assert_eq!(e.certificate()["status"], "completed");
    assert!(!e.certificate().to_string().contains("user-1"));
}

#[test]
fn bad_requests_name_each_field() {
    let doc = ErasureDocument {
        reason: "  ".into(),
        stores: vec![
            "crm".into(),
            "crm".into(),
            "rampart.audit".into(),
            "a b".into(),
        ],
    };
    let Err(Invalid::Fields(errors)) = doc.validate() else {
        panic!("refused");
    };
    let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["reason", "stores[1]", "stores[2]", "stores[3]"]);
    let many = ErasureDocument {
        reason: "r".into(),
        stores: (0..33).map(|i| format!("s{i}")).collect(),
    };
    assert!(many.validate().is_err());
    assert!(ErasureId::parse("era_").is_none());
    let id = ErasureId::generate();
    assert_eq!(ErasureId::parse(id.as_str()), Some(id));
}
