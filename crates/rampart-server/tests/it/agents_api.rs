//! Agent governance in process: what needs the clock moved (an execution token presented after
//! its five minutes), and the routes' permissions.

use http::{Method, StatusCode};
use rampart_app::agents::{Origin, Presented};
use serde_json::json;

use crate::harness::App;

/// An AI-agent principal of team payments whose role proposes anything, with seed 003's
/// guardrails; its id.
async fn agent(app: &App) -> String {
    let mut policy = app.get("/v1/policy").await.body;
    policy["roles"]["remediation_agent"] = json!({"permissions": ["actions:*"]});
    let put = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(policy))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let created = app
        .post(
            "/v1/principals",
            json!({"type": "ai_agent", "name": "bot", "roles": ["remediation_agent"], "teams": ["payments"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let put = app
        .call(
            Method::PUT,
            &format!("/v1/agents/{id}/guardrails"),
            Some(&app.admin),
            Some(json!({"auto_approve": ["scale_up_within_limits"], "max_actions_per_hour": 50})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(
        put.body["otherwise"], "deny",
        "defaults written out: {}",
        put.body
    );
    id
}

#[tokio::test]
async fn an_expired_execution_token_is_refused_and_stays_unused() {
    let app = App::new().await;
    let id = agent(&app).await;
    let parameters = json!({"replicas": 4});
    let decided = app
        .post(
            &format!("/v1/agents/{id}/actions"),
            json!({"action": "scale_up_within_limits", "target": {"type": "deployment", "id": "checkout", "team_id": "payments"},
                   "parameters": parameters}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::CREATED, "{}", decided.text);
    let token = decided.body["execution_token"].as_str().unwrap().to_owned();
    let origin = Origin::system();
    let later =
        time::OffsetDateTime::now_utc() + time::Duration::minutes(5) + time::Duration::seconds(1);
    let check = app
        .state
        .agents()
        .verify_token(&token, &parameters, &Presented::default(), &origin, later)
        .await
        .unwrap();
    assert!(!check.valid);
    assert_eq!(check.reason, "the token has expired");
    // Within its five minutes it is still good, once.
    let now = time::OffsetDateTime::now_utc();
    let check = app
        .state
        .agents()
        .verify_token(&token, &parameters, &Presented::default(), &origin, now)
        .await
        .unwrap();
    assert!(check.valid, "{check:?}");
}

#[tokio::test]
async fn agent_routes_check_permissions() {
    let app = App::new().await;
    let id = agent(&app).await;
    // A viewer may not read or set guardrails, list approvals or check tokens.
    for (method, uri, body) in [
        (Method::GET, format!("/v1/agents/{id}/guardrails"), None),
        (
            Method::PUT,
            format!("/v1/agents/{id}/guardrails"),
            Some(json!({})),
        ),
        (Method::GET, "/v1/approvals".to_owned(), None),
        (
            Method::POST,
            "/v1/actions/verify-token".to_owned(),
            Some(json!({"token": "x"})),
        ),
        (
            Method::POST,
            format!("/v1/agents/{id}/actions"),
            Some(json!({"action": "x", "target": {"type": "a", "id": "b"}})),
        ),
    ] {
        let answer = app
            .call(method.clone(), &uri, Some(&app.viewer), body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            answer.text
        );
    }
    // The token key is public.
    let key = app
        .call(Method::GET, "/v1/agents/token-key", None, None)
        .await;
    assert_eq!(key.status, StatusCode::OK, "{}", key.text);
    assert!(
        key.body["paserk"]
            .as_str()
            .unwrap()
            .starts_with("k4.public.")
    );
    // Unknown ids.
    assert_eq!(
        app.get("/v1/actions/act_nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/agents/not-a-uuid/guardrails").await.status,
        StatusCode::NOT_FOUND
    );
    // A guardrails document for a principal that is not an agent.
    let viewer_rails = app
        .call(
            Method::PUT,
            &format!("/v1/agents/{}/guardrails", app.viewer_id),
            Some(&app.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        viewer_rails.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        viewer_rails.text
    );
}

#[tokio::test]
async fn an_agent_has_an_owner_set_changed_and_checked() {
    let app = App::new().await;
    let id = agent(&app).await;
    let owner = app.viewer_id.clone();
    let set = app
        .call(
            Method::PATCH,
            &format!("/v1/principals/{id}"),
            Some(&app.admin),
            Some(json!({"owner_id": owner})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["owner_id"], owner.as_str());
    let read = app.get(&format!("/v1/principals/{id}")).await;
    assert_eq!(read.body["owner_id"], owner.as_str(), "{}", read.text);
    for (value, why) in [
        (json!("not-a-uuid"), "is the id of a principal"),
        (
            json!("0190b5d2-8f2e-7000-8000-000000000000"),
            "names no principal",
        ),
        (json!(id), "cannot own itself"),
        (json!(7), "must be a principal id or null"),
    ] {
        let refused = app
            .call(
                Method::PATCH,
                &format!("/v1/principals/{id}"),
                Some(&app.admin),
                Some(json!({"owner_id": value})),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert!(refused.text.contains(why), "{why}: {}", refused.text);
    }
    let cleared = app
        .call(
            Method::PATCH,
            &format!("/v1/principals/{id}"),
            Some(&app.admin),
            Some(json!({"owner_id": null})),
        )
        .await;
    assert_eq!(
        cleared.body["owner_id"],
        serde_json::Value::Null,
        "{}",
        cleared.text
    );
}

/// docs/examples: seed 003's role policy loads as a `policy_file`, each agent's guardrails are
/// valid, and they decide as docs/agents.md says.
#[test]
fn the_seed_003_examples_load_and_decide_as_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    let policy = rampart_access::Policy::from_yaml(
        &std::fs::read_to_string(root.join("seed-003-roles.yaml")).unwrap(),
    )
    .unwrap();
    let all: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("seed-003-guardrails.json")).unwrap(),
    )
    .unwrap();
    let remediation: rampart_agents::Guardrails =
        rampart_agents::Guardrails::from_json(&all["remediation-agent"].to_string()).unwrap();
    for (name, document) in &all {
        rampart_agents::Guardrails::from_json(&document.to_string())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let roles = vec!["remediation_agent".to_owned()];
    let teams = vec!["payments".to_owned()];
    let subject = rampart_access::Subject {
        roles: &roles,
        teams: &teams,
        disabled: false,
    };
    let now = time::OffsetDateTime::now_utc();
    let decide = |action: &str| {
        let answer = policy.decide(subject, &format!("actions:{action}"), Some("payments"));
        let request = rampart_agents::ActionRequest {
            action: action.to_owned(),
            ..rampart_agents::ActionRequest::default()
        };
        let grant = rampart_agents::Grant {
            allowed: answer.allowed,
            reason: answer.reason,
        };
        rampart_agents::decide(Some(&remediation), &request, &grant, Some(0), now).decision
    };
    use rampart_agents::Decision::{Allowed, Denied, PendingApproval};
    assert_eq!(decide("rollback"), PendingApproval);
    assert_eq!(decide("scale_up_within_limits"), Allowed);
    assert_eq!(decide("drop_database"), Denied);
    assert_eq!(decide("run_query"), Denied, "not the remediation agent's");
    // The runner approves nothing.
    let runner = vec!["agent_runner".to_owned()];
    assert!(policy.grants(&runner, "actions:approve").is_none());
}
