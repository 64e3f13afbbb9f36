//! Issue 21: `/metrics` families for what an operator watches: logins by result and lockouts,
//! key operations by type, the audit writer (append latency, queue, batches, tree size,
//! checkpoint age), rate-limit refusals and the database pool; the text parses as Prometheus
//! exposition and carries no secret.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;

use crate::threat::{PASSWORD, rt, rule, start};

/// One sample line of the exposition: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: String,
    value: f64,
}

/// Parses the exposition: every line a `# HELP`, `# TYPE`, `# UNIT` or `# EOF` comment, or a
/// sample whose name is a metric name, whose labels are `name="value"` pairs, and whose value
/// is a number. Panics naming the first line that is neither.
fn parse(text: &str) -> Vec<Sample> {
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut samples = Vec::new();
    let mut families = HashMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next()) {
                (Some("HELP" | "UNIT"), Some(name)) => assert!(is_name(name), "{line}"),
                (Some("TYPE"), Some(name)) => {
                    assert!(is_name(name), "{line}");
                    let kind = words.next().unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&kind),
                        "{line}"
                    );
                    families.insert(name.to_owned(), kind.to_owned());
                }
                (Some("EOF"), None) => {}
                _ => panic!("not a Prometheus comment: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                for pair in labels.split(',') {
                    let (label, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                    assert!(is_name(label), "{line}");
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "{line}"
                    );
                }
                (name, labels)
            }
            None => (series, ""),
        };
        assert!(is_name(name), "{line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels: labels.to_owned(),
            value,
        });
    }
    for family in [
        "rampart_logins",
        "rampart_login_lockouts",
        "rampart_key_operations",
        "rampart_rate_limited",
    ] {
        assert_eq!(
            families.get(family).map(String::as_str),
            Some("counter"),
            "{family}"
        );
    }
    for family in [
        "rampart_audit_append_duration_seconds",
        "rampart_audit_batch_entries",
    ] {
        assert_eq!(
            families.get(family).map(String::as_str),
            Some("histogram"),
            "{family}"
        );
    }
    samples
}

/// The value of the sample `name` whose labels are exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &str) -> f64 {
    samples
        .iter()
        .find(|s| s.name == name && s.labels == labels)
        .unwrap_or_else(|| panic!("no {name}{{{labels}}}"))
        .value
}

#[test]
fn metrics_count_logins_lockouts_key_operations_audit_appends_and_rate_limits() {
    let env = start(&[("RAMPART_MAX_LOGIN_ATTEMPTS", "2")]);
    rt().block_on(async {
        env.user("mia", &["viewer"]).await;
        let login = |password: &str| {
            env.call(
                Method::POST,
                "/v1/auth/login",
                None,
                None,
                Some(json!({"name": "mia", "password": password})),
            )
        };
        assert_eq!(login("wrong-1").await.status, 401);
        // The second failure reaches max_login_attempts: it locks (423), and so does the next.
        assert_eq!(login("wrong-2").await.status, 423);
        assert_eq!(login(PASSWORD).await.status, 423);

        let created = env
            .admin(
                Method::POST,
                "/v1/keys",
                Some(json!({"name": "metered", "type": "aes256-gcm"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let plaintext = "c2VjcmV0LXBsYWludGV4dA==";
        let one = env
            .admin(
                Method::POST,
                "/v1/keys/metered/encrypt",
                Some(json!({"plaintext": plaintext})),
            )
            .await;
        assert_eq!(one.status, 200, "{}", one.body);
        let batch = env
            .admin(
                Method::POST,
                "/v1/keys/metered/encrypt",
                Some(json!({"batch": [{"plaintext": plaintext}, {"plaintext": plaintext}, {"plaintext": "***"}]})),
            )
            .await;
        assert_eq!(batch.status, 200, "{}", batch.body);

        let appended = env
            .admin(
                Method::POST,
                "/v1/audit/entries",
                Some(json!({"actor": {"type": "user", "id": "u-1"}, "action": "report.view",
                    "resource": {"type": "report", "id": "r-1"}, "status": "success"})),
            )
            .await;
        assert_eq!(appended.status, 201, "{}", appended.body);

        env.put_rules(json!([rule("health-once", "ip", &["GET /v1/health"], 1, 3600)]))
            .await;
        assert_eq!(env.anonymous("/v1/health", "127.0.0.1").await.status, 200);
        assert_eq!(env.anonymous("/v1/health", "127.0.0.1").await.status, 429);

        let text = env
            .http
            .get(format!("{}/metrics", env.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let samples = parse(&text);
        let logins = "rampart_logins_total";
        assert_eq!(value(&samples, logins, r#"result="failure""#), 1.0, "{text}");
        assert_eq!(value(&samples, logins, r#"result="locked""#), 2.0);
        assert_eq!(value(&samples, logins, r#"result="success""#), 0.0);
        assert_eq!(value(&samples, "rampart_login_lockouts_total", ""), 1.0);
        let ops = "rampart_key_operations_total";
        // One single and two of three batch items succeeded.
        assert_eq!(value(&samples, ops, r#"op="encrypt""#), 3.0);
        assert_eq!(value(&samples, ops, r#"op="decrypt""#), 0.0);
        assert_eq!(
            value(&samples, "rampart_rate_limited_total", r#"rule="health-once""#),
            1.0
        );
        let appends = value(&samples, "rampart_audit_append_duration_seconds_count", "");
        assert!(appends >= 1.0, "{text}");
        assert_eq!(
            value(
                &samples,
                "rampart_audit_append_duration_seconds_bucket",
                r#"le="+Inf""#
            ),
            appends
        );
        assert!(value(&samples, "rampart_audit_append_duration_seconds_sum", "") > 0.0);
        assert!(value(&samples, "rampart_audit_batch_entries_count", "") >= 1.0);
        assert!(value(&samples, "rampart_audit_tree_size", "") >= 2.0);
        assert!(value(&samples, "rampart_audit_checkpoint_age_seconds", "") >= 0.0);
        assert!(value(&samples, "rampart_audit_queue_depth", "") >= 0.0);
        assert!(value(&samples, "rampart_db_pool_connections_max", "") >= 1.0);
        assert!(value(&samples, "rampart_db_pool_connections_in_use", "") >= 0.0);
        for secret in [PASSWORD, "wrong-1", env.admin.as_str(), plaintext, "secret-plaintext"] {
            assert!(!text.contains(secret), "/metrics holds {secret}");
        }
    });
}
