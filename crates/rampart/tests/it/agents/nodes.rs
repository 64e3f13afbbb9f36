//! Two servers on one PostgreSQL: the hourly cap is the database's (50 actions across both
//! nodes, then denied on either), an action submitted on one node is approved on the other, and
//! its execution token is accepted once across both.

use rampart_test_support::TestPostgres;
use reqwest::Method;
use serde_json::{Value, json};

use super::action;
use crate::support::{Server, client, master_key};
use crate::threat::{Answer, call};

struct Node<'a> {
    base: &'a str,
    http: &'a reqwest::Client,
}

impl Node<'_> {
    async fn send(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Answer {
        call(self.http, self.base, method, path, Some(key), None, body).await
    }

    async fn created(&self, path: &str, key: &str, body: Value) -> Value {
        let answer = self.send(Method::POST, path, key, Some(body)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body
    }
}

#[test]
fn agents_cap_approvals_and_tokens_hold_across_two_postgres_nodes() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let start = |dir: &tempfile::TempDir| {
        Server::start(
            &[
                "--database-url",
                pg.url(),
                "--data-dir",
                dir.path().to_str().unwrap(),
            ],
            &[("RAMPART_MASTER_KEY", &key)],
        )
    };
    let a = start(&dir_a);
    let admin = a
        .admin_key
        .clone()
        .expect("first start prints the admin key");
    let http = client(None, None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let na = Node {
        base: &a.base,
        http: &http,
    };
    // The role policy first: another node reads a changed policy within 6 s; B starts with it.
    rt.block_on(async {
        let mut policy = na.send(Method::GET, "/v1/policy", &admin, None).await.body;
        policy["roles"]["remediation_agent"] = json!({"permissions": ["actions:*"]});
        let put = na
            .send(Method::PUT, "/v1/policy", &admin, Some(policy))
            .await;
        assert_eq!(put.status, 200, "{}", put.body);
    });
    let b = start(&dir_b);
    let nb = Node {
        base: &b.base,
        http: &http,
    };
    rt.block_on(async {
        let agent = na
            .created(
                "/v1/principals",
                &admin,
                json!({"type": "ai_agent", "name": "bot",
                "roles": ["remediation_agent"], "teams": ["payments"]}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let agent_key = na
            .created(
                "/v1/api-keys",
                &admin,
                json!({"scopes": ["*"], "principal_id": agent, "name": "agent"}),
            )
            .await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let put = na
            .send(
                Method::PUT,
                &format!("/v1/agents/{agent}/guardrails"),
                &admin,
                Some(super::guardrails(json!({}))),
            )
            .await;
        assert_eq!(put.status, 200, "{}", put.body);
        let actions = format!("/v1/agents/{agent}/actions");
        // 50 in the hour, alternating nodes; the 51st is denied on either.
        for i in 0..50 {
            let node = if i % 2 == 0 { &na } else { &nb };
            let d = node
                .created(
                    &actions,
                    &agent_key,
                    action("create_ticket", 0.0, json!({"n": i})),
                )
                .await;
            assert_eq!(d["decision"], "allowed", "#{i}: {d}");
        }
        for node in [&na, &nb] {
            let d = node
                .created(
                    &actions,
                    &agent_key,
                    action("create_ticket", 0.0, json!({})),
                )
                .await;
            assert_eq!(d["rule"], "hourly_cap", "{d}");
        }
        // A pending action (it does not count past the cap: the cap denies it first), so a new
        // agent proposes it: submitted on A, approved on B, its token used once across both.
        let other = na
            .created(
                "/v1/principals",
                &admin,
                json!({"type": "ai_agent", "name": "bot2",
                "roles": ["remediation_agent"], "teams": ["payments"]}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let other_key = na
            .created(
                "/v1/api-keys",
                &admin,
                json!({"scopes": ["*"], "principal_id": other, "name": "agent"}),
            )
            .await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let put = na
            .send(
                Method::PUT,
                &format!("/v1/agents/{other}/guardrails"),
                &admin,
                Some(super::guardrails(json!({}))),
            )
            .await;
        assert_eq!(put.status, 200, "{}", put.body);
        let pending = na
            .created(
                &format!("/v1/agents/{other}/actions"),
                &other_key,
                action("rollback", 5.0, json!({"to": "v41"})),
            )
            .await;
        let id = pending["id"].as_str().unwrap();
        let approver = na
            .created(
                "/v1/principals",
                &admin,
                json!({"type": "service", "name": "approver",
                "roles": ["operator"], "teams": ["payments"]}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let approver_key = na
            .created(
                "/v1/api-keys",
                &admin,
                json!({"scopes": ["*"], "principal_id": approver, "name": "k"}),
            )
            .await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let approved = nb
            .send(
                Method::POST,
                &format!("/v1/actions/{id}/approve"),
                &approver_key,
                None,
            )
            .await;
        assert_eq!(approved.body["status"], "approved", "{}", approved.body);
        let token = na
            .send(
                Method::POST,
                &format!("/v1/actions/{id}/token"),
                &other_key,
                None,
            )
            .await
            .body["execution_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let check = json!({"token": token, "parameters": {"to": "v41"}});
        let first = nb
            .send(
                Method::POST,
                "/v1/actions/verify-token",
                &admin,
                Some(check.clone()),
            )
            .await;
        assert_eq!(first.body["valid"], true, "{}", first.body);
        let second = na
            .send(
                Method::POST,
                "/v1/actions/verify-token",
                &admin,
                Some(check),
            )
            .await;
        assert_eq!(second.body["reason"], "already used", "{}", second.body);
    });
}
