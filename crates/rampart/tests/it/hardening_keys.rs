//! Hardening of keys, documents and privacy (findings 13, 14a, 12 and 8), each attack replayed
//! against the real binary on loopback.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{Server, client, master_key};

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &Server) -> Self {
        Self {
            base: server.base.clone(),
            key: server.admin_key.clone().unwrap(),
            http: client(None, None),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// Every audit entry, as text and as values.
    async fn audit(&self) -> (String, Vec<Value>) {
        let (status, body) = self
            .send(reqwest::Method::GET, "/v1/audit/entries?limit=1000", None)
            .await;
        assert_eq!(status, 200, "{body}");
        (body.to_string(), body["items"].as_array().unwrap().clone())
    }

    /// How many cards the vault stores: rotate the cards key, then try to retire every older
    /// version; the refusal counts the cards still under them.
    async fn stored_cards(&self) -> u64 {
        let (status, body) = self.post("/v1/keys/rampart.cards/rotate", json!({})).await;
        if status == 404 {
            return 0;
        }
        assert_eq!(status, 200, "{body}");
        let latest = body["latest_version"].as_u64().unwrap();
        let (status, body) = self
            .patch(
                "/v1/keys/rampart.cards",
                json!({"min_decryption_version": latest}),
            )
            .await;
        match status {
            200 => 0,
            409 => body["detail"]
                .as_str()
                .and_then(|d| d.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{body}")),
            _ => panic!("{status} {body}"),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A Luhn-valid 16-digit Visa number made from `n`.
fn pan(n: u64) -> String {
    let body = format!("4{n:014}");
    let mut sum = 0;
    for (i, c) in body.chars().rev().enumerate() {
        let mut v = c.to_digit(10).unwrap();
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn start(envs: &[(&str, &str)]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let master = master_key();
    let mut all = vec![("RAMPART_MASTER_KEY", master.as_str())];
    all.extend_from_slice(envs);
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &all);
    (dir, server)
}

/// Finding 13: document fields are bound to their path and document id, and raw encrypt cannot
/// mint them.
#[test]
fn hardening_document_fields_are_bound_to_path_and_document() {
    let (_dir, server) = start(&[]);
    let api = Api::new(&server);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (status, body) = api.post("/v1/keys", json!({"name": "docs"})).await;
        assert_eq!(status, 201, "{body}");

        // Two fields of one document swapped: neither decrypts, and the 422 names the path.
        let (status, body) = api
            .post(
                "/v1/documents/encrypt",
                json!({"key": "docs", "fields": ["salary", "bonus"], "document": {"salary": 1000, "bonus": 5}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut swapped = body["document"].clone();
        let salary = swapped["salary"].clone();
        swapped["salary"] = swapped["bonus"].clone();
        swapped["bonus"] = salary;
        let (status, problem) = api
            .post("/v1/documents/decrypt", json!({"document": swapped}))
            .await;
        assert_eq!(status, 422, "a swapped field decrypted: {problem}");
        let fields = field_names(&problem);
        assert!(
            fields == ["document.bonus"] || fields == ["document.salary"],
            "{problem}"
        );
        // Untouched, it decrypts.
        let (status, plain) = api
            .post("/v1/documents/decrypt", json!({"document": body["document"]}))
            .await;
        assert_eq!(status, 200, "{plain}");
        assert_eq!(plain["document"], json!({"salary": 1000, "bonus": 5}));

        // Array elements are bound to their index too.
        let (status, body) = api
            .post(
                "/v1/documents/encrypt",
                json!({"key": "docs", "fields": ["items[*].note"], "document": {"items": [{"note": "a"}, {"note": "b"}]}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut moved = body["document"].clone();
        moved["items"][1]["note"] = moved["items"][0]["note"].clone();
        let (status, problem) = api
            .post("/v1/documents/decrypt", json!({"document": moved}))
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_names(&problem), ["document.items[1].note"], "{problem}");

        // A field of document A does not decrypt as part of document B.
        let (status, a) = api
            .post(
                "/v1/documents/encrypt",
                json!({"key": "docs", "fields": ["ssn"], "document": {"ssn": "078-05-1120"}, "document_id": "patient-A"}),
            )
            .await;
        assert_eq!(status, 200, "{a}");
        for other in [json!("patient-B"), Value::Null] {
            let (status, problem) = api
                .post(
                    "/v1/documents/decrypt",
                    json!({"document": a["document"], "document_id": other}),
                )
                .await;
            assert_eq!(status, 422, "decrypted as {other}: {problem}");
            assert_eq!(field_names(&problem), ["document.ssn"], "{problem}");
        }
        let (status, plain) = api
            .post(
                "/v1/documents/decrypt",
                json!({"document": a["document"], "document_id": "patient-A"}),
            )
            .await;
        assert_eq!(status, 200, "{plain}");
        assert_eq!(plain["document"]["ssn"], "078-05-1120");
        let (status, problem) = api
            .post(
                "/v1/documents/encrypt",
                json!({"key": "docs", "fields": ["x"], "document": {"x": 1}, "document_id": ""}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_names(&problem), ["document_id"], "{problem}");

        // Raw encrypt/decrypt refuse associated data in the document space (any version), so
        // `keys:encrypt` cannot mint a field `/v1/documents/decrypt` would open.
        let minted = b"rampart-document-field-v2\0[\"docs\",null,[\"ssn\"]]".to_vec();
        let legacy = b"rampart-document-field-v1\0docs".to_vec();
        for aad in [minted, legacy] {
            let (status, problem) = api
                .post(
                    "/v1/keys/docs/encrypt",
                    json!({"plaintext": b64(b"\"000-00-0000\""), "associated_data": b64(&aad)}),
                )
                .await;
            assert_eq!(status, 422, "{problem}");
            assert_eq!(field_names(&problem), ["associated_data"], "{problem}");
            let (status, problem) = api
                .post(
                    "/v1/keys/docs/decrypt",
                    json!({"ciphertext": a["document"]["ssn"]["ciphertext"], "associated_data": b64(&aad)}),
                )
                .await;
            assert_eq!(status, 422, "{problem}");
            assert_eq!(field_names(&problem), ["associated_data"], "{problem}");
        }
        // Other associated data still works.
        let (status, body) = api
            .post(
                "/v1/keys/docs/encrypt",
                json!({"plaintext": b64(b"x"), "associated_data": b64(b"order-42")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    });
}

/// Finding 14a: lowering `min_decryption_version` revives retired versions; it needs
/// `allow_lowering` and is audited with both values.
#[test]
fn hardening_min_decryption_version_is_not_lowered_by_accident() {
    let (_dir, server) = start(&[]);
    let api = Api::new(&server);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (status, body) = api.post("/v1/keys", json!({"name": "retiring"})).await;
        assert_eq!(status, 201, "{body}");
        let (status, old) = api
            .post(
                "/v1/keys/retiring/encrypt",
                json!({"plaintext": b64(b"v1 secret")}),
            )
            .await;
        assert_eq!(status, 200, "{old}");
        for _ in 0..2 {
            let (status, body) = api.post("/v1/keys/retiring/rotate", json!({})).await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, body) = api
            .patch("/v1/keys/retiring", json!({"min_decryption_version": 3}))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = api
            .post(
                "/v1/keys/retiring/decrypt",
                json!({"ciphertext": old["ciphertext"]}),
            )
            .await;
        assert_eq!(status, 422, "a retired version decrypted");

        // The attack: lower it again.
        for body in [
            json!({"min_decryption_version": 1}),
            json!({"min_decryption_version": 1, "allow_lowering": false}),
        ] {
            let (status, problem) = api.patch("/v1/keys/retiring", body).await;
            assert_eq!(status, 422, "{problem}");
            assert_eq!(
                field_names(&problem),
                ["min_decryption_version"],
                "{problem}"
            );
        }
        let (status, problem) = api
            .patch(
                "/v1/keys/retiring",
                json!({"min_decryption_version": 1, "allow_lowering": "yes"}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_names(&problem), ["allow_lowering"], "{problem}");
        let (status, key) = api
            .send(reqwest::Method::GET, "/v1/keys/retiring", None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            key["min_decryption_version"], 3,
            "a refused lowering changed the key"
        );
        let (status, _) = api
            .post(
                "/v1/keys/retiring/decrypt",
                json!({"ciphertext": old["ciphertext"]}),
            )
            .await;
        assert_eq!(status, 422, "the retired version came back");

        // On purpose, it works and is audited with the old and new minimum.
        let (status, body) = api
            .patch(
                "/v1/keys/retiring",
                json!({"min_decryption_version": 1, "allow_lowering": true}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["min_decryption_version"], 1);
        let (_, entries) = api.audit().await;
        let lowered = entries
            .iter()
            .find(|e| {
                e["action"] == "keys.update"
                    && e["details"]["allow_lowering"] == true
                    && e["status"] == "success"
            })
            .unwrap_or_else(|| panic!("no audit entry of the lowering: {entries:?}"));
        assert_eq!(lowered["details"]["previous_min_decryption_version"], 3);
        assert_eq!(lowered["details"]["min_decryption_version"], 1);
        assert_eq!(lowered["resource"]["id"], "retiring");
        // The refused attempts are audited as failures with what they asked for.
        assert!(
            entries.iter().any(|e| e["action"] == "keys.update"
                && e["status"] == "failure"
                && e["details"]["allow_lowering"] == false
                && e["details"]["previous_min_decryption_version"] == 3),
            "{entries:?}"
        );
    });
}

/// Finding 12: a card number, an API key or a JWT typed into a path reaches neither the audit
/// log, nor the problem body, nor the server's output.
#[test]
fn hardening_secrets_in_paths_stay_out_of_audit_and_logs() {
    let (_dir, server) = start(&[]);
    let api = Api::new(&server);
    let banner = server.stdout().len();
    let pan = "5105105105105100";
    let admin = server.admin_key.clone().unwrap();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let embedded = format!("payments_{pan}");
    let secrets = [pan, admin.as_str(), jwt, embedded.as_str()];
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for secret in secrets {
            for op in ["encrypt", "rotate"] {
                let (status, problem) = api
                    .post(
                        &format!("/v1/keys/{secret}/{op}"),
                        json!({"plaintext": b64(b"x")}),
                    )
                    .await;
                assert!((400..500).contains(&status), "{status} {problem}");
                let problem = problem.to_string();
                assert!(
                    !problem.contains(secret),
                    "the problem echoes it: {problem}"
                );
                // The embedded PAN alone must not survive either.
                assert!(!problem.contains(pan), "{problem}");
            }
            let (status, _) = api
                .patch(
                    &format!("/v1/keys/{secret}"),
                    json!({"min_decryption_version": 1}),
                )
                .await;
            assert!((400..500).contains(&status));
        }
        let (audit, entries) = api.audit().await;
        assert!(
            entries
                .iter()
                .filter(|e| e["action"] == "keys.encrypt")
                .count()
                >= 4,
            "the requests were not audited: {audit}"
        );
        assert!(audit.contains("[REDACTED:"), "{audit}");
        for secret in secrets {
            assert!(!audit.contains(secret), "the audit log holds it: {audit}");
        }
        assert!(!audit.contains(pan), "{audit}");
    });
    let stdout = server.stdout();
    let after_banner = stdout.get(banner..).unwrap_or_default();
    let stderr = server.stderr();
    for secret in secrets {
        assert!(!after_banner.contains(secret), "stdout: {after_banner}");
        assert!(!stderr.contains(secret), "stderr: {stderr}");
    }
    assert!(!stderr.contains(pan));
}

fn many_pans(count: u64) -> String {
    (0..count)
        .map(|i| pan(i * 7919 + 17))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finding 8: tokenizing is bounded per request, and a request that times out leaves no cards,
/// or cards with an audit entry; never unaudited cards.
#[test]
fn hardening_tokenizing_redactions_are_bounded_and_never_unaudited() {
    // Over the limit: 422 naming the limit, and no card stored.
    let (_dir, server) = start(&[("RAMPART_MAX_TOKENIZED_PER_REQUEST", "100")]);
    let api = Api::new(&server);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (status, problem) = api
            .post(
                "/v1/redact",
                json!({"text": many_pans(101), "policy": {"credit_card": "tokenize"}}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(field_names(&problem), ["text"], "{problem}");
        assert!(problem.to_string().contains("100"), "{problem}");
        assert_eq!(api.stored_cards().await, 0, "an over-limit request stored cards");
        // At the limit it works, and every token it returns is stored.
        let (status, body) = api
            .post(
                "/v1/redact",
                json!({"document": {"cards": many_pans(100)}, "policy": {"credit_card": "tokenize"}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["document"]["cards"].as_str().unwrap().matches("tok_").count(), 100);
        assert_eq!(api.stored_cards().await, 100);
    });
    drop(server);

    // A request that times out: no cards, or cards with an audit entry saying how many.
    let (_dir, server) = start(&[
        ("RAMPART_REQUEST_TIMEOUT_SECONDS", "1"),
        ("RAMPART_MAX_TOKENIZED_PER_REQUEST", "1000000"),
        ("RAMPART_BODY_LIMIT_BYTES", "16777216"),
    ]);
    let api = Api::new(&server);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (status, body) = api
            .post(
                "/v1/redact",
                json!({"text": many_pans(120_000), "policy": {"credit_card": "tokenize"}}),
            )
            .await;
        // Whatever the background work still does, let it finish before counting.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let stored = api.stored_cards().await;
        let (_, entries) = api.audit().await;
        let audited: u64 = entries
            .iter()
            .filter(|e| e["action"] == "privacy.redact")
            .filter_map(|e| e["details"]["tokenized"].as_u64())
            .sum();
        eprintln!("status {status}, {stored} cards stored, {audited} audited as tokenized");
        match status {
            200 => assert_eq!(
                body["text"].as_str().unwrap().matches("tok_").count(),
                120_000
            ),
            503 => {}
            other => panic!("{other} {body}"),
        }
        assert_eq!(stored, audited, "cards stored without an audit entry");
    });
}
