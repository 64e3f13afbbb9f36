//! What threat protection adds to a request in process, over real storage (SQLite in a temp
//! dir): the address rules and blocks (`admit`, from memory) and 20 per-node rate-limit rules
//! (`count`: matching, bucket keys, GCRA), as the edge runs them for an authenticated request.
//! Shared rules cost one database round trip each and are measured over HTTP instead.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_store::Store;
use rampart_threat::{AddressRules, BlockSettings, RequestFacts, RuleSet, ThreatGuard};
use serde_json::json;
use time::OffsetDateTime;

/// 20 rules as an operator might write them: per address and per principal on every route,
/// brakes on sensitive permissions, limits on route prefixes.
fn twenty_rules() -> RuleSet {
    let mut rules = Vec::new();
    for (i, key) in ["ip", "principal", "credential", "global"]
        .iter()
        .enumerate()
    {
        rules.push(
            json!({"name": format!("all-{key}"), "key": key, "match": ["*"],
            "limit": 1_000_000, "window_seconds": 60, "applies_to": "all"}),
        );
        rules.push(json!({"name": format!("decrypt-{i}"), "key": key,
            "match": ["keys:decrypt", "cards:detokenize", "audit:export"],
            "limit": 1_000_000, "window_seconds": 60}));
    }
    for i in 0..12 {
        rules.push(json!({"name": format!("prefix-{i}"), "key": "ip",
            "match": [format!("POST /v1/route-{i}"), format!("GET /v1/route-{i}")],
            "limit": 1_000_000, "window_seconds": 60}));
    }
    RuleSet::parse_json(&json!({"rules": rules}).to_string()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let guard = rt.block_on(async {
        let store = Store::open_sqlite(&dir.path().join("bench.db"), true)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let guard = ThreatGuard::open(store, BlockSettings::default(), None, now)
            .await
            .unwrap();
        guard
            .replace_rules(&twenty_rules(), None, now)
            .await
            .unwrap();
        let addresses =
            AddressRules::parse_json(r#"{"allow": [], "deny": ["198.51.100.0/24"]}"#).unwrap();
        guard
            .replace_address_rules(&addresses, None, now)
            .await
            .unwrap();
        guard
    });
    assert_eq!(guard.rules().0.rules().len(), 20);
    let started = Instant::now();
    let addresses: Vec<IpAddr> = (0..256)
        .map(|i| format!("203.0.113.{i}").parse().unwrap())
        .collect();
    let mut group = c.benchmark_group("threat");
    group.bench_function("admit_and_count_20_rules", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = i.wrapping_add(1);
            let address = *addresses.get(i % addresses.len()).unwrap();
            let facts = RequestFacts {
                method: "POST",
                path: "/v1/keys/customer-data/decrypt",
                permission: Some("keys:decrypt"),
                authenticated: true,
                address,
                principal: Some(uuid::Uuid::from_u128(
                    0x0192_f1a2_0000_7000_8000_0000_0000_0001,
                )),
                credential: Some(uuid::Uuid::from_u128(
                    0x0192_f1a2_0000_7000_8000_0000_0000_0002,
                )),
            };
            let now = OffsetDateTime::now_utc();
            guard.admit(address, now).unwrap();
            let limits = rt
                .block_on(guard.count(&facts, started.elapsed(), now))
                .unwrap();
            black_box(limits)
        })
    });
    group.bench_function("admit_and_count_default_rules_authenticated", |b| {
        let guard = rt.block_on(async {
            let store = Store::open_sqlite(&dir.path().join("defaults.db"), true)
                .await
                .unwrap();
            store.migrate().await.unwrap();
            ThreatGuard::open(store, BlockSettings::default(), None, now)
                .await
                .unwrap()
        });
        b.iter(|| {
            let address: IpAddr = "203.0.113.9".parse().unwrap();
            let facts = RequestFacts {
                method: "POST",
                path: "/v1/keys/customer-data/decrypt",
                permission: Some("keys:decrypt"),
                authenticated: true,
                address,
                principal: Some(uuid::Uuid::from_u128(1)),
                credential: Some(uuid::Uuid::from_u128(2)),
            };
            let now = OffsetDateTime::now_utc();
            guard.admit(address, now).unwrap();
            black_box(
                rt.block_on(guard.count(&facts, started.elapsed(), now))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
