//! Integration tests for `TestPostgres`: a real cluster starts, answers SQL and is cleaned up.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::thread;
use std::time::Instant;

use rampart_test_support::TestPostgres;

#[test]
fn starts_answers_sql_and_cleans_up() -> Result<(), String> {
    let started = Instant::now();
    let Some(db) = TestPostgres::start()? else {
        return Ok(());
    };
    eprintln!(
        "TestPostgres::start() took {:?}; url {}",
        started.elapsed(),
        db.url()
    );
    assert_eq!(db.psql("SELECT 1")?, "1");
    assert_eq!(
        db.psql("SELECT current_database()")?,
        db.url().split(['/', '?']).nth(3).unwrap_or_default()
    );
    db.psql(
        "CREATE TABLE t (id int primary key, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    )?;
    assert_eq!(db.psql("SELECT id, name FROM t ORDER BY id")?, "1|a\n2|b");
    assert!(db.psql("SELECT * FROM missing").is_err());
    let dir = db.socket_dir().map(ToOwned::to_owned);
    let stopped = Instant::now();
    drop(db);
    eprintln!("drop took {:?}", stopped.elapsed());
    if let Some(dir) = dir {
        assert!(!dir.exists(), "{} still exists after drop", dir.display());
    }
    Ok(())
}

#[test]
fn several_databases_run_side_by_side() -> Result<(), String> {
    let handles: Vec<_> = (0..3)
        .map(|i| {
            thread::spawn(move || -> Result<(), String> {
                let Some(db) = TestPostgres::start()? else {
                    return Ok(());
                };
                db.psql(&format!(
                    "CREATE TABLE only_here (n int); INSERT INTO only_here VALUES ({i})"
                ))?;
                assert_eq!(db.psql("SELECT n FROM only_here")?, i.to_string());
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .map_err(|_| "a thread panicked".to_owned())??;
    }
    Ok(())
}
