//! The report as a NIST OSCAL 1.1.2 `assessment-results` document.
//!
//! One result covers the report: every control is a reviewed control, an observation (what was
//! looked at, with the facts as relevant evidence) and a finding whose target is the control as
//! an objective. OSCAL has two states, so `pass` and `not_applicable` are `satisfied` and the
//! rest `not-satisfied`; Rampart's own status always travels as a prop in [`RAMPART_OSCAL_NS`],
//! so nothing is lost: `manual` says a person must check, `waived` points to a risk whose status
//! is `deviation-approved` and which names the waiver.
//!
//! UUIDs are version 5 (OSCAL accepts only 4 and 5), derived from the report id and the
//! control id, so rendering the same report twice gives the same document.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::control::Status;
use crate::report::{ControlResult, Report};

/// The OSCAL version the document declares and conforms to.
pub const OSCAL_VERSION: &str = "1.1.2";

/// The namespace of Rampart's own props (OSCAL requires one for names it does not define).
pub const RAMPART_OSCAL_NS: &str = "https://rampart.dev/ns/oscal";

/// The report as an OSCAL 1.1.2 `assessment-results` document (`{"assessment-results": ...}`):
/// metadata, the plan it imports (the framework's controls as Rampart lists them), and one
/// result holding the reviewed controls, one observation and one finding per control, and one
/// risk per waived control.
pub fn oscal(report: &Report) -> Value {
    let ids = Ids::new(report.id.as_str());
    let collected = timestamp(&report.generated_at);
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    let mut risks = Vec::new();
    for control in &report.controls {
        let observation = ids.of("observation", &control.id);
        observations.push(observation_of(control, observation.clone(), &collected));
        let risk = waived_risk(control, ids.of("risk", &control.id));
        let mut finding = finding_of(control, ids.of("finding", &control.id), observation);
        if let Some(risk) = risk {
            if let Some(uuid) = risk.get("uuid").cloned() {
                finding.insert("related-risks".into(), json!([{ "risk-uuid": uuid }]));
            }
            risks.push(risk);
        }
        findings.push(Value::Object(finding));
    }
    let mut result = Map::new();
    result.insert("uuid".into(), json!(ids.of("result", "")));
    result.insert(
        "title".into(),
        json!(text(&format!(
            "{} ({}) evaluated by Rampart",
            report.framework_title, report.framework_version
        ))),
    );
    result.insert(
        "description".into(),
        json!(format!(
            "Every control of {} judged over facts read from the running deployment, waivers applied. Summary: {} pass, {} fail, {} manual, {} waived, {} not applicable.",
            text(&report.framework_title),
            report.summary.pass,
            report.summary.fail,
            report.summary.manual,
            report.summary.waived,
            report.summary.not_applicable
        )),
    );
    result.insert("start".into(), json!(collected));
    result.insert("end".into(), json!(collected));
    result.insert(
        "props".into(),
        json!([
            prop("summary-pass", &report.summary.pass.to_string()),
            prop("summary-fail", &report.summary.fail.to_string()),
            prop("summary-manual", &report.summary.manual.to_string()),
            prop("summary-waived", &report.summary.waived.to_string()),
            prop(
                "summary-not-applicable",
                &report.summary.not_applicable.to_string()
            ),
        ]),
    );
    result.insert(
        "reviewed-controls".into(),
        reviewed_controls(&report.controls),
    );
    if !observations.is_empty() {
        result.insert("observations".into(), Value::Array(observations));
    }
    if !risks.is_empty() {
        result.insert("risks".into(), Value::Array(risks));
    }
    if !findings.is_empty() {
        result.insert("findings".into(), Value::Array(findings));
    }
    json!({
        "assessment-results": {
            "uuid": ids.of("assessment-results", ""),
            "metadata": metadata(report, &collected),
            "import-ap": {
                "href": "/v1/compliance/frameworks",
                "remarks": "Rampart has no separate assessment plan: the framework's controls, as GET /v1/compliance/frameworks lists them, are the plan.",
            },
            "results": [Value::Object(result)],
        }
    })
}

/// Deterministic UUIDs for one report's parts.
struct Ids {
    namespace: Uuid,
}

impl Ids {
    fn new(report_id: &str) -> Self {
        let rampart = Uuid::new_v5(&Uuid::NAMESPACE_URL, RAMPART_OSCAL_NS.as_bytes());
        Self {
            namespace: Uuid::new_v5(&rampart, report_id.as_bytes()),
        }
    }

    /// The UUID of the `kind` part for `control` (empty for report-wide parts).
    fn of(&self, kind: &str, control: &str) -> String {
        Uuid::new_v5(&self.namespace, format!("{kind}/{control}").as_bytes()).to_string()
    }
}

fn metadata(report: &Report, collected: &str) -> Value {
    let mut props = vec![
        prop("report-id", report.id.as_str()),
        prop("framework", report.framework.as_str()),
        prop("framework-version", &report.framework_version),
        prop("generated-by", &report.generated_by),
        prop("audit-from-seq", &report.audit.from_seq.to_string()),
        prop("audit-tree-size", &report.audit.tree_size.to_string()),
        prop("audit-root-hash", &report.audit.root_hash),
    ];
    if !report.signature_b64.trim().is_empty() {
        props.push(prop("report-signature-b64", &report.signature_b64));
    }
    json!({
        "title": text(&format!(
            "Rampart compliance report {}: {} ({})",
            report.id.as_str(),
            report.framework_title,
            report.framework_version
        )),
        "last-modified": collected,
        "version": text(report.id.as_str()),
        "oscal-version": OSCAL_VERSION,
        "props": props,
        "remarks": "Generated from the signed Rampart report of the same id (its JSON form carries the signature: Ed25519 by the audit log's key over its RFC 8785 form without signature_b64); this document is a view of it and is not signed itself.",
    })
}

