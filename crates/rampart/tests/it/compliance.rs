//! Issue 20: compliance reports on the real binary, over HTTP. Controls flip as the deployment
//! changes (an admin without MFA, a key past its rotation period, a tampered audit row, TLS
//! off, an expired waiver); reports are signed, kept, audited and served as JSON, HTML and
//! OSCAL; the evidence package verifies offline and one changed byte in any member fails it
//! naming the member (`evidence`); the daily evaluation records each control's history.

mod evidence;
mod html;
mod postgres;

use reqwest::Method;
use serde_json::{Value, json};

use crate::subjects::public_key;
use crate::support::{rampart, run, text};
use crate::threat::{Env, PASSWORD, rt, start};

/// Settings for these tests: no automatic key rotation during them.
pub const SETTINGS: &[(&str, &str)] = &[("RAMPART_KEY_MAINTENANCE_INTERVAL_SECONDS", "86400")];

/// A new report of `framework`; asserts 201 and a valid signature.
pub async fn report(env: &Env, framework: &str) -> Value {
    let answer = env
        .admin(
            Method::POST,
            "/v1/compliance/reports",
            Some(json!({"framework": framework})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let verifier = rampart_audit::verifier_from_key_text(&public_key(env).await).unwrap();
    verifier.verify_document(&answer.body).unwrap();
    answer.body
}

/// The controls of `report` that cite the fact titled `fact`, with their statuses.
pub fn citing<'a>(report: &'a Value, fact: &str) -> Vec<(&'a str, &'a str)> {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["fact"] == fact)
        })
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect()
}

/// Asserts at least one control of `report` cites `fact`, and every one is `status`.
fn all_cite(report: &Value, fact: &str, status: &str) {
    let controls = citing(report, fact);
    assert!(!controls.is_empty(), "no control cites {fact}");
    assert!(
        controls.iter().all(|(_, s)| *s == status),
        "{fact}: {controls:?}, expected {status}"
    );
}

/// The value of the fact titled `fact` as cited by `report`'s controls.
pub fn cited(report: &Value, fact: &str) -> Value {
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["evidence"].as_array().unwrap().iter())
        .find(|e| e["fact"] == fact)
        .map(|e| e["value"].clone())
        .unwrap_or(Value::Null)
}

/// The data dir's SQLite database, for edits the API never allows.
pub async fn database(env: &Env) -> sqlx::SqlitePool {
    let path = env.dir.path().join("rampart.db");
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

/// Logs `name` in, enrolls and confirms TOTP (the admin role requires a second factor).
async fn enroll_totp(env: &Env, id: &str, name: &str) {
    let login = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            None,
            Some(json!({"name": name, "password": PASSWORD})),
        )
        .await;
    let enrollment = login.body["enrollment_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", login.body))
        .to_owned();
    let enrolled = env
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp"),
            Some(&enrollment),
            None,
            None,
        )
        .await;
    let secret = rampart_access::totp::TotpSecret::from_base32(
        enrolled.body["secret_b32"].as_str().unwrap(),
    )
    .unwrap();
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let code = rampart_access::totp::Totp::DEFAULT.code_at(&secret, now);
    let confirmed = env
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp/confirm"),
            Some(&enrollment),
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
}

