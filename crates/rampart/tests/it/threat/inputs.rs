//! Bad rule files stop start-up naming the rule and field; YAML and JSON files both work and
//! win over the API; bad API bodies are `422` naming the field and change nothing; only
//! `security:manage` changes anything.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Env, rt, rule, start};
use crate::support::Server;

fn refuses(file: &std::path::Path, names: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = Server::try_start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_RATE_LIMITS_FILE", file.to_str().unwrap())],
    )
    .err()
    .unwrap_or_else(|| panic!("started with {}", file.display()));
    let output = format!("{stdout}\n{stderr}");
    for name in names {
        assert!(output.contains(name), "{name} not named:\n{output}");
    }
}

#[test]
fn threat_bad_rule_files_stop_start_up_naming_the_rule_and_field() {
    let files = tempfile::tempdir().unwrap();
    let json_file = files.path().join("limits.json");
    std::fs::write(
        &json_file,
        json!({"rules": [rule("api-per-ip", "ip", &["*"], 100, 0)]}).to_string(),
    )
    .unwrap();
    refuses(&json_file, &["rules[0].window_seconds", "limits.json"]);

    let yaml_file = files.path().join("limits.yaml");
    std::fs::write(
        &yaml_file,
        "rules:\n  - name: fine\n    key: ip\n    match: [\"*\"]\n    limit: 10\n    window_seconds: 60\n  - name: bad\n    key: ip\n    match: [\"NOT A MATCHER\"]\n    limit: 10\n    window_seconds: 60\n",
    )
    .unwrap();
    refuses(&yaml_file, &["rules[1].match[0]", "limits.yaml"]);

    let unknown = files.path().join("unknown.yml");
    std::fs::write(
        &unknown,
        "rules:\n  - name: typo\n    key: ip\n    match: [\"*\"]\n    limit: 10\n    window_secs: 60\n",
    )
    .unwrap();
    refuses(&unknown, &["rules[0]", "window_secs"]);

    let missing = files.path().join("missing.json");
    refuses(&missing, &["missing.json"]);
}

