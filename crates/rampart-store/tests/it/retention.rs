//! Issue 18 (begun): legal holds on both backends.

use rampart_retention::{HoldId, HoldScope, LegalHold, RetentionStore};
use time::OffsetDateTime;

use crate::fixture::Fixture;

on_both_backends!(holds_are_placed_listed_released_and_never_deleted);

fn hold(name: &str, subject: Option<&str>, at: i64) -> LegalHold {
    LegalHold {
        id: HoldId::generate(),
        name: name.into(),
        reason: "court order".into(),
        scope: HoldScope {
            subject_id: subject.map(str::to_owned),
            tag: Some("mifid2".into()),
            from: Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()),
            ..HoldScope::default()
        },
        created_at: OffsetDateTime::from_unix_timestamp(at).unwrap(),
        created_by: "p".into(),
    }
}

async fn holds_are_placed_listed_released_and_never_deleted(f: Fixture) {
    f.store.migrate().await.unwrap();
    let s = &f.store;
    let first = hold("Litigation 14", Some("s-1"), 1_800_000_000);
    let second = hold("Audit 2027", None, 1_800_000_100);
    s.insert_hold(&first).await.unwrap();
    s.insert_hold(&second).await.unwrap();
    assert_eq!(
        s.holds().await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert!(
        s.release_hold(&first.id, "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert!(
        !s.release_hold(&first.id, "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert!(
        !s.release_hold(&HoldId::generate(), "q", OffsetDateTime::now_utc())
            .await
            .unwrap()
    );
    assert_eq!(s.holds().await.unwrap(), vec![second]);
    let refused = f.try_exec_raw("DELETE FROM legal_holds").await;
    assert!(refused.is_err(), "a hold is released, never deleted");
    assert_eq!(f.scalar("SELECT COUNT(*) FROM legal_holds").await, 2);
}
