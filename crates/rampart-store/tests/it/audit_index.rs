//! The audit query index on both backends: a query answers the same whether the indexer has
//! reached none, some or all of the entries; the indexer catches up chunk by chunk, and an index
//! that does not match the entries is rebuilt from them.

use std::sync::Arc;

use rampart_audit::AuditLog;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::store::{ActionFilter, AuditStore, EntryFilter};
use rampart_store::Store;
use serde_json::json;

use crate::fixture::Fixture;

on_both_backends!(
    queries_agree_at_every_index_state,
    indexer_catches_up_in_chunks,
    index_that_does_not_match_the_log_is_rebuilt,
);

pub(crate) const ENTRIES: usize = 120;

fn event(i: usize) -> NewEntry {
    let tags: Vec<&str> = match i % 4 {
        0 => vec!["pci-dss"],
        1 => vec!["pci-dss", "gdpr"],
        2 => vec![],
        _ => vec!["hipaa"],
    };
    let action = ["payment.authorize", "payment.refund", "record.read"][i % 3];
    let resource_type = ["payment", "record"][i % 2];
    let status = ["success", "failure", "denied"][i % 3 / 2 + i % 2];
    let team = ["payments", "care"][i % 2];
    let mut event = json!({
        "actor": {"type": if i.is_multiple_of(5) { "service" } else { "user" }, "id": format!("u{}", i % 7)},
        "action": action,
        "resource": {"type": resource_type, "id": format!("r{}", i % 11)},
        "status": status,
        "compliance_tags": tags,
        "details": {"i": i},
    });
    if !i.is_multiple_of(3) {
        event["context"] = json!({"team_id": team});
    }
    if i % 4 == 1 {
        event["subject_id"] = json!(format!("s{}", i % 5));
    }
    NewEntry::from_json(&event, "").unwrap()
}

