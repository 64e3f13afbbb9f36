//! Approvals: never by the agent, its submitter or its owner; a 2-of-N quorum needs two
//! distinct approvers; an approver of another team is refused; one rejection rejects; an
//! unapproved action expires; `approval.requested` reaches a webhook receiver on loopback.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{action, agent, principal, seed_roles, submit, unscoped_key};
use crate::monitor::{Receiver, eventually, signature_valid};
use crate::threat::{Answer, Env, rt, start};

async fn answer(env: &Env, key: &str, id: &str, verdict: &str, comment: Option<&str>) -> Answer {
    env.call(
        Method::POST,
        &format!("/v1/actions/{id}/{verdict}"),
        Some(key),
        None,
        comment.map(|c| json!({"comment": c})),
    )
    .await
}

async fn status_of(env: &Env, id: &str) -> Value {
    env.admin(Method::GET, &format!("/v1/actions/{id}"), None)
        .await
        .body
}

/// A principal with `roles` in `teams`, and an unscoped-enough key of it.
async fn person(env: &Env, name: &str, roles: &[&str], teams: &[&str]) -> (String, String) {
    let id = principal(env, "user", name, roles, teams, None).await;
    let key = unscoped_key(env, &id).await;
    (id, key)
}

#[test]
fn agents_approvals_keep_separation_of_duties_quorum_team_and_expiry() {
    let env = start(&[("RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")]);
    rt().block_on(async {
        seed_roles(&env).await;
        let receiver = Receiver::start(&[]).await;
        let hook = env
            .admin(
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": receiver.url, "events": ["approval.requested"]})),
            )
            .await;
        assert_eq!(hook.status, 201, "{}", hook.body);
        let secret = hook.body["secret"].as_str().unwrap().to_owned();

        let (owner, owner_key) = person(&env, "olga-owner", &["operator"], &["payments"]).await;
        let (_submitter, submitter_key) =
            person(&env, "sam-runner", &["agent_runner"], &["payments"]).await;
        let (approver_a, a_key) = person(&env, "ada", &["operator"], &["payments"]).await;
        let (_b, b_key) = person(&env, "bob", &["operator"], &["payments"]).await;
        let (_c, c_key) = person(&env, "cyd-search", &["operator"], &["search"]).await;
        // The agent's role grants `actions:*`, approvals included: separation of duties still
        // keeps it from approving its own action.
        let (agent_id, agent_key) = agent(
            &env,
            "remediation-bot",
            Some(&owner),
            json!({"approvals_required": 2}),
        )
        .await;

        let pending = submit(
            &env,
            &submitter_key,
            &agent_id,
            action("rollback", 5.0, json!({"to": "v41"})),
        )
        .await;
        assert_eq!(pending.status, 201, "{}", pending.body);
        assert_eq!(pending.body["decision"], "pending_approval");
        assert_eq!(pending.body["approvals_required"], 2);
        let id = pending.body["id"].as_str().unwrap().to_owned();

        for (who, key) in [
            ("agent", &agent_key),
            ("submitter", &submitter_key),
            ("owner", &owner_key),
        ] {
            let refused = answer(&env, key, &id, "approve", None).await;
            assert_eq!(refused.status, 403, "{who}: {}", refused.body);
            assert!(
                refused.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("separation of duties"),
                "{who}: {}",
                refused.body
            );
        }
        // Another AI agent of the team, whose role grants `actions:*` too, never approves.
        let (_peer, peer_key) = agent(&env, "peer-bot", None, json!({})).await;
        let peer = answer(&env, &peer_key, &id, "approve", None).await;
        assert_eq!(peer.status, 403, "{}", peer.body);
        assert!(
            peer.body["detail"].as_str().unwrap().contains("AI agent"),
            "{}",
            peer.body
        );
        // A submitter of another team may not submit for this agent.
        let (_r, runner_key) =
            person(&env, "rita-search-runner", &["agent_runner"], &["search"]).await;
        let foreign = submit(
            &env,
            &runner_key,
            &agent_id,
            action("rollback", 1.0, json!({})),
        )
        .await;
        assert_eq!(foreign.status, 403, "{}", foreign.body);
        assert!(
            foreign.body["detail"]
                .as_str()
                .unwrap()
                .contains("team isolation"),
            "{}",
            foreign.body
        );
        let other_team = answer(&env, &c_key, &id, "approve", None).await;
        assert_eq!(other_team.status, 403, "{}", other_team.body);
        assert!(
            other_team.body["detail"].as_str().unwrap().contains("team"),
            "{}",
            other_team.body
        );
        // The other team's approver does not even see it pending.
        let listed = env
            .call(
                Method::GET,
                "/v1/approvals?status=pending",
                Some(&c_key),
                None,
                None,
            )
            .await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert!(!listed.body.to_string().contains(&id), "{}", listed.body);
        let listed = env
            .call(
                Method::GET,
                "/v1/approvals?status=pending",
                Some(&a_key),
                None,
                None,
            )
            .await;
        assert!(listed.body.to_string().contains(&id), "{}", listed.body);

        // 2 of N: one approval leaves it pending; the same approver twice is refused.
        let first = answer(&env, &a_key, &id, "approve", Some("checked the dashboards")).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.body["status"], "pending_approval");
        let again = answer(&env, &a_key, &id, "approve", None).await;
        assert_eq!(again.status, 403, "{}", again.body);
        let second = answer(&env, &b_key, &id, "approve", None).await;
        assert_eq!(second.status, 200, "{}", second.body);
        assert_eq!(second.body["status"], "approved");
        assert_eq!(second.body["approvals"].as_array().unwrap().len(), 2);
        assert_eq!(
            second.body["approvals"][0]["approver_id"],
            approver_a.as_str()
        );
        // Approved: the agent (or its submitter) takes the execution token.
        let token = env
            .call(
                Method::POST,
                &format!("/v1/actions/{id}/token"),
                Some(&agent_key),
                None,
                None,
            )
            .await;
        assert_eq!(token.status, 200, "{}", token.body);
        let stranger = env
            .call(
                Method::POST,
                &format!("/v1/actions/{id}/token"),
                Some(&a_key),
                None,
                None,
            )
            .await;
        assert_eq!(stranger.status, 403, "{}", stranger.body);
        let verified = env
            .call(
                Method::POST,
                "/v1/actions/verify-token",
                Some(&submitter_key),
                None,
                Some(json!({"token": token.body["execution_token"], "parameters": {"to": "v41"}})),
            )
            .await;
        assert_eq!(verified.body["valid"], true, "{}", verified.body);

        // One rejection rejects; nobody answers after.
        let other = submit(
            &env,
            &agent_key,
            &agent_id,
            action("failover", 5.0, json!({})),
        )
        .await;
        let other = other.body["id"].as_str().unwrap().to_owned();
        let rejected = answer(&env, &b_key, &other, "reject", Some("not during the sale")).await;
        assert_eq!(rejected.body["status"], "rejected", "{}", rejected.body);
        let late = answer(&env, &a_key, &other, "approve", None).await;
        assert_eq!(late.status, 409, "{}", late.body);

        // Every approval and rejection is audited with the agent as actor, naming who answered.
        let entries = env.audit_entries("agent.action_approved").await;
        let approvals: Vec<&Value> = entries
            .iter()
            .filter(|e| e["status"] == "success")
            .collect();
        assert_eq!(approvals.len(), 2, "{entries:?}");
        for entry in &approvals {
            assert_eq!(entry["actor"]["id"], agent_id.as_str(), "{entry}");
            assert!(entry["details"]["approver_id"].is_string(), "{entry}");
        }
        // The refused attempts are recorded too, as their callers' denials: the agent, the
        // submitter, the owner, the other team's approver, the repeated approval.
        let refused = entries.iter().filter(|e| e["status"] == "denied").count();
        assert_eq!(refused, 6, "{entries:?}");
        let rejections = env.audit_entries("agent.action_rejected").await;
        assert_eq!(
            rejections
                .iter()
                .filter(|e| e["status"] == "success")
                .count(),
            1
        );

        // The webhook heard of both pending actions, signed.
        let delivered = eventually(Duration::from_secs(10), || async {
            receiver.requests().len() >= 2
        })
        .await;
        assert!(delivered, "no approval.requested deliveries");
        let request = receiver.requests().remove(0);
        assert!(signature_valid(&secret, &request));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "approval.requested");
        assert_eq!(body["data"]["action_id"], id.as_str());
        assert_eq!(body["data"]["approvals_required"], 2);
    });
}

