//! In-process audit figures: leaf preparation (validation, RFC 8785, SHA-256) and verification
//! (re-hash of stored canonical entries plus the tree), per entry.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark stamps its entries with the clock"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::Verifier;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::tree::{CompactRange, leaf_hash};
use serde_json::json;
use std::hint::black_box;

fn event(i: u64) -> serde_json::Value {
    json!({"actor": {"type": "user", "id": format!("user-{i}"), "ip": "203.0.113.7"},
        "action": "payment.authorize", "resource": {"type": "payment", "id": format!("pay-{i}")},
        "context": {"request_id": format!("req-{i}"), "team_id": "payments"},
        "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
        "data_classification": "confidential", "compliance_tags": ["pci-dss"]})
}

fn prepare(c: &mut Criterion) {
    let events: Vec<_> = (0..1000).map(event).collect();
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("prepare_1000_entries", |b| {
        b.iter(|| {
            let mut range = CompactRange::empty();
            for (seq, e) in events.iter().enumerate() {
                let entry = NewEntry::from_json(e, "")
                    .unwrap()
                    .into_entry(
                        seq as u64,
                        uuid::Uuid::now_v7(),
                        time::OffsetDateTime::now_utc(),
                        SubmittedBy::rampart(),
                    )
                    .unwrap();
                let body = entry.canonical_json().unwrap();
                range.push(leaf_hash(&body), |_| {});
            }
            black_box(range.root())
        })
    });
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .enumerate()
        .map(|(seq, e)| {
            NewEntry::from_json(e, "")
                .unwrap()
                .into_entry(
                    seq as u64,
                    uuid::Uuid::now_v7(),
                    time::OffsetDateTime::now_utc(),
                    SubmittedBy::rampart(),
                )
                .unwrap()
                .canonical_json()
                .unwrap()
        })
        .collect();
    group.bench_function("rehash_1000_stored_entries", |b| {
        b.iter(|| {
            let mut range = CompactRange::empty();
            for body in &bodies {
                range.push(leaf_hash(body), |_| {});
            }
            black_box(range.root())
        })
    });
    let lines: Vec<String> = bodies
        .iter()
        .map(|b| rampart_audit::export::entry_line(std::str::from_utf8(b).unwrap(), &leaf_hash(b)))
        .collect();
    group.bench_function("verify_1000_export_lines", |b| {
        b.iter(|| {
            let mut verifier = Verifier::new();
            for line in &lines {
                verifier.line(line);
            }
            black_box(verifier.finish(None))
        })
    });
    group.finish();
}

criterion_group!(benches, prepare);
criterion_main!(benches);
