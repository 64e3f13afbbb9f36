//! Security hardening, against a running server: state changes are never made without their
//! audit entry and list inputs are bounded; no path from a narrow permission to admin (key
//! rotation, principal management, second factors); team isolation on audit data and keys;
//! authenticated denials always audited; a re-enabled principal's old credentials stay dead.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, client, rampart, run, text};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A client of one server.
struct Api {
    base: String,
    http: reqwest::Client,
    admin: String,
}

/// A reply: status, body (JSON or `Null`), raw text, request id.
struct Reply {
    status: u16,
    body: Value,
    text: String,
    request_id: String,
}

impl Api {
    fn new(server: &Server) -> Self {
        Self {
            base: server.base.clone(),
            http: client(None, None),
            admin: server.admin_key.clone().unwrap(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            request_id,
        }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(&self.admin.clone()), body)
            .await
    }

    /// Creates a principal (as the admin) and an unscoped key for it: `(id, key)`.
    async fn principal(&self, name: &str, roles: &[&str], teams: &[&str]) -> (String, String) {
        let created = self
            .admin(
                Method::POST,
                "/v1/principals",
                Some(json!({"type": "user", "name": name, "roles": roles, "teams": teams})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let key = self
            .admin(
                Method::POST,
                "/v1/api-keys",
                Some(json!({"scopes": ["*"], "principal_id": id, "name": format!("{name}-key")})),
            )
            .await;
        assert_eq!(key.status, 201, "{}", key.text);
        (id, key.body["key"].as_str().unwrap().to_owned())
    }

    async fn tree_size(&self) -> u64 {
        let health = self.call(Method::GET, "/v1/health", None, None).await;
        health.body["audit"]["tree_size"].as_u64().unwrap()
    }

    /// Audit entries (as the admin) whose `context.request_id` is `request_id`.
    async fn entries_of(&self, request_id: &str) -> Vec<Value> {
        let page = self
            .admin(Method::GET, "/v1/audit/entries?limit=1000&order=desc", None)
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["context"]["request_id"] == request_id)
            .cloned()
            .collect()
    }

    async fn whoami(&self, key: &str) -> Value {
        self.call(Method::GET, "/v1/auth/whoami", Some(key), None)
            .await
            .body
    }
}

fn start() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_RATE_LIMIT_PER_SECOND", "100000")],
    );
    (server, dir)
}

/// Adds roles to the default policy.
async fn extend_policy(api: &Api, roles: Value) {
    let mut policy = api.admin(Method::GET, "/v1/policy", None).await.body;
    for (name, role) in roles.as_object().unwrap() {
        policy["roles"][name] = role.clone();
    }
    let put = api.admin(Method::PUT, "/v1/policy", Some(policy)).await;
    assert_eq!(put.status, 200, "{}", put.text);
}

/// The bootstrap admin key is one factor: a test making keys for admins with it lifts the admin
/// role's `mfa_required` first (that rule has its own tests), and may set it again after.
async fn admin_mfa(api: &Api, required: bool) {
    let mut policy = api.admin(Method::GET, "/v1/policy", None).await.body;
    policy["roles"]["admin"]["mfa_required"] = json!(required);
    let put = api.admin(Method::PUT, "/v1/policy", Some(policy)).await;
    assert_eq!(put.status, 200, "{}", put.text);
}

