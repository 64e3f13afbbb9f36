//! The decision on one action, in process (DESIGN.md: < 5 µs), with the role policy's answer
//! computed as the app layer does, and the execution token an allowed action gets.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_agents::{
    ActionRequest, EXECUTION_TOKEN_TTL, ExecutionClaims, Grant, GuardrailsDocument, TokenSigner,
    decide, parameters_sha256,
};

fn bench(c: &mut Criterion) {
    let guardrails = rampart_document::read_json::<GuardrailsDocument>(
        r#"{"max_actions_per_hour": 50, "forbidden_actions": ["drop_database", "delete_namespace", "modify_dns"],
            "require_approval": ["rollback", "failover", "scale_down"],
            "auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits"],
            "max_blast_radius": {"traffic_percent": 10}, "approvals_required": 1,
            "approval_timeout_seconds": 3600, "otherwise": "deny"}"#,
    )
    .and_then(GuardrailsDocument::validate)
    .unwrap_or_else(|_| std::process::exit(1));
    let request: ActionRequest = rampart_document::read_json(
        r#"{"action": "scale_up_within_limits", "target": {"type": "deployment", "id": "checkout", "team_id": "payments"},
            "parameters": {"replicas": 6}, "blast_radius": {"traffic_percent": 5}}"#,
    )
    .unwrap_or_else(|_| std::process::exit(1));
    let grant = Grant {
        allowed: true,
        reason: "role 'remediation' grants 'actions:scale_up_within_limits'".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    c.bench_function("decide (seed 003 guardrails, auto-approved)", |b| {
        b.iter(|| {
            decide(
                Some(black_box(&guardrails)),
                black_box(&request),
                &grant,
                Some(10),
                now,
            )
        })
    });
    let signer = TokenSigner::from_seed(&[7; 32]).unwrap_or_else(|_| std::process::exit(1));
    let claims = ExecutionClaims {
        action_id: rampart_agents::ActionId::generate(),
        agent_id: uuid::Uuid::now_v7(),
        action: request.action.clone(),
        target: request.target.clone(),
        parameters_sha256: parameters_sha256(&request.parameters).unwrap_or_default(),
        issued_at: now,
        expires_at: now + EXECUTION_TOKEN_TTL,
    };
    c.bench_function("parameters_sha256 (RFC 8785 + SHA-256)", |b| {
        b.iter(|| parameters_sha256(black_box(&request.parameters)))
    });
    c.bench_function("execution token issued", |b| {
        b.iter(|| signer.issue(black_box(&claims)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
