//! Redaction throughput in MB/s per core on two JSON log corpora: a mixed one where about one
//! line in five carries personal data, and a dense one where every line carries four to six
//! values (an email, a client address, a password, an email in a URL's query, sometimes a
//! phone and a card); and the cost of one short text (`POST /v1/redact` of ~200 bytes).
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

/// An application log where every line holds personal data: a timestamp, a UUID request id, an
/// email, a password field, a client address, a URL with an email in its query, a user agent
/// and numbers; every third line also a phone, every seventh a card in its printed grouping.
pub fn dense_corpus(lines: usize) -> Vec<u8> {
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
    ];
    let mut out = String::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..lines {
        let (a, b, c) = (next(), next(), next());
        let user = a % 1_000_000;
        let extra = match i % 21 {
            0 | 3 | 6 | 9 | 12 | 15 | 18 => format!(r#","phone":"+1 415 555 {:04}""#, b % 10_000),
            7 | 14 => r#","card":"4111 1111 1111 1111""#.to_owned(),
            _ => String::new(),
        };
        out.push_str(&format!(
            r#"{{"ts":"2026-12-04T23:{:02}:{:02}.{:03}Z","level":"info","request_id":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","email":"user{user}@example.com","password":"hunter2-{i}","client_ip":"203.0.{}.{}","url":"https://app.example.com/reset?email=user{user}%40example.com&next=/home","user_agent":"{}","status":200,"bytes":{},"duration_ms":{}.{:03}{extra}}}"#,
            i % 60,
            (i * 7) % 60,
            i % 1000,
            a >> 32,
            b & 0xffff,
            (b >> 16) & 0xfff,
            (b >> 28) & 0xfff,
            c & 0xffff_ffff_ffff,
            (b >> 40) % 256,
            (c >> 48) % 256,
            agents.get((c % 4) as usize).copied().unwrap_or_default(),
            c % 1_000_000,
            a % 100,
            b % 1000,
        ));
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
    let dense = dense_corpus(20_000);
    group.throughput(Throughput::Bytes(dense.len() as u64));
    group.bench_function("redact_ndjson_dense_logs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(dense.len());
            let mut stats = Stats::default();
            redactor
                .redact_stream(dense.as_slice(), &mut out, &mut stats)
                .unwrap();
            black_box(out)
        })
    });
    group.finish();

    // A `POST /v1/redact` text of about 200 bytes with three values in it.
    let short = "Customer jane.doe@example.com called from +44 (0)20 7946 0958 about order \
                 ORD-2026-000123; request 62886557-0987-4987-a2b1-b64bbea42c13 came from \
                 203.0.113.7 at 2026-12-04T23:11:48Z.";
    let mut group = c.benchmark_group("privacy_short");
    group.throughput(Throughput::Elements(1));
    group.bench_function("redact_text_200_bytes", |b| {
        b.iter(|| black_box(redactor.redact_text(black_box(short))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
