//! The audit API: appends, validation, queries, proofs, export, permissions and the trail of
//! denials.

use http::{Method, StatusCode};
use rampart_audit::LogVerifier;
use rampart_audit::tree::{from_hex, verify_consistency, verify_inclusion};
use serde_json::{Value, json};

use crate::harness::{App, event};

fn hashes(value: &Value) -> Vec<[u8; 32]> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

fn assert_problem(reply: &crate::harness::Reply, status: u16, slug: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(
        reply.body["type"],
        format!("https://rampart.dev/problems/{slug}"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn appends_are_acknowledged_with_their_place() {
    let app = App::new().await;
    let one = app.post("/v1/audit/entries", event(0)).await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.text);
    assert_eq!(one.body["entries"][0]["seq"], 0);
    assert_eq!(one.body["tree_size"], 1);
    let batch: Vec<Value> = (1..=50).map(event).collect();
    let many = app
        .post("/v1/audit/entries", json!({"events": batch}))
        .await;
    assert_eq!(many.status, StatusCode::CREATED, "{}", many.text);
    assert_eq!(many.body["entries"].as_array().unwrap().len(), 50);
    assert_eq!(many.body["entries"][49]["seq"], 50);
    assert_eq!(many.body["tree_size"], 51);

    let entry = app.get("/v1/audit/entries/7").await;
    assert_eq!(entry.status, StatusCode::OK);
    assert_eq!(entry.body["seq"], 7);
    assert_eq!(entry.body["actor"]["id"], "u7");
    assert_eq!(
        entry.body["leaf_hash"],
        many.body["entries"][6]["leaf_hash"]
    );
    assert_eq!(
        entry.body["submitted_by"]["principal_id"]
            .as_str()
            .map(str::len),
        Some(36)
    );
    // The leaf is the RFC 8785 form of exactly what GET returns, minus leaf_hash.
    let mut body = entry.body.clone();
    body.as_object_mut().unwrap().remove("leaf_hash");
    let canonical = serde_json_canonicalizer::to_vec(&body).unwrap();
    let leaf = rampart_audit::tree::leaf_hash(&canonical);
    assert_eq!(rampart_audit::tree::to_hex(&leaf), entry.body["leaf_hash"]);

    assert_problem(&app.get("/v1/audit/entries/999").await, 404, "not-found");
    assert_problem(
        &app.get("/v1/audit/entries/minus-one").await,
        422,
        "validation-failed",
    );
    let health = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(health.body["audit"]["tree_size"], 51);
}

#[tokio::test]
async fn bad_events_are_named_and_nothing_is_written() {
    let app = App::new().await;
    let mut batch: Vec<Value> = (0..5).map(event).collect();
    batch[3]["status"] = json!("maybe");
    batch[4].as_object_mut().unwrap().remove("actor");
    let reply = app
        .post("/v1/audit/entries", json!({"events": batch}))
        .await;
    assert_problem(&reply, 422, "validation-failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["events[3].status", "events[4].actor"]);
    // All or nothing: the three valid events were not written (only the trail's own entry).
    let page = app.get("/v1/audit/entries?action=record.read").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 0);

    assert_problem(
        &app.post("/v1/audit/entries", json!({"events": []})).await,
        422,
        "validation-failed",
    );
    let too_many: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    assert_problem(
        &app.post("/v1/audit/entries", json!({"events": too_many}))
            .await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.post("/v1/audit/entries", json!({"events": [], "extra": 1}))
            .await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.post("/v1/audit/entries", json!([1, 2])).await,
        422,
        "validation-failed",
    );
    let not_json = http::Request::builder()
        .method(Method::POST)
        .uri("/v1/audit/entries")
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    assert_problem(&app.send(not_json).await, 400, "bad-request");
    let no_type = http::Request::builder()
        .method(Method::POST)
        .uri("/v1/audit/entries")
        .header("authorization", format!("Bearer {}", app.admin))
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_problem(&app.send(no_type).await, 415, "unsupported-media-type");
}

#[tokio::test]
async fn audit_batches_may_be_larger_than_other_bodies() {
    let app = App::new().await;
    // ~2 MiB: over the 1 MiB default, under the 8 MiB audit limit.
    let big: Vec<Value> = (0..4_000)
        .map(|i| {
            let mut e = event(i);
            e["details"] = json!({"pad": "x".repeat(400)});
            e
        })
        .collect();
    let reply = app.post("/v1/audit/entries", json!({"events": big})).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{}",
        &reply.text[..reply.text.len().min(300)]
    );
    let huge = vec![b'x'; 9 * 1024 * 1024];
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/v1/audit/entries")
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(huge))
        .unwrap();
    assert_problem(&app.send(request).await, 413, "payload-too-large");
}

