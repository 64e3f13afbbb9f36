//! The HTTP API of a running server: health, authentication, errors, headers, OpenAPI, metrics.

use serde_json::Value;

use crate::support::{Server, client};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn assert_problem(
    response_headers: &reqwest::header::HeaderMap,
    body: &Value,
    status: u16,
    slug: &str,
) {
    assert_eq!(
        response_headers.get("content-type").unwrap(),
        "application/problem+json",
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(
        body["type"],
        format!("https://rampart.dev/problems/{slug}"),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

#[test]
fn health_auth_and_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    rt().block_on(async move {
        let http = client(None, None);

        // Health: no auth, the documented shape, security headers, a request id.
        let response = http.get(format!("{base}/v1/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        assert!(headers.get("strict-transport-security").is_none(), "HSTS without TLS");
        assert!(headers.get("access-control-allow-origin").is_none(), "CORS on by default");
        assert!(!headers["x-request-id"].is_empty());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["storage"], "sqlite");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(body["audit"]["tree_size"], 0);
        // Liveness and readiness, without a credential.
        let live: Value = http.get(format!("{base}/v1/health/live")).send().await.unwrap().json().await.unwrap();
        assert_eq!(live["status"], "live");
        let response = http.get(format!("{base}/v1/health/ready")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let ready: Value = response.json().await.unwrap();
        assert_eq!(ready, serde_json::json!({"status": "ready", "checks": {"database": "ok", "audit_writer": "ok"}}));

        // A client's valid request id is echoed; an invalid one is replaced.
        let response = http
            .get(format!("{base}/v1/health"))
            .header("x-request-id", "client-id_1.2")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "client-id_1.2");
        let response = http
            .get(format!("{base}/v1/health"))
            .header("x-request-id", "bad id with spaces")
            .send()
            .await
            .unwrap();
        assert_ne!(response.headers()["x-request-id"], "bad id with spaces");

        // The admin key authenticates.
        let response = http
            .get(format!("{base}/v1/auth/whoami"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["name"], "bootstrap-admin");
        assert_eq!(me["roles"], serde_json::json!(["admin"]));

        // Every kind of bad credential gets the same problem+json 401.
        let mut typo = key.clone().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        let unknown_but_well_formed = {
            // A well-formed key this deployment never issued.
            let out = crate::support::run(
                crate::support::rampart()
                    .args(["init", "--json", "--data-dir"])
                    .arg(tempfile::tempdir().unwrap().path().join("other")),
            );
            let body: Value = serde_json::from_slice(&out.stdout).unwrap();
            body["admin_api_key"].as_str().unwrap().to_owned()
        };
        let mut first_detail = None;
        for header in [
            None,
            Some("Bearer".to_owned()),
            Some("Bearer ".to_owned()),
            Some(format!("Basic {key}")),
            Some("Bearer rk_short".to_owned()),
            Some(format!("Bearer {typo}")),
            Some(format!("Bearer {unknown_but_well_formed}")),
        ] {
            let mut request = http.get(format!("{base}/v1/auth/whoami"));
            if let Some(value) = &header {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{header:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"rampart\"");
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap();
            assert_problem(&headers, &body, 401, "unauthenticated");
            let detail = body["detail"].clone();
            assert_eq!(first_detail.get_or_insert(detail.clone()), &detail, "answers differ");
        }

        // Unknown routes and methods are problems too.
        let response = http.get(format!("{base}/v1/nope")).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let headers = response.headers().clone();
        assert_problem(&headers, &response.json().await.unwrap(), 404, "not-found");
        let response = http.delete(format!("{base}/v1/health")).send().await.unwrap();
        assert_eq!(response.status(), 405);
        let headers = response.headers().clone();
        assert_problem(&headers, &response.json().await.unwrap(), 405, "method-not-allowed");

        // Bodies over the limit are refused from the declared length, before they are read.
        let address = base.trim_start_matches("http://").to_owned();
        let raw = tokio::task::spawn_blocking(move || {
            use std::io::{Read as _, Write as _};
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            write!(
                stream,
                "POST /v1/auth/whoami HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer
        })
        .await
        .unwrap();
        assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
        assert!(raw.contains("application/problem+json"), "{raw}");
        assert!(raw.contains("payload-too-large"), "{raw}");

        // The OpenAPI document is generated from the code and lists every route.
        let doc: Value = http.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in ["/v1/health", "/v1/auth/whoami", "/metrics", "/openapi.json"] {
            assert!(doc["paths"][path].is_object(), "{path} missing from OpenAPI");
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

        // Metrics count what was served.
        let response = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let metrics = response.text().await.unwrap();
        assert!(
            metrics.contains(r#"rampart_http_requests_total{method="GET",route="/v1/auth/whoami",status="401"} 7"#),
            "{metrics}"
        );
    });
    // Every log line is JSON with the request id of its request.
    let logs = server.stderr();
    let served: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "request served")
        .collect();
    assert!(served.len() >= 10, "{logs}");
    assert!(
        served
            .iter()
            .any(|line| line["span"]["request_id"] == "client-id_1.2")
    );
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}

#[test]
fn cors_and_metrics_follow_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[
            ("RAMPART_CORS_ALLOWED_ORIGINS", "https://app.example.com"),
            ("RAMPART_METRICS_ENABLED", "false"),
        ],
    );
    let base = server.base.clone();
    rt().block_on(async move {
        let http = client(None, None);
        let response = http
            .request(reqwest::Method::OPTIONS, format!("{base}/v1/auth/whoami"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
        let response = http
            .get(format!("{base}/v1/health"))
            .header("origin", "https://evil.example.com")
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let response = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 404);
    });
}

/// The OpenAPI document a client generator reads: every operation id unique, every path
/// parameter named in its path template (and every template name declared), query parameters
/// declared `in: query`.
#[test]
fn the_openapi_document_declares_parameters_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    let base = server.base.clone();
    let doc: Value = rt().block_on(async move {
        client(None, None)
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let template: std::collections::BTreeSet<&str> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "operationId {id} used twice ({method} {path})"
            );
            let mut declared = std::collections::BTreeSet::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if parameter["in"] == "path" {
                    assert!(
                        template.contains(name),
                        "{method} {path}: '{name}' declared in: path"
                    );
                    declared.insert(name);
                }
            }
            assert_eq!(declared, template, "{method} {path}: path parameters");
        }
    }
    assert!(ids.len() > 40, "{}", ids.len());
}

#[test]
fn malformed_queries_and_bodies_are_named_never_quoted() {
    const PAN: &str = "4111111111111111";
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    rt().block_on(async move {
        let http = client(None, None);
        let get = |path: String| http.get(format!("{base}{path}")).bearer_auth(&key).send();
        // A parameter name the server does not know (here a card number): 400, not echoed.
        let response = get(format!("/v1/audit/entries?{PAN}=1")).await.unwrap();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_problem(&headers, &body, 400, "bad-request");
        assert!(!text.contains(PAN), "{text}");

        // A typed parameter out of its range: 422 naming it, never 500, never the value.
        let response = get(format!("/v1/api-keys?limit={PAN}{PAN}")).await.unwrap();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_problem(&headers, &body, 422, "validation-failed");
        assert_eq!(body["errors"][0]["field"], "limit", "{body}");
        assert!(!text.contains(PAN), "{text}");

        // A path parameter that is not UTF-8 once decoded: axum refuses it in plain text; the
        // answer is problem+json like every other error.
        for path in [
            "/v1/keys/%FF",
            "/v1/principals/%FF",
            "/v1/audit/entries/%FF",
        ] {
            let response = get(path.to_owned()).await.unwrap();
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap();
            assert_problem(&headers, &body, 400, "bad-request");
        }

        // A body that is not JSON: 400 problem+json; no JSON content type: 415 problem+json.
        for (content_type, status, slug) in [
            ("application/json", 400, "bad-request"),
            ("text/plain", 415, "unsupported-media-type"),
        ] {
            let response = http
                .post(format!("{base}/v1/redact"))
                .bearer_auth(&key)
                .header("content-type", content_type)
                .body(format!("{{\"text\": \"{PAN}"))
                .send()
                .await
                .unwrap();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap();
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_problem(&headers, &body, status, slug);
            assert!(!text.contains(PAN), "{text}");
        }
    });
    let logs = server.stderr();
    assert!(!logs.contains(PAN), "a card number in the logs");
}
