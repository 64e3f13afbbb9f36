//! Redaction throughput on a mixed JSON log corpus, in MB/s per core.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::useless_format
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_privacy::{HashKey, Policy, Redactor, Stats};
use std::hint::black_box;

/// A log corpus where about one line in five carries personal data, as in service logs.
pub fn corpus(lines: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..lines {
        let line = match i % 10 {
            0 => format!(
                r#"{{"ts":"2026-11-22T14:03:{:02}.123Z","level":"info","msg":"login ok","user":{{"email":"user{i}@example.com","id":"u{i}"}},"ip":"203.0.113.{}"}}"#,
                i % 60,
                i % 250
            ),
            1 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"payment authorized","order":"ord-{i}","amount":1250,"currency":"EUR","card":{{"last4":"1111","brand":"visa"}}}}"#
            ),
            2 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"debug","msg":"GET /v1/items?page={i}&sort=asc","status":200,"duration_ms":{}}}"#,
                i % 97
            ),
            3 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"warn","msg":"retrying upstream","attempt":{},"service":"inventory","trace_id":"4bf92f3577b34da6a3ce929d0e0e{i:04}"}}"#,
                i % 5
            ),
            4 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"profile updated","patient":{{"ssn":"123-45-6789","phone":"+1 415 555 2671"}},"by":"nurse-{i}"}}"#
            ),
            5 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"cache hit","key":"item:{i}","hit_ratio":0.93,"version":"1.2.3"}}"#
            ),
            6 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"error","msg":"upstream rejected Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U","code":401}}"#
            ),
            7 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"job finished","job":"export-{i}","rows":{},"elapsed":"3.2s"}}"#,
                i * 7
            ),
            8 => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"request","method":"POST","path":"/v1/orders","status":201,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}}"#
            ),
            _ => format!(
                r#"{{"ts":"2026-11-22T14:03:07Z","level":"info","msg":"heartbeat","node":"node-{}","uptime_s":{i}}}"#,
                i % 3
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let redactor = Redactor::new(Policy::default_policy(), HashKey::new([9; 32])).unwrap();
    let data = corpus(20_000);
    let mut group = c.benchmark_group("privacy");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.bench_function("redact_ndjson_mixed_logs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(data.len());
            let mut stats = Stats::default();
            redactor
                .redact_stream(data.as_slice(), &mut out, &mut stats)
                .unwrap();
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
