//! The HTML page (escaping, summary cells, one section per control, readable values) and the
//! OSCAL document (required fields, the status mapping, deterministic v5 UUIDs, valid strings
//! and tokens). The OSCAL output was also validated against NIST's official 1.1.2
//! assessment-results JSON schema (see the crate's commit notes); this test keeps the parts of
//! that schema a change could break.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::{Value, json};

use super::{html, oscal};
use crate::control::{Evidence, FrameworkId, Status};
use crate::report::{
    AuditPeriod, ControlResult, FactRecord, Report, ReportId, Summary, WaiverApplied,
};

/// User data that must come out escaped.
pub(crate) const HOSTILE: &str = r#"<script>alert(1)</script> "dq" 'sq' & co"#;

fn control(id: &str, status: Status, judged: Status, evidence: Vec<Evidence>) -> ControlResult {
    ControlResult {
        id: id.into(),
        title: format!("Title of {id}"),
        requirement: "CC6.1".into(),
        checks: "every administrator has a confirmed TOTP second factor".into(),
        status,
        judged,
        reason: format!("why {id} is {}", status.as_str()),
        evidence,
        remediation: if matches!(status, Status::Pass | Status::NotApplicable) {
            String::new()
        } else {
            "enroll TOTP for each listed administrator".into()
        },
        waiver: None,
    }
}

fn evidence(fact: &str, value: Value) -> Evidence {
    Evidence {
        fact: fact.into(),
        value,
        source: "principals table".into(),
    }
}

/// A report with every status, a waiver in force and an expired one, values of every shape
/// and hostile text in names, reasons and values.
pub(crate) fn sample_report() -> Report {
    let mut fail = control(
        "soc2-cc6.1-mfa",
        Status::Fail,
        Status::Fail,
        vec![evidence("admins without MFA", json!(["alice", HOSTILE]))],
    );
    fail.title = format!("Administrators use MFA {HOSTILE}");
    let pass = control(
        "soc2-cc6.7-tls",
        Status::Pass,
        Status::Pass,
        vec![
            evidence("TLS on the API listener", json!(true)),
            evidence("TLS protocol versions accepted", json!(["TLSv1.3"])),
        ],
    );
    let manual = control("soc2-cc1.1-ethics", Status::Manual, Status::Manual, vec![]);
    let mut waived = control(
        "soc2-cc6.2-api-keys",
        Status::Waived,
        Status::Fail,
        vec![evidence(
            "password policy",
            json!({"min_length": 12, "require_symbol": false, "nested": {"list": [1, 2], "note": HOSTILE}}),
        )],
    );
    waived.waiver = Some(WaiverApplied {
        id: "wvr_0193a6f2aaaa7bbbccccddddeeeeffff".into(),
        reason: format!("accepted by the CISO {HOSTILE}"),
        expires_at: "2027-01-31T00:00:00Z".into(),
        expired: false,
    });
    let not_applicable = control(
        "soc2-p4.2-cards",
        Status::NotApplicable,
        Status::NotApplicable,
        vec![evidence("cards stored in the vault", json!(0))],
    );
    let mut expired = control(
        "soc2-cc7.3-incidents",
        Status::Fail,
        Status::Fail,
        vec![evidence("open incidents past deadline", json!([]))],
    );
    expired.waiver = Some(WaiverApplied {
        id: "wvr_0193a6f2aaaa7bbbccccddddeeee0000".into(),
        reason: "until the new on-call rota".into(),
        expires_at: "2026-05-01T00:00:00Z".into(),
        expired: true,
    });
    let controls = vec![fail, pass, manual, waived, not_applicable, expired];
    Report {
        id: ReportId("rpt_0193a6f2aaaa7bbbccccddddeeeeffff".into()),
        framework: FrameworkId::Soc2,
        framework_title: "SOC 2 Trust Services Criteria".into(),
        framework_version: "2017 (points of focus revised 2022)".into(),
        generated_at: "2026-06-01T12:00:00Z".into(),
        generated_by: HOSTILE.into(),
        summary: Summary::of(&controls),
        controls,
        facts: vec![
            FactRecord {
                name: "admins_without_mfa".into(),
                title: "admins without MFA".into(),
                value: json!(["alice", HOSTILE]),
                source: "principals table".into(),
            },
            FactRecord {
                name: "retention_last_run".into(),
                title: "latest disposal run".into(),
                value: Value::Null,
                source: String::new(),
            },
        ],
        audit: AuditPeriod {
            from_seq: 2,
            tree_size: 5,
            root_hash: "ab".repeat(32),
        },
        signature_b64: "c2lnbmF0dXJl".into(),
    }
}