/// A rules file in force: its rules count, `GET` says so, and `PUT` is `409`.
fn file_rules_in_force(file: &std::path::Path) {
    let env = start(&[
        ("RAMPART_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RAMPART_RATE_LIMITS_FILE", file.to_str().unwrap()),
    ]);
    rt().block_on(async {
        let shown = env.admin(Method::GET, "/v1/rate-limits", None).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        assert_eq!(shown.body["source"], "file", "{}", shown.body);
        assert_eq!(
            shown.body["rules"][0]["name"], "from-file",
            "{}",
            shown.body
        );
        assert_eq!(shown.body["rules"][0]["limit"], 1, "{}", shown.body);
        assert_eq!(env.anonymous("/v1/health", "203.0.113.1").await.status, 200);
        let refused = env.anonymous("/v1/health", "203.0.113.1").await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(
            refused
                .header("ratelimit")
                .unwrap()
                .starts_with(r#""from-file";r=0;"#)
        );

        let put = env
            .admin(
                Method::PUT,
                "/v1/rate-limits",
                Some(json!({"rules": [rule("other", "ip", &["*"], 5, 60)]})),
            )
            .await;
        assert_eq!(put.status, 409, "{}", put.body);
        let after = env.admin(Method::GET, "/v1/rate-limits", None).await;
        assert_eq!(after.body, shown.body);
    });
}

#[test]
fn threat_rule_files_in_yaml_and_json_both_work_and_win_over_the_api() {
    let files = tempfile::tempdir().unwrap();
    let yaml = files.path().join("limits.yml");
    std::fs::write(
        &yaml,
        "rules:\n  - name: from-file\n    key: ip\n    match: [\"GET /v1/health\"]\n    limit: 1\n    window_seconds: 3600\n",
    )
    .unwrap();
    file_rules_in_force(&yaml);
    let json_file = files.path().join("limits.json");
    std::fs::write(
        &json_file,
        json!({"rules": [rule("from-file", "ip", &["GET /v1/health"], 1, 3600)]}).to_string(),
    )
    .unwrap();
    file_rules_in_force(&json_file);
}

async fn refused_body(env: &Env, method: Method, path: &str, body: Value, field: &str) {
    let answer = env.admin(method, path, Some(body.clone())).await;
    assert_eq!(answer.status, 422, "{body} -> {}", answer.body);
    assert_eq!(
        answer.problem(),
        Some("validation-failed"),
        "{}",
        answer.body
    );
    assert!(
        answer.fields().iter().any(|f| f == field),
        "{body}: {field} not named in {}",
        answer.body
    );
}

#[test]
fn threat_bad_api_bodies_are_422_naming_the_field_and_change_nothing() {
    let env = start(&[]);
    rt().block_on(async {
        let good = rule("api-per-ip", "ip", &["*"], 100, 60);
        let before = env.put_rules(json!([good.clone()])).await;
        env.put_ip_rules(&["10.0.0.0/8", "127.0.0.1"], &["10.9.9.9"]).await;
        let ip_before = env.admin(Method::GET, "/v1/ip-rules", None).await.body;

        let with = |field: &str, value: Value| {
            let mut bad = good.clone();
            bad[field] = value;
            json!({"rules": [good.clone(), {"name": "second", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}, bad]})
        };
        let put = Method::PUT;
        for (body, field) in [
            (with("limit", json!(0)), "rules[2].limit"),
            (with("window_seconds", json!(0)), "rules[2].window_seconds"),
            (with("window_seconds", json!(86_401)), "rules[2].window_seconds"),
            (with("key", json!("planet")), "rules[2].key"),
            (with("match", json!([])), "rules[2].match"),
            (with("match", json!(["keys:decrypt", "GET no-slash"])), "rules[2].match[1]"),
            (with("applies_to", json!("robots")), "rules[2].applies_to"),
            (with("name", json!("api-per-ip")), "rules[2].name"),
            (with("name", json!("has space")), "rules[2].name"),
        ] {
            refused_body(&env, put.clone(), "/v1/rate-limits", body, field).await;
        }
        let answer = env
            .admin(Method::PUT, "/v1/rate-limits", Some(json!({"rules": "none"})))
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        let after = env.admin(Method::GET, "/v1/rate-limits", None).await;
        assert_eq!(after.body, before, "a refused body changed the rules");

        for (body, field) in [
            (json!({"allow": ["10.0.0.0/33"], "deny": []}), "allow[0]"),
            (json!({"allow": [], "deny": ["10.0.0.1", "nope"]}), "deny[1]"),
        ] {
            refused_body(&env, put.clone(), "/v1/ip-rules", body, field).await;
        }
        let ip_after = env.admin(Method::GET, "/v1/ip-rules", None).await.body;
        assert_eq!(ip_after, ip_before, "a refused body changed the address rules");

        for (body, field) in [
            (json!({"address": "nope", "seconds": 60}), "address"),
            (json!({"address": "10.0.0.1/8", "seconds": 60}), "address"),
            (json!({"address": "10.0.0.1", "seconds": 0}), "seconds"),
            (json!({"address": "10.0.0.1", "seconds": 400 * 86_400}), "seconds"),
        ] {
            refused_body(&env, Method::POST, "/v1/blocks", body, field).await;
        }
        assert!(env.blocks().await.is_empty());
        let lift = env.admin(Method::DELETE, "/v1/blocks/not-an-address", None).await;
        assert_eq!(lift.status, 422, "{}", lift.body);

        // Only security:manage changes anything: a viewer gets 403 and nothing changes.
        let viewer = env.user("vera", &["viewer"]).await;
        let key = env.api_key(&viewer, "v", &["audit:read"]).await;
        for (method, path, body) in [
            (Method::PUT, "/v1/rate-limits", json!({"rules": [rule("x", "ip", &["*"], 1, 60)]})),
            (Method::PUT, "/v1/ip-rules", json!({"allow": [], "deny": []})),
            (Method::POST, "/v1/blocks", json!({"address": "10.0.0.1", "seconds": 60})),
        ] {
            let answer = env.call(method, path, Some(&key), None, Some(body)).await;
            assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        }
        let answer = env
            .call(Method::DELETE, "/v1/blocks/10.0.0.1", Some(&key), None, None)
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(env.admin(Method::GET, "/v1/rate-limits", None).await.body, before);
        assert_eq!(env.admin(Method::GET, "/v1/ip-rules", None).await.body, ip_before);
        assert!(env.blocks().await.is_empty());

        // Every change made is audited with what it replaced.
        let changes = env.audit_entries("security.rate_limits.update").await;
        let success: Vec<&Value> = changes.iter().filter(|e| e["status"] == "success").collect();
        assert_eq!(success.len(), 1, "{changes:#?}");
        assert_eq!(success[0]["details"]["after"]["rules"][0]["name"], "api-per-ip");
        assert_eq!(success[0]["details"]["before"]["rules"][0]["name"], "unauthenticated-per-address");
    });
}
