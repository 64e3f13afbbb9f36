//! The audit log through the real binary: kill -9 during appends, two servers on one
//! PostgreSQL, and the offline CLI verifier and exporter.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_test_support::TestPostgres;
use serde_json::{Value, json};

use crate::support::{Server, client, master_key, rampart, run, text};

fn event(i: usize) -> Value {
    json!({"actor": {"type": "service", "id": format!("svc-{}", i % 7)}, "action": "payment.authorize",
        "resource": {"type": "payment", "id": format!("pay-{i}")}, "status": "success"})
}

/// Appends single events from `clients` concurrent tasks until `stop`, recording every
/// acknowledged `(seq, leaf_hash)`.
fn spawn_appenders(
    base: &str,
    key: &str,
    clients: usize,
    acked: Arc<Mutex<Vec<(u64, String)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let base = base.to_owned();
    let key = key.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let http = client(None, None);
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (http, base, key, acked, stop) = (
                    http.clone(),
                    base.clone(),
                    key.clone(),
                    acked.clone(),
                    stop.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut i = c * 1_000_000;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        let Ok(response) = http
                            .post(format!("{base}/v1/audit/entries"))
                            .bearer_auth(&key)
                            .json(&event(i))
                            .send()
                            .await
                        else {
                            break;
                        };
                        if response.status() != 201 {
                            break;
                        }
                        let Ok(body) = response.json::<Value>().await else {
                            break;
                        };
                        let seq = body["entries"][0]["seq"].as_u64().unwrap();
                        let leaf = body["entries"][0]["leaf_hash"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().push((seq, leaf));
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
        });
    })
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut server = Server::start(&["--data-dir", data], &[]);
    let key = server.admin_key.clone().unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let appenders = spawn_appenders(&server.base, &key, 16, acked.clone(), stop.clone());
    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill_9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    appenders.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "only {} appends were acknowledged",
        acked.len()
    );

    let again = Server::start(&["--data-dir", data], &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        for (seq, leaf) in &acked {
            let entry: Value = http
                .get(format!("{}/v1/audit/entries/{seq}", again.base))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                entry["leaf_hash"].as_str(),
                Some(leaf.as_str()),
                "acknowledged entry {seq} lost or changed"
            );
        }
        let report: Value = http
            .post(format!("{}/v1/audit/verify", again.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], true, "{report}");
        assert!(report["tree_size"].as_u64().unwrap() >= acked.len() as u64);
    });
}

#[test]
fn two_servers_append_to_one_postgres_log_without_forking_it() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let a = Server::start(
        &["--database-url", pg.url()],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    let admin = a.admin_key.clone().unwrap();
    let b = Server::start(
        &["--database-url", pg.url()],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let to_a = spawn_appenders(&a.base, &admin, 8, acked.clone(), stop.clone());
    let to_b = spawn_appenders(&b.base, &admin, 8, acked.clone(), stop.clone());
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    to_a.join().unwrap();
    to_b.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} appends", acked.len());
    let mut seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs.len(),
        acked.len(),
        "two appends got the same seq: the log forked"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        for server in [&a, &b] {
            let report: Value = http
                .post(format!("{}/v1/audit/verify", server.base))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(report["ok"], true, "{report}");
            assert!(report["tree_size"].as_u64().unwrap() >= acked.len() as u64);
        }
        // Both servers serve the same checkpoint key.
        let ka: Value = http
            .get(format!("{}/v1/audit/public-key", a.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kb: Value = http
            .get(format!("{}/v1/audit/public-key", b.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ka, kb);
    });
}

#[test]
fn cli_exports_and_verifies_offline_and_names_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = Server::start(&["--data-dir", data], &[]);
    let key = server.admin_key.clone().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let public: Value = rt.block_on(async {
        let http = client(None, None);
        let events: Vec<Value> = (0..300).map(event).collect();
        let response = http
            .post(format!("{}/v1/audit/entries", server.base))
            .bearer_auth(&key)
            .json(&json!({"events": events}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        http.get(format!("{}/v1/audit/public-key", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    drop(server);

    let file = dir.path().join("export.ndjson");
    let out = run(rampart()
        .args(["audit", "export", "--data-dir", data, "--output"])
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out).1);
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 301);

    let verifier_key = public["verifier_key"].as_str().unwrap();
    let raw_key = public["public_key_b64"].as_str().unwrap();
    for key_text in [verifier_key, raw_key] {
        let out = run(rampart()
            .args(["audit", "verify"])
            .arg(&file)
            .args(["--public-key", key_text]));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.starts_with("OK: 300 entries verified"), "{stdout}");
    }
    // Without a key nothing is fully verified.
    assert!(
        !run(rampart().args(["audit", "verify"]).arg(&file))
            .status
            .success()
    );

    // Edit one entry: exit 1 and the report names it.
    let tampered = dir.path().join("tampered.ndjson");
    let edited: Vec<String> = lines
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 42 {
                l.replace("pay-42", "pay-666")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&tampered, edited.join("\n") + "\n").unwrap();
    let out = run(rampart().args(["audit", "verify"]).arg(&tampered).args([
        "--public-key",
        verifier_key,
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["seq"], 42, "{report}");

    // A partial export from the store verifies too.
    let out = run(rampart().args([
        "audit",
        "export",
        "--data-dir",
        data,
        "--from-seq",
        "100",
        "--to-seq",
        "199",
    ]));
    assert!(out.status.success(), "{}", text(&out).1);
    std::fs::write(&tampered, &out.stdout).unwrap();
    let out = run(rampart()
        .args(["audit", "verify"])
        .arg(&tampered)
        .args(["--public-key", verifier_key]));
    assert!(out.status.success(), "{}", text(&out).0);

    // A missing file is a clear error.
    let out = run(rampart().args(["audit", "verify", "/nonexistent/export.ndjson"]));
    assert!(!out.status.success());
    assert!(text(&out).1.contains("cannot open"), "{}", text(&out).1);
}
