//! PostgreSQL URLs in every form libpq accepts, against a real server on a Unix socket.

use rampart_store::{Backend, Store};
use rampart_test_support::TestPostgres;

/// `postgres://user@/db?host=/socket/dir&port=N`: libpq's empty host, the socket in `host`.
#[tokio::test]
async fn postgres_empty_host_with_a_socket_directory_connects() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let Some(dir) = pg.socket_dir() else {
        eprintln!("skipped: an external PostgreSQL has no socket directory of ours");
        return;
    };
    // "postgres://postgres@localhost:PORT/DB?host=DIR"
    let (port, db) = pg
        .url()
        .split_once("@localhost:")
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(port, rest)| rest.split_once('?').map(|(db, _)| (port, db)))
        .map(|(port, db)| (port.to_owned(), db.to_owned()))
        .expect("the test cluster's URL names its port and database");
    let libpq = format!(
        "postgres://postgres@/{db}?host={}&port={port}",
        dir.display()
    );
    let store = Store::open_postgres(&libpq).await.expect("connects");
    assert_eq!(store.backend(), Backend::Postgres);
    store.migrate().await.expect("migrates over the socket");
}
