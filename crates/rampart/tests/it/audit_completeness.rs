//! The audit-completeness property, against a running server: every state-changing route of the
//! OpenAPI document (POST, PUT, PATCH, DELETE), called with the largest inputs it allows, yields
//! exactly the audit entries it promises (one per change, carrying the request's id; none for
//! pure computations), and the same call past a bound is refused with 422 and changes nothing.
//! A route added to the document without a step here fails the test.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, client};

/// One call of the walk.
struct Step {
    /// `METHOD /path/{template}` as the OpenAPI document names it.
    route: &'static str,
    /// The concrete path.
    path: String,
    /// The credential (`None`: no Authorization header).
    key: Option<String>,
    /// The body, if any.
    body: Option<Value>,
    /// Entries the call must add: 1 for a change, 0 for a computation, N for an audit batch.
    entries: u64,
}

struct Walk {
    base: String,
    http: reqwest::Client,
    covered: BTreeSet<String>,
}

struct Reply {
    status: u16,
    body: Value,
    text: String,
}

impl Walk {
    async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (Reply, String) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        (
            Reply {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
                text,
            },
            request_id,
        )
    }

    async fn size(&self) -> u64 {
        let (health, _) = self.send(Method::GET, "/v1/health", None, None).await;
        health.body["audit"]["tree_size"].as_u64().unwrap()
    }

    /// Runs a step: a 2xx answer and exactly `step.entries` new entries, each (but for an
    /// audit batch, whose entries are the application's) carrying the request's id.
    async fn run(&mut self, admin: &str, step: Step) -> Value {
        let (method, _) = step.route.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        let before = self.size().await;
        let (reply, request_id) = self
            .send(method, &step.path, step.key.as_deref(), step.body.as_ref())
            .await;
        assert!(
            (200..300).contains(&reply.status),
            "{} with maximal input: {} {}",
            step.route,
            reply.status,
            reply.text
        );
        let after = self.size().await;
        assert_eq!(
            after - before,
            step.entries,
            "{}: {} entries instead of {}",
            step.route,
            after - before,
            step.entries
        );
        if step.entries > 0 && step.route != "POST /v1/audit/entries" {
            let (page, _) = self
                .send(
                    Method::GET,
                    &format!("/v1/audit/entries?from_seq={before}"),
                    Some(admin),
                    None,
                )
                .await;
            for entry in page.body["items"].as_array().unwrap() {
                assert_eq!(
                    entry["context"]["request_id"], request_id,
                    "{}: an entry of another request: {entry}",
                    step.route
                );
                // A denied decision is answered 200 and recorded as the refusal it is.
                let expected = if step.route == "POST /v1/authorize" {
                    "denied"
                } else {
                    "success"
                };
                assert_eq!(entry["status"], expected, "{}: {entry}", step.route);
            }
        }
        self.covered.insert(step.route.to_owned());
        reply.body
    }

    /// A call past a bound: 422 naming `field`, and nothing but its failure record.
    async fn refuse(&self, route: &str, path: &str, key: &str, body: Value, field: &str) {
        let (method, _) = route.split_once(' ').unwrap();
        let before = self.size().await;
        let (reply, _) = self
            .send(method.parse().unwrap(), path, Some(key), Some(&body))
            .await;
        assert_eq!(reply.status, 422, "{route} past its bound: {}", reply.text);
        assert_eq!(
            reply.body["errors"][0]["field"], field,
            "{route}: {}",
            reply.text
        );
        assert!(
            self.size().await - before <= 1,
            "{route}: more than its failure record"
        );
    }
}

fn names(count: usize, width: usize, prefix: &str) -> Vec<String> {
    (0..count)
        .map(|i| {
            let stem = format!("{prefix}{i}-");
            format!("{stem}{}", "x".repeat(width - stem.len()))
        })
        .collect()
}