/// Finding 1: oversized lists are refused with 422 naming the field, before anything changes;
/// duplicates are folded; a change that does happen has exactly one audit entry.
#[test]
fn state_changes_are_bounded_and_always_audited() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        let (bob, _) = api.principal("bob", &["viewer"], &["hr"]).await;
        let keys_before = api.admin(Method::GET, "/v1/api-keys", None).await.body["items"]
            .as_array()
            .unwrap()
            .len();
        let size = api.tree_size().await;

        // An API key with 8,000 scopes.
        let scopes: Vec<String> = (0..8000).map(|i| format!("audit:read{i}")).collect();
        let many = api
            .admin(
                Method::POST,
                "/v1/api-keys",
                Some(json!({"name": "padded", "scopes": scopes})),
            )
            .await;
        assert_eq!(many.status, 422, "{}", many.text);
        assert_eq!(many.body["errors"][0]["field"], "scopes", "{}", many.text);
        let keys_after = api.admin(Method::GET, "/v1/api-keys", None).await.body["items"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(keys_before, keys_after, "no key was made");

        // A PATCH that demotes and disables, padded with 20,000 teams.
        let teams: Vec<String> = (0..20_000).map(|_| "hr".to_owned()).collect();
        let padded = api
            .admin(
                Method::PATCH,
                &format!("/v1/principals/{bob}"),
                Some(json!({"roles": [], "disabled": true, "teams": teams})),
            )
            .await;
        assert_eq!(padded.status, 422, "{}", padded.text);
        assert_eq!(padded.body["errors"][0]["field"], "teams");
        let unchanged = api
            .admin(Method::GET, &format!("/v1/principals/{bob}"), None)
            .await;
        assert_eq!(unchanged.body["disabled"], false);
        assert_eq!(unchanged.body["roles"], json!(["viewer"]));

        // A policy padded with 1,500 roles.
        let mut policy = api.admin(Method::GET, "/v1/policy", None).await.body;
        for i in 0..1500 {
            policy["roles"][format!("pad{i}")] = json!({"permissions": ["audit:read"]});
        }
        let version = policy["version"].clone();
        let put = api.admin(Method::PUT, "/v1/policy", Some(policy)).await;
        assert_eq!(put.status, 422, "{}", put.text);
        assert_eq!(put.body["errors"][0]["field"], "roles");
        assert!(put.text.contains("at most"), "{}", put.text);
        let now = api.admin(Method::GET, "/v1/policy", None).await.body;
        assert_eq!(now["version"], version);

        // A denied authorization with a 70 KB resource.
        let huge = "x".repeat(70_000);
        let denied = api
            .admin(
                Method::POST,
                "/v1/authorize",
                Some(json!({"principal_id": bob, "action": "keys:manage",
                            "resource": {"type": "key", "id": huge}})),
            )
            .await;
        assert_eq!(denied.status, 422, "{}", denied.text);
        assert_eq!(denied.body["errors"][0]["field"], "resource.id");
        let extra = api
            .admin(
                Method::POST,
                "/v1/authorize",
                Some(json!({"principal_id": bob, "action": "keys:manage",
                            "resource": {"type": "key", "id": "k", "padding": "x"}})),
            )
            .await;
        assert_eq!(extra.status, 422, "{}", extra.text);
        assert_eq!(
            api.tree_size().await,
            size + 3,
            "each refused change is recorded once as a failure (authorize changes nothing)"
        );

        // Duplicates are folded, and the change that happens has exactly one entry.
        let dupes = api
            .admin(
                Method::PATCH,
                &format!("/v1/principals/{bob}"),
                Some(json!({"teams": ["hr", "hr", "ops", "hr"]})),
            )
            .await;
        assert_eq!(dupes.status, 200, "{}", dupes.text);
        assert_eq!(dupes.body["teams"], json!(["hr", "ops"]));
        let entries = api.entries_of(&dupes.request_id).await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["action"], "principals.update");
        assert_eq!(entries[0]["status"], "success");
        let denied = api
            .admin(
                Method::POST,
                "/v1/authorize",
                Some(json!({"principal_id": bob, "action": "keys:manage",
                            "resource": {"type": "key", "id": "k"}})),
            )
            .await;
        assert_eq!(denied.status, 200);
        assert_eq!(denied.body["allowed"], false);
        let recorded = api.entries_of(&denied.request_id).await;
        assert_eq!(recorded.len(), 1);
        // A refusal is "denied" though answered 200, so ?status=denied finds it.
        assert_eq!(recorded[0]["status"], "denied", "{recorded:?}");
        let refusals = api
            .admin(
                Method::GET,
                "/v1/audit/entries?status=denied&action=authz.deny",
                None,
            )
            .await;
        assert!(
            refusals.text.contains(&denied.request_id),
            "{}",
            refusals.text
        );
        // A failed login is a "failure" of auth.login.
        let failed = api
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"name": "bob", "password": "not-his-password-1"})),
            )
            .await;
        assert_eq!(failed.status, 401);
        let recorded = api.entries_of(&failed.request_id).await;
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0]["action"], "auth.login");
        assert_eq!(recorded[0]["status"], "failure");
    });
}

