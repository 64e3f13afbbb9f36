//! Issue 17: data subjects on the real binary, over HTTP. Personal data in audit entries is
//! sealed with the subject's key; erasure destroys the key, and then the log still verifies,
//! the subject's entries read `[ERASED]`, other subjects' still read in clear, and no byte of
//! the erased personal data is left in the data dir (or the PostgreSQL database).

mod erasure;
mod holds;
mod inputs;
mod linked;
mod postgres;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{rampart, run, text};
pub use crate::threat::{Answer, Env, rt, start};

/// An audit event about `subject` carrying `personal`.
pub fn event(subject: &str, personal: Value, n: usize) -> Value {
    json!({
        "actor": {"type": "user", "id": format!("clerk-{}", n % 7)},
        "action": "record.update",
        "resource": {"type": "patient", "id": format!("p-{n}")},
        "status": "success",
        "compliance_tags": ["gdpr"],
        "subject_id": subject,
        "personal": personal,
    })
}

/// Appends `events` in batches of 1,000; asserts each batch is stored.
pub async fn append_all(env: &Env, events: Vec<Value>) {
    for batch in events.chunks(1000) {
        let answer = env
            .admin(
                Method::POST,
                "/v1/audit/entries",
                Some(json!({"events": batch})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
}

/// The audit log's public key (`public_key_b64`).
pub async fn public_key(env: &Env) -> String {
    let answer = env.admin(Method::GET, "/v1/audit/public-key", None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["public_key_b64"].as_str().unwrap().to_owned()
}

/// Runs `rampart gdpr <command> FILE --public-key KEY` on `document`; its exit status and
/// stdout.
pub fn cli_verify(command: &str, document: &Value, key: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.json");
    std::fs::write(&file, serde_json::to_vec_pretty(document).unwrap()).unwrap();
    let output = run(rampart()
        .args(["gdpr", command])
        .arg(&file)
        .args(["--public-key", key]));
    let (stdout, stderr) = text(&output);
    (output.status.success(), format!("{stdout}{stderr}"))
}

/// Every entry of the subject, through the API (as the admin, who holds `gdpr:read`).
pub async fn entries_of(env: &Env, subject: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/audit/entries?subject_id={subject}&limit=1000");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let answer: Answer = env.admin(Method::GET, &path, None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        out.extend(answer.body["items"].as_array().unwrap().iter().cloned());
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

/// Whether any file under `dir` holds `needle`.
pub fn found_in_files(dir: &std::path::Path, needle: &str) -> Vec<String> {
    crate::support::snapshot(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(path, _)| path.display().to_string())
        .collect()
}
