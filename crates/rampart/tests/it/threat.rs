//! Issue 15: threat protection on the real binary, over HTTP: rate-limit rules per key type and
//! per rule, the shared brake across two servers, blocks after failures, address rules, and
//! what bad rules and bodies do. Client addresses other than loopback are simulated with
//! `X-Forwarded-For` from loopback, listed in `trusted_proxies` where a test needs it.
//!
//! Every limit is small and every window long (an hour), so a slow machine cannot refill a
//! bucket mid-test; where a value depends on elapsed time (`Retry-After`), the test measures
//! the time and allows exactly that much.

mod addresses;
mod blocks;
mod inputs;
mod limits;
mod shared;

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{Server, client};

pub const PASSWORD: &str = "correct-Horse-battery-9";
/// A token that is no valid credential: every request with it is a `401` (a failure).
pub const JUNK: &str = "rk_junk_not_a_key";

/// A server on its own data dir, with the admin key of its first start.
pub struct Env {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
}

/// What a request got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// `Retry-After` in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        self.header("retry-after").map(|v| v.parse().unwrap())
    }

    /// The problem type's slug (`rate-limited`), if the body is a problem.
    pub fn problem(&self) -> Option<&str> {
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("https://rampart.dev/problems/"))
    }

    /// The fields a `422` names.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Starts a server on a fresh data dir with `envs`.
pub fn start(envs: &[(&str, &str)]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], envs);
    Env {
        base: server.base.clone(),
        admin: server
            .admin_key
            .clone()
            .expect("first start prints the admin key"),
        server,
        dir,
        envs: envs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        http: client(None, None),
    }
}

/// A rule in API.md's shape.
pub fn rule(name: &str, key: &str, matches: &[&str], limit: u32, window_seconds: u32) -> Value {
    json!({"name": name, "key": key, "match": matches, "limit": limit, "window_seconds": window_seconds})
}

impl Env {
    /// Kills the server with SIGKILL and starts it again on the same data dir and settings.
    pub fn kill_9_and_restart(&mut self) {
        self.server.kill_9();
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.server = Server::start(&["--data-dir", self.dir.path().to_str().unwrap()], &envs);
        self.base = self.server.base.clone();
    }

    /// One request: `key` as bearer token, `from` as `X-Forwarded-For`, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        from: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        call(&self.http, &self.base, method, path, key, from, body).await
    }

    /// A request as the admin, from loopback.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, Some(&self.admin), None, body).await
    }

    /// `GET path` from `from` without a credential.
    pub async fn anonymous(&self, path: &str, from: &str) -> Answer {
        self.call(Method::GET, path, None, Some(from), None).await
    }

    /// Replaces the rate-limit rules; asserts success.
    pub async fn put_rules(&self, rules: Value) -> Value {
        let answer = self
            .admin(
                Method::PUT,
                "/v1/rate-limits",
                Some(json!({"rules": rules})),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["source"], "api", "{}", answer.body);
        answer.body
    }

    /// Replaces the address rules; asserts success.
    pub async fn put_ip_rules(&self, allow: &[&str], deny: &[&str]) {
        let answer = self
            .admin(
                Method::PUT,
                "/v1/ip-rules",
                Some(json!({"allow": allow, "deny": deny})),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    /// A user with `roles`; its id.
    pub async fn user(&self, name: &str, roles: &[&str]) -> String {
        let answer = self
            .admin(
                Method::POST,
                "/v1/principals",
                Some(json!({"type": "user", "name": name, "password": PASSWORD, "roles": roles})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    /// An API key of `principal`; the key.
    pub async fn api_key(&self, principal: &str, name: &str, scopes: &[&str]) -> String {
        let answer = self
            .admin(
                Method::POST,
                "/v1/api-keys",
                Some(json!({"principal_id": principal, "name": name, "scopes": scopes})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["key"].as_str().unwrap().to_owned()
    }

    /// The blocks in force.
    pub async fn blocks(&self) -> Vec<Value> {
        let answer = self.admin(Method::GET, "/v1/blocks", None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"].as_array().unwrap().clone()
    }

    /// The audit entries with `action`.
    pub async fn audit_entries(&self, action: &str) -> Vec<Value> {
        let answer = self
            .admin(
                Method::GET,
                &format!("/v1/audit/entries?action={action}&limit=1000"),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"].as_array().unwrap().clone()
    }

    /// `rampart_rate_limited` of `rule` in `/metrics` (0 when absent).
    pub async fn rate_limited_metric(&self, rule: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let label = format!("rule=\"{rule}\"");
        text.lines()
            .filter(|line| line.starts_with("rampart_rate_limited") && line.contains(&label))
            .map(|line| {
                line.split_whitespace()
                    .last()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap()
            })
            .sum()
    }

    /// Sends `n` requests from `from` with a junk token: `n` failures (401s); asserts each.
    pub async fn fail(&self, from: &str, n: usize) {
        for i in 0..n {
            let answer = self
                .call(Method::GET, "/v1/auth/whoami", Some(JUNK), Some(from), None)
                .await;
            assert_eq!(
                answer.status, 401,
                "failure {i} from {from}: {}",
                answer.body
            );
        }
    }

    /// Whether `from` is blocked now (the admin's request from it gets `403 address-blocked`;
    /// authenticated, so the built-in per-address limit does not count it).
    pub async fn blocked(&self, from: &str) -> bool {
        let answer = self
            .call(
                Method::GET,
                "/v1/auth/whoami",
                Some(&self.admin),
                Some(from),
                None,
            )
            .await;
        match answer.status {
            200 => false,
            403 => {
                assert_eq!(answer.problem(), Some("address-blocked"), "{}", answer.body);
                true
            }
            other => panic!("unexpected {other} for {from}: {}", answer.body),
        }
    }
}

/// One request to `base` (see [`Env::call`]).
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    key: Option<&str>,
    from: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(from) = from {
        request = request.header("x-forwarded-for", from);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// Polls `check` every 200 ms until it holds, for at most `within`.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts that `retry_after` is `expected` seconds less at most the whole seconds `elapsed`
/// since the bucket's first request (rounded up): right to the second.
pub fn assert_retry_after(retry_after: u64, expected: u64, elapsed: Duration) {
    let slack = elapsed.as_secs() + 1;
    assert!(
        retry_after <= expected && retry_after + slack >= expected,
        "Retry-After {retry_after}, expected {expected} (less at most {slack} s elapsed)"
    );
}
