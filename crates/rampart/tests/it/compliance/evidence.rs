//! The evidence package of a report, over HTTP and checked offline by `rampart compliance
//! verify`: it verifies as downloaded; one byte changed in any member fails it, naming the
//! member; another key fails it.

use reqwest::Method;
use serde_json::json;

use super::{SETTINGS, report};
use crate::subjects::public_key;
use crate::support::{rampart, run, text};
use crate::threat::{Env, PASSWORD, rt, start};

/// The package of report `id`, as downloaded.
async fn package(env: &Env, id: &str) -> Vec<u8> {
    let response = env
        .http
        .get(format!("{}/v1/compliance/reports/{id}/evidence", env.base))
        .bearer_auth(&env.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/zip"
    );
    // Streamed from a file, with its length announced.
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len(), length);
    bytes
}

/// Each member's name and the range of its (stored or compressed) data in the zip, from the
/// local file headers.
fn members(zip: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut at = 0;
    while at + 30 <= zip.len() && zip[at..at + 4] == *b"PK\x03\x04" {
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
        let u32_at = |i: usize| {
            usize::try_from(u32::from_le_bytes([
                zip[i],
                zip[i + 1],
                zip[i + 2],
                zip[i + 3],
            ]))
            .unwrap()
        };
        let compressed = u32_at(at + 18);
        let (name_len, extra_len) = (u16_at(at + 26), u16_at(at + 28));
        let name = String::from_utf8(zip[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra_len;
        assert!(
            compressed > 0,
            "{name}: sizes in a data descriptor are not expected"
        );
        found.push((name, start..start + compressed));
        at = start + compressed;
    }
    found
}

fn verify(file: &std::path::Path, key: &str) -> (bool, String) {
    let out = run(rampart()
        .args(["compliance", "verify"])
        .arg(file)
        .args(["--public-key", key]));
    let (stdout, stderr) = text(&out);
    (out.status.success(), format!("{stdout}\n{stderr}"))
}

#[test]
fn the_evidence_package_verifies_offline_and_names_a_changed_member() {
    let env = start(SETTINGS);
    let dir = tempfile::tempdir().unwrap();
    let (zip, key) = rt().block_on(async {
        env.user("carol", &["operator"]).await;
        for i in 0..20 {
            env.admin(
                Method::POST,
                "/v1/audit/entries",
                Some(json!({
                "actor": {"type": "user", "id": "u1"}, "action": "record.read",
                "resource": {"type": "record", "id": format!("r{i}")}, "status": "success"})),
            )
            .await;
        }
        let first = report(&env, "soc2").await;
        // The second report's period starts where the first one's ended.
        let second = report(&env, "soc2").await;
        assert_eq!(second["audit"]["from_seq"], first["audit"]["tree_size"]);
        let id = second["id"].as_str().unwrap().to_owned();
        let zip = package(&env, &id).await;
        let exported = env.audit_entries("compliance.evidence_export").await;
        assert_eq!(exported.len(), 1, "downloads are audited");
        (zip, public_key(&env).await)
    });
    let file = dir.path().join("evidence.zip");
    std::fs::write(&file, &zip).unwrap();
    let (ok, out) = verify(&file, &key);
    assert!(ok, "{out}");
    let names: Vec<String> = members(&zip).into_iter().map(|(n, _)| n).collect();
    for expected in [
        "report.json",
        "audit-export.ndjson",
        "checkpoint.txt",
        "configuration.json",
        "public-keys.json",
        "manifest.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // No secret in any member: not the master key, the admin's API key, or a user's password.
    let master = std::fs::read_to_string(env.dir.path().join("master.key")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).unwrap();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut member, &mut text).unwrap();
        for (secret, what) in [
            (master.trim(), "master key"),
            (env.admin.as_str(), "admin key"),
            (PASSWORD, "password"),
        ] {
            assert!(
                !text.contains(secret),
                "the {what} is in {:?}",
                member.name()
            );
        }
    }
    // One byte changed in any member: not ok, and the member is named.
    for (name, range) in members(&zip) {
        let mut changed = zip.clone();
        let at = range.start + range.len() / 2;
        changed[at] ^= 0x01;
        let file = dir.path().join("changed.zip");
        std::fs::write(&file, &changed).unwrap();
        let (ok, out) = verify(&file, &key);
        assert!(!ok, "{name}: a changed byte verified\n{out}");
        assert!(out.contains(&name), "{name} is not named:\n{out}");
    }
    // Another deployment's key: not ok.
    let other = crate::support::Server::start(
        &["--data-dir", dir.path().join("other").to_str().unwrap()],
        &[],
    );
    let other_key = rt().block_on(async {
        let answer = crate::threat::call(
            &env.http,
            &other.base,
            Method::GET,
            "/v1/audit/public-key",
            other.admin_key.as_deref(),
            None,
            None,
        )
        .await;
        answer.body["public_key_b64"].as_str().unwrap().to_owned()
    });
    let (ok, out) = verify(&file, &other_key);
    assert!(!ok, "{out}");
}

#[test]
fn the_first_report_of_a_new_deployment_has_a_package_that_verifies() {
    // A fresh log is empty: the package's export is the checkpoint of size 0 alone.
    let env = start(SETTINGS);
    let dir = tempfile::tempdir().unwrap();
    let (zip, key) = rt().block_on(async {
        let first = report(&env, "gdpr").await;
        assert_eq!(first["audit"]["tree_size"], 0, "{}", first["audit"]);
        let zip = package(&env, first["id"].as_str().unwrap()).await;
        (zip, public_key(&env).await)
    });
    let file = dir.path().join("evidence.zip");
    std::fs::write(&file, &zip).unwrap();
    let (ok, out) = verify(&file, &key);
    assert!(ok, "{out}");
}
