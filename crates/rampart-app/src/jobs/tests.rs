//! Jobs on two runners that share one SQLite store, as two nodes share a database. Nothing here
//! asserts a duration: each test waits for a condition, with a generous deadline.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_store::Store;
use tokio::time::{Instant, sleep};
use uuid::Uuid;

use super::{Job, JobRunner, Scope, TickError};

const INTERVAL: Duration = Duration::from_millis(20);
const JOB: &str = "test-job";

type Log = Arc<Mutex<Vec<Uuid>>>;

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_sqlite(&dir.path().join("rampart.db"), true)
        .await
        .expect("opens");
    store.migrate().await.expect("migrates");
    (store, dir)
}

/// A job that records, on each tick, the node that ran it.
fn recording(
    node: Uuid,
    log: &Log,
) -> impl Fn() -> std::future::Ready<Result<(), TickError>> + use<> {
    let log = Arc::clone(log);
    move || {
        log.lock().unwrap().push(node);
        std::future::ready(Ok(()))
    }
}

fn ticks(log: &Log) -> Vec<Uuid> {
    log.lock().unwrap().clone()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_leased_job_runs_on_one_node_and_moves_when_it_shuts_down() {
    let (store, _dir) = store().await;
    let log = Log::default();
    let mut runners = [JobRunner::new(store.clone()), JobRunner::new(store.clone())];
    assert_ne!(runners[0].node(), runners[1].node());
    // A lease far longer than the test: only a release lets the other node in.
    for runner in &mut runners {
        let job = Job::leased(JOB, INTERVAL, recording(runner.node(), &log))
            .with_lease_ttl(Duration::from_secs(3600));
        runner.spawn(job);
    }
    wait_until("ten ticks", || ticks(&log).len() >= 10).await;
    let seen = ticks(&log);
    let holder = seen[0];
    assert!(
        seen.iter().all(|node| *node == holder),
        "two nodes ran the job: {seen:?}"
    );
    let [first, second] = runners;
    let (stopping, staying) = if first.node() == holder {
        (first, second)
    } else {
        (second, first)
    };
    stopping.shutdown().await;
    let mark = ticks(&log).len();
    let other = staying.node();
    wait_until("the other node to take over", || {
        ticks(&log)[mark..].iter().filter(|n| **n == other).count() >= 5
    })
    .await;
    assert!(ticks(&log)[mark..].iter().all(|node| *node == other));
    staying.shutdown().await;
    // Both leases were given back: a third node takes the job at once.
    assert!(
        store
            .try_acquire_lease(
                JOB,
                "third",
                time::OffsetDateTime::now_utc(),
                time::Duration::MINUTE
            )
            .await
            .expect("runs")
    );
}

#[tokio::test]
async fn a_leased_job_is_taken_over_when_its_node_dies() {
    let (store, _dir) = store().await;
    let log = Log::default();
    let mut runners = [JobRunner::new(store.clone()), JobRunner::new(store.clone())];
    for runner in &mut runners {
        let job = Job::leased(JOB, INTERVAL, recording(runner.node(), &log))
            .with_lease_ttl(Duration::from_millis(300));
        runner.spawn(job);
    }
    wait_until("three ticks", || ticks(&log).len() >= 3).await;
    // The node that ran last dies without a word: its tasks end, its lease stays until it lapses.
    let holder = *ticks(&log).last().unwrap();
    let [first, second] = runners;
    let (dying, staying) = if first.node() == holder {
        (first, second)
    } else {
        (second, first)
    };
    for task in dying.tasks {
        task.abort();
        let _ = task.await;
    }
    let mark = ticks(&log).len();
    let other = staying.node();
    wait_until("the other node to take over", || {
        ticks(&log)[mark..].iter().filter(|n| **n == other).count() >= 3
    })
    .await;
    assert!(ticks(&log)[mark..].iter().all(|node| *node == other));
    staying.shutdown().await;
}

#[tokio::test]
async fn a_node_that_loses_the_lease_stops_until_it_gets_it_back() {
    let (store, _dir) = store().await;
    let log = Log::default();
    let mut runner = JobRunner::new(store.clone());
    let node = runner.node();
    let ttl = Duration::from_secs(3600);
    runner.spawn(Job::leased(JOB, INTERVAL, recording(node, &log)).with_lease_ttl(ttl));
    wait_until("a tick", || !ticks(&log).is_empty()).await;
    // Another node takes the lease (here: behind the runner's back, as after a long pause).
    let intruder = "intruder";
    let now = time::OffsetDateTime::now_utc;
    let stolen = async {
        loop {
            store
                .release_lease(JOB, &node.to_string())
                .await
                .expect("runs");
            if store
                .try_acquire_lease(JOB, intruder, now(), time::Duration::HOUR)
                .await
                .expect("runs")
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), stolen)
        .await
        .expect("the lease is taken");
    // A tick already past its renewal may still finish; after that, none.
    sleep(INTERVAL * 5).await;
    let mark = ticks(&log).len();
    sleep(INTERVAL * 10).await;
    assert_eq!(ticks(&log).len(), mark, "the job ran without its lease");
    assert!(store.release_lease(JOB, intruder).await.expect("runs"));
    wait_until("the node to run the job again", || ticks(&log).len() > mark).await;
    runner.shutdown().await;
}

#[tokio::test]
async fn a_per_node_job_runs_on_every_node() {
    let (store, _dir) = store().await;
    let log = Log::default();
    let mut runners = [JobRunner::new(store.clone()), JobRunner::new(store)];
    for runner in &mut runners {
        let job = Job::per_node(JOB, INTERVAL, recording(runner.node(), &log));
        assert_eq!(job.scope(), Scope::Node);
        runner.spawn(job);
    }
    let nodes = [runners[0].node(), runners[1].node()];
    wait_until("both nodes to run the job twice", || {
        let seen = ticks(&log);
        nodes
            .iter()
            .all(|n| seen.iter().filter(|s| *s == n).count() >= 2)
    })
    .await;
    for runner in runners {
        runner.shutdown().await;
    }
}

#[tokio::test]
async fn failing_and_panicking_ticks_do_not_stop_a_job() {
    let (store, _dir) = store().await;
    let mut runner = JobRunner::new(store);
    let failures = Arc::new(Mutex::new(0_u32));
    let panics = Arc::new(Mutex::new(0_u32));
    let counter = Arc::clone(&failures);
    runner.spawn(Job::per_node("failing", INTERVAL, move || {
        *counter.lock().unwrap() += 1;
        std::future::ready(Err(TickError::new(
            "cannot do the test's work",
            std::io::Error::other("refused"),
        )))
    }));
    let counter = Arc::clone(&panics);
    runner.spawn(Job::leased("panicking", INTERVAL, move || {
        let counter = Arc::clone(&counter);
        async move {
            *counter.lock().unwrap() += 1;
            panic!("a bug in a tick");
        }
    }));
    wait_until("three runs of each", || {
        *failures.lock().unwrap() >= 3 && *panics.lock().unwrap() >= 3
    })
    .await;
    runner.shutdown().await;
}

#[test]
fn leases_last_a_few_intervals() {
    let job = Job::leased(JOB, Duration::from_secs(60), || std::future::ready(Ok(())));
    assert_eq!(
        job.scope(),
        Scope::Cluster {
            ttl: Duration::from_secs(180)
        }
    );
    // Never shorter than two intervals, so renewing on every tick keeps it.
    let job = job.with_lease_ttl(Duration::from_secs(1));
    assert_eq!(
        job.scope(),
        Scope::Cluster {
            ttl: Duration::from_secs(120)
        }
    );
    let job = Job::per_node(JOB, Duration::ZERO, || std::future::ready(Ok(())));
    assert!(job.interval() > Duration::ZERO);
}
