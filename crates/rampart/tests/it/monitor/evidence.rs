//! An incident's evidence verified with no Rampart code: every entry's leaf hash recomputed
//! (SHA-256 of 0x00 and its canonical JSON), every inclusion proof walked to the checkpoint's
//! root (RFC 9162 §2.1.3.2), and the checkpoint's Ed25519 signature checked with the log's
//! public key.

use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use ring::digest::{SHA256, digest};
use serde_json::{Value, json};

use super::{eventually, rt, start};

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn node(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut input = vec![1u8];
    input.extend_from_slice(left);
    input.extend_from_slice(right);
    digest(&SHA256, &input).as_ref().to_vec()
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), `None` if it is malformed.
fn root_of(index: u64, size: u64, leaf: Vec<u8>, path: &[Vec<u8>]) -> Option<Vec<u8>> {
    if index >= size {
        return None;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Five failed logins make an alert; an incident opened from it carries the five entries;
/// its evidence verifies entry by entry against one signed checkpoint.
#[test]
fn monitor_incident_evidence_verifies_offline() {
    let env = start(&[
        ("RAMPART_MAX_LOGIN_ATTEMPTS", "100"),
        ("RAMPART_ACCOUNT_LOCKOUT_FAILURES", "100"),
    ]);
    rt().block_on(async {
        for _ in 0..5 {
            let answer = env
                .call(
                    Method::POST,
                    "/v1/auth/login",
                    None,
                    None,
                    Some(json!({"name": "mallory", "password": "wrong-password-123"})),
                )
                .await;
            assert_eq!(answer.status, 401, "{}", answer.body);
        }
        let alerts = || async {
            env.admin(Method::GET, "/v1/alerts?rule=failed_logins", None)
                .await
                .body["items"]
                .clone()
        };
        assert!(
            eventually(Duration::from_secs(10), || async {
                alerts().await[0]["id"].is_string()
            })
            .await
        );
        let alert = alerts().await[0].clone();
        let opened = env
            .admin(
                Method::POST,
                "/v1/incidents",
                Some(
                    json!({"title": "Brute force on mallory", "severity": "medium",
                    "alert_ids": [alert["id"]]}),
                ),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.body);
        assert_eq!(
            opened.body["entry_seqs"], alert["entry_seqs"],
            "{}",
            opened.body
        );
        let id = opened.body["id"].as_str().unwrap();
        let evidence = env
            .admin(Method::GET, &format!("/v1/incidents/{id}/evidence"), None)
            .await;
        assert_eq!(evidence.status, 200, "{}", evidence.body);
        let evidence = evidence.body;

        let checkpoint = &evidence["checkpoint"];
        let size = checkpoint["tree_size"].as_u64().unwrap();
        let root = unhex(checkpoint["root_hash"].as_str().unwrap());
        let entries = evidence["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 5, "{evidence:#}");
        for item in entries {
            let seq = item["seq"].as_u64().unwrap();
            let entry: &Value = &item["entry"];
            assert_eq!(entry["seq"], seq);
            assert_eq!(entry["action"], "auth.login");
            assert_eq!(entry["status"], "failure");
            assert_eq!(item["canonical"].as_str(), Some(entry.to_string().as_str()));
            let mut leaf_input = vec![0u8];
            leaf_input.extend_from_slice(entry.to_string().as_bytes());
            let leaf = digest(&SHA256, &leaf_input).as_ref().to_vec();
            assert_eq!(
                leaf,
                unhex(item["leaf_hash"].as_str().unwrap()),
                "seq {seq}"
            );
            assert_eq!(item["proof"]["tree_size"], size);
            let path: Vec<Vec<u8>> = item["proof"]["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| unhex(h.as_str().unwrap()))
                .collect();
            assert_eq!(
                root_of(seq, size, leaf, &path),
                Some(root.clone()),
                "seq {seq}"
            );
        }

        // The checkpoint: its note names the size and root, signed by the log's key.
        let public = env
            .admin(Method::GET, "/v1/audit/public-key", None)
            .await
            .body;
        let engine = base64::engine::general_purpose::STANDARD;
        let key = engine
            .decode(public["public_key_b64"].as_str().unwrap())
            .unwrap();
        let note = checkpoint["note"].as_str().unwrap();
        let (body, _) = note.split_once("\n\n").unwrap();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[1], size.to_string());
        assert_eq!(engine.decode(lines[2]).unwrap(), root);
        let signature = engine
            .decode(checkpoint["signature_b64"].as_str().unwrap())
            .unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
            .verify(format!("{body}\n").as_bytes(), &signature)
            .expect("the checkpoint's signature verifies");

        // One of the entries pruned under retention since: the evidence no longer carries its
        // content, and says what is left of it instead of failing.
        let first = entries[0]["seq"].as_u64().unwrap();
        let store = rampart_store::Store::open_sqlite(&env.dir.path().join("rampart.db"), false)
            .await
            .unwrap();
        let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        store
            .prune_audit_entries(first + 1, &[first], at, "dc_evidence")
            .await
            .unwrap();
        store.close().await;
        let after = env
            .admin(Method::GET, &format!("/v1/incidents/{id}/evidence"), None)
            .await;
        assert_eq!(after.status, 200, "{}", after.body);
        let kept: Vec<&Value> = after.body["entries"].as_array().unwrap().iter().collect();
        assert_eq!(kept.len(), 4, "{:#}", after.body);
        assert!(kept.iter().all(|e| e["seq"] != first));
        assert_eq!(
            after.body["pruned_entries"],
            json!([{"seq": first, "leaf_hash": entries[0]["leaf_hash"],
                "pruned_at": "2027-01-15T08:00:00.000000Z", "certificate_id": "dc_evidence"}])
        );
    });
}