pub(crate) async fn filled(f: &Fixture) -> AuditLog<Store> {
    f.store.migrate().await.unwrap();
    let log = AuditLog::open(
        f.store.clone(),
        LogSigner::from_seed("rampart.test/log", &[5; 32]).unwrap(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap();
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(40) {
        log.append(
            chunk.iter().map(|&i| event(i)).collect(),
            SubmittedBy {
                principal_id: "p1".into(),
                credential_id: None,
            },
        )
        .await
        .unwrap();
    }
    log
}

/// Filters over every indexed field, alone and combined with unindexed ones, both orders,
/// with and without a cursor, and small limits (so pages end inside each part).
fn filters() -> Vec<EntryFilter> {
    let some = |s: &str| Some(s.to_owned());
    let mut filters = vec![
        EntryFilter::default(),
        EntryFilter {
            actor_id: some("u3"),
            ..EntryFilter::default()
        },
        EntryFilter {
            actor_id: some("u3"),
            status: some("failure"),
            ..EntryFilter::default()
        },
        EntryFilter {
            action: Some(ActionFilter::Exact("record.read".into())),
            ..EntryFilter::default()
        },
        EntryFilter {
            action: Some(ActionFilter::Prefix("payment.".into())),
            actor_id: some("u1"),
            ..EntryFilter::default()
        },
        EntryFilter {
            resource_type: some("payment"),
            resource_id: some("r4"),
            ..EntryFilter::default()
        },
        EntryFilter {
            resource_type: some("record"),
            ..EntryFilter::default()
        },
        EntryFilter {
            team_id: some("care"),
            ..EntryFilter::default()
        },
        EntryFilter {
            subject_id: some("s1"),
            ..EntryFilter::default()
        },
        EntryFilter {
            status: some("denied"),
            ..EntryFilter::default()
        },
        EntryFilter {
            status: some("success"),
            actor_type: some("service"),
            ..EntryFilter::default()
        },
        EntryFilter {
            tag: some("gdpr"),
            ..EntryFilter::default()
        },
        EntryFilter {
            tag: some("pci-dss"),
            team_id: some("payments"),
            ..EntryFilter::default()
        },
        EntryFilter {
            visible_teams: Some(vec!["payments".into()]),
            ..EntryFilter::default()
        },
        EntryFilter {
            visible_teams: Some(vec!["payments".into(), "care".into()]),
            actor_id: some("u2"),
            ..EntryFilter::default()
        },
        EntryFilter {
            visible_teams: Some(vec![]),
            ..EntryFilter::default()
        },
        EntryFilter {
            actor_id: some("u0"),
            from_seq: Some(20),
            to_seq: Some(90),
            ..EntryFilter::default()
        },
        EntryFilter {
            actor_id: some("nobody"),
            ..EntryFilter::default()
        },
    ];
    let mut all = Vec::new();
    for filter in filters.drain(..) {
        for descending in [false, true] {
            for (after_seq, limit) in [(None, 500), (None, 3), (Some(50), 4), (Some(70), 500)] {
                all.push(EntryFilter {
                    descending,
                    after_seq,
                    limit,
                    ..filter.clone()
                });
            }
        }
    }
    all
}

/// What each filter selects, computed from the entries themselves (no index, no SQL filter).
/// A pruned entry matches nothing.
async fn expected(store: &Store, filter: &EntryFilter) -> Vec<u64> {
    let everything = store.entries(0..ENTRIES as u64).await.unwrap();
    let mut seqs: Vec<u64> = everything
        .into_iter()
        .filter(|e| e.pruned.is_none())
        .filter(|e| {
            let eq = |want: &Option<String>, have: Option<&String>| {
                want.as_ref().is_none_or(|w| have == Some(w))
            };
            eq(&filter.actor_id, Some(&e.actor_id))
                && eq(&filter.actor_type, Some(&e.actor_type))
                && eq(&filter.resource_type, Some(&e.resource_type))
                && eq(&filter.resource_id, e.resource_id.as_ref())
                && eq(&filter.team_id, e.team_id.as_ref())
                && eq(&filter.status, Some(&e.status))
                && eq(&filter.subject_id, e.subject_id.as_ref())
                && filter.tag.as_ref().is_none_or(|t| e.tags.contains(t))
                && match &filter.action {
                    None => true,
                    Some(ActionFilter::Exact(a)) => &e.action == a,
                    Some(ActionFilter::Prefix(p)) => e.action.starts_with(p.as_str()),
                }
                && filter
                    .visible_teams
                    .as_ref()
                    .is_none_or(|teams| e.team_id.as_ref().is_some_and(|t| teams.contains(t)))
                && filter.from_seq.is_none_or(|s| e.seq >= s)
                && filter.to_seq.is_none_or(|s| e.seq <= s)
                && filter.after_seq.is_none_or(|s| {
                    if filter.descending {
                        e.seq < s
                    } else {
                        e.seq > s
                    }
                })
        })
        .map(|e| e.seq)
        .collect();
    if filter.descending {
        seqs.reverse();
    }
    seqs.truncate(filter.limit as usize);
    seqs
}

/// Every filter's query and count agree with [`expected`].
pub(crate) async fn assert_queries(store: &Store, state: &str) {
    for filter in filters() {
        let got: Vec<u64> = store
            .query(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(got, expected(store, &filter).await, "{state}: {filter:?}");
        // The count is of every match: no cursor, no limit.
        let every = EntryFilter {
            after_seq: None,
            limit: u32::MAX,
            ..filter.clone()
        };
        let count = store.count(&filter).await.unwrap();
        assert_eq!(
            count,
            expected(store, &every).await.len() as u64,
            "{state}: count of {filter:?}"
        );
    }
}

async fn queries_agree_at_every_index_state(f: Fixture) {
    let _log = filled(&f).await;
    assert_queries(&f.store, "nothing indexed").await;
    let progress = f.store.index_audit_entries(47).await.unwrap();
    assert_eq!((progress.indexed_size, progress.indexed_now), (47, 47));
    assert_queries(&f.store, "47 indexed").await;
    let progress = f.store.index_audit_entries(1_000).await.unwrap();
    assert_eq!(progress.indexed_size, ENTRIES as u64);
    assert_queries(&f.store, "all indexed").await;
}

async fn indexer_catches_up_in_chunks(f: Fixture) {
    let log = filled(&f).await;
    let mut sizes = Vec::new();
    loop {
        let progress = f.store.index_audit_entries(50).await.unwrap();
        assert_eq!(progress.head_size, ENTRIES as u64);
        assert!(!progress.rebuilt);
        if progress.indexed_now == 0 {
            break;
        }
        sizes.push(progress.indexed_size);
    }
    assert_eq!(sizes, [50, 100, 120]);
    // New entries are indexed from where it stopped.
    log.append(
        vec![event(3)],
        SubmittedBy {
            principal_id: "p1".into(),
            credential_id: None,
        },
    )
    .await
    .unwrap();
    let progress = f.store.index_audit_entries(50).await.unwrap();
    assert_eq!((progress.indexed_size, progress.indexed_now), (121, 1));
}

async fn index_that_does_not_match_the_log_is_rebuilt(f: Fixture) {
    let _log = filled(&f).await;
    f.store.index_audit_entries(1_000).await.unwrap();
    // A stale index from elsewhere: its last leaf is not the log's, and it holds a posting
    // that would put entry 0 among an actor's entries wrongly.
    f.exec_raw_index(
        "UPDATE audit_index_state SET last_leaf = NULL; INSERT INTO audit_postings (term, seq) VALUES ('a:intruder', 0)",
    )
    .await;
    let progress = f.store.index_audit_entries(1_000).await.unwrap();
    assert!(progress.rebuilt);
    assert_eq!(progress.indexed_size, ENTRIES as u64);
    let intruder = EntryFilter {
        actor_id: Some("intruder".into()),
        limit: 10,
        ..EntryFilter::default()
    };
    assert!(f.store.query(&intruder).await.unwrap().is_empty());
    assert_queries(&f.store, "rebuilt").await;
    // An index that reaches past the log (the database restored from an older backup).
    f.exec_raw_index("UPDATE audit_index_state SET indexed_size = 100000")
        .await;
    let progress = f.store.index_audit_entries(1_000).await.unwrap();
    assert!(progress.rebuilt);
    assert_eq!(progress.indexed_size, ENTRIES as u64);
}