fn reviewed_controls(controls: &[ControlResult]) -> Value {
    let include: Vec<Value> = controls
        .iter()
        .map(|c| json!({ "control-id": token(&c.id) }))
        .collect();
    let selection = if include.is_empty() {
        json!({ "include-all": {} })
    } else {
        json!({ "include-controls": include })
    };
    json!({ "control-selections": [selection] })
}

fn observation_of(control: &ControlResult, uuid: String, collected: &str) -> Value {
    let methods = if control.judged == Status::Manual {
        "EXAMINE"
    } else {
        "AUTOMATED"
    };
    let mut observation = Map::new();
    observation.insert("uuid".into(), json!(uuid));
    observation.insert("title".into(), json!(text(&control.title)));
    observation.insert(
        "description".into(),
        json!(format!(
            "Rampart checks that {}. {}",
            control.checks.trim_end_matches('.'),
            control.reason
        )),
    );
    observation.insert(
        "props".into(),
        json!([
            prop("control-id", &control.id),
            prop("status", control.status.as_str()),
            prop("judged", control.judged.as_str()),
        ]),
    );
    observation.insert("methods".into(), json!([methods]));
    observation.insert("types".into(), json!(["control-objective"]));
    let evidence: Vec<Value> = control
        .evidence
        .iter()
        .map(|e| {
            let value = serde_json::to_string(&e.value).unwrap_or_default();
            let mut props = vec![prop("fact", &e.fact), prop("value", &value)];
            if !e.source.trim().is_empty() {
                props.push(prop("source", &e.source));
            }
            json!({
                "description": format!("{}: {value}", e.fact),
                "props": props,
            })
        })
        .collect();
    if !evidence.is_empty() {
        observation.insert("relevant-evidence".into(), Value::Array(evidence));
    }
    observation.insert("collected".into(), json!(collected));
    Value::Object(observation)
}

fn finding_of(control: &ControlResult, uuid: String, observation: String) -> Map<String, Value> {
    let (state, reason) = match control.status {
        Status::Pass => ("satisfied", "pass"),
        Status::NotApplicable => ("satisfied", "not-applicable"),
        Status::Fail => ("not-satisfied", "fail"),
        Status::Manual => ("not-satisfied", "manual"),
        Status::Waived => ("not-satisfied", "waived"),
    };
    let mut props = vec![
        prop("control-id", &control.id),
        prop("status", control.status.as_str()),
    ];
    match control.status {
        Status::NotApplicable => props.push(prop("not-applicable", "true")),
        Status::Manual => props.push(prop("manual-check-required", "true")),
        _ => {}
    }
    if let Some(waiver) = &control.waiver {
        props.push(prop("waiver-id", &waiver.id));
        props.push(prop("waiver-expires-at", &waiver.expires_at));
        props.push(prop(
            "waiver-expired",
            if waiver.expired { "true" } else { "false" },
        ));
    }
    let mut finding = Map::new();
    finding.insert("uuid".into(), json!(uuid));
    finding.insert("title".into(), json!(text(&control.title)));
    finding.insert("description".into(), json!(control.reason));
    finding.insert("props".into(), json!(props));
    finding.insert(
        "target".into(),
        json!({
            "type": "objective-id",
            "target-id": token(&control.id),
            "description": format!("{}: {}", control.requirement, control.checks),
            "status": { "state": state, "reason": reason },
        }),
    );
    finding.insert(
        "related-observations".into(),
        json!([{ "observation-uuid": observation }]),
    );
    if !control.remediation.is_empty() {
        finding.insert(
            "remarks".into(),
            json!(format!("Remediation: {}", control.remediation)),
        );
    }
    finding
}

/// The risk a waiver in force accepts, naming the waiver.
fn waived_risk(control: &ControlResult, uuid: String) -> Option<Value> {
    let waiver = control.waiver.as_ref()?;
    if control.status != Status::Waived {
        return None;
    }
    Some(json!({
        "uuid": uuid,
        "title": text(&format!("Waived: {}", control.title)),
        "description": format!("Waiver {} accepts that control {} is not met (or not judged): {}", waiver.id, control.id, waiver.reason),
        "statement": format!("Until {}, {} is accepted as not met: {}", waiver.expires_at, control.requirement, control.reason),
        "props": [
            prop("waiver-id", &waiver.id),
            prop("waiver-expires-at", &waiver.expires_at),
            prop("control-id", &control.id),
        ],
        "status": "deviation-approved",
        "deadline": timestamp(&waiver.expires_at),
    }))
}

/// A prop in Rampart's namespace; the value made a valid OSCAL string (see [`text`]).
fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "ns": RAMPART_OSCAL_NS, "value": text(value) })
}

/// A valid OSCAL string (`^\S(.*\S)?$`): control characters and line breaks become spaces, the
/// ends are trimmed, and an empty value says so.
fn text(value: &str) -> String {
    let flat: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.trim();
    if trimmed.is_empty() {
        "(empty)".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A valid OSCAL token (an XML NCName): anything but ASCII letters, digits, `.`, `-` and `_`
/// becomes `_`, and a token must start with a letter or `_`.
fn token(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// `at` as OSCAL wants a date-time (RFC 3339 with a zone, the year 1900..=2999); anything else
/// (a report is data: never trust it) becomes the Unix epoch, which the schema accepts.
fn timestamp(at: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(at, &Rfc3339)
        .ok()
        .filter(|t| (1900..=2999).contains(&t.year()))
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}
