//! The audit log on real storage (SQLite in a temp dir, synchronous=FULL): durable group-commit
//! appends of 1000-entry batches, proofs, and server-side verification.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::AuditLog;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_store::Store;
use serde_json::json;

fn event(i: u64) -> NewEntry {
    NewEntry::from_json(
        &json!({"actor": {"type": "service", "id": format!("svc-{}", i % 50), "ip": "203.0.113.7"},
            "action": "payment.authorize", "resource": {"type": "payment", "id": format!("pay-{i}")},
            "context": {"request_id": format!("req-{i}"), "team_id": "payments"},
            "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
            "data_classification": "confidential", "compliance_tags": ["pci-dss"]}),
        "",
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = rt.block_on(async {
        let store = Store::open_sqlite(&dir.path().join("bench.db"), true)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        AuditLog::open(
            store,
            LogSigner::from_seed("bench", &[1; 32]).unwrap(),
            Arc::new(time::OffsetDateTime::now_utc),
        )
        .await
        .unwrap()
    });
    let batch: Vec<NewEntry> = (0..1000).map(event).collect();
    let mut group = c.benchmark_group("audit_sqlite");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    group.bench_function("append_batch_1000_durable", |b| {
        b.to_async(&rt).iter(|| async {
            log.append(batch.clone(), SubmittedBy::rampart())
                .await
                .unwrap()
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("inclusion_proof", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let log = log.clone();
            async move {
                let size = log.head().await.unwrap().size;
                let start = Instant::now();
                for i in 0..iters {
                    let seq = (i * 7919) % size;
                    log.inclusion_proof(seq, size).await.unwrap().unwrap();
                }
                start.elapsed()
            }
        })
    });
    group.bench_function("read_256_leaf_hashes", |b| {
        b.to_async(&rt).iter(|| {
            let log = log.clone();
            async move { log.head().await.unwrap() }
        })
    });
    group.finish();
    let store = rt.block_on(async {
        Store::open_sqlite(&dir.path().join("bench.db"), false)
            .await
            .unwrap()
    });
    let start = Instant::now();
    for i in 0..100u64 {
        let _ = rt
            .block_on(rampart_audit::AuditStore::hashes(
                &store,
                0,
                i * 256..i * 256 + 256,
            ))
            .unwrap();
    }
    println!("read 256 leaf hashes: {:?} each", start.elapsed() / 100);
    let size = rt.block_on(log.head()).unwrap().size;
    let start = Instant::now();
    let report = rt.block_on(log.verify()).unwrap();
    let took = start.elapsed().max(Duration::from_micros(1));
    assert!(report.ok);
    println!(
        "audit_sqlite/verify: {size} entries in {:.2} s = {:.0} entries/s",
        took.as_secs_f64(),
        size as f64 / took.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
