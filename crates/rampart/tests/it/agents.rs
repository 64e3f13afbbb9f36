//! Issue 19: AI-agent governance on the real binary, over HTTP. Every rule in its order
//! (forbidden beats auto-approve; an action the agent's roles do not grant is denied even if
//! auto-approved; the 51st action in an hour is denied, also after a restart; a blast radius
//! over the limit is denied), every decision audited with the agent as actor and its
//! reasoning and tool calls redacted; approvals under separation of duties, quorum, team
//! isolation and expiry (`approvals`); execution tokens single-use and bound to the exact
//! parameters (`tokens`).

mod approvals;
mod nodes;
mod tokens;

use reqwest::Method;
use serde_json::{Value, json};

use crate::threat::{Answer, Env, rt, start};

/// The roles of seed 003's agents and of the people around them, added to the default policy:
/// the remediation agent may propose any action (`actions:*`: the guardrails decide), the
/// investigation agent only tickets and queries; `agent_runner` submits for agents and checks
/// their tokens.
pub async fn seed_roles(env: &Env) {
    let mut policy = env.admin(Method::GET, "/v1/policy", None).await.body;
    policy["roles"]["remediation_agent"] = json!({"permissions": ["actions:*"]});
    policy["roles"]["investigation_agent"] =
        json!({"permissions": ["actions:create_ticket", "actions:run_query"]});
    policy["roles"]["agent_runner"] =
        json!({"inherits": ["operator"], "permissions": ["agents:submit"]});
    let put = env.admin(Method::PUT, "/v1/policy", Some(policy)).await;
    assert_eq!(put.status, 200, "{}", put.body);
}

/// A principal of `kind` with `roles`, `teams` and an optional owner; its id.
pub async fn principal(
    env: &Env,
    kind: &str,
    name: &str,
    roles: &[&str],
    teams: &[&str],
    owner: Option<&str>,
) -> String {
    let mut body = json!({"type": kind, "name": name, "roles": roles, "teams": teams});
    if let Some(owner) = owner {
        body["owner_id"] = json!(owner);
    }
    let answer = env.admin(Method::POST, "/v1/principals", Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

/// Seed 003's guardrails, with `changes` merged in.
pub fn guardrails(changes: Value) -> Value {
    let mut g = json!({"max_actions_per_hour": 50,
        "forbidden_actions": ["drop_database", "delete_namespace", "modify_dns"],
        "require_approval": ["rollback", "failover", "scale_down"],
        "auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits"],
        "max_blast_radius": {"traffic_percent": 10}, "approvals_required": 1,
        "approval_timeout_seconds": 3600, "otherwise": "deny"});
    for (k, v) in changes.as_object().unwrap() {
        g[k] = v.clone();
    }
    g
}

/// An unscoped API key of `principal` (everything its roles grant).
pub async fn unscoped_key(env: &Env, principal: &str) -> String {
    let answer = env
        .admin(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"scopes": ["*"], "principal_id": principal, "name": "unscoped"})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["key"].as_str().unwrap().to_owned()
}