#[test]
fn agents_unapproved_actions_expire() {
    let env = start(&[]);
    rt().block_on(async {
        seed_roles(&env).await;
        let (_a, a_key) = person(&env, "ada", &["operator"], &["payments"]).await;
        let (agent_id, agent_key) = agent(
            &env,
            "slow-bot",
            None,
            json!({"approval_timeout_seconds": 1}),
        )
        .await;
        let pending = submit(
            &env,
            &agent_key,
            &agent_id,
            action("scale_down", 5.0, json!({})),
        )
        .await;
        let id = pending.body["id"].as_str().unwrap().to_owned();
        let expired = eventually(Duration::from_secs(15), || async {
            status_of(&env, &id).await["status"] == "expired"
        })
        .await;
        assert!(expired, "{}", status_of(&env, &id).await);
        let late = answer(&env, &a_key, &id, "approve", None).await;
        assert_eq!(late.status, 409, "{}", late.body);
        let entries = env.audit_entries("agent.action_expired").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["status"], "denied");
        assert_eq!(entries[0]["actor"]["id"], agent_id.as_str());
        // An expired action has no token to take.
        let token = env
            .call(
                Method::POST,
                &format!("/v1/actions/{id}/token"),
                Some(&agent_key),
                None,
                None,
            )
            .await;
        assert_eq!(token.status, 409, "{}", token.body);
    });
}