/// Finding 2: `api_keys:manage` cannot rotate the admin's key into a new unscoped admin key;
/// an admin's rotation of another's key is audited with both key ids.
#[test]
fn rotation_follows_the_rules_of_creation() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        admin_mfa(&api, false).await;
        extend_policy(
            &api,
            json!({"key_manager": {"permissions": ["api_keys:manage", "keys:read"]}}),
        )
        .await;
        let (_, manager) = api.principal("keymgr", &["key_manager"], &[]).await;
        let admin_key_id = api.whoami(&api.admin).await["credential_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let size = api.tree_size().await;
        let rotated = api
            .call(
                Method::POST,
                &format!("/v1/api-keys/{admin_key_id}/rotate"),
                Some(&manager),
                Some(json!({"grace_seconds": 2_592_000})),
            )
            .await;
        assert_eq!(rotated.status, 403, "{}", rotated.text);
        assert!(rotated.body.get("key").is_none());
        assert_eq!(api.tree_size().await, size + 1, "the denial is audited");
        let admin = api.whoami(&api.admin).await;
        assert_eq!(admin["credential_id"], admin_key_id.as_str());

        // The admin rotates the manager's key: both ids in the entry.
        let manager_key_id = api.whoami(&manager).await["credential_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_admin = api
            .admin(
                Method::POST,
                &format!("/v1/api-keys/{manager_key_id}/rotate"),
                Some(json!({})),
            )
            .await;
        assert_eq!(by_admin.status, 201, "{}", by_admin.text);
        let entries = api.entries_of(&by_admin.request_id).await;
        assert_eq!(entries.len(), 1);
        let details = &entries[0]["details"];
        assert_eq!(details["old_key_id"], manager_key_id.as_str());
        assert_eq!(details["new_key_id"], by_admin.body["id"]);
        assert_eq!(details["rotated_by_itself"], false);

        // Rotated by a fenced key, the successor is fenced like its maker.
        let fenced = api
            .admin(
                Method::POST,
                "/v1/api-keys",
                Some(
                    json!({"scopes": ["*"], "name": "fenced", "allowed_ips": ["127.0.0.0/8"], "expires_in_days": 1}),
                ),
            )
            .await;
        assert_eq!(fenced.status, 201, "{}", fenced.text);
        let fenced_key = fenced.body["key"].as_str().unwrap().to_owned();
        let successor_id = by_admin.body["id"].as_str().unwrap().to_owned();
        let again = api
            .call(
                Method::POST,
                &format!("/v1/api-keys/{successor_id}/rotate"),
                Some(&fenced_key),
                Some(json!({})),
            )
            .await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.body["allowed_ips"], json!(["127.0.0.0/8"]));
        assert_eq!(again.body["expires_at"], fenced.body["expires_at"]);
    });
}

