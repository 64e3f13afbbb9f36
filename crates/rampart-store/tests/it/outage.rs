//! The audit log over PostgreSQL while the server goes away and comes back: appends during the
//! outage fail as [`LogError::Unavailable`] at once (no hang, nothing written), and once the
//! server is back the same log appends again where it left off, without reopening anything.

use std::sync::Arc;

use rampart_audit::{AuditLog, LogError, LogSigner, NewEntry, SubmittedBy};
use rampart_store::Store;
use rampart_test_support::TestPostgres;
use serde_json::json;

fn event(i: usize) -> Vec<NewEntry> {
    let event = json!({"actor": {"type": "service", "id": "svc"}, "action": "record.write",
        "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"});
    vec![NewEntry::from_json(&event, "").unwrap()]
}

fn by() -> SubmittedBy {
    SubmittedBy {
        principal_id: "p1".into(),
        credential_id: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_is_unavailable_while_postgres_is_down_and_resumes_when_it_is_back() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    if !pg.controls_cluster() {
        return;
    }
    // The throwaway cluster acknowledges commits before its WAL has them (for speed); with that,
    // an `immediate` stop loses acknowledged commits whatever the client does.
    pg.psql("ALTER DATABASE rampart SET synchronous_commit = on")
        .unwrap();
    let store = Store::open_postgres(pg.url()).await.unwrap();
    store.migrate().await.unwrap();
    let log = AuditLog::open(
        store,
        LogSigner::from_seed("rampart.test/log", &[7; 32]).unwrap(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap();
    let mut next = 0;
    for i in 0..3 {
        assert_eq!(
            log.append(event(i), by()).await.unwrap().entries[0].seq,
            next
        );
        next += 1;
    }
    for mode in ["fast", "immediate"] {
        tokio::task::block_in_place(|| pg.stop(mode)).unwrap();
        for i in 0..3 {
            match log.append(event(i), by()).await {
                Err(LogError::Unavailable(_)) => {}
                other => panic!("append while PostgreSQL is down ({mode}): {other:?}"),
            }
        }
        match log.head().await {
            Err(LogError::Store(e)) => assert!(e.is_unavailable(), "{e}"),
            other => panic!("head while PostgreSQL is down ({mode}): {other:?}"),
        }
        tokio::task::block_in_place(|| pg.start_again()).unwrap();
        // The pool replaces the connections the server closed; the writer's edge still holds.
        let receipt = log.append(event(9), by()).await.unwrap();
        assert_eq!(receipt.entries[0].seq, next, "after the {mode} outage");
        assert_eq!(receipt.tree_size, next + 1);
        next += 1;
    }
    let report = log.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.tree_size, next);
}

/// A PostgreSQL address where nothing listens (connection refused, retried until the acquire
/// timeout, as during a restart over TCP): an outage, not a configuration error.
#[tokio::test]
async fn a_refused_tcp_connection_is_an_outage() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://rampart@127.0.0.1:{port}/rampart");
    let error = Store::open_postgres(&url)
        .await
        .expect_err("nothing listens there");
    assert!(error.is_unavailable(), "{error}");
}
