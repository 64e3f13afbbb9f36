//! The CPU side of authenticating an API key: format and checksum check, keyed hash.
//! (The storage lookup is measured over HTTP by `bench/http.sh`.)
#![allow(missing_docs, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_access::{ApiKey, ApiKeyPepper};
use std::hint::black_box;

fn api_keys(c: &mut Criterion) {
    let pepper = ApiKeyPepper::new([7; 32]);
    let key = ApiKey::generate().expect("rng");
    let text = key.expose().to_owned();
    c.bench_function("api_key_parse_and_hash", |b| {
        b.iter(|| {
            let parsed = ApiKey::parse(black_box(&text)).expect("valid");
            black_box(pepper.hash(&parsed))
        })
    });
    let mut typo = text.clone().into_bytes();
    typo[10] ^= 1;
    let typo = String::from_utf8_lossy(&typo).into_owned();
    c.bench_function("api_key_reject_typo", |b| {
        b.iter(|| black_box(ApiKey::parse(black_box(&typo)).is_err()))
    });
    c.bench_function("api_key_generate", |b| {
        b.iter(|| black_box(ApiKey::generate().expect("rng")))
    });
}

criterion_group!(benches, api_keys);
criterion_main!(benches);