/// Finding 3: audit reads, single entries and exports are filtered by the caller's teams;
/// writers record only for their teams; a team's key serves only its members.
#[test]
fn team_isolation_on_audit_data_and_keys() {
    let (server, dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        let (_, hr) = api.principal("hr-op", &["operator"], &["hr"]).await;
        let (_, pay) = api.principal("pay-op", &["operator"], &["payments"]).await;

        let written = api
            .call(
                Method::POST,
                "/v1/audit/entries",
                Some(&pay),
                Some(
                    json!({"actor": {"type": "user", "id": "p1"}, "action": "payment.refund",
                            "resource": {"type": "payment", "id": "pay_1"},
                            "context": {"team_id": "payments"}, "status": "success"}),
                ),
            )
            .await;
        assert_eq!(written.status, 201, "{}", written.text);
        let payments_seq = written.body["entries"][0]["seq"].as_u64().unwrap();
        let hr_written = api
            .call(
                Method::POST,
                "/v1/audit/entries",
                Some(&hr),
                Some(
                    json!({"actor": {"type": "user", "id": "h1"}, "action": "employee.view",
                            "resource": {"type": "employee", "id": "emp_hr_1"},
                            "context": {"team_id": "hr"}, "status": "success"}),
                ),
            )
            .await;
        assert_eq!(hr_written.status, 201, "{}", hr_written.text);
        let hr_seq = hr_written.body["entries"][0]["seq"].as_u64().unwrap();

        // A writer cannot claim another team.
        let claimed = api
            .call(
                Method::POST,
                "/v1/audit/entries",
                Some(&hr),
                Some(
                    json!({"actor": {"type": "user", "id": "h1"}, "action": "payment.refund",
                            "resource": {"type": "payment", "id": "pay_2"},
                            "context": {"team_id": "payments"}, "status": "success"}),
                ),
            )
            .await;
        assert_eq!(claimed.status, 422, "{}", claimed.text);
        assert_eq!(claimed.body["errors"][0]["field"], "context.team_id");

        // Reads: another team's filter is refused; the unfiltered list holds only hr entries
        // (no payments entry, no system entry with addresses).
        let other = api
            .call(
                Method::GET,
                "/v1/audit/entries?team_id=payments",
                Some(&hr),
                None,
            )
            .await;
        assert_eq!(other.status, 403, "{}", other.text);
        let own = api
            .call(Method::GET, "/v1/audit/entries?limit=1000", Some(&hr), None)
            .await;
        assert_eq!(own.status, 200, "{}", own.text);
        let items = own.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", own.text);
        assert_eq!(items[0]["seq"], hr_seq);
        let single = api
            .call(
                Method::GET,
                &format!("/v1/audit/entries/{payments_seq}"),
                Some(&hr),
                None,
            )
            .await;
        assert_eq!(single.status, 404, "{}", single.text);
        let mine = api
            .call(
                Method::GET,
                &format!("/v1/audit/entries/{hr_seq}"),
                Some(&hr),
                None,
            )
            .await;
        assert_eq!(mine.status, 200, "{}", mine.text);
        let everything = api
            .admin(
                Method::GET,
                &format!("/v1/audit/entries/{payments_seq}"),
                None,
            )
            .await;
        assert_eq!(everything.status, 200, "bypass roles see every team");

        // The export withholds what the reader may not see, and still verifies.
        extend_policy(
            &api,
            json!({"team_exporter": {"permissions": ["audit:export", "audit:read"]}}),
        )
        .await;
        let (_, exporter) = api
            .principal("hr-exporter", &["team_exporter"], &["hr"])
            .await;
        let export = api
            .call(Method::GET, "/v1/audit/export", Some(&exporter), None)
            .await;
        assert_eq!(export.status, 200, "{}", export.text);
        assert!(
            !export.text.contains("pay_1"),
            "another team's entry leaked"
        );
        assert!(
            export.text.contains("emp_hr_1"),
            "the reader's own entry is there"
        );
        assert!(
            !export.text.contains("principals.create") && !export.text.contains("api_keys.create"),
            "entries without a team (Rampart's own) are withheld"
        );
        assert!(
            export
                .text
                .contains(&format!("{{\"seq\":{payments_seq},\"withheld\":true,"))
        );
        let file = dir.path().join("team-export.ndjson");
        std::fs::write(&file, &export.text).unwrap();
        let key = api
            .call(Method::GET, "/v1/audit/public-key", None, None)
            .await
            .body["verifier_key"]
            .as_str()
            .unwrap()
            .to_owned();
        let output = run(rampart().args([
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--public-key",
            &key,
            "--json",
        ]));
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["ok"], true);
        assert!(report["withheld_entries"].as_u64().unwrap() > 0, "{report}");
        let strict = run(rampart().args([
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--public-key",
            &key,
            "--complete",
        ]));
        assert!(
            !strict.status.success(),
            "--complete accepted a file with withheld entries"
        );

        // Keys: a team's key serves its members and bypass roles only.
        let created = api
            .admin(
                Method::POST,
                "/v1/keys",
                Some(json!({"name": "hr-records", "team_id": "hr"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.body["team_id"], "hr");
        let body = json!({"plaintext": "c2VjcmV0"});
        let foreign = api
            .call(
                Method::POST,
                "/v1/keys/hr-records/encrypt",
                Some(&pay),
                Some(body.clone()),
            )
            .await;
        assert_eq!(foreign.status, 404, "{}", foreign.text);
        let member = api
            .call(
                Method::POST,
                "/v1/keys/hr-records/encrypt",
                Some(&hr),
                Some(body.clone()),
            )
            .await;
        assert_eq!(member.status, 200, "{}", member.text);
        let ciphertext = member.body["ciphertext"].as_str().unwrap().to_owned();
        extend_policy(
            &api,
            json!({"decrypter": {"inherits": ["operator"], "permissions": ["keys:decrypt"]}}),
        )
        .await;
        let (_, pay_decrypter) = api
            .principal("pay-dec", &["decrypter"], &["payments"])
            .await;
        let steal = api
            .call(
                Method::POST,
                "/v1/keys/hr-records/decrypt",
                Some(&pay_decrypter),
                Some(json!({"ciphertext": ciphertext})),
            )
            .await;
        assert_eq!(steal.status, 404, "{}", steal.text);
        let listed = api.call(Method::GET, "/v1/keys", Some(&pay), None).await;
        assert!(!listed.text.contains("hr-records"), "{}", listed.text);
        let by_admin = api
            .admin(Method::POST, "/v1/keys/hr-records/encrypt", Some(body))
            .await;
        assert_eq!(by_admin.status, 200, "{}", by_admin.text);
        let not_member = api
            .call(
                Method::POST,
                "/v1/keys",
                Some(&hr),
                Some(json!({"name": "x", "team_id": "payments"})),
            )
            .await;
        assert_eq!(
            not_member.status, 403,
            "operators do not manage keys: {}",
            not_member.text
        );
    });
}

/// Finding 4: `users:manage` reaches only principals of its own teams, never a principal
/// holding a role it lacks, never anyone's roles, and nobody enrols a factor for another.
#[test]
fn managers_stay_within_their_teams_and_roles() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        admin_mfa(&api, false).await;
        extend_policy(
            &api,
            json!({"hr_manager": {"inherits": ["viewer"], "permissions": ["users:manage", "users:read"]}}),
        )
        .await;
        let (_, manager) = api.principal("hrm", &["hr_manager"], &["hr"]).await;
        let (admin2, _) = api.principal("admin2", &["admin"], &[]).await;
        let (alice, _) = api.principal("alice", &["viewer"], &["payments"]).await;
        let (bob, _) = api.principal("bob", &["viewer"], &["hr"]).await;

        for (target, body) in [
            (&admin2, json!({"disabled": true})),
            (&admin2, json!({"roles": []})),
            (&alice, json!({"disabled": true})),
            (&bob, json!({"roles": []})),
        ] {
            let reply = api
                .call(Method::PATCH, &format!("/v1/principals/{target}"), Some(&manager), Some(body))
                .await;
            assert_eq!(reply.status, 403, "{}", reply.text);
        }
        let removed = api
            .call(Method::DELETE, &format!("/v1/principals/{alice}"), Some(&manager), None)
            .await;
        assert_eq!(removed.status, 403, "{}", removed.text);
        let strip = api
            .call(Method::DELETE, &format!("/v1/principals/{admin2}/totp"), Some(&manager), None)
            .await;
        assert_eq!(strip.status, 403, "{}", strip.text);
        for target in [&bob, &admin2] {
            let enrol = api
                .call(Method::POST, &format!("/v1/principals/{target}/totp"), Some(&manager), Some(json!({})))
                .await;
            assert_eq!(enrol.status, 403, "{}", enrol.text);
            let by_admin = api
                .admin(Method::POST, &format!("/v1/principals/{target}/totp"), Some(json!({})))
                .await;
            assert_eq!(by_admin.status, 403, "not even an admin: {}", by_admin.text);
        }
        let admin2_now = api.admin(Method::GET, &format!("/v1/principals/{admin2}"), None).await;
        assert_eq!(admin2_now.body["disabled"], false);
        assert_eq!(admin2_now.body["roles"], json!(["admin"]));

        // Within its team and roles the manager still works.
        let disabled = api
            .call(Method::PATCH, &format!("/v1/principals/{bob}"), Some(&manager), Some(json!({"disabled": true})))
            .await;
        assert_eq!(disabled.status, 200, "{}", disabled.text);
        // An admin may remove a factor (audited).
        let removed = api
            .admin(Method::DELETE, &format!("/v1/principals/{admin2}/totp"), None)
            .await;
        assert_eq!(removed.status, 200, "{}", removed.text);
        let entries = api.entries_of(&removed.request_id).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["action"], "principals.totp_remove");
    });
}