#[test]
fn frameworks_list_controls_and_reports_are_kept_signed_and_audited() {
    let env = start(SETTINGS);
    rt().block_on(async {
        let answer = env
            .admin(Method::GET, "/v1/compliance/frameworks", None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let ids: Vec<_> = answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["soc2", "pci-dss", "hipaa", "gdpr", "mifid2"]);
        for framework in answer.body["items"].as_array().unwrap() {
            let controls = framework["controls"].as_array().unwrap();
            assert!(
                controls.len() >= 12,
                "{}: {}",
                framework["id"],
                controls.len()
            );
            for control in controls {
                let id = control["id"].as_str().unwrap();
                assert!(id.starts_with(framework["id"].as_str().unwrap()), "{id}");
                assert!(!control["requirement"].as_str().unwrap().is_empty(), "{id}");
            }
        }
        for framework in ["soc2", "pci-dss", "hipaa", "gdpr", "mifid2"] {
            let report = report(&env, framework).await;
            let controls = report["controls"].as_array().unwrap();
            let summary = &report["summary"];
            let total: u64 = ["pass", "fail", "manual", "waived", "not_applicable"]
                .iter()
                .map(|k| summary[k].as_u64().unwrap())
                .sum();
            assert_eq!(total, controls.len() as u64, "{framework}: {summary}");
            // A control Rampart cannot judge is manual, never pass.
            assert!(summary["manual"].as_u64().unwrap() > 0, "{framework}");
            for control in controls {
                if control["status"] == "fail" {
                    assert!(!control["remediation"].as_str().unwrap().is_empty());
                }
            }
            // Facts come with their sources.
            for fact in report["facts"].as_array().unwrap() {
                assert!(!fact["source"].as_str().unwrap().is_empty(), "{fact}");
            }
            let id = report["id"].as_str().unwrap();
            let kept = env
                .admin(Method::GET, &format!("/v1/compliance/reports/{id}"), None)
                .await;
            assert_eq!(kept.status, 200);
            assert_eq!(kept.body, report, "kept exactly as signed");
        }
        let listed = env
            .admin(Method::GET, "/v1/compliance/reports?framework=gdpr", None)
            .await;
        assert_eq!(
            listed.body["items"].as_array().unwrap().len(),
            1,
            "{}",
            listed.body
        );
        // Each report is audited with its summary.
        let entries = env.audit_entries("compliance.report_generate").await;
        assert_eq!(entries.len(), 5);
        assert!(
            entries
                .iter()
                .all(|e| e["details"]["summary"]["manual"].is_u64())
        );
        // Bad requests: named fields, nothing stored.
        for (body, field) in [
            (json!({"framework": "iso27001"}), "framework"),
            (json!({"framework": "soc2", "extra": 1}), "extra"),
            (json!({}), "framework"),
        ] {
            let answer = env
                .admin(Method::POST, "/v1/compliance/reports", Some(body))
                .await;
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert!(
                answer.fields().iter().any(|f| f.contains(field)),
                "{field}: {}",
                answer.body
            );
        }
        let unknown = env
            .admin(
                Method::GET,
                "/v1/compliance/reports/rpt_00000000000000000000000000000000",
                None,
            )
            .await;
        assert_eq!(unknown.status, 404);
        let bad_format = env
            .admin(Method::GET, "/v1/compliance/reports/x?format=pdf", None)
            .await;
        assert_eq!(bad_format.status, 422);
        // Permissions: a viewer may do none of it.
        let viewer = env.user("vera", &["viewer"]).await;
        let key = env
            .api_key(&viewer, "vera-key", &["audit:read", "keys:read"])
            .await;
        let denied = env
            .call(
                Method::POST,
                "/v1/compliance/reports",
                Some(&key),
                None,
                Some(json!({"framework": "soc2"})),
            )
            .await;
        assert_eq!(denied.status, 403, "{}", denied.body);
        let denied = env
            .call(
                Method::GET,
                "/v1/compliance/frameworks",
                Some(&key),
                None,
                None,
            )
            .await;
        assert_eq!(denied.status, 403, "{}", denied.body);
    });
}