#[tokio::test]
async fn queries_filter_paginate_and_refuse_bad_parameters() {
    let app = App::new().await;
    let batch: Vec<Value> = (0..25).map(event).collect();
    app.post("/v1/audit/entries", json!({"events": batch}))
        .await;
    let mut seen = Vec::new();
    let mut uri = "/v1/audit/entries?action=record.*&limit=10".to_owned();
    loop {
        let page = app.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!("/v1/audit/entries?action=record.*&limit=10&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seen, (0..25).collect::<Vec<u64>>());
    let desc = app.get("/v1/audit/entries?actor_id=u3&order=desc").await;
    assert_eq!(desc.body["items"][0]["seq"], 3);
    let ranged = app
        .get("/v1/audit/entries?from_seq=5&to_seq=7&resource_type=record")
        .await;
    assert_eq!(ranged.body["items"].as_array().unwrap().len(), 3);
    let none = app
        .get("/v1/audit/entries?since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("status=maybe", "status"),
        ("order=sideways", "order"),
        ("since=yesterday", "since"),
        ("cursor=abc", "cursor"),
        ("from_seq=-1", "from_seq"),
    ] {
        let reply = app.get(&format!("/v1/audit/entries?{query}")).await;
        assert_problem(&reply, 422, "validation-failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{query}");
    }
    assert_problem(
        &app.get("/v1/audit/entries?colour=red").await,
        400,
        "bad-request",
    );
}

#[tokio::test]
async fn proofs_and_checkpoints_verify_with_the_public_key() {
    let app = App::new().await;
    for chunk in 0..3 {
        let batch: Vec<Value> = (0..300).map(|i| event(chunk * 300 + i)).collect();
        app.post("/v1/audit/entries", json!({"events": batch}))
            .await;
    }
    let key = app
        .call(Method::GET, "/v1/audit/public-key", None, None)
        .await;
    assert_eq!(key.status, StatusCode::OK);
    assert_eq!(key.body["verifier_key"], app.verifier_key);
    assert_eq!(key.body["algorithm"], "ed25519");
    let verifier =
        LogVerifier::parse_verifier_key(key.body["verifier_key"].as_str().unwrap()).unwrap();
    let checkpoint = app.get("/v1/audit/checkpoint").await;
    let signed = verifier
        .verify_note(checkpoint.body["note"].as_str().unwrap())
        .unwrap();
    let size = checkpoint.body["tree_size"].as_u64().unwrap();
    assert_eq!(signed.tree_size, size);
    let root = from_hex(checkpoint.body["root_hash"].as_str().unwrap()).unwrap();
    assert_eq!(signed.root_hash, root);

    for seq in [0, 255, 256, 600, size - 1] {
        let proof = app
            .get(&format!(
                "/v1/audit/proofs/inclusion?seq={seq}&tree_size={size}"
            ))
            .await;
        assert_eq!(proof.status, StatusCode::OK, "{}", proof.text);
        let leaf = from_hex(proof.body["leaf_hash"].as_str().unwrap()).unwrap();
        assert!(
            verify_inclusion(&leaf, seq, size, &hashes(&proof.body["hashes"]), &root),
            "seq {seq}"
        );
    }
    let consistency = app
        .get(&format!("/v1/audit/proofs/consistency?from=300&to={size}"))
        .await;
    assert_eq!(consistency.status, StatusCode::OK, "{}", consistency.text);
    // The signed root at size 300 comes with an export that ends there.
    let export = app.get("/v1/audit/export?to_seq=299").await;
    let trailer: Value = serde_json::from_str(export.text.lines().last().unwrap()).unwrap();
    let old = verifier
        .verify_note(trailer["checkpoint"]["note"].as_str().unwrap())
        .unwrap();
    assert_eq!(old.tree_size, 300);
    assert!(verify_consistency(
        300,
        size,
        &old.root_hash,
        &root,
        &hashes(&consistency.body["hashes"])
    ));
    assert!(!verify_consistency(
        300,
        size,
        &root,
        &root,
        &hashes(&consistency.body["hashes"])
    ));

    assert_problem(
        &app.get(&format!(
            "/v1/audit/proofs/inclusion?seq={size}&tree_size={size}"
        ))
        .await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/audit/proofs/inclusion?seq=0&tree_size=99999")
            .await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/audit/proofs/consistency?from=0").await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/audit/proofs/inclusion").await,
        400,
        "bad-request",
    );

    let report = app.post("/v1/audit/verify", json!({})).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(report.body["ok"], true, "{}", report.text);
    assert_eq!(report.body["checked_entries"], size);
    // Again: only what came since (the first verification's own audit entry) is re-hashed.
    let again = app.post("/v1/audit/verify", json!({})).await;
    assert_eq!(again.body["ok"], true, "{}", again.text);
    assert_eq!(again.body["from_tree_size"], size);
    assert_eq!(again.body["checked_entries"], 1, "{}", again.text);
    let full = app.post("/v1/audit/verify?full=true", json!({})).await;
    assert_eq!(full.body["ok"], true, "{}", full.text);
    assert_eq!(full.body["from_tree_size"], 0);
    assert_eq!(full.body["checked_entries"], full.body["tree_size"]);
    assert_problem(
        &app.post("/v1/audit/verify?full=yes", json!({})).await,
        422,
        "validation-failed",
    );
}

#[tokio::test]
async fn exports_verify_offline_whole_and_in_part() {
    let app = App::new().await;
    let batch: Vec<Value> = (0..600).map(event).collect();
    app.post("/v1/audit/entries", json!({"events": batch}))
        .await;
    for query in [
        "",
        "?from_seq=0&to_seq=599",
        "?from_seq=257&to_seq=513",
        "?from_seq=100",
    ] {
        let reply = app.get(&format!("/v1/audit/export{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
        assert_eq!(reply.headers["content-type"], "application/x-ndjson");
        let mut verifier = rampart_audit::Verifier::new();
        for line in reply.text.lines() {
            verifier.line(line);
        }
        let report = verifier.finish_with_key_text(Some(&app.verifier_key));
        assert!(report.ok, "{query}: {:#?}", report.problems);
    }
    assert_problem(
        &app.get("/v1/audit/export?to_seq=600").await,
        422,
        "validation-failed",
    );
    assert_problem(
        &app.get("/v1/audit/export?from_seq=500&to_seq=400").await,
        422,
        "validation-failed",
    );
}

#[tokio::test]
async fn permissions_are_enforced_and_every_denial_is_audited() {
    let app = App::new().await;
    // A viewer may read but not write.
    let denied = app
        .call(
            Method::POST,
            "/v1/audit/entries",
            Some(&app.viewer),
            Some(event(0)),
        )
        .await;
    assert_problem(&denied, 403, "forbidden");
    assert!(
        denied.body["detail"]
            .as_str()
            .unwrap()
            .contains("audit:write")
    );
    assert_eq!(
        app.call(Method::GET, "/v1/audit/entries", Some(&app.viewer), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_problem(
        &app.call(Method::GET, "/v1/audit/export", Some(&app.viewer), None)
            .await,
        403,
        "forbidden",
    );
    // A key scoped to audit:read cannot write, though its principal (admin) could.
    assert_problem(
        &app.call(
            Method::POST,
            "/v1/audit/entries",
            Some(&app.read_only_admin),
            Some(event(0)),
        )
        .await,
        403,
        "forbidden",
    );
    // No credential.
    assert_problem(
        &app.call(Method::GET, "/v1/audit/entries", None, None).await,
        401,
        "unauthenticated",
    );

    let forbidden = app.get("/v1/audit/entries?action=api.forbidden").await;
    let items = forbidden.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{}", forbidden.text);
    assert_eq!(items[0]["actor"]["id"], app.viewer_id);
    assert_eq!(items[0]["actor"]["type"], "user");
    assert_eq!(items[0]["status"], "denied");
    assert_eq!(items[0]["resource"]["id"], "/v1/audit/entries");
    assert_eq!(items[0]["details"]["status"], 403);
    assert_eq!(items[0]["submitted_by"]["principal_id"], "rampart");
    assert!(items[0]["context"]["request_id"].is_string());
    let unauthenticated = app
        .get("/v1/audit/entries?action=api.unauthenticated")
        .await;
    let items = unauthenticated.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["actor"]["id"], "anonymous");
    // A state change by a valid credential is on the trail too (verify is a POST).
    app.post("/v1/audit/verify", json!({})).await;
    let posts = app.get("/v1/audit/entries?action=api.post").await;
    assert_eq!(posts.body["items"][0]["resource"]["id"], "/v1/audit/verify");
    // Successful appends are their own record, not logged twice.
    app.post("/v1/audit/entries", event(1)).await;
    let posts = app
        .get("/v1/audit/entries?action=api.post&resource_id=/v1/audit/entries")
        .await;
    assert_eq!(posts.body["items"].as_array().unwrap().len(), 0);
}

/// API.md "Contract additions": an integer out of range in a path or a query is a 404 or a
/// 422 naming the parameter, never a 500.
#[tokio::test]
async fn out_of_range_integers_are_404_or_422() {
    let app = App::new().await;
    app.post("/v1/audit/entries", event(0)).await;
    for value in [
        "9223372036854775807",
        "18446744073709551615",
        "99999999999999999999",
    ] {
        let reply = app.get(&format!("/v1/audit/entries/{value}")).await;
        assert_problem(&reply, 404, "not-found");
    }
    for (uri, name) in [
        ("/v1/audit/entries?cursor=99999999999999999999", "cursor"),
        ("/v1/audit/entries?from_seq=9223372036854775808", "from_seq"),
        ("/v1/audit/entries?to_seq=99999999999999999999", "to_seq"),
        ("/v1/audit/entries?limit=99999999999999999999", "limit"),
        (
            "/v1/audit/proofs/inclusion?seq=0&tree_size=9223372036854775808",
            "tree_size",
        ),
        (
            "/v1/audit/proofs/inclusion?seq=0&tree_size=9223372036854775807",
            "tree_size",
        ),
        ("/v1/audit/proofs/inclusion?seq=9223372036854775807", "seq"),
        (
            "/v1/audit/proofs/consistency?from=1&to=9223372036854775807",
            "to",
        ),
        (
            "/v1/audit/proofs/consistency?from=9223372036854775807",
            "from",
        ),
        ("/v1/audit/export?to_seq=9223372036854775807", "to_seq"),
        ("/v1/audit/export?from_seq=99999999999999999999", "from_seq"),
    ] {
        let reply = app.get(uri).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["errors"][0]["field"], name,
            "{uri}: {}",
            reply.text
        );
    }
}

/// The OpenAPI document describes the audit and privacy bodies with typed schemas, so a
/// generated client gets models, not free-form objects.
#[tokio::test]
async fn audit_and_privacy_bodies_have_typed_schemas() {
    let app = App::new().await;
    let doc = app.get("/openapi.json").await.body;
    let schema_ref = |path: &str, method: &str, at: &[&str]| {
        let mut node = &doc["paths"][path][method];
        for key in at {
            node = &node[*key];
        }
        node["$ref"].as_str().unwrap_or_default().to_owned()
    };
    let request = ["requestBody", "content", "application/json", "schema"];
    let ok = ["responses", "200", "content", "application/json", "schema"];
    assert_eq!(
        schema_ref("/v1/audit/entries", "post", &request),
        "#/components/schemas/AppendRequest"
    );
    assert_eq!(
        schema_ref("/v1/audit/entries/{seq}", "get", &ok),
        "#/components/schemas/AuditEntry"
    );
    assert_eq!(
        schema_ref("/v1/redact", "post", &request),
        "#/components/schemas/ScanRequest"
    );
    assert_eq!(
        schema_ref("/v1/detect", "post", &request),
        "#/components/schemas/ScanRequest"
    );
    assert_eq!(
        schema_ref("/v1/redact", "post", &ok),
        "#/components/schemas/RedactResponse"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "AuditEvent",
        "AuditEventBatch",
        "AuditEntry",
        "PolicyOverrides",
        "PolicyAction",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
    // The list is a Page whose items are entries (by reference or inline).
    let list = &doc["paths"]["/v1/audit/entries"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let page = list["$ref"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let items = &schemas[page]["properties"]["items"]["items"];
    assert!(
        items["$ref"] == "#/components/schemas/AuditEntry"
            || items["properties"]["leaf_hash"].is_object(),
        "{list}"
    );
    assert!(doc["paths"]["/v1/audit/export"]["get"]["responses"]["200"]["content"]["application/x-ndjson"].is_object());
    assert!(
        doc["paths"]["/v1/audit/verify"]["post"]["requestBody"].is_null(),
        "verify takes no body"
    );
}