/// Finding 6: a flood of junk tokens does not silence the audit of a real caller's 403, and
/// the suppressed denials are summed into one entry per address.
#[test]
fn authenticated_denials_are_always_audited() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        let (_, viewer) = api.principal("vera", &["viewer"], &[]).await;
        for _ in 0..80 {
            let junk = api
                .call(Method::GET, "/v1/audit/entries", Some("rk_junk"), None)
                .await;
            assert_eq!(junk.status, 401);
        }
        let denied = api
            .call(
                Method::POST,
                "/v1/cards/detokenize",
                Some(&viewer),
                Some(json!({"token": "tok_x"})),
            )
            .await;
        assert_eq!(denied.status, 403, "{}", denied.text);
        let entries = api.entries_of(&denied.request_id).await;
        assert_eq!(entries.len(), 1, "the authenticated denial was dropped");
        assert_eq!(entries[0]["status"], "denied");
        // The summary comes within one window (10 s).
        let mut summary = None;
        for _ in 0..40 {
            let page = api
                .admin(
                    Method::GET,
                    "/v1/audit/entries?action=api.denials_suppressed",
                    None,
                )
                .await;
            if let Some(first) = page.body["items"].as_array().and_then(|i| i.first()) {
                summary = Some(first.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let summary = summary.expect("a summary of suppressed denials");
        let count = summary["details"]["count"].as_u64().unwrap();
        assert!((1..=30).contains(&count), "{summary}");
        assert_eq!(summary["details"]["address"], "127.0.0.1");
    });
}

