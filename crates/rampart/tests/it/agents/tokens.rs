//! Execution tokens: PASETO v4.public that any PASETO library checks with the published key;
//! accepted by `verify-token` once only, and only with the exact parameters (in any member
//! order: RFC 8785); forged or altered tokens refused; the result reported once.

use base64::Engine as _;
use pasetors::Public;
use pasetors::keys::{AsymmetricKeyPair, AsymmetricPublicKey, Generate};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use reqwest::Method;
use serde_json::{Value, json};

use super::{action, agent, seed_roles, submit};
use crate::threat::{Answer, Env, rt, start};

async fn verify(env: &Env, key: &str, token: &str, parameters: Value) -> Answer {
    env.call(
        Method::POST,
        "/v1/actions/verify-token",
        Some(key),
        None,
        Some(json!({"token": token, "parameters": parameters})),
    )
    .await
}

#[test]
fn agents_execution_tokens_are_single_use_and_bound_to_the_parameters() {
    let env = start(&[]);
    rt().block_on(async {
        seed_roles(&env).await;
        let (agent_id, agent_key) = agent(&env, "scaler", None, json!({})).await;
        let app = env.user("app", &["agent_runner"]).await;
        let app_key = super::unscoped_key(&env, &app).await;
        let parameters = json!({"replicas": 6, "zone": "eu-west-1a", "limits": {"cpu": "2", "memory": "4Gi"}});
        let allowed = submit(&env, &agent_key, &agent_id, action("scale_up_within_limits", 5.0, parameters)).await;
        assert_eq!(allowed.body["decision"], "allowed", "{}", allowed.body);
        let id = allowed.body["id"].as_str().unwrap().to_owned();
        let token = allowed.body["execution_token"].as_str().unwrap().to_owned();

        // Anyone can check it offline with the published key.
        let published = env.call(Method::GET, "/v1/agents/token-key", None, None, None).await;
        assert_eq!(published.status, 200, "{}", published.body);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(published.body["public_key_b64"].as_str().unwrap())
            .unwrap();
        let public = AsymmetricPublicKey::<V4>::from(&raw).unwrap();
        let untrusted = UntrustedToken::<Public, V4>::try_from(token.as_str()).unwrap();
        let trusted = PublicToken::verify(&public, &untrusted, None, None).unwrap();
        let claims: Value = serde_json::from_str(trusted.payload()).unwrap();
        assert_eq!(claims["jti"], id.as_str());
        assert_eq!(claims["sub"], agent_id.as_str());
        assert_eq!(claims["action"], "scale_up_within_limits");
        assert_eq!(claims["target"]["id"], "checkout");
        assert_eq!(claims["parameters_sha256"], allowed.body["parameters_sha256"]);
        assert!(claims["exp"].is_string());

        // Changed parameters: refused, and the token is not spent.
        let changed = verify(&env, &app_key, &token, json!({"replicas": 60, "zone": "eu-west-1a", "limits": {"cpu": "2", "memory": "4Gi"}})).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(changed.body["valid"], false);
        assert!(changed.body["reason"].as_str().unwrap().contains("parameters"), "{}", changed.body);
        let missing = verify(&env, &app_key, &token, json!({"replicas": 6})).await;
        assert_eq!(missing.body["valid"], false, "{}", missing.body);
        // The token names its action and target: presented with another, it is refused (and
        // not spent).
        let elsewhere = env
            .call(Method::POST, "/v1/actions/verify-token", Some(&app_key), None,
                Some(json!({"token": token, "action": "rollback",
                    "parameters": {"replicas": 6, "zone": "eu-west-1a", "limits": {"cpu": "2", "memory": "4Gi"}}})))
            .await;
        assert_eq!(elsewhere.body["valid"], false, "{}", elsewhere.body);
        assert_eq!(elsewhere.body["reason"], "the token was issued for another action");
        assert_eq!(elsewhere.body["action"], "scale_up_within_limits", "{}", elsewhere.body);
        let other_target = env
            .call(Method::POST, "/v1/actions/verify-token", Some(&app_key), None,
                Some(json!({"token": token, "target": {"type": "deployment", "id": "search"},
                    "parameters": {"replicas": 6, "zone": "eu-west-1a", "limits": {"cpu": "2", "memory": "4Gi"}}})))
            .await;
        assert_eq!(other_target.body["reason"], "the token was issued for another target", "{}", other_target.body);
        // Integers RFC 8785 cannot keep exact are refused, never rounded into a match.
        let big = verify(&env, &app_key, &token, json!({"replicas": 9_007_199_254_740_993u64})).await;
        assert_eq!(big.body["valid"], false, "{}", big.body);
        // The same parameters in another member order and number spelling: valid, once.
        let same = json!({"limits": {"memory": "4Gi", "cpu": "2"}, "zone": "eu-west-1a", "replicas": 6.0});
        let first = env
            .call(Method::POST, "/v1/actions/verify-token", Some(&app_key), None,
                Some(json!({"token": token, "parameters": same, "action": "scale_up_within_limits",
                    "target": {"type": "deployment", "id": "checkout", "team_id": "payments"}})))
            .await;
        assert_eq!(first.body["valid"], true, "{}", first.body);
        assert_eq!(first.body["action_id"], id.as_str());
        let second = verify(&env, &app_key, &token, same).await;
        assert_eq!(second.body["valid"], false, "{}", second.body);
        assert_eq!(second.body["reason"], "already used");

        // Forged: the same claims signed by another key; altered: one character changed.
        let forger = AsymmetricKeyPair::<V4>::generate().unwrap();
        let forged =
            PublicToken::sign(&forger.secret, trusted.payload().as_bytes(), None, None).unwrap();
        let refused = verify(&env, &app_key, &forged, json!({})).await;
        assert_eq!(refused.body["valid"], false, "{}", refused.body);
        assert!(refused.body["reason"].as_str().unwrap().contains("not signed"), "{}", refused.body);
        let mut altered = token.clone().into_bytes();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(verify(&env, &app_key, &altered, json!({})).await.body["valid"], false);
        assert_eq!(verify(&env, &app_key, "not-a-token", json!({})).await.body["valid"], false);
        // A session token of this deployment is not an execution token either.
        let login = env
            .call(Method::POST, "/v1/auth/login", None, None,
                Some(json!({"name": "app", "password": crate::threat::PASSWORD})))
            .await;
        assert_eq!(login.status, 200, "{}", login.body);
        let session = login.body["token"].as_str().unwrap();
        assert_eq!(verify(&env, &app_key, session, json!({})).await.body["valid"], false);
        // Checking tokens takes agents:submit.
        let viewer = env.user("vera", &["viewer"]).await;
        let viewer_key = super::unscoped_key(&env, &viewer).await;
        assert_eq!(verify(&env, &viewer_key, &token, json!({})).await.status, 403);

        // Refused checks are audited as denials; the accepted one with the agent as actor.
        let refusals = env.audit_entries("agent.token_checked").await;
        assert!(refusals.len() >= 8, "{refusals:?}");
        assert!(refusals.iter().all(|e| e["status"] == "denied"));
        assert!(!serde_json::to_string(&refusals).unwrap().contains(&token));
        let used = env.audit_entries("agent.token_used").await;
        assert_eq!(used.len(), 1);
        assert_eq!(used[0]["actor"]["id"], agent_id.as_str());

        // The result, once.
        let result = env
            .call(Method::POST, &format!("/v1/actions/{id}/result"), Some(&agent_key), None,
                Some(json!({"status": "succeeded", "details": {"note": "scaled; paged ops@example.com"}})))
            .await;
        assert_eq!(result.status, 200, "{}", result.body);
        assert_eq!(result.body["status"], "executed");
        assert!(!result.body.to_string().contains("ops@example.com"), "{}", result.body);
        let again = env
            .call(Method::POST, &format!("/v1/actions/{id}/result"), Some(&agent_key), None,
                Some(json!({"status": "failed"})))
            .await;
        assert_eq!(again.status, 409, "{}", again.body);
        let bad = env
            .call(Method::POST, &format!("/v1/actions/{id}/result"), Some(&agent_key), None,
                Some(json!({"status": "maybe"})))
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        // The result is recorded with the agent as actor; the refused reports as the caller's
        // failures.
        let entries = env.audit_entries("agent.action_result").await;
        let recorded: Vec<&Value> = entries.iter().filter(|e| e["status"] == "success").collect();
        assert_eq!(recorded.len(), 1, "{entries:?}");
        assert_eq!(recorded[0]["actor"]["id"], agent_id.as_str());
        assert_eq!(entries.iter().filter(|e| e["status"] == "failure").count(), 2, "{entries:?}");

        // A success is reported only for an action whose token was checked; a key of the agent
        // narrowed to other actions gets no token of this one.
        let unchecked = submit(&env, &agent_key, &agent_id, action("create_ticket", 0.0, json!({}))).await;
        let unchecked = unchecked.body["id"].as_str().unwrap().to_owned();
        let early = env
            .call(Method::POST, &format!("/v1/actions/{unchecked}/result"), Some(&agent_key), None,
                Some(json!({"status": "succeeded"})))
            .await;
        assert_eq!(early.status, 409, "{}", early.body);
        let narrow = env.api_key(&agent_id, "narrow", &["actions:send_notification"]).await;
        let narrowed = env
            .call(Method::POST, &format!("/v1/actions/{unchecked}/token"), Some(&narrow), None, None)
            .await;
        assert_eq!(narrowed.status, 403, "{}", narrowed.body);
        let failed = env
            .call(Method::POST, &format!("/v1/actions/{unchecked}/result"), Some(&agent_key), None,
                Some(json!({"status": "failed", "details": {"error": "ticketing down"}})))
            .await;
        assert_eq!(failed.body["status"], "failed", "{}", failed.body);

        // The agent lists its own actions; a denied action never has a token.
        let mine = env
            .call(Method::GET, &format!("/v1/actions?agent_id={agent_id}&status=executed"), Some(&agent_key), None, None)
            .await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{}", mine.body);
        let denied = submit(&env, &agent_key, &agent_id, action("drop_database", 0.0, json!({}))).await;
        let denied_id = denied.body["id"].as_str().unwrap();
        let no_token = env
            .call(Method::POST, &format!("/v1/actions/{denied_id}/token"), Some(&agent_key), None, None)
            .await;
        assert_eq!(no_token.status, 409, "{}", no_token.body);
    });
}
