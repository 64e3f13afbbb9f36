//! Authorization decisions in process: the precompiled default policy, with and without team
//! isolation, and a denial. (`bench/authz-cedar/` runs the same role model in Cedar beside it;
//! `bench/authz.sh` measures `POST /v1/authorize` over HTTP.)
#![allow(missing_docs, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_access::{Policy, Subject};

fn authorize(c: &mut Criterion) {
    let policy = Policy::default_policy();
    let operator = vec!["operator".to_owned()];
    let auditor = vec!["security_auditor".to_owned()];
    let payments = vec!["payments".to_owned()];
    let subject = |roles| Subject {
        roles,
        teams: &payments,
        disabled: false,
    };
    c.bench_function("authorize_allowed_inherited", |b| {
        b.iter(|| black_box(policy.decide(subject(&operator), black_box("audit:read"), None)))
    });
    c.bench_function("authorize_allowed_own_team", |b| {
        b.iter(|| {
            black_box(policy.decide(
                subject(&operator),
                black_box("actions:approve"),
                Some("payments"),
            ))
        })
    });
    c.bench_function("authorize_denied_team_isolation", |b| {
        b.iter(|| {
            black_box(policy.decide(
                subject(&operator),
                black_box("actions:approve"),
                Some("search"),
            ))
        })
    });
    c.bench_function("authorize_allowed_bypass", |b| {
        b.iter(|| {
            black_box(policy.decide(subject(&auditor), black_box("audit:export"), Some("search")))
        })
    });
    c.bench_function("grants_only", |b| {
        b.iter(|| black_box(policy.grants(&operator, black_box("actions:approve"))))
    });
}

criterion_group!(benches, authorize);
criterion_main!(benches);