/// Finding 14: re-enabling a disabled principal revives neither its API keys nor its sessions.
#[test]
fn reenabling_revives_no_credential() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        let created = api
            .admin(
                Method::POST,
                "/v1/principals",
                Some(json!({"name": "carl", "roles": ["viewer"], "password": "Correct-horse-battery-9"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let key = api
            .admin(Method::POST, "/v1/api-keys", Some(json!({"scopes": ["*"], "principal_id": id, "name": "k"})))
            .await
            .body["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let login = api
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"name": "carl", "password": "Correct-horse-battery-9"})),
            )
            .await;
        assert_eq!(login.status, 200, "{}", login.text);
        let session = login.body["token"].as_str().unwrap().to_owned();
        for disabled in [true, false] {
            let reply = api
                .admin(Method::PATCH, &format!("/v1/principals/{id}"), Some(json!({"disabled": disabled})))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        for credential in [&key, &session] {
            let who = api.call(Method::GET, "/v1/auth/whoami", Some(credential), None).await;
            assert_eq!(who.status, 401, "an old credential came back: {}", who.text);
        }
    });
}

/// Review findings on top of 2 and 4: `api_keys:manage` within a team cannot make, rotate,
/// revoke or list keys of principals outside it (a key speaks for its principal); an admin's
/// key narrowed to `users:manage` cannot disable another admin; principals in no team belong to
/// bypass roles alone; an enrollment session is no login for introspection.
#[test]
fn narrow_credentials_cannot_act_as_wider_principals() {
    let (server, _dir) = start();
    let api = Api::new(&server);
    rt().block_on(async {
        admin_mfa(&api, false).await;
        extend_policy(
            &api,
            json!({"team_keys": {"inherits": ["viewer"], "permissions": ["api_keys:manage"]},
                   "hr_manager": {"inherits": ["viewer"], "permissions": ["users:manage", "users:read"]}}),
        )
        .await;
        let (_, keymgr) = api.principal("hr-keys", &["team_keys"], &["hr"]).await;
        let (payer, payer_key) = api.principal("payer", &["viewer"], &["payments"]).await;
        let admin_id = api.whoami(&api.admin).await["principal_id"].as_str().unwrap().to_owned();
        for target in [&admin_id, &payer] {
            let made = api
                .call(
                    Method::POST,
                    "/v1/api-keys",
                    Some(&keymgr),
                    Some(json!({"principal_id": target, "name": "x", "scopes": ["audit:read"]})),
                )
                .await;
            assert_eq!(made.status, 403, "{}", made.text);
        }
        let payer_key_id = api.whoami(&payer_key).await["credential_id"].as_str().unwrap().to_owned();
        let revoke = api
            .call(Method::DELETE, &format!("/v1/api-keys/{payer_key_id}"), Some(&keymgr), None)
            .await;
        assert_eq!(revoke.status, 403, "{}", revoke.text);
        let listed = api
            .call(Method::GET, "/v1/api-keys?limit=1000", Some(&keymgr), None)
            .await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        assert!(!listed.text.contains(&payer_key_id), "{}", listed.text);
        let foreign = api
            .call(Method::GET, &format!("/v1/api-keys?principal_id={payer}"), Some(&keymgr), None)
            .await;
        assert_eq!(foreign.status, 403, "{}", foreign.text);

        // An admin's key narrowed to users:manage cannot disable another admin.
        let (admin2, _) = api.principal("admin3", &["admin"], &[]).await;
        let narrow = api
            .admin(Method::POST, "/v1/api-keys", Some(json!({"name": "narrow", "scopes": ["users:manage", "users:read"]})))
            .await
            .body["key"]
            .as_str()
            .unwrap()
            .to_owned();
        let disable = api
            .call(Method::PATCH, &format!("/v1/principals/{admin2}"), Some(&narrow), Some(json!({"disabled": true})))
            .await;
        assert_eq!(disable.status, 403, "{}", disable.text);

        // A principal in no team is not any team manager's.
        let (_, manager) = api.principal("hrm2", &["hr_manager"], &["hr"]).await;
        let (loner, _) = api.principal("loner", &["viewer"], &[]).await;
        let pulled = api
            .call(Method::PATCH, &format!("/v1/principals/{loner}"), Some(&manager), Some(json!({"teams": ["hr"]})))
            .await;
        assert_eq!(pulled.status, 403, "{}", pulled.text);
        let teamless = api
            .call(Method::POST, "/v1/principals", Some(&manager), Some(json!({"name": "orphan"})))
            .await;
        assert_eq!(teamless.status, 422, "{}", teamless.text);

        // Introspection does not take an enrollment session for a login.
        admin_mfa(&api, true).await;
        let created = api
            .admin(Method::POST, "/v1/principals", Some(json!({"name": "root9", "roles": ["admin"], "password": "Enrollment-only-session-7"})))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let login = api
            .call(Method::POST, "/v1/auth/login", None, Some(json!({"name": "root9", "password": "Enrollment-only-session-7"})))
            .await;
        assert_eq!(login.status, 401, "{}", login.text);
        let entries = api.entries_of(&login.request_id).await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["action"], "auth.login");
        assert_eq!(entries[0]["details"]["enrollment_session"], true);
        let token = login.body["enrollment_token"].as_str().unwrap();
        let seen = api
            .admin(Method::POST, "/v1/auth/introspect", Some(json!({"credential": token})))
            .await;
        assert_eq!(seen.body, json!({"active": false}), "{}", seen.text);
    });
}