#[test]
fn controls_flip_as_the_deployment_changes() {
    let env = start(SETTINGS);
    rt().block_on(async {
        // An admin who logs in with a password and has no second factor.
        let alice = env.user("alice", &["admin"]).await;
        let before = report(&env, "pci-dss").await;
        all_cite(&before, "admins without MFA", "fail");
        assert!(cited(&before, "admins without MFA").as_array().unwrap().contains(&json!("alice")));
        enroll_totp(&env, &alice, "alice").await;
        let after = report(&env, "pci-dss").await;
        all_cite(&after, "admins without MFA", "pass");

        // A key past its rotation period (its version made 40 days ago), then rotated.
        let created = env
            .admin(Method::POST, "/v1/keys", Some(json!({"name": "payments", "rotation_period_days": 30})))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let db = database(&env).await;
        sqlx::query(
            "UPDATE key_versions SET created_at = created_at - 40 * 86400000000
             WHERE key_name = 'payments'",
        )
        .execute(&db)
        .await
        .unwrap();
        let stale = report(&env, "soc2").await;
        all_cite(&stale, "keys past their rotation period", "fail");
        assert_eq!(cited(&stale, "keys past their rotation period"), json!(["payments"]));
        let rotated = env.admin(Method::POST, "/v1/keys/payments/rotate", None).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let fresh = report(&env, "soc2").await;
        all_cite(&fresh, "keys past their rotation period", "pass");

        // TLS off: the transmission controls fail (TLS on passes: `tls_on_passes_transmission`).
        all_cite(&fresh, "TLS on the API listener", "fail");

        // A tampered audit row after the last verified checkpoint fails the integrity control.
        all_cite(&fresh, "audit log verification", "pass");
        for i in 0..5 {
            let answer = env
                .admin(Method::POST, "/v1/audit/entries", Some(json!({
                    "actor": {"type": "user", "id": "u1"}, "action": "payment.refund",
                    "resource": {"type": "payment", "id": format!("p{i}")}, "status": "success"})))
                .await;
            assert_eq!(answer.status, 201, "{}", answer.body);
        }
        let seq: i64 = sqlx::query_scalar(
            "SELECT max(seq) FROM audit_entries WHERE action = 'payment.refund'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        sqlx::query("DROP TRIGGER audit_entries_no_update").execute(&db).await.unwrap();
        sqlx::query("UPDATE audit_entries SET body = replace(body, 'payment.refund', 'payment.refunx') WHERE seq = ?")
            .bind(seq)
            .execute(&db)
            .await
            .unwrap();
        let tampered = report(&env, "mifid2").await;
        all_cite(&tampered, "audit log verification", "fail");
        let verification = cited(&tampered, "audit log verification");
        assert_eq!(verification["ok"], false);
        assert!(
            verification["problems"].to_string().contains(&format!("entry {seq}")),
            "{verification}"
        );
        db.close().await;
    });
}

#[test]
fn waivers_waive_until_they_expire_then_count_as_fail() {
    let env = start(SETTINGS);
    rt().block_on(async {
        let first = report(&env, "hipaa").await;
        let (control, status) = citing(&first, "TLS on the API listener")[0];
        assert_eq!(status, "fail");
        let control = control.to_owned();
        let in_a_moment = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
        let expires = in_a_moment
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let granted = env
            .admin(Method::POST, "/v1/compliance/waivers", Some(json!({
                "framework": "hipaa", "control": control,
                "reason": "TLS terminates at the load balancer (SEC-12)", "expires_at": expires})))
            .await;
        assert_eq!(granted.status, 201, "{}", granted.body);
        let waived = report(&env, "hipaa").await;
        let result = waived["controls"].as_array().unwrap().iter().find(|c| c["id"] == control.as_str()).unwrap().clone();
        assert_eq!(result["status"], "waived", "{result}");
        assert_eq!(result["judged"], "fail");
        assert!(waived["summary"]["waived"].as_u64().unwrap() >= 1);
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let expired = report(&env, "hipaa").await;
        let result = expired["controls"].as_array().unwrap().iter().find(|c| c["id"] == control.as_str()).unwrap().clone();
        assert_eq!(result["status"], "fail", "{result}");
        assert_eq!(result["waiver"]["expired"], true);
        let waivers = env.admin(Method::GET, "/v1/compliance/waivers", None).await;
        assert_eq!(waivers.body["items"][0]["expired"], true, "{}", waivers.body);
        // The control's history: fail, waived, fail (newest first).
        let history = env
            .admin(Method::GET, &format!("/v1/compliance/controls/hipaa/{control}/history"), None)
            .await;
        assert_eq!(history.status, 200, "{}", history.body);
        // (The daily evaluation at start adds its own result, without a report.)
        let statuses: Vec<_> = history.body["items"].as_array().unwrap().iter()
            .filter(|h| h["report_id"].is_string())
            .map(|h| h["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["fail", "waived", "fail"]);
        // Revoked: gone from the list, kept on record; twice: 404.
        let id = granted.body["id"].as_str().unwrap();
        let revoke = env.admin(Method::DELETE, &format!("/v1/compliance/waivers/{id}"), None).await;
        assert_eq!(revoke.status, 204);
        let again = env.admin(Method::DELETE, &format!("/v1/compliance/waivers/{id}"), None).await;
        assert_eq!(again.status, 404);
        // Bad waivers, each named.
        let future = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        for (body, field) in [
            (json!({"framework": "sox", "control": control, "reason": "r", "expires_at": future}), "framework"),
            (json!({"framework": "hipaa", "control": "hipaa-nope", "reason": "r", "expires_at": future}), "control"),
            (json!({"framework": "hipaa", "control": control, "reason": " ", "expires_at": future}), "reason"),
            (json!({"framework": "hipaa", "control": control, "reason": "r", "expires_at": "2020-01-01T00:00:00Z"}), "expires_at"),
            (json!({"framework": "hipaa", "control": control, "reason": "r", "expires_at": "tomorrow"}), "expires_at"),
            (json!({"framework": "hipaa", "control": control, "reason": "r", "expires_at": "2099-01-01T00:00:00Z"}), "expires_at"),
            (json!({"framework": "hipaa", "control": control, "reason": "r"}), "expires_at"),
        ] {
            let answer = env.admin(Method::POST, "/v1/compliance/waivers", Some(body)).await;
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert!(answer.fields().iter().any(|f| f.contains(field)), "{field}: {}", answer.body);
        }
        let unknown = env
            .admin(Method::GET, "/v1/compliance/controls/hipaa/nope/history", None)
            .await;
        assert_eq!(unknown.status, 404);
        // Every attempt is audited; one succeeded.
        let waivers = env.audit_entries("compliance.waiver_grant").await;
        assert_eq!(waivers.iter().filter(|e| e["status"] == "success").count(), 1);
        assert_eq!(waivers.iter().filter(|e| e["status"] == "failure").count(), 7);
    });
}

#[test]
fn tls_on_passes_transmission() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = crate::tls::write_server_pki(dir.path());
    let data = dir.path().join("data").display().to_string();
    let server = crate::support::Server::start(
        &["--data-dir", &data, "--tls-cert", &cert, "--tls-key", &key],
        &[],
    );
    let base = server.base.replace("127.0.0.1", "localhost");
    let admin = server.admin_key.clone().unwrap();
    let http = crate::support::client(Some(&ca), None);
    rt().block_on(async {
        let response = http
            .post(format!("{base}/v1/compliance/reports"))
            .bearer_auth(&admin)
            .json(&json!({"framework": "gdpr"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let report: Value = response.json().await.unwrap();
        all_cite(&report, "TLS on the API listener", "pass");
        assert_eq!(
            cited(&report, "TLS protocol versions accepted"),
            json!(["TLSv1.3", "TLSv1.2"])
        );
    });
}

#[test]
fn the_daily_evaluation_records_history_after_a_full_verification() {
    let env = start(&[
        ("RAMPART_KEY_MAINTENANCE_INTERVAL_SECONDS", "86400"),
        ("RAMPART_COMPLIANCE_INTERVAL_SECONDS", "1"),
    ]);
    rt().block_on(async {
        let frameworks = env
            .admin(Method::GET, "/v1/compliance/frameworks", None)
            .await;
        let control = frameworks.body["items"][0]["controls"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/v1/compliance/controls/soc2/{control}/history");
        let mut items = Vec::new();
        for _ in 0..100 {
            items = env.admin(Method::GET, &path, None).await.body["items"]
                .as_array()
                .unwrap()
                .clone();
            if items.len() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(items.len() >= 2, "{items:?}");
        assert!(items.iter().all(|h| h["report_id"].is_null()));
        let evaluated = env.audit_entries("compliance.evaluated").await;
        assert!(!evaluated.is_empty());
        // The evaluation verified the log in full: reports cite when.
        let report = report(&env, "soc2").await;
        let facts = report["facts"].as_array().unwrap();
        let full = facts
            .iter()
            .find(|f| f["name"] == "audit_last_full_verification")
            .unwrap();
        assert!(full["value"].is_string(), "{full}");
    });
}

#[test]
fn the_cli_reports_as_a_table_and_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let init = run(rampart().args(["init", "--data-dir", data]));
    assert!(init.status.success(), "{:?}", text(&init));
    let out = run(rampart().args([
        "compliance",
        "report",
        "--framework",
        "pci-dss",
        "--data-dir",
        data,
    ]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("PASS  FAIL  MANUAL  WAIVED  N/A"),
        "{stdout}"
    );
    assert!(stdout.contains("pci-dss-"), "{stdout}");
    assert!(
        stdout.contains("fix: "),
        "failures come with their remediation: {stdout}"
    );
    for format in ["json", "html", "oscal"] {
        let file = dir.path().join(format!("report.{format}"));
        let out = run(rampart().args([
            "compliance",
            "report",
            "--framework",
            "gdpr",
            "--data-dir",
            data,
            "--format",
            format,
            "--output",
            file.to_str().unwrap(),
        ]));
        assert!(out.status.success(), "{:?}", text(&out));
        let written = std::fs::read_to_string(&file).unwrap();
        match format {
            "html" => assert!(
                written.starts_with("<!DOCTYPE html>") || written.starts_with("<!doctype html>"),
                "{}",
                &written[..50]
            ),
            "oscal" => assert!(
                serde_json::from_str::<Value>(&written).unwrap()["assessment-results"].is_object()
            ),
            _ => assert_eq!(
                serde_json::from_str::<Value>(&written).unwrap()["framework"],
                "gdpr"
            ),
        }
    }
    let bad = run(rampart().args([
        "compliance",
        "report",
        "--framework",
        "iso27001",
        "--data-dir",
        data,
    ]));
    assert!(!bad.status.success());
    assert!(text(&bad).1.contains("iso27001"), "{:?}", text(&bad));
}

#[test]
fn a_row_tampered_below_the_verified_size_fails_from_the_next_full_verification_on() {
    let env = start(&[
        ("RAMPART_KEY_MAINTENANCE_INTERVAL_SECONDS", "86400"),
        ("RAMPART_COMPLIANCE_INTERVAL_SECONDS", "2"),
    ]);
    rt().block_on(async {
        for i in 0..5 {
            env.admin(Method::POST, "/v1/audit/entries", Some(json!({
                "actor": {"type": "user", "id": "u1"}, "action": "payment.refund",
                "resource": {"type": "payment", "id": format!("p{i}")}, "status": "success"})))
                .await;
        }
        let clean = report(&env, "soc2").await;
        all_cite(&clean, "audit log verification", "pass");
        let db = database(&env).await;
        let seq: i64 = sqlx::query_scalar(
            "SELECT min(seq) FROM audit_entries WHERE action = 'payment.refund'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        sqlx::query("DROP TRIGGER audit_entries_no_update").execute(&db).await.unwrap();
        sqlx::query("UPDATE audit_entries SET body = replace(body, 'payment.refund', 'payment.refunx') WHERE seq = ?")
            .bind(seq)
            .execute(&db)
            .await
            .unwrap();
        db.close().await;
        // The next daily evaluation re-hashes every entry and records that it failed ...
        let mut failed = false;
        for _ in 0..100 {
            let evaluated = env.audit_entries("compliance.evaluated").await;
            if evaluated.iter().any(|e| e["details"]["audit_verification"]["ok"] == false) {
                failed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(failed, "no daily evaluation found the change");
        // ... and every report from then on fails the integrity controls, naming the entry.
        let after = report(&env, "soc2").await;
        all_cite(&after, "audit log verification", "fail");
        let verification = cited(&after, "audit log verification");
        assert!(
            verification["problems"].to_string().contains(&format!("entry {seq}")),
            "{verification}"
        );
        assert!(verification["full_verification_failed_at"].is_string());
    });
}
