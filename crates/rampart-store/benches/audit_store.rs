//! The audit log on real storage (SQLite in a temp dir, synchronous=FULL): durable group-commit
//! appends of 1000-entry batches, proofs, and server-side verification.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::AuditLog;
use rampart_audit::SealedPersonal;
use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_store::Store;
use rampart_subjects::SubjectKey;
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

/// The same event about one of 1,000 subjects, with `personal` data (plain: to be sealed).
fn personal_event(i: u64) -> NewEntry {
    let mut event = json!({"actor": {"type": "service", "id": format!("svc-{}", i % 50), "ip": "203.0.113.7"},
        "action": "payment.authorize", "resource": {"type": "payment", "id": format!("pay-{i}")},
        "context": {"request_id": format!("req-{i}"), "team_id": "payments"},
        "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
        "data_classification": "confidential", "compliance_tags": ["pci-dss"],
        "subject_id": format!("customer-{}", i % 1000)});
    event["personal"] = json!({"email": format!("customer-{}@example.com", i % 1000),
        "name": "Ada Lovelace", "iban": "DE89370400440532013000"});
    NewEntry::from_json(&event, "").unwrap()
}

/// Seals every entry's personal data with its subject's key (as the app layer does).
fn seal_all(batch: &mut [NewEntry], keys: &[SubjectKey]) {
    for (i, entry) in batch.iter_mut().enumerate() {
        let key = &keys[i % keys.len()];
        entry
            .seal_personal(|_, personal| {
                Ok::<_, ()>(SealedPersonal {
                    sealed: key.seal(personal).unwrap(),
                    subject_key: key.id().to_string(),
                })
            })
            .unwrap();
    }
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
    // Issue 17: the same batch with sealed personal data on every entry (the writer's work),
    // and with the sealing included (what an append with plain personal data costs).
    let keys: Vec<SubjectKey> = (0..1000).map(|_| SubjectKey::generate().unwrap()).collect();
    let plain: Vec<NewEntry> = (0..1000).map(personal_event).collect();
    let mut sealed = plain.clone();
    seal_all(&mut sealed, &keys);
    group.bench_function("append_batch_1000_durable_personal_sealed", |b| {
        b.to_async(&rt).iter(|| async {
            log.append(sealed.clone(), SubmittedBy::rampart())
                .await
                .unwrap()
        })
    });
    group.bench_function("seal_and_append_batch_1000_personal", |b| {
        b.to_async(&rt).iter(|| async {
            let mut batch = plain.clone();
            seal_all(&mut batch, &keys);
            log.append(batch, SubmittedBy::rampart()).await.unwrap()
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