/// The count in the summary cell of `status`, as the page writes it.
fn summary_cell(page: &str, status: &str) -> u32 {
    let marker = format!("<td data-status=\"{status}\"");
    let at = page.find(&marker).expect("a summary cell") + marker.len();
    let rest = &page[at..];
    let text = &rest[rest.find('>').unwrap() + 1..rest.find("</td>").unwrap()];
    text.parse().expect("a count")
}

#[test]
fn html_escapes_every_piece_of_user_text() {
    let page = html(&sample_report());
    assert!(!page.contains(HOSTILE));
    assert!(!page.to_ascii_lowercase().contains("<script"));
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &quot;dq&quot; &#39;sq&#39; &amp; co";
    // In generated_by, a control title, a waiver reason, a list value, a nested object value
    // and a fact value.
    assert!(page.matches(escaped).count() >= 6, "{page}");
}

#[test]
fn html_is_self_contained_and_printable() {
    let page = html(&sample_report());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ));
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "http://", "https://", "@import",
    ] {
        assert!(!page.contains(forbidden), "the page holds {forbidden}");
    }
    assert!(page.contains("@media print"));
    assert!(page.contains("break-inside:avoid"));
}

#[test]
fn html_summary_cells_carry_the_counts() {
    let report = sample_report();
    let page = html(&report);
    let s = report.summary;
    assert_eq!(
        (s.pass, s.fail, s.manual, s.waived, s.not_applicable),
        (1, 2, 1, 1, 1)
    );
    assert_eq!(summary_cell(&page, "pass"), s.pass);
    assert_eq!(summary_cell(&page, "fail"), s.fail);
    assert_eq!(summary_cell(&page, "manual"), s.manual);
    assert_eq!(summary_cell(&page, "waived"), s.waived);
    assert_eq!(summary_cell(&page, "not_applicable"), s.not_applicable);
    assert_eq!(page.matches("<td data-status=").count(), 5);
}

#[test]
fn html_has_one_section_per_control_with_its_status_in_words() {
    let report = sample_report();
    let page = html(&report);
    for control in &report.controls {
        let section = format!(
            "<section class=\"control status-{}\" id=\"control-{}\">",
            control.status.as_str(),
            control.id
        );
        assert_eq!(page.matches(&section).count(), 1, "{section}");
        assert!(page.contains(&format!("href=\"#control-{}\"", control.id)));
    }
    for words in ["Pass", "Fail", "Manual check", "Waived", "Not applicable"] {
        assert!(page.contains(&format!("\">{words}</span>")), "{words}");
    }
    assert!(page.contains("Waiver in force"));
    assert!(page.contains("Waiver (expired"));
    assert!(page.contains("(the facts alone gave: Fail)"));
    assert!(page.contains("enroll TOTP for each listed administrator"));
}

#[test]
fn html_shows_values_readably() {
    let page = html(&sample_report());
    assert!(page.contains("<ul class=\"value\"><li>alice</li>"));
    assert!(page.contains(
        "<table class=\"kv\"><tbody><tr><th scope=\"row\">min_length</th><td><code>12</code></td>"
    ));
    assert!(page.contains("none (empty list)"));
    assert!(page.contains("none (null)"));
    assert!(page.contains("<code>true</code>"));
}

#[test]
fn html_shows_the_signature_and_how_to_verify_it() {
    let mut report = sample_report();
    let page = html(&report);
    assert!(page.contains("<code>c2lnbmF0dXJl</code>"));
    assert!(page.contains("rampart compliance verify"));
    assert!(page.contains("GET /v1/audit/public-key"));
    assert!(page.contains("RFC 8785"));
    report.signature_b64.clear();
    assert!(html(&report).contains("This report is not signed"));
}

