//! Rule evaluation in process (docs/BENCHMARKS.md: >= 500,000 entries/s/core with 100
//! threshold rules): the default rules plus 95 more over a mix of entries like an
//! application's and Rampart's own, most of which no rule matches.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_audit::Status;
use rampart_monitor::{EntryView, Evaluator, RuleSet, WindowState};
use serde_json::{Value, json};
use std::hint::black_box;

const APP_ACTIONS: [&str; 12] = [
    "payment.authorize",
    "payment.capture",
    "payment.refund",
    "order.create",
    "order.update",
    "customer.read",
    "customer.update",
    "document.read",
    "document.share",
    "report.export",
    "invoice.send",
    "account.close",
];

/// 100 rules: the 5 defaults and 95 threshold rules over exact actions, prefixes, statuses,
/// teams, tags and details.
fn rules() -> RuleSet {
    let mut rules: Vec<Value> = serde_json::from_str::<Value>(rampart_monitor::DEFAULT_RULES_JSON)
        .unwrap()["rules"]
        .as_array()
        .unwrap()
        .clone();
    for i in 0..95 {
        let action = APP_ACTIONS[i % APP_ACTIONS.len()];
        let m = match i % 5 {
            0 => json!({"action": action, "status": "failure"}),
            1 => {
                json!({"action": format!("{}.*", action.split('.').next().unwrap()), "status": "denied", "team_id": format!("team-{}", i % 7)})
            }
            2 => {
                json!({"action": [action, format!("{action}.bulk")], "tag": "pci-dss", "data_classification": "restricted"})
            }
            3 => json!({"action": action, "details": {"currency": "XTS"}}),
            _ => json!({"action": format!("custom.{i}"), "actor_type": "service"}),
        };
        rules.push(json!({"name": format!("rule-{i}"), "match": m,
            "group_by": ["actor.id", "context.team_id"], "threshold": 5 + i % 20,
            "window_seconds": 60 + 30 * (i % 10), "severity": "medium"}));
    }
    RuleSet::parse_json(&json!({ "rules": rules }).to_string()).unwrap()
}

struct Owned {
    action: String,
    status: Status,
    actor_type: &'static str,
    actor_id: String,
    ip: String,
    resource_type: &'static str,
    resource_id: String,
    team: String,
    tags: Vec<String>,
    details: Value,
}

/// 10,000 entries: 85 % application traffic (mostly successes), then logins (a fifth
/// failing), denials, rate-limit refusals and a few privileged actions.
fn entries() -> Vec<Owned> {
    (0..10_000u64)
        .map(|i| {
            let (action, status, actor_type) = match i % 100 {
                0..=84 => (
                    APP_ACTIONS[(i % 12) as usize].to_owned(),
                    if i % 17 == 0 { Status::Failure } else { Status::Success },
                    "user",
                ),
                85..=92 => (
                    "auth.login".to_owned(),
                    if i % 5 == 0 { Status::Failure } else { Status::Success },
                    "user",
                ),
                93..=96 => ("api.forbidden".to_owned(), Status::Denied, "user"),
                97..=98 => ("security.rate_limited".to_owned(), Status::Denied, "user"),
                _ => ("policy.update".to_owned(), Status::Success, "service"),
            };
            Owned {
                action,
                status,
                actor_type,
                actor_id: format!("user-{}", i % 500),
                ip: format!("203.0.113.{}", i % 250),
                resource_type: "payment",
                resource_id: format!("pay-{i}"),
                team: format!("team-{}", i % 7),
                tags: vec!["pci-dss".to_owned()],
                details: json!({"amount": 1250, "currency": if i % 50 == 0 { "XTS" } else { "EUR" }, "shared": false}),
            }
        })
        .collect()
}

fn view(i: usize, e: &Owned) -> EntryView<'_> {
    EntryView {
        seq: i as u64,
        at_micros: 1_780_000_000_000_000 + i as i64 * 1000,
        action: &e.action,
        status: e.status,
        actor_type: e.actor_type,
        actor_id: &e.actor_id,
        actor_ip: Some(&e.ip),
        resource_type: e.resource_type,
        resource_id: Some(&e.resource_id),
        team_id: Some(&e.team),
        data_classification: Some("confidential"),
        tags: &e.tags,
        details: Some(&e.details),
    }
}

fn evaluate(c: &mut Criterion) {
    let evaluator = Evaluator::new(&rules());
    assert_eq!(evaluator.rules().count(), 100);
    let owned = entries();
    let views: Vec<EntryView<'_>> = owned.iter().enumerate().map(|(i, e)| view(i, e)).collect();
    let mut group = c.benchmark_group("monitor");
    group.throughput(Throughput::Elements(views.len() as u64));
    group.bench_function("evaluate_10000_entries_100_rules", |b| {
        b.iter(|| {
            let mut state = WindowState::new();
            let mut fired = Vec::new();
            for entry in &views {
                evaluator.evaluate(&mut state, entry, &mut fired);
            }
            black_box((state.len(), fired.len()))
        });
    });
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
