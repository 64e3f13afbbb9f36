//! Invariants of agent governance under any guardrails and any request: deny wins (a forbidden
//! action, a permission the roles do not grant, a reached cap or a blast radius over its limit
//! is always a denial, whatever the approval lists say); an action is allowed only when the
//! auto-approve list names it and nothing stronger applies; the parameters' hash ignores member
//! order and is bound by a token exactly; every token issued verifies to its claims.
#![allow(missing_docs, clippy::unwrap_used)]

use proptest::prelude::*;
use rampart_agents::{
    ActionId, ActionRequest, Decision, EXECUTION_TOKEN_TTL, ExecutionClaims, Grant, Guardrails,
    GuardrailsDocument, Otherwise, Target, TokenSigner, decide, parameters_sha256,
};
use time::OffsetDateTime;

const NAMES: [&str; 6] = [
    "rollback",
    "failover",
    "scale_down",
    "create_ticket",
    "drop_database",
    "reboot",
];

fn names() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(NAMES.to_vec(), 0..=NAMES.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn guardrails() -> impl Strategy<Value = Guardrails> {
    (
        names(),
        names(),
        names(),
        proptest::option::of(1u64..100),
        proptest::option::of(0.0f64..100.0),
        1u32..5,
        any::<bool>(),
    )
        .prop_map(|(forbidden, approval, auto, cap, radius, quorum, ask)| {
            GuardrailsDocument {
                max_actions_per_hour: cap,
                forbidden_actions: forbidden,
                require_approval: approval,
                auto_approve: auto,
                max_blast_radius: radius
                    .map(|r| [("traffic_percent".to_owned(), r)].into())
                    .unwrap_or_default(),
                approvals_required: Some(quorum),
                approval_timeout_seconds: Some(60),
                otherwise: Some(if ask {
                    Otherwise::RequireApproval
                } else {
                    Otherwise::Deny
                }),
            }
            .validate()
            .unwrap()
        })
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-12-05 10:00 UTC)
}

proptest! {
    #[test]
    fn deny_wins(
        g in guardrails(),
        action in proptest::sample::select(NAMES.to_vec()),
        granted in any::<bool>(),
        used in 0u64..120,
        traffic in 0.0f64..100.0,
    ) {
        let mut request = ActionRequest { action: action.to_owned(), ..ActionRequest::default() };
        request.blast_radius.insert("traffic_percent".into(), traffic);
        let grant = Grant { allowed: granted, reason: "r".into() };
        let v = decide(Some(&g), &request, &grant, Some(used), now());
        let forbidden = g.forbidden_actions.iter().any(|a| a == action);
        let capped = g.max_actions_per_hour.is_some_and(|cap| used >= cap);
        let over = g.max_blast_radius.get("traffic_percent").is_some_and(|limit| traffic > *limit);
        if forbidden || !granted || capped || over {
            prop_assert_eq!(v.decision, Decision::Denied);
            prop_assert_eq!(v.cap, None);
        }
        if v.decision == Decision::Allowed {
            prop_assert!(g.auto_approve.iter().any(|a| a == action));
            prop_assert!(!g.require_approval.iter().any(|a| a == action));
            prop_assert_eq!(v.expires_at, None);
        }
        if v.decision == Decision::PendingApproval {
            prop_assert_eq!(v.approvals_required, g.approvals_required);
            prop_assert!(v.expires_at.is_some_and(|at| at > now()));
        }
        // Without guardrails, nothing is ever allowed.
        prop_assert_eq!(decide(None, &request, &grant, Some(used), now()).decision, Decision::Denied);
    }

    #[test]
    fn the_parameters_hash_ignores_member_order_and_binds_values(
        pairs in proptest::collection::btree_map("[a-z]{1,8}", any::<i32>(), 1..8),
        bump in any::<i32>(),
    ) {
        let forward: serde_json::Map<String, serde_json::Value> =
            pairs.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
        let backward: serde_json::Map<String, serde_json::Value> =
            pairs.iter().rev().map(|(k, v)| (k.clone(), (*v).into())).collect();
        let (forward, backward) = (serde_json::Value::Object(forward), serde_json::Value::Object(backward));
        prop_assert_eq!(parameters_sha256(&forward).unwrap(), parameters_sha256(&backward).unwrap());
        let signer = TokenSigner::from_seed(&[9; 32]).unwrap();
        let claims = ExecutionClaims {
            action_id: ActionId::generate(),
            agent_id: uuid::Uuid::now_v7(),
            action: "rollback".into(),
            target: Target::default(),
            parameters_sha256: parameters_sha256(&forward).unwrap(),
            issued_at: now(),
            expires_at: now() + EXECUTION_TOKEN_TTL,
        };
        let verified = signer.verify(&signer.issue(&claims).unwrap(), now()).unwrap();
        prop_assert_eq!(&verified.action_id, &claims.action_id);
        prop_assert!(verified.binds(&backward));
        let mut changed = forward.clone();
        let first = pairs.keys().next().unwrap().clone();
        let value = pairs[&first];
        if bump != value {
            changed[&first] = bump.into();
            prop_assert!(!verified.binds(&changed));
        }
    }
}
