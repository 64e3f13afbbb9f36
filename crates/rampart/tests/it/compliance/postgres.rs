//! Compliance on two servers sharing one PostgreSQL deployment: a report made on one is kept
//! for both, a waiver granted on the other changes the next report, the evidence package from
//! either verifies offline, and the master key from the environment passes the key-separation
//! controls.

use rampart_test_support::TestPostgres;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Server, client, master_key, rampart, run, text};
use crate::threat::{call, rt};

#[test]
fn reports_waivers_and_evidence_on_two_postgres_nodes() {
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
    let b = start(&dir_b);
    let http = client(None, None);
    let (zip, public_key) = rt().block_on(async {
        let on = |server: &Server, method: Method, path: String, body: Option<Value>| {
            let (http, base, admin) = (http.clone(), server.base.clone(), admin.clone());
            async move { call(&http, &base, method, &path, Some(&admin), None, body).await }
        };
        let first = on(
            &a,
            Method::POST,
            "/v1/compliance/reports".into(),
            Some(json!({"framework": "pci-dss"})),
        )
        .await;
        assert_eq!(first.status, 201, "{}", first.body);
        let id = first.body["id"].as_str().unwrap().to_owned();
        let kept = on(
            &b,
            Method::GET,
            format!("/v1/compliance/reports/{id}"),
            None,
        )
        .await;
        assert_eq!(
            kept.body, first.body,
            "node B serves node A's report as signed"
        );
        let master = first.body["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "pci-dss-3.6.1.2")
            .unwrap();
        assert_eq!(
            master["status"], "pass",
            "the master key comes from the environment: {master}"
        );
        // A waiver granted on B applies to A's next report.
        let tls = first.body["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "pci-dss-4.2.1")
            .unwrap();
        assert_eq!(tls["status"], "fail");
        let until = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let waiver = on(
            &b,
            Method::POST,
            "/v1/compliance/waivers".into(),
            Some(json!({
            "framework": "pci-dss", "control": "pci-dss-4.2.1",
            "reason": "TLS terminates at the load balancer", "expires_at": until})),
        )
        .await;
        assert_eq!(waiver.status, 201, "{}", waiver.body);
        let second = on(
            &a,
            Method::POST,
            "/v1/compliance/reports".into(),
            Some(json!({"framework": "pci-dss"})),
        )
        .await;
        let waived = second.body["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "pci-dss-4.2.1")
            .unwrap();
        assert_eq!(waived["status"], "waived", "{waived}");
        assert_eq!(
            second.body["audit"]["from_seq"],
            first.body["audit"]["tree_size"]
        );
        // Both reports are in the control's history, seen from either node.
        let history = on(
            &b,
            Method::GET,
            "/v1/compliance/controls/pci-dss/pci-dss-4.2.1/history".into(),
            None,
        )
        .await;
        let from_reports = history.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["report_id"].is_string())
            .count();
        assert_eq!(from_reports, 2, "{}", history.body);
        let id = second.body["id"].as_str().unwrap();
        let response = http
            .get(format!("{}/v1/compliance/reports/{id}/evidence", b.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let zip = response.bytes().await.unwrap().to_vec();
        let public_key = on(&a, Method::GET, "/v1/audit/public-key".into(), None)
            .await
            .body["verifier_key"]
            .as_str()
            .unwrap()
            .to_owned();
        (zip, public_key)
    });
    let file = dir_a.path().join("evidence.zip");
    std::fs::write(&file, zip).unwrap();
    let out = run(rampart()
        .args(["compliance", "verify"])
        .arg(&file)
        .args(["--public-key", &public_key]));
    assert!(out.status.success(), "{:?}", text(&out));
}
