//! What one password login costs in CPU: argon2id at the OWASP parameters (m=19456 KiB, t=2,
//! p=1), for hashing a new password plus verifying it, a verification alone, and the dummy
//! verification run for unknown users (which should cost the same).
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_access::password::{HashParams, PasswordHasher};
use secrecy::SecretString;

fn password(c: &mut Criterion) {
    let hasher = PasswordHasher::new(HashParams::OWASP).expect("valid params");
    let password = SecretString::from("correct horse battery staple");
    let stored = hasher.hash(&password).expect("hash");

    let mut group = c.benchmark_group("password");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("hash_and_verify_owasp", |b| {
        b.iter(|| {
            let stored = hasher.hash(black_box(&password)).expect("hash");
            black_box(
                hasher
                    .verify(black_box(&password), &stored)
                    .expect("verify"),
            )
        })
    });
    group.bench_function("verify_owasp", |b| {
        b.iter(|| {
            black_box(
                hasher
                    .verify(black_box(&password), &stored)
                    .expect("verify"),
            )
        })
    });
    group.bench_function("verify_dummy_owasp", |b| {
        b.iter(|| hasher.verify_dummy(black_box(&password)))
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