// ---- OSCAL ----

fn object<'a>(value: &'a Value, path: &str) -> &'a serde_json::Map<String, Value> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("{path} is not an object"))
}

fn require(value: &Value, path: &str, fields: &[&str]) {
    let map = object(value, path);
    for field in fields {
        assert!(
            map.contains_key(*field),
            "{path} lacks the required {field}"
        );
    }
}

fn is_uuid_v4_or_v5(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|u| matches!(u.get_version_num(), 4 | 5))
        && text.len() == 36
        && matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

fn is_token(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// OSCAL's StringDatatype: `^\S(.*\S)?$` (and `.` matches no line break).
fn is_oscal_string(text: &str) -> bool {
    !text.is_empty() && text.trim() == text && !text.chars().any(|c| c == '\n' || c == '\r')
}

/// Every `props` entry anywhere in `value`.
fn all_props(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "props" {
                    out.extend(item.as_array().expect("props is a list").iter().cloned());
                }
                all_props(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| all_props(i, out)),
        _ => {}
    }
}

#[test]
fn oscal_has_every_field_the_schema_requires() {
    let report = sample_report();
    let doc = oscal(&report);
    require(&doc, "document", &["assessment-results"]);
    let ar = &doc["assessment-results"];
    require(
        ar,
        "assessment-results",
        &["uuid", "metadata", "import-ap", "results"],
    );
    require(
        &ar["metadata"],
        "metadata",
        &["title", "last-modified", "version", "oscal-version"],
    );
    assert_eq!(ar["metadata"]["oscal-version"], "1.1.2");
    require(&ar["import-ap"], "import-ap", &["href"]);
    let results = ar["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let result = &results[0];
    require(
        result,
        "result",
        &["uuid", "title", "description", "start", "reviewed-controls"],
    );
    let selections = result["reviewed-controls"]["control-selections"]
        .as_array()
        .unwrap();
    let included: Vec<&str> = selections[0]["include-controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["control-id"].as_str().unwrap())
        .collect();
    let ids: Vec<&str> = report.controls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(included, ids);
    let observations = result["observations"].as_array().unwrap();
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(observations.len(), report.controls.len());
    assert_eq!(findings.len(), report.controls.len());
    for o in observations {
        require(
            o,
            "observation",
            &["uuid", "description", "methods", "collected"],
        );
        for e in o
            .get("relevant-evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            require(e, "relevant-evidence", &["description"]);
        }
    }
    for f in findings {
        require(f, "finding", &["uuid", "title", "description", "target"]);
        require(&f["target"], "target", &["type", "target-id", "status"]);
        require(&f["target"]["status"], "status", &["state"]);
        assert_eq!(f["target"]["type"], "objective-id");
        assert!(is_token(f["target"]["target-id"].as_str().unwrap()));
        let related = f["related-observations"][0]["observation-uuid"]
            .as_str()
            .unwrap();
        assert!(observations.iter().any(|o| o["uuid"] == related));
    }
    for r in result["risks"].as_array().unwrap() {
        require(
            r,
            "risk",
            &["uuid", "title", "description", "statement", "status"],
        );
    }
    let mut props = Vec::new();
    all_props(&doc, &mut props);
    assert!(props.len() > 20);
    for p in &props {
        require(p, "prop", &["name", "value"]);
        assert!(is_token(p["name"].as_str().unwrap()), "{p}");
        assert!(is_oscal_string(p["value"].as_str().unwrap()), "{p}");
        assert_eq!(p["ns"], super::RAMPART_OSCAL_NS);
    }
    for text in [&ar["metadata"]["title"], &ar["metadata"]["version"]] {
        assert!(is_oscal_string(text.as_str().unwrap()));
    }
}

#[test]
fn oscal_maps_each_status() {
    let report = sample_report();
    let doc = oscal(&report);
    let result = &doc["assessment-results"]["results"][0];
    let finding = |id: &str| {
        result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["target"]["target-id"] == id)
            .unwrap()
            .clone()
    };
    let has_prop = |f: &Value, name: &str, value: &str| {
        f["props"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name && p["value"] == value)
    };
    let state = |f: &Value| {
        (
            f["target"]["status"]["state"].clone(),
            f["target"]["status"]["reason"].clone(),
        )
    };
    let pass = finding("soc2-cc6.7-tls");
    assert_eq!(state(&pass), (json!("satisfied"), json!("pass")));
    let na = finding("soc2-p4.2-cards");
    assert_eq!(state(&na), (json!("satisfied"), json!("not-applicable")));
    assert!(has_prop(&na, "not-applicable", "true"));
    let fail = finding("soc2-cc6.1-mfa");
    assert_eq!(state(&fail), (json!("not-satisfied"), json!("fail")));
    let manual = finding("soc2-cc1.1-ethics");
    assert_eq!(state(&manual), (json!("not-satisfied"), json!("manual")));
    assert!(has_prop(&manual, "manual-check-required", "true"));
    let waived = finding("soc2-cc6.2-api-keys");
    assert_eq!(state(&waived), (json!("not-satisfied"), json!("waived")));
    assert!(has_prop(
        &waived,
        "waiver-id",
        "wvr_0193a6f2aaaa7bbbccccddddeeeeffff"
    ));
    let risk_uuid = waived["related-risks"][0]["risk-uuid"].clone();
    let risks = result["risks"].as_array().unwrap();
    assert_eq!(
        risks.len(),
        1,
        "only the waiver in force is an accepted risk"
    );
    assert_eq!(risks[0]["uuid"], risk_uuid);
    assert_eq!(risks[0]["status"], "deviation-approved");
    assert!(
        risks[0]["description"]
            .as_str()
            .unwrap()
            .contains("wvr_0193a6f2aaaa7bbbccccddddeeeeffff")
    );
    let expired = finding("soc2-cc7.3-incidents");
    assert_eq!(state(&expired), (json!("not-satisfied"), json!("fail")));
    assert!(has_prop(&expired, "waiver-expired", "true"));
    let methods: Vec<Value> = result["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["methods"][0].clone())
        .collect();
    assert_eq!(methods.iter().filter(|m| *m == "EXAMINE").count(), 1);
    assert_eq!(methods.iter().filter(|m| *m == "AUTOMATED").count(), 5);
}

#[test]
fn oscal_uuids_are_deterministic_v5_and_unique() {
    let report = sample_report();
    let doc = oscal(&report);
    assert_eq!(doc, oscal(&report));
    let mut uuids = Vec::new();
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if key == "uuid" {
                        out.push(item.as_str().unwrap().to_owned());
                    }
                    collect(item, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            _ => {}
        }
    }
    collect(&doc, &mut uuids);
    assert_eq!(uuids.len(), 2 + 2 * report.controls.len() + 1);
    assert!(uuids.iter().all(|u| is_uuid_v4_or_v5(u)), "{uuids:?}");
    let unique: std::collections::BTreeSet<_> = uuids.iter().collect();
    assert_eq!(unique.len(), uuids.len());
    let mut other = report.clone();
    other.id = ReportId("rpt_0193a6f2aaaa7bbbccccddddeeee1111".into());
    assert_ne!(
        oscal(&other)["assessment-results"]["uuid"],
        doc["assessment-results"]["uuid"]
    );
    // Written out for a check against NIST's schema by hand, when asked.
    if let Some(path) = std::env::var_os("RAMPART_OSCAL_OUT") {
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
}

#[test]
fn oscal_survives_odd_reports() {
    let mut report = sample_report();
    report.generated_at = "not a time".into();
    report.generated_by = "  \n ".into();
    report.controls[0].id = "1 weird id!".into();
    report.controls.truncate(1);
    let doc = oscal(&report);
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(result["start"], "1970-01-01T00:00:00Z");
    assert_eq!(result["findings"][0]["target"]["target-id"], "_1_weird_id_");
    let mut props = Vec::new();
    all_props(&doc, &mut props);
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "generated-by" && p["value"] == "(empty)")
    );
    report.controls.clear();
    let empty = oscal(&report);
    let result = &empty["assessment-results"]["results"][0];
    assert_eq!(
        result["reviewed-controls"]["control-selections"][0],
        json!({"include-all": {}})
    );
    assert!(result.get("findings").is_none() && result.get("observations").is_none());
}
