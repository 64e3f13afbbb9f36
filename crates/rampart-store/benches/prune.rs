//! Issue 18's floor for audit pruning: 1,000,000 entries pruned on SQLite in under 30 s.
//!
//! Builds a 1,000,000-entry log in a temp dir through the audit log (durable batches of
//! 10,000, realistic entries: tags, teams and subjects on some), indexes it so every entry has
//! its postings, then prunes all but every 100th entry (as if held) in batches of 5,000 through
//! `prune_audit_batch`, with a run's progress, as a disposal run does. Prints the time of each
//! phase and the pruning rate, and checks that the head is unchanged, that exactly the held
//! entries are left, and that no pruned entry keeps a posting. A one-shot measurement: run it
//! with `cargo bench -p rampart-store --bench prune` (`PRUNE_BENCH_ENTRIES` for another size).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Instant;

use rampart_audit::AuditLog;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::store::AuditStore;
use rampart_retention::{
    BatchProgress, CertificateId, DataType, RetentionStore, Run, RunId, Step, StepState,
};
use rampart_store::Store;
use serde_json::json;
use time::OffsetDateTime;

const ENTRIES: u64 = 1_000_000;
const APPEND_BATCH: u64 = 10_000;
const PRUNE_BATCH: u64 = 5_000;
/// Every 100th entry is held (kept).
const HELD_EVERY: u64 = 100;
const FLOOR_SECONDS: f64 = 30.0;

/// One of `names`, by `i`.
fn pick(names: &[&'static str], i: u64) -> &'static str {
    names[usize::try_from(i).unwrap() % names.len()]
}

fn event(i: u64) -> NewEntry {
    let tags: &[&str] = match i % 10 {
        0..=3 => &["pci-dss"],
        4 => &["pci-dss", "gdpr"],
        5 => &["mifid2"],
        _ => &[],
    };
    let action = pick(
        &[
            "payment.authorize",
            "payment.capture",
            "record.read",
            "login",
        ],
        i,
    );
    let mut event = json!({
        "actor": {"type": "service", "id": format!("svc-{}", i % 50), "ip": "203.0.113.7"},
        "action": action,
        "resource": {"type": "payment", "id": format!("pay-{i}")},
        "status": if i.is_multiple_of(17) { "failure" } else { "success" },
        "details": {"amount": 1250, "currency": "EUR", "request_id": format!("req-{i}")},
        "data_classification": "confidential",
        "compliance_tags": tags,
    });
    if !i.is_multiple_of(3) {
        event["context"] = json!({"team_id": pick(&["payments", "care", "risk"], i)});
    }
    if i.is_multiple_of(5) {
        event["subject_id"] = json!(format!("customer-{}", i % 10_000));
    }
    NewEntry::from_json(&event, "").unwrap()
}

fn entries() -> u64 {
    std::env::var("PRUNE_BENCH_ENTRIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ENTRIES)
}

fn main() {
    // `cargo bench` passes `--bench`; a listing (`--list`) or a test run has nothing to do.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run(entries()));
}

async fn run(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prune.db");
    let store = Store::open_sqlite(&path, true).await.unwrap();
    store.migrate().await.unwrap();
    let log = AuditLog::open(
        store.clone(),
        LogSigner::from_seed("bench", &[1; 32]).unwrap(),
        Arc::new(OffsetDateTime::now_utc),
    )
    .await
    .unwrap();

    let start = Instant::now();
    let mut next = 0;
    while next < n {
        let end = n.min(next + APPEND_BATCH);
        log.append((next..end).map(event).collect(), SubmittedBy::rampart())
            .await
            .unwrap();
        next = end;
    }
    println!(
        "prune/build: {n} entries appended in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    loop {
        let progress = store.index_audit_entries(100_000).await.unwrap();
        if progress.indexed_size == progress.head_size {
            break;
        }
    }
    println!(
        "prune/build: indexed in {:.1} s ({} postings)",
        start.elapsed().as_secs_f64(),
        postings(&path, "1 = 1").await
    );
    let head = store.head().await.unwrap();
    assert_eq!(head.size, n);

    let now = OffsetDateTime::now_utc();
    let run = Run {
        id: RunId::generate(),
        dry_run: false,
        requested_by: "bench".into(),
        started_at: now,
        finished_at: None,
        policies: Vec::new(),
        steps: vec![Step {
            data_type: DataType::AuditEntries,
            cutoff: now,
            state: StepState::Pending,
            due: 0,
            disposed: 0,
            held_back: 0,
            next_seq: 0,
            end_seq: n,
            cursor: None,
            first_seq: None,
            last_seq: None,
            certificate_id: CertificateId::generate(),
        }],
    };
    store.insert_run(&run).await.unwrap();
    let certificate = run.steps[0].certificate_id.clone();

    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut pruned = 0;
    let mut from = 0;
    while from < n {
        let to = n.min(from + PRUNE_BATCH);
        let seqs: Vec<u64> = (from..to).filter(|s| s % HELD_EVERY != 0).collect();
        let progress = BatchProgress {
            run_id: run.id.clone(),
            data_type: DataType::AuditEntries,
            next_seq: to,
            cursor: None,
            due: to - from,
            held_back: (to - from) - seqs.len() as u64,
            done: to == n,
        };
        pruned += store
            .prune_audit_batch(&progress, to, &seqs, now, &certificate)
            .await
            .unwrap();
        from = to;
    }
    let took = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_start).map(|(end, start)| end - start);
    let held = n.div_ceil(HELD_EVERY);
    assert_eq!(pruned, n - held);
    println!(
        "prune/prune_audit_batch: {pruned} of {n} entries pruned in batches of {PRUNE_BATCH} in {took:.2} s = {:.0} entries/s (floor: {FLOOR_SECONDS} s for 1,000,000: {})",
        pruned as f64 / took,
        if took * 1_000_000.0 / n as f64 <= FLOOR_SECONDS {
            "met"
        } else {
            "MISSED"
        }
    );
    if let Some(cpu) = cpu {
        // Other processes on the machine slow the wall time down; the CPU time is ours.
        println!("prune/prune_audit_batch: {cpu:.2} s of CPU (user + system, every thread)");
    }

    let start = Instant::now();
    assert_eq!(store.head().await.unwrap(), head, "the head is unchanged");
    let step = store.run(&run.id).await.unwrap().unwrap().steps.remove(0);
    assert_eq!((step.state, step.disposed), (StepState::Done, pruned));
    assert_eq!((step.due, step.held_back), (n, held));
    let left = store.audit_records(0, n, u32::MAX).await.unwrap();
    assert_eq!(left.len() as u64, held);
    assert!(left.iter().all(|r| r.seq % HELD_EVERY == 0));
    assert_eq!(
        postings(&path, &format!("seq % {HELD_EVERY} <> 0")).await,
        0,
        "no pruned entry keeps a posting"
    );
    println!(
        "prune/check: head {} unchanged, {held} held entries left with their postings ({} postings), checked in {:.2} s",
        head.size,
        postings(&path, "1 = 1").await,
        start.elapsed().as_secs_f64()
    );
    drop(log);
    drop(store);
    dir.close().unwrap();
}

/// Postings matching `condition`, counted in the index file.
async fn postings(database: &std::path::Path, condition: &str) -> i64 {
    use sqlx::Connection;
    let url = format!(
        "sqlite://{}",
        database.with_extension("audit-index.db").display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_postings WHERE {condition}"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

/// CPU time this process has used (user + system, all threads), from `/proc/self/stat` on
/// Linux (clock ticks of 1/100 s); `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) end with `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
