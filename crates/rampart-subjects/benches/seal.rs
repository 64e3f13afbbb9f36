//! Sealing and opening a typical `personal` object with a subject key, and the subject lookup
//! hash: the per-entry work personal data adds to an append and to a read.
#![allow(missing_docs, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_subjects::{LookupKey, SubjectKey};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let key = SubjectKey::generate().expect("rng");
    let personal = br#"{"email":"customer-17@example.com","name":"Ada Lovelace","iban":"DE89370400440532013000"}"#;
    let sealed = key.seal(personal).expect("seals");
    let lookup = LookupKey::from_bytes(&[7; 32]);
    c.bench_function("seal_personal_90_bytes", |b| {
        b.iter(|| key.seal(black_box(personal)).expect("seals"))
    });
    c.bench_function("open_personal_90_bytes", |b| {
        b.iter(|| key.open(black_box(&sealed)).expect("opens"))
    });
    c.bench_function("subject_lookup_hash", |b| {
        b.iter(|| lookup.lookup(black_box("customer-17")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