#[test]
fn every_state_changing_route_audits_maximal_inputs_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_RATE_LIMIT_PER_SECOND", "100000")],
    );
    let admin = server.admin_key.clone().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut walk = Walk {
            base: server.base.clone(),
            http: client(None, None),
            covered: BTreeSet::new(),
        };
        let (doc, _) = walk.send(Method::GET, "/openapi.json", None, None).await;
        let mut routes = BTreeSet::new();
        for (path, item) in doc.body["paths"].as_object().unwrap() {
            for method in ["post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    routes.insert(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
        let a = Some(admin.clone());
        let step = |route: &'static str, path: &str, key: &Option<String>, body: Value, entries: u64| Step {
            route,
            path: path.to_owned(),
            key: key.clone(),
            body: Some(body),
            entries,
        };

        // The role policy: 200 roles (the default ones kept), 200 permissions each.
        let (policy, _) = walk.send(Method::GET, "/v1/policy", Some(&admin), None).await;
        let mut roles = policy.body["roles"].as_object().unwrap().clone();
        let permissions: Vec<String> = (0..200).map(|i| format!("r{i}:a")).collect();
        let mut i = 0;
        while roles.len() < 200 {
            roles.insert(format!("role{i}-{}", "x".repeat(50)), json!({"permissions": permissions}));
            i += 1;
        }
        // The bootstrap admin key is one factor: the admin role stops requiring a second one,
        // so that this key makes the admin's keys below.
        roles.get_mut("admin").unwrap()["mfa_required"] = json!(false);
        walk.run(&admin, step("PUT /v1/policy", "/v1/policy", &a, json!({"roles": roles}), 1)).await;
        let mut too_many = roles.clone();
        too_many.insert("one-more".into(), json!({"permissions": ["a:b"]}));
        walk.refuse("PUT /v1/policy", "/v1/policy", &admin, json!({"roles": too_many}), "roles").await;

        // Principals: 64 roles (repeats fold), 64 teams of 128 characters, longest name, email
        // and data-subject link (256 bytes).
        let teams = names(64, 128, "t");
        let mut many_roles: Vec<&str> = vec!["viewer", "developer", "operator"];
        many_roles.extend(std::iter::repeat_n("viewer", 61));
        let email = format!("{}@example.com", "e".repeat(240));
        let name = format!("u{}", "n".repeat(127));
        let created = walk
            .run(&admin, step("POST /v1/principals", "/v1/principals", &a,
                json!({"type": "user", "name": name, "email": email, "roles": many_roles,
                       "teams": teams, "password": "Maximal-input-password-1",
                       "subject_id": "s".repeat(256)}), 1))
            .await;
        let user = created["id"].as_str().unwrap().to_owned();
        walk.refuse("POST /v1/principals", "/v1/principals", &admin,
            json!({"name": "over", "teams": names(65, 10, "t")}), "teams").await;
        walk.refuse("POST /v1/principals", "/v1/principals", &admin,
            json!({"name": "over", "subject_id": "s".repeat(257)}), "subject_id").await;
        walk.run(&admin, step("PATCH /v1/principals/{id}", &format!("/v1/principals/{user}"), &a,
            json!({"roles": many_roles, "teams": names(64, 128, "u"), "email": email, "disabled": false,
                   "subject_id": "z".repeat(256)}), 1)).await;
        walk.refuse("PATCH /v1/principals/{id}", &format!("/v1/principals/{user}"), &admin,
            json!({"roles": vec!["viewer"; 65]}), "roles").await;
        walk.refuse("PATCH /v1/principals/{id}", &format!("/v1/principals/{user}"), &admin,
            json!({"subject_id": "z".repeat(257)}), "subject_id").await;

        // Sessions and second factors of that user.
        let login = walk
            .run(&admin, Step { key: None, ..step("POST /v1/auth/login", "/v1/auth/login", &None,
                json!({"name": name, "password": "Maximal-input-password-1"}), 1) })
            .await;
        let session = Some(login["token"].as_str().unwrap().to_owned());
        let enrolled = walk
            .run(&admin, step("POST /v1/principals/{id}/totp", &format!("/v1/principals/{user}/totp"), &session, json!({}), 1))
            .await;
        let secret = rampart_access::totp::TotpSecret::from_base32(enrolled["secret_b32"].as_str().unwrap()).unwrap();
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        let code = rampart_access::totp::Totp::DEFAULT.code_at(&secret, now);
        walk.run(&admin, step("POST /v1/principals/{id}/totp/confirm", &format!("/v1/principals/{user}/totp/confirm"), &session,
            json!({"code": code}), 1)).await;
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/principals/{id}/totp", &format!("/v1/principals/{user}/totp"), &a, json!({}), 1) }).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/principals/{id}/unlock", &format!("/v1/principals/{user}/unlock"), &a, json!({}), 1) }).await;
        walk.run(&admin, step("POST /v1/auth/introspect", "/v1/auth/introspect", &a,
            json!({"credential": session.clone().unwrap(), "client_ip": "203.0.113.7"}), 0)).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/auth/logout", "/v1/auth/logout", &session, json!({}), 1) }).await;

        // API keys: 64 scopes of 128 characters, 100 networks, the longest name and lifetime.
        let scopes: Vec<String> = (0..64).map(|i| {
            let stem = format!("s{i}:");
            format!("{stem}{}", "p".repeat(128 - stem.len()))
        }).collect();
        let nets: Vec<String> = (0..100).map(|i| format!("10.{i}.0.0/16")).collect();
        let key = walk
            .run(&admin, step("POST /v1/api-keys", "/v1/api-keys", &a,
                json!({"name": "k".repeat(128), "scopes": scopes, "allowed_ips": nets, "expires_in_days": 3650}), 1))
            .await;
        let key_id = key["id"].as_str().unwrap().to_owned();
        let mut over = scopes.clone();
        over.push("one:more".into());
        walk.refuse("POST /v1/api-keys", "/v1/api-keys", &admin, json!({"name": "x", "scopes": over}), "scopes").await;
        let rotated = walk
            .run(&admin, step("POST /v1/api-keys/{id}/rotate", &format!("/v1/api-keys/{key_id}/rotate"), &a,
                json!({"grace_seconds": 2_592_000}), 1))
            .await;
        let new_id = rotated["id"].as_str().unwrap().to_owned();
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/api-keys/{id}", &format!("/v1/api-keys/{new_id}"), &a, json!({}), 1) }).await;

        // Authorization checks: an allowed one changes and records nothing; a denied one with
        // the longest fields is recorded once.
        let long = "z".repeat(256);
        walk.run(&admin, step("POST /v1/authorize", "/v1/authorize", &a,
            json!({"principal_id": user, "action": format!("keys:{}", "q".repeat(200)),
                   "resource": {"type": long, "id": long, "team_id": long}}), 1)).await;

        // Keys: every operation with a full batch (10,000 items) is one entry.
        for (name, kind) in [("k-aes", "aes256-gcm"), ("k-mac", "hmac-sha256"), ("k-ed", "ed25519")] {
            let route = "POST /v1/keys";
            walk.run(&admin, step(route, "/v1/keys", &a, json!({"name": name, "type": kind, "rotation_period_days": 36_500}), 1)).await;
        }
        let batch = |item: Value| json!({"batch": vec![item; 10_000]});
        let encrypted = walk
            .run(&admin, step("POST /v1/keys/{name}/encrypt", "/v1/keys/k-aes/encrypt", &a,
                batch(json!({"plaintext": "AAAA", "associated_data": "QUFB"})), 1))
            .await;
        let ciphertext = encrypted["batch"][0]["ciphertext"].as_str().unwrap().to_owned();
        walk.run(&admin, step("POST /v1/keys/{name}/decrypt", "/v1/keys/k-aes/decrypt", &a,
            batch(json!({"ciphertext": ciphertext, "associated_data": "QUFB"})), 1)).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/keys/{name}/rotate", "/v1/keys/k-aes/rotate", &a, json!({}), 1) }).await;
        walk.run(&admin, step("POST /v1/keys/{name}/rewrap", "/v1/keys/k-aes/rewrap", &a,
            batch(json!({"ciphertext": ciphertext, "associated_data": "QUFB"})), 1)).await;
        walk.run(&admin, step("PATCH /v1/keys/{name}", "/v1/keys/k-aes", &a,
            json!({"min_decryption_version": 2, "rotation_period_days": 36_500}), 1)).await;
        let mac = walk
            .run(&admin, step("POST /v1/keys/{name}/hmac", "/v1/keys/k-mac/hmac", &a, batch(json!({"input": "AAAA"})), 1))
            .await;
        let mac = mac["batch"][0]["hmac"].as_str().unwrap().to_owned();
        walk.run(&admin, step("POST /v1/keys/{name}/verify-hmac", "/v1/keys/k-mac/verify-hmac", &a,
            batch(json!({"input": "AAAA", "hmac": mac})), 1)).await;
        let signed = walk
            .run(&admin, step("POST /v1/keys/{name}/sign", "/v1/keys/k-ed/sign", &a, batch(json!({"input": "AAAA"})), 1))
            .await;
        let signature = signed["batch"][0]["signature"].as_str().unwrap().to_owned();
        walk.run(&admin, step("POST /v1/keys/{name}/verify", "/v1/keys/k-ed/verify", &a,
            // Signatures are long: the 1 MiB body limit binds before the batch limit.
            json!({"batch": vec![json!({"input": "AAAA", "signature": signature}); 8_000]}), 1)).await;

        // Documents: 1,000 fields.
        let document: serde_json::Map<String, Value> = (0..1000).map(|i| (format!("f{i}"), json!("secret"))).collect();
        let fields: Vec<String> = (0..1000).map(|i| format!("f{i}")).collect();
        let sealed = walk
            .run(&admin, step("POST /v1/documents/encrypt", "/v1/documents/encrypt", &a,
                json!({"key": "k-aes", "fields": fields, "document": document, "document_id": "d".repeat(256)}), 1))
            .await;
        walk.run(&admin, step("POST /v1/documents/decrypt", "/v1/documents/decrypt", &a,
            json!({"document": sealed["document"], "document_id": "d".repeat(256)}), 1)).await;

        // Cards.
        let card = walk
            .run(&admin, step("POST /v1/cards/tokenize", "/v1/cards/tokenize", &a,
                json!({"pan": "4111111111111111", "expiry": "12/29", "subject_id": "c".repeat(256)}), 1))
            .await;
        walk.refuse("POST /v1/cards/tokenize", "/v1/cards/tokenize", &admin,
            json!({"pan": "4111111111111111", "subject_id": "c".repeat(257)}), "subject_id").await;
        walk.run(&admin, step("POST /v1/cards/detokenize", "/v1/cards/detokenize", &a, json!({"token": card["token"]}), 1)).await;

        // PII: detection and plain redaction compute; tokenizing 1,000 cards stores them, once.
        let text: String = (0..1000).map(|_| "card 4111111111111111 ").collect();
        walk.run(&admin, step("POST /v1/detect", "/v1/detect", &a, json!({"text": "mail me at a@example.com"}), 0)).await;
        walk.run(&admin, step("POST /v1/redact", "/v1/redact", &a,
            json!({"text": text, "policy": {"credit_card": "tokenize"}}), 1)).await;

        // The audit log: a batch of 10,000 events is its own record; a verification is recorded.
        let events: Vec<Value> = (0..10_000)
            .map(|i| json!({"actor": {"type": "user", "id": format!("u{i}")}, "action": "record.read",
                            "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"}))
            .collect();
        walk.run(&admin, step("POST /v1/audit/entries", "/v1/audit/entries", &a, json!({"events": events}), 10_000)).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/audit/verify", "/v1/audit/verify", &a, json!({}), 1) }).await;

        // Threat protection: 256 rules of 64 entries (limits no test request reaches), 10,000
        // address entries (the client's own loopback allowed), a year's block of a network.
        let rules: Vec<Value> = (0..256)
            .map(|i| {
                let name = format!("r{i}-{}", "x".repeat(64 - format!("r{i}-").len()));
                let matches: Vec<String> = (0..64).map(|j| format!("p{j}:r{i}")).collect();
                json!({"name": name, "key": "global", "match": matches, "limit": 1_000_000_000,
                       "window_seconds": 86_400, "applies_to": "all"})
            })
            .collect();
        walk.run(&admin, step("PUT /v1/rate-limits", "/v1/rate-limits", &a, json!({"rules": rules}), 1)).await;
        let mut too_many = rules.clone();
        too_many.push(json!({"name": "one-more", "key": "ip", "match": ["*"], "limit": 1, "window_seconds": 1}));
        walk.refuse("PUT /v1/rate-limits", "/v1/rate-limits", &admin, json!({"rules": too_many}), "rules").await;
        walk.run(&admin, step("PUT /v1/rate-limits", "/v1/rate-limits", &a, json!({"rules": []}), 1)).await;
        let mut allow: Vec<String> = (0..9_998).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
        allow.extend(["127.0.0.0/8".to_owned(), "::1".to_owned()]);
        walk.run(&admin, step("PUT /v1/ip-rules", "/v1/ip-rules", &a, json!({"allow": allow, "deny": []}), 1)).await;
        let mut over = allow.clone();
        over.push("192.0.2.0/24".to_owned());
        walk.refuse("PUT /v1/ip-rules", "/v1/ip-rules", &admin, json!({"allow": over}), "allow").await;
        walk.run(&admin, step("PUT /v1/ip-rules", "/v1/ip-rules", &a, json!({"allow": [], "deny": []}), 1)).await;
        walk.run(&admin, step("POST /v1/blocks", "/v1/blocks", &a,
            json!({"address": "203.0.113.0/24", "seconds": 366 * 86_400, "reason": "r".repeat(500)}), 1)).await;
        walk.refuse("POST /v1/blocks", "/v1/blocks", &admin,
            json!({"address": "203.0.113.0/24", "seconds": 366 * 86_400 + 1}), "seconds").await;
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/blocks/{address}", "/v1/blocks/203.0.113.0%2F24", &a, json!({}), 1) }).await;

        // Security monitoring (issue 16): the largest rule set, silence, webhook and incident.
        let rules: Vec<Value> = (0..256)
            .map(|i| json!({"name": format!("rule-{i:03}-{}", "r".repeat(50)),
                "match": {"action": format!("app.{i}.*"), "status": "failure"},
                "group_by": ["actor.id", "actor.ip", "resource.id", "context.team_id",
                             "details.a", "details.b", "details.c", "details.d"],
                "threshold": 1000, "window_seconds": 7 * 86_400, "severity": "low"}))
            .collect();
        walk.run(&admin, step("PUT /v1/detection-rules", "/v1/detection-rules", &a, json!({"rules": rules}), 1)).await;
        let mut too_many = rules.clone();
        too_many.push(rules[0].clone());
        walk.refuse("PUT /v1/detection-rules", "/v1/detection-rules", &admin, json!({"rules": too_many}), "rules").await;
        let until = (time::OffsetDateTime::now_utc() + time::Duration::days(89))
            .format(&time::format_description::well_known::Rfc3339).unwrap();
        let silence = walk.run(&admin, step("POST /v1/silences", "/v1/silences", &a,
            json!({"rule": "r".repeat(64), "group": {"actor.id": "a".repeat(512)}, "until": until, "reason": "r".repeat(2000)}), 1)).await;
        walk.refuse("POST /v1/silences", "/v1/silences", &admin,
            json!({"rule": "r", "until": until, "reason": "r".repeat(2001)}), "reason").await;
        let silence_id = silence["id"].as_str().unwrap().to_owned();
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/silences/{id}", &format!("/v1/silences/{silence_id}"), &a, json!({}), 1) }).await;
        let url = format!("https://93.184.215.14/{}", "p".repeat(2048 - 22));
        let events = ["alert.opened", "incident.opened", "incident.escalated", "incident.resolved",
            "approval.requested", "erasure.requested", "retention.due"];
        let webhook = walk.run(&admin, step("POST /v1/webhooks", "/v1/webhooks", &a,
            json!({"url": url, "events": events, "description": "d".repeat(500)}), 1)).await;
        walk.refuse("POST /v1/webhooks", "/v1/webhooks", &admin,
            json!({"url": format!("{url}p"), "events": events}), "url").await;
        let webhook_id = webhook["id"].as_str().unwrap().to_owned();
        let incident = walk.run(&admin, step("POST /v1/incidents", "/v1/incidents", &a,
            json!({"title": "t".repeat(200), "severity": "critical", "description": "d".repeat(10_000),
                   "alert_ids": [], "personal_data_breach": true}), 1)).await;
        walk.refuse("POST /v1/incidents", "/v1/incidents", &admin,
            json!({"title": "t".repeat(201), "severity": "low"}), "title").await;
        let incident_id = incident["id"].as_str().unwrap().to_owned();
        walk.run(&admin, step("POST /v1/incidents/{id}/timeline", &format!("/v1/incidents/{incident_id}/timeline"), &a,
            json!({"kind": "action", "text": "a".repeat(10_000)}), 1)).await;
        walk.refuse("POST /v1/incidents/{id}/timeline", &format!("/v1/incidents/{incident_id}/timeline"), &admin,
            json!({"kind": "note", "text": "a".repeat(10_001)}), "text").await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/incidents/{id}/acknowledge", &format!("/v1/incidents/{incident_id}/acknowledge"), &a, json!({}), 1) }).await;
        walk.run(&admin, step("POST /v1/incidents/{id}/resolve", &format!("/v1/incidents/{incident_id}/resolve"), &a,
            json!({"resolution": "r".repeat(10_000)}), 1)).await;
        // The incident's delivery to the webhook, sent again (after its first attempt).
        let deliveries_path = format!("/v1/webhooks/{webhook_id}/deliveries");
        let delivery_id = loop {
            let (page, _) = walk.send(Method::GET, &deliveries_path, Some(&admin), None).await;
            if let Some(id) = page.body["items"].as_array().unwrap().iter()
                .find(|d| d["attempts"].as_u64() > Some(0)).and_then(|d| d["id"].as_str()) {
                break id.to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        walk.run(&admin, Step { body: None, ..step("POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry",
            &format!("{deliveries_path}/{delivery_id}/retry"), &a, json!({}), 1) }).await;
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/webhooks/{id}", &format!("/v1/webhooks/{webhook_id}"), &a, json!({}), 1) }).await;
        // An alert: a denied request fires `unauthorized_access` (the defaults again).
        walk.run(&admin, step("PUT /v1/detection-rules", "/v1/detection-rules", &a,
            json!({"rules": serde_json::from_str::<Value>(rampart_monitor_defaults()).unwrap()["rules"]}), 1)).await;
        let _ = walk.send(Method::GET, "/v1/auth/whoami", Some("rk_junk_not_a_key"), None).await;
        let alert_id = loop {
            let (page, _) = walk.send(Method::GET, "/v1/alerts?rule=unauthorized_access", Some(&admin), None).await;
            if let Some(id) = page.body["items"][0]["id"].as_str() {
                break id.to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        walk.run(&admin, Step { body: None, ..step("POST /v1/alerts/{id}/acknowledge", &format!("/v1/alerts/{alert_id}/acknowledge"), &a, json!({}), 1) }).await;
        walk.run(&admin, step("POST /v1/alerts/{id}/resolve", &format!("/v1/alerts/{alert_id}/resolve"), &a,
            json!({"note": "n".repeat(2000)}), 1)).await;

        // Data subjects: a consent and an erasure of the longest subject id, with the largest
        // fields; a confirmation of one of its 32 stores.
        let subject = "s".repeat(256);
        walk.run(&admin, step("POST /v1/subjects/{id}/consents", &format!("/v1/subjects/{subject}/consents"), &a,
            json!({"purpose": format!("p{}", "a".repeat(63)), "given": true, "source": "s".repeat(128),
                   "policy_version": "v".repeat(128)}), 1)).await;
        walk.refuse("POST /v1/subjects/{id}/consents", &format!("/v1/subjects/{subject}/consents"), &admin,
            json!({"purpose": "a".repeat(65), "given": true}), "purpose").await;
        let stores: Vec<String> = (0..32).map(|i| format!("{i:02}{}", "s".repeat(62))).collect();
        let erasure = walk.run(&admin, step("POST /v1/subjects/{id}/erasure", &format!("/v1/subjects/{subject}/erasure"), &a,
            json!({"reason": "r".repeat(1000), "stores": stores}), 1)).await;
        walk.refuse("POST /v1/subjects/{id}/erasure", "/v1/subjects/other/erasure", &admin,
            json!({"reason": "r".repeat(1001)}), "reason").await;
        let erasure_id = erasure["id"].as_str().unwrap().to_owned();
        walk.run(&admin, step("POST /v1/erasures/{id}/confirmations", &format!("/v1/erasures/{erasure_id}/confirmations"), &a,
            json!({"store": stores[31], "records_deleted": 9_007_199_254_740_991u64}), 1)).await;
        walk.refuse("POST /v1/erasures/{id}/confirmations", &format!("/v1/erasures/{erasure_id}/confirmations"), &admin,
            json!({"store": format!("{}x", stores[0]), "records_deleted": 1}), "store").await;

        // Legal holds: the largest hold, refused one byte past its name; released.
        let hold = walk.run(&admin, step("POST /v1/legal-holds", "/v1/legal-holds", &a,
            json!({"name": "n".repeat(128), "reason": "r".repeat(2000),
                   "scope": {"subject_id": "h".repeat(256), "tag": "t".repeat(64), "team_id": "m".repeat(128),
                             "data_type": format!("app:{}", "a".repeat(64)),
                             "from": "2026-01-01T00:00:00Z", "until": "2026-12-31T00:00:00Z"}}), 1)).await;
        walk.refuse("POST /v1/legal-holds", "/v1/legal-holds", &admin,
            json!({"name": "n".repeat(129), "reason": "r"}), "name").await;
        let hold_id = hold["id"].as_str().unwrap().to_owned();
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/legal-holds/{id}", &format!("/v1/legal-holds/{hold_id}"), &a, json!({}), 1) }).await;

        // Retention: the longest tag policy, refused one day past 100 years; removed; a dry
        // run; an application's data type confirmed after a real run (answered at once, then
        // followed until finished: the request's entry records it).
        let policy_path = format!("/v1/retention/policies/audit_entries:{}", "t".repeat(64));
        walk.run(&admin, step("PUT /v1/retention/policies/{data_type}", &policy_path, &a,
            json!({"retain_days": 36_600, "mode": "governance"}), 1)).await;
        walk.refuse("PUT /v1/retention/policies/{data_type}", &policy_path, &admin,
            json!({"retain_days": 36_601, "mode": "governance"}), "retain_days").await;
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/retention/policies/{data_type}", &policy_path, &a, json!({}), 1) }).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/retention/run", "/v1/retention/run?dry_run=true", &a, json!({}), 1) }).await;
        let app_type = format!("app:{}", "a".repeat(64));
        walk.run(&admin, step("PUT /v1/retention/policies/{data_type}", &format!("/v1/retention/policies/{app_type}"), &a,
            json!({"retain_days": 365, "mode": "compliance"}), 1)).await;
        let (started, _) = walk.send(Method::POST, "/v1/retention/run", a.as_deref(), None).await;
        assert_eq!(started.status, 202, "{}", started.text);
        let run_id = started.body["id"].as_str().unwrap().to_owned();
        loop {
            let (run, _) = walk.send(Method::GET, &format!("/v1/retention/runs/{run_id}"), Some(&admin), None).await;
            if run.body["state"] == "finished" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        walk.run(&admin, step("POST /v1/retention/runs/{id}/confirmations", &format!("/v1/retention/runs/{run_id}/confirmations"), &a,
            json!({"data_type": app_type, "records_deleted": 9_007_199_254_740_991u64, "deleted_before": "2026-01-01T00:00:00Z"}), 1)).await;
        walk.refuse("POST /v1/retention/runs/{id}/confirmations", &format!("/v1/retention/runs/{run_id}/confirmations"), &admin,
            json!({"data_type": app_type, "records_deleted": 1, "deleted_before": "yesterday"}), "deleted_before").await;

        // Agents: the longest guardrails (their before and after beyond one entry: kept as
        // hashes), refused past a bound; the longest decision (reasoning, tool calls and
        // parameters at their bounds, recorded whole), approvals and rejections with the
        // longest comment, the token taken, checked and the longest result.
        let (created, _) = walk.send(Method::POST, "/v1/principals", a.as_deref(), Some(&json!({
            "type": "ai_agent", "name": "agent-max", "roles": ["admin"], "teams": ["payments"]}))).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let agent = created.body["id"].as_str().unwrap().to_owned();
        let (approver, _) = walk.send(Method::POST, "/v1/principals", a.as_deref(), Some(&json!({
            "type": "service", "name": "approver-max", "roles": ["operator"], "teams": ["payments"]}))).await;
        let approver = approver.body["id"].as_str().unwrap().to_owned();
        let (approver_key, _) = walk.send(Method::POST, "/v1/api-keys", a.as_deref(), Some(&json!({"scopes": ["*"],
            "principal_id": approver, "name": "approver"}))).await;
        let approver_key = Some(approver_key.body["key"].as_str().unwrap().to_owned());
        let action_names = |prefix: &str| -> Vec<String> { names(256, 64, prefix).iter().map(|n| n.to_lowercase()).collect() };
        let mut auto = action_names("auto");
        auto[0] = "x".repeat(64);
        let mut pending = action_names("pend");
        pending[0] = "y".repeat(64);
        let dimensions: serde_json::Map<String, Value> =
            (0..16).map(|i| (format!("d{i}_{}", "x".repeat(60)), json!(100.0))).collect();
        let rails = json!({"max_actions_per_hour": 9_007_199_254_740_991u64, "forbidden_actions": action_names("forb"),
            "require_approval": pending, "auto_approve": auto, "max_blast_radius": dimensions,
            "approvals_required": 1, "approval_timeout_seconds": 604_800, "otherwise": "require_approval"});
        let rails_path = format!("/v1/agents/{agent}/guardrails");
        walk.run(&admin, step("PUT /v1/agents/{id}/guardrails", &rails_path, &a, rails.clone(), 1)).await;
        walk.run(&admin, step("PUT /v1/agents/{id}/guardrails", &rails_path, &a, rails, 1)).await;
        walk.refuse("PUT /v1/agents/{id}/guardrails", &rails_path, &admin,
            json!({"approvals_required": 11}), "approvals_required").await;
        let words = |action: &str| json!({"action": action,
            "target": {"type": "t".repeat(256), "id": "i".repeat(256), "team_id": "payments"},
            "parameters": {"p": "v".repeat(8 * 1024 - 10)},
            "blast_radius": {"traffic_percent": 100.0},
            "reasoning": "r".repeat(16 * 1024),
            "tool_calls": (0..100).map(|i| json!({"n": i, "a": "a".repeat(140)})).collect::<Vec<_>>()});
        let actions_path = format!("/v1/agents/{agent}/actions");
        let allowed = walk.run(&admin, step("POST /v1/agents/{id}/actions", &actions_path, &a, words(&"x".repeat(64)), 1)).await;
        let mut too_long = words("x");
        too_long["reasoning"] = json!("r".repeat(16 * 1024 + 1));
        walk.refuse("POST /v1/agents/{id}/actions", &actions_path, &admin, too_long, "reasoning").await;
        let approve = walk.run(&admin, step("POST /v1/agents/{id}/actions", &actions_path, &a, words(&"y".repeat(64)), 1)).await;
        let reject = walk.run(&admin, step("POST /v1/agents/{id}/actions", &actions_path, &a, words("unlisted"), 1)).await;
        let comment = json!({"comment": "c".repeat(2000)});
        let approve = approve["id"].as_str().unwrap();
        walk.run(&admin, step("POST /v1/actions/{id}/approve", &format!("/v1/actions/{approve}/approve"), &approver_key, comment.clone(), 1)).await;
        let reject = reject["id"].as_str().unwrap();
        walk.refuse("POST /v1/actions/{id}/reject", &format!("/v1/actions/{reject}/reject"), approver_key.as_deref().unwrap(),
            json!({"comment": "c".repeat(2001)}), "comment").await;
        walk.run(&admin, step("POST /v1/actions/{id}/reject", &format!("/v1/actions/{reject}/reject"), &approver_key, comment, 1)).await;
        walk.run(&admin, Step { body: None, ..step("POST /v1/actions/{id}/token", &format!("/v1/actions/{approve}/token"), &a, json!({}), 1) }).await;
        walk.run(&admin, step("POST /v1/actions/verify-token", "/v1/actions/verify-token", &a,
            json!({"token": allowed["execution_token"], "parameters": {"p": "v".repeat(8 * 1024 - 10)}}), 1)).await;
        let allowed = allowed["id"].as_str().unwrap();
        walk.run(&admin, step("POST /v1/actions/{id}/result", &format!("/v1/actions/{allowed}/result"), &a,
            json!({"status": "succeeded", "details": {"log": "l".repeat(16 * 1024 - 12)}}), 1)).await;

        // Compliance: a report, a waiver at its longest reason (past it: 422), its revocation.
        walk.run(&admin, step("POST /v1/compliance/reports", "/v1/compliance/reports", &a, json!({"framework": "soc2"}), 1)).await;
        let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let (frameworks, _) = walk.send(Method::GET, "/v1/compliance/frameworks", Some(&admin), None).await;
        let control = frameworks.body["items"][0]["controls"][0]["id"].clone();
        let waiver = |reason: String| json!({"framework": "soc2", "control": control, "reason": reason, "expires_at": until});
        walk.refuse("POST /v1/compliance/waivers", "/v1/compliance/waivers", &admin, waiver("r".repeat(2049)), "reason").await;
        let granted = walk.run(&admin, step("POST /v1/compliance/waivers", "/v1/compliance/waivers", &a, waiver("r".repeat(2048)), 1)).await;
        let waiver_id = granted["id"].as_str().unwrap();
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/compliance/waivers/{id}", &format!("/v1/compliance/waivers/{waiver_id}"), &a, json!({}), 1) }).await;

        // Last, disabling the user.
        walk.run(&admin, Step { body: None, ..step("DELETE /v1/principals/{id}", &format!("/v1/principals/{user}"), &a, json!({}), 1) }).await;

        let missing: Vec<&String> = routes.difference(&walk.covered).collect();
        assert!(missing.is_empty(), "state-changing routes without a step: {missing:?}");
    });
}

/// The seeds' default detection rules, as `PUT /v1/detection-rules` takes them.
fn rampart_monitor_defaults() -> &'static str {
    r#"{"rules": [{"name": "unauthorized_access", "match": {"status": "denied"},
        "group_by": ["actor.id"], "threshold": 1, "window_seconds": 300, "severity": "low"}]}"#
}
