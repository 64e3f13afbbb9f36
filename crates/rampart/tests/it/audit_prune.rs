//! A log with entries pruned under retention, through the real binary: the store beside the
//! server prunes, then verification, proofs, the read of a pruned entry (410), the list, the
//! export and the offline verifier all handle what is left of them.

use rampart_audit::entry::format_timestamp;
use rampart_audit::tree::{from_hex, verify_consistency, verify_inclusion};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{Server, client, rampart, run, text};

/// Pruned: in the first full leaf tile, at its last leaf, and in the partial tile at the edge.
const PRUNED: [u64; 3] = [3, 255, 280];

fn event(i: usize) -> Value {
    json!({"actor": {"type": "service", "id": format!("svc-{}", i % 7)}, "action": "payment.authorize",
        "resource": {"type": "payment", "id": format!("pay-{i}")}, "status": "success",
        "subject_id": format!("s-{i}")})
}

fn hashes(value: &Value) -> Vec<[u8; 32]> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_pruned_log_verifies_proves_reads_as_gone_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pruned_at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let export = rt.block_on(async {
        let http = client(None, None);
        let get = |path: &str| http.get(format!("{base}{path}")).bearer_auth(&key).send();
        let events: Vec<Value> = (0..300).map(event).collect();
        let appended: Value = http
            .post(format!("{base}/v1/audit/entries"))
            .bearer_auth(&key)
            .json(&json!({"events": events}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first = appended["entries"][0]["seq"].as_u64().unwrap();
        let pruned: Vec<u64> = PRUNED.iter().map(|s| first + s).collect();
        let leaf_of = |seq: u64| {
            appended["entries"][usize::try_from(seq - first).unwrap()]["leaf_hash"].clone()
        };
        let before: Value = get("/v1/audit/checkpoint")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let size = before["tree_size"].as_u64().unwrap();

        // Prune through the store beside the server, as the retention run does.
        let store = rampart_store::Store::open_sqlite(&data.join("rampart.db"), false)
            .await
            .unwrap();
        let count = store
            .prune_audit_entries(size, &pruned, pruned_at, "dc_e2e")
            .await
            .unwrap();
        assert_eq!(count, 3);
        store.close().await;

        // The first verification (none recorded) re-hashes everything, as a full one does.
        for query in ["", "?full=true"] {
            let report: Value = http
                .post(format!("{base}/v1/audit/verify{query}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(report["ok"], true, "{report}");
            assert_eq!(report["pruned_entries"], 3, "{report}");
            // Rampart's own entries (the reads it audits) may have joined since `size`.
            let tree_size = report["tree_size"].as_u64().unwrap();
            assert!(tree_size >= size, "{report}");
            assert_eq!(report["checked_entries"], tree_size - 3, "{report}");
        }

        // Inclusion proofs of a pruned and of a kept entry, against the checkpoint from before.
        let root = from_hex(before["root_hash"].as_str().unwrap()).unwrap();
        for seq in [pruned[0], pruned[0] + 1, pruned[2]] {
            let proof: Value = get(&format!(
                "/v1/audit/proofs/inclusion?seq={seq}&tree_size={size}"
            ))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            let leaf = from_hex(proof["leaf_hash"].as_str().unwrap()).unwrap();
            assert!(
                verify_inclusion(&leaf, seq, size, &hashes(&proof["hashes"]), &root),
                "seq {seq}: {proof}"
            );
        }
        assert_eq!(
            get(&format!("/v1/audit/proofs/inclusion?seq={}", pruned[1]))
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["leaf_hash"],
            leaf_of(pruned[1])
        );

        // A pruned entry is 410 with what is left of it; its neighbour reads as before.
        let response = get(&format!("/v1/audit/entries/{}", pruned[0]))
            .await
            .unwrap();
        assert_eq!(response.status(), 410);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let gone: Value = response.json().await.unwrap();
        assert_eq!(gone["type"], "https://rampart.dev/problems/gone", "{gone}");
        assert_eq!(gone["status"], 410);
        assert_eq!(gone["seq"], pruned[0]);
        assert_eq!(gone["leaf_hash"], leaf_of(pruned[0]));
        assert_eq!(gone["pruned_at"], format_timestamp(pruned_at));
        assert_eq!(gone["pruned_at"], "2027-01-15T08:00:00.000000Z");
        assert_eq!(gone["certificate_id"], "dc_e2e");
        let kept = get(&format!("/v1/audit/entries/{}", pruned[0] + 1))
            .await
            .unwrap();
        assert_eq!(kept.status(), 200);

        // Lists skip pruned entries, by any filter: by subject they are gone altogether.
        let page: Value = get(&format!("/v1/audit/entries?limit=1000&from_seq={first}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let seqs: Vec<u64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["seq"].as_u64().unwrap())
            .collect();
        assert!(!seqs.iter().any(|s| pruned.contains(s)), "{seqs:?}");
        assert!(seqs.contains(&(pruned[0] + 1)));
        let by_subject: Value = get(&format!("/v1/audit/entries?subject_id=s-{}", PRUNED[0]))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(by_subject["items"], json!([]), "{by_subject}");

        // The log grows on, consistent with the checkpoint from before the prune.
        let more = http
            .post(format!("{base}/v1/audit/entries"))
            .bearer_auth(&key)
            .json(&event(1000))
            .send()
            .await
            .unwrap();
        assert_eq!(more.status(), 201);
        let after: Value = get("/v1/audit/checkpoint")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let later = after["tree_size"].as_u64().unwrap();
        let proof: Value = get(&format!("/v1/audit/proofs/consistency?from={size}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(verify_consistency(
            size,
            later,
            &root,
            &from_hex(after["root_hash"].as_str().unwrap()).unwrap(),
            &hashes(&proof["hashes"])
        ));

        // The OpenAPI document: the 410 with its members, the verification's count.
        let doc: Value = get("/openapi.json").await.unwrap().json().await.unwrap();
        let gone_doc = &doc["paths"]["/v1/audit/entries/{seq}"]["get"]["responses"]["410"];
        let schema = gone_doc["content"]["application/problem+json"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let name = schema.rsplit('/').next().unwrap();
        let properties = &doc["components"]["schemas"][name]["properties"];
        for member in [
            "type",
            "status",
            "seq",
            "leaf_hash",
            "pruned_at",
            "certificate_id",
        ] {
            assert!(properties.get(member).is_some(), "{member}: {gone_doc}");
        }
        assert!(
            doc["components"]["schemas"]["VerifyBody"]["properties"]
                .get("pruned_entries")
                .is_some()
        );
        assert!(
            doc["components"]["schemas"]["Problem"]["properties"]
                .get("members")
                .is_none()
        );

        let public: Value = http
            .get(format!("{base}/v1/audit/public-key"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let export = get("/v1/audit/export").await.unwrap().text().await.unwrap();
        let leaf = leaf_of(pruned[1]);
        (export, public, pruned, leaf)
    });
    drop(server);

    let (export, public, pruned, leaf) = export;
    let key_text = public["verifier_key"].as_str().unwrap();
    let line = format!(
        "{{\"leaf_hash\":{leaf},\"pruned\":true,\"seq\":{}}}",
        pruned[1]
    );
    assert!(
        export.lines().any(|l| l == line),
        "{line} not in the export"
    );
    assert_eq!(export.matches("\"pruned\":true").count(), 3);
    let file = dir.path().join("export.ndjson");
    std::fs::write(&file, &export).unwrap();
    let out = run(rampart()
        .args(["audit", "verify"])
        .arg(&file)
        .args(["--public-key", key_text]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("3 entries were pruned under retention"),
        "{stdout}"
    );
    let out = run(rampart()
        .args(["audit", "verify", "--json"])
        .arg(&file)
        .args(["--public-key", key_text]));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["pruned_entries"].clone()),
        (json!(true), json!(3))
    );

    // A pruned line whose leaf hash was changed: the tree no longer gives the checkpoint.
    let mut forged = from_hex(leaf.as_str().unwrap()).unwrap();
    forged[0] ^= 1;
    let tampered_line = line.replace(
        leaf.as_str().unwrap(),
        &rampart_audit::tree::to_hex(&forged),
    );
    let tampered = dir.path().join("tampered.ndjson");
    std::fs::write(&tampered, export.replace(&line, &tampered_line)).unwrap();
    let out = run(rampart()
        .args(["audit", "verify", "--json"])
        .arg(&tampered)
        .args(["--public-key", key_text]));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["problem"]
                .as_str()
                .unwrap()
                .contains("differs from the checkpoint's root")),
        "{report}"
    );
    // A pruned line with content beside it is refused by name.
    let padded = dir.path().join("padded.ndjson");
    std::fs::write(
        &padded,
        export.replace(
            &line,
            &line.replace("\"pruned\":true", "\"action\":\"x\",\"pruned\":true"),
        ),
    )
    .unwrap();
    let out = run(rampart()
        .args(["audit", "verify", "--json"])
        .arg(&padded)
        .args(["--public-key", key_text]));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"][0]["seq"], pruned[1], "{report}");
    assert!(
        report["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("malformed pruned line"),
        "{report}"
    );
}