pub async fn put_guardrails(env: &Env, agent: &str, body: Value) {
    let put = env
        .admin(
            Method::PUT,
            &format!("/v1/agents/{agent}/guardrails"),
            Some(body),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
}

/// An action on `checkout` of team `payments`.
pub fn action(name: &str, traffic: f64, parameters: Value) -> Value {
    json!({"action": name, "target": {"type": "deployment", "id": "checkout", "team_id": "payments"},
           "parameters": parameters, "blast_radius": {"traffic_percent": traffic},
           "reasoning": "error rate above 5% since the last deploy"})
}

pub async fn submit(env: &Env, key: &str, agent: &str, body: Value) -> Answer {
    env.call(
        Method::POST,
        &format!("/v1/agents/{agent}/actions"),
        Some(key),
        None,
        Some(body),
    )
    .await
}

/// A remediation agent of team `payments` owned by `owner` (if any), with seed 003's
/// guardrails plus `changes`; its id and key.
pub async fn agent(env: &Env, name: &str, owner: Option<&str>, changes: Value) -> (String, String) {
    let id = principal(
        env,
        "ai_agent",
        name,
        &["remediation_agent"],
        &["payments"],
        owner,
    )
    .await;
    let key = env.api_key(&id, "agent", &["actions:*"]).await;
    put_guardrails(env, &id, guardrails(changes)).await;
    (id, key)
}

#[test]
fn agents_decide_in_order_and_audit_every_decision_redacted() {
    let env = start(&[]);
    rt().block_on(async {
        seed_roles(&env).await;
        // drop_database is listed as auto-approved too: forbidden still wins.
        let (agent, key) = agent(
            &env,
            "remediation-bot",
            None,
            json!({"auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits", "drop_database"]}),
        )
        .await;
        let decide = |body: Value| submit(&env, &key, &agent, body);
        let forbidden = decide(action("drop_database", 0.0, json!({}))).await;
        assert_eq!(forbidden.status, 201, "{}", forbidden.body);
        assert_eq!(forbidden.body["decision"], "denied");
        assert_eq!(forbidden.body["rule"], "forbidden");
        assert_eq!(forbidden.body["execution_token"], Value::Null);

        let allowed = decide(action("scale_up_within_limits", 5.0, json!({"replicas": 6}))).await;
        assert_eq!(allowed.body["decision"], "allowed", "{}", allowed.body);
        assert!(allowed.body["execution_token"].as_str().unwrap().starts_with("v4.public."));
        let over = decide(action("scale_up_within_limits", 10.5, json!({}))).await;
        assert_eq!((over.body["decision"].as_str(), over.body["rule"].as_str()), (Some("denied"), Some("blast_radius")));
        let pending = decide(action("rollback", 5.0, json!({"to": "v41"}))).await;
        assert_eq!(pending.body["decision"], "pending_approval", "{}", pending.body);
        assert_eq!(pending.body["execution_token"], Value::Null);
        let unlisted = decide(action("reboot", 1.0, json!({}))).await;
        assert_eq!(unlisted.body["rule"], "otherwise", "{}", unlisted.body);
        // Team isolation: the agent is in `payments`, the target in `search`.
        let mut elsewhere = action("create_ticket", 0.0, json!({}));
        elsewhere["target"]["team_id"] = json!("search");
        let elsewhere = decide(elsewhere).await;
        assert_eq!(elsewhere.body["rule"], "permission", "{}", elsewhere.body);

        // An auto-approved action the agent's roles do not grant is denied.
        let investigator =
            principal(&env, "ai_agent", "investigator", &["investigation_agent"], &["payments"], None).await;
        let investigator_key = unscoped_key(&env, &investigator).await;
        put_guardrails(&env, &investigator, guardrails(json!({}))).await;
        let not_granted =
            submit(&env, &investigator_key, &investigator, action("send_notification", 0.0, json!({}))).await;
        assert_eq!(not_granted.body["decision"], "denied", "{}", not_granted.body);
        assert_eq!(not_granted.body["rule"], "permission");
        assert!(not_granted.body["reason"].as_str().unwrap().contains("actions:send_notification"));
        let granted =
            submit(&env, &investigator_key, &investigator, action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(granted.body["decision"], "allowed", "{}", granted.body);

        // Reasoning and tool calls are stored redacted (default PII policy).
        let words = json!({"action": "create_ticket", "target": {"type": "ticket", "id": "t-1", "team_id": "payments"},
            "reasoning": "customer jane.doe@example.com paid with 4111 1111 1111 1111 and was charged twice",
            "tool_calls": [{"name": "lookup_customer", "arguments": {"email": "jane.doe@example.com", "card": "4111111111111111"}}]});
        let said = decide(words).await;
        assert_eq!(said.status, 201, "{}", said.body);

        // Every decision is in the audit log, with the agent as actor.
        let entries = env
            .admin(Method::GET, "/v1/audit/entries?action=agent.action_decided&limit=100", None)
            .await;
        let items = entries.body["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 9, "{}", entries.body);
        for entry in &items {
            assert_eq!(entry["actor"]["type"], "ai_agent", "{entry}");
            assert!([agent.as_str(), investigator.as_str()].contains(&entry["actor"]["id"].as_str().unwrap()));
        }
        let denied = items.iter().filter(|e| e["status"] == "denied").count();
        assert_eq!(denied, 5);
        let redacted = items
            .iter()
            .find(|e| e["resource"]["id"] == said.body["id"])
            .unwrap()
            .to_string();
        for canary in ["jane.doe@example.com", "4111 1111 1111 1111", "4111111111111111"] {
            assert!(!redacted.contains(canary), "{canary} in {redacted}");
        }
        assert!(redacted.contains("charged twice"), "{redacted}");
        assert!(redacted.contains("[REDACTED:CREDIT_CARD]"), "{redacted}");
        // No duplicate entry from the API's own audit trail.
        let routes = env
            .admin(Method::GET, "/v1/audit/entries?action=api.post&limit=100", None)
            .await;
        assert!(!routes.body.to_string().contains("/actions"), "{}", routes.body);
    });
}

#[test]
fn agents_refuse_bad_requests_naming_the_field_and_record_nothing() {
    let env = start(&[]);
    rt().block_on(async {
        seed_roles(&env).await;
        let (agent, key) = agent(&env, "remediation-bot", None, json!({})).await;
        for (body, field) in [
            (json!({"action": "Roll Back", "target": {"type": "d", "id": "x"}}), "action"),
            (json!({"action": "rollback", "target": {"type": "d", "id": ""}}), "target.id"),
            (json!({"action": "rollback", "target": {"type": "d", "id": "x"}, "parameters": [1]}), "parameters"),
            (json!({"action": "rollback", "target": {"type": "d", "id": "x"}, "blast_radius": {"traffic_percent": -1}}), "blast_radius.traffic_percent"),
            (json!({"action": "rollback", "target": {"type": "d", "id": "x"}, "surprise": 1}), "does not take"),
        ] {
            let answer = submit(&env, &key, &agent, body.clone()).await;
            assert_eq!(answer.status, 422, "{body} -> {}", answer.body);
            assert!(answer.body.to_string().contains(field), "{field}: {}", answer.body);
        }
        for (body, field) in [
            (guardrails(json!({"max_actions_per_hour": 0})), "max_actions_per_hour"),
            (guardrails(json!({"forbidden_actions": ["DROP DB"]})), "forbidden_actions[0]"),
            (guardrails(json!({"max_blast_radius": {"traffic_percent": 101}})), "max_blast_radius.traffic_percent"),
            (guardrails(json!({"approvals_required": 11})), "approvals_required"),
            (guardrails(json!({"otherwise": "allow"})), "otherwise"),
        ] {
            let answer = env
                .admin(Method::PUT, &format!("/v1/agents/{agent}/guardrails"), Some(body))
                .await;
            assert_eq!(answer.status, 422, "{field}: {}", answer.body);
            assert!(answer.body.to_string().contains(field), "{field}: {}", answer.body);
        }
        // The guardrails in force are still the first ones.
        let read = env
            .admin(Method::GET, &format!("/v1/agents/{agent}/guardrails"), None)
            .await;
        assert_eq!(read.body["max_actions_per_hour"], 50, "{}", read.body);
        // Nothing decided: the refused requests are recorded as failures only.
        let decided = env.audit_entries("agent.action_decided").await;
        assert!(decided.iter().all(|e| e["status"] == "failure"), "{decided:?}");
        let actions = env.admin(Method::GET, "/v1/actions", None).await;
        assert_eq!(actions.body["items"], json!([]), "{}", actions.body);

        // Who may submit: the agent, or agents:submit; an unknown agent is 404, a principal
        // that is not an agent 422.
        let viewer = env.user("vera", &["viewer"]).await;
        let viewer_key = env.api_key(&viewer, "k", &["audit:read"]).await;
        let refused = submit(&env, &viewer_key, &agent, action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let unknown = submit(&env, &env.admin, "0190b5d2-8f2e-7000-8000-000000000000", action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(unknown.status, 404, "{}", unknown.body);
        let not_agent = submit(&env, &env.admin, &viewer, action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(not_agent.status, 422, "{}", not_agent.body);
        // A key of the agent narrowed to other actions may not propose this one.
        let narrow = env.api_key(&agent, "narrow", &["actions:create_ticket"]).await;
        let narrowed = submit(&env, &narrow, &agent, action("scale_up_within_limits", 1.0, json!({}))).await;
        assert_eq!(narrowed.status, 403, "{}", narrowed.body);
        // An agent without guardrails is denied everything.
        let (bare, bare_key) = {
            let id = principal(&env, "ai_agent", "bare", &["remediation_agent"], &["payments"], None).await;
            let key = env.api_key(&id, "agent", &["actions:*"]).await;
            (id, key)
        };
        let no_rails = submit(&env, &bare_key, &bare, action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(no_rails.body["rule"], "no_guardrails", "{}", no_rails.body);
    });
}

#[test]
fn agents_51st_action_in_an_hour_is_denied_across_a_restart() {
    let mut env = start(&[]);
    let (agent, key) = rt().block_on(async {
        seed_roles(&env).await;
        let (agent, key) = agent(&env, "busy-bot", None, json!({})).await;
        for i in 0..50 {
            let answer = submit(
                &env,
                &key,
                &agent,
                action("create_ticket", 0.0, json!({"n": i})),
            )
            .await;
            assert_eq!(answer.body["decision"], "allowed", "#{i}: {}", answer.body);
        }
        let capped = submit(
            &env,
            &key,
            &agent,
            action("create_ticket", 0.0, json!({"n": 50})),
        )
        .await;
        assert_eq!(capped.body["decision"], "denied", "{}", capped.body);
        assert_eq!(capped.body["rule"], "hourly_cap");
        // A forbidden action is still forbidden (deny wins, whatever the count).
        let forbidden = submit(&env, &key, &agent, action("modify_dns", 0.0, json!({}))).await;
        assert_eq!(forbidden.body["rule"], "forbidden");
        (agent, key)
    });
    // The count is the database's: a restarted node still sees it.
    env.kill_9_and_restart();
    rt().block_on(async {
        let capped = submit(&env, &key, &agent, action("create_ticket", 0.0, json!({}))).await;
        assert_eq!(capped.body["rule"], "hourly_cap", "{}", capped.body);
    });
}
