//! `rampart backup` under write load and `rampart restore` into a fresh data dir: the restored
//! deployment serves, its whole log verifies, and every entry acknowledged before the backup
//! started is in it. Then each kind of bad input.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, client, rampart, run, snapshot, text};

/// Appends single entries over HTTP from 4 clients until `stop`, recording each acknowledged
/// `(seq, leaf_hash)`.
fn spawn_appenders(
    base: &str,
    key: &str,
    acked: Arc<Mutex<Vec<(u64, String)>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (base, key) = (base.to_owned(), key.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let http = client(None, None);
                let mut tasks = Vec::new();
                for c in 0..4 {
                    let (http, base, key, acked, stop) = (
                        http.clone(),
                        base.clone(),
                        key.clone(),
                        acked.clone(),
                        stop.clone(),
                    );
                    tasks.push(tokio::spawn(async move {
                        let mut i = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            i += 1;
                            let event = json!({"actor": {"type": "service", "id": format!("w{c}")},
                            "action": "backup.load", "resource": {"type": "n", "id": i.to_string()},
                            "status": "success"});
                            let response = http
                                .post(format!("{base}/v1/audit/entries"))
                                .bearer_auth(&key)
                                .json(&event)
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(response.status(), 201);
                            let body: Value = response.json().await.unwrap();
                            let seq = body["entries"][0]["seq"].as_u64().unwrap();
                            let leaf = body["entries"][0]["leaf_hash"].as_str().unwrap().to_owned();
                            acked.lock().unwrap().push((seq, leaf));
                        }
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            });
    })
}

fn wait_for(acked: &Mutex<Vec<(u64, String)>>, count: usize) {
    let started = Instant::now();
    while acked.lock().unwrap().len() < count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "appends stalled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_backup_under_write_load_restores_into_a_server_whose_whole_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let file = dir.path().join("rampart.backup");
    let server = Server::start(&["--data-dir", a.to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let appenders = spawn_appenders(&server.base, &key, acked.clone(), stop.clone());
    wait_for(&acked, 200);

    // Everything acknowledged before the backup starts must be in it.
    let before = acked.lock().unwrap().clone();
    let out = run(rampart()
        .args(["backup", "--output"])
        .arg(&file)
        .args(["--data-dir", a.to_str().unwrap()]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("master key is NOT in the backup"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&a.join("master.key").display().to_string()),
        "{stdout}"
    );
    // The load went on during the backup and after it.
    let after_backup = acked.lock().unwrap().len();
    wait_for(&acked, after_backup + 100);
    stop.store(true, Ordering::Relaxed);
    appenders.join().unwrap();

    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let master = std::fs::read_to_string(a.join("master.key")).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(master.trim()),
        "the master key is in the backup"
    );

    let out = run(rampart()
        .args(["restore", "--input"])
        .arg(&file)
        .args(["--data-dir", b.to_str().unwrap(), "--master-key-file"])
        .arg(a.join("master.key")));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for hint in [
        "replay-erasures",
        "audit verify",
        "rampart serve --data-dir",
    ] {
        assert!(stdout.contains(hint), "{hint}: {stdout}");
    }
    let mode = std::fs::metadata(b.join("master.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(b.join("master.key"))
            .unwrap()
            .trim(),
        master.trim()
    );
    drop(server);

    let restored = Server::start(&["--data-dir", b.to_str().unwrap()], &[]);
    assert_eq!(
        restored.admin_key, None,
        "a restored deployment is not initialized again"
    );
    let export_file = dir.path().join("export.ndjson");
    let verifier_key = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = client(None, None);
        let public: Value = http
            .get(format!("{}/v1/audit/public-key", restored.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let export = http
            .get(format!("{}/v1/audit/export", restored.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(export.status(), 200);
        std::fs::write(&export_file, export.bytes().await.unwrap()).unwrap();
        let report: Value = http
            .post(format!("{}/v1/audit/verify", restored.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], true, "{report}");
        public["verifier_key"].as_str().unwrap().to_owned()
    });
    let out = run(rampart()
        .args([
            "audit",
            "verify",
            "--complete",
            "--public-key",
            &verifier_key,
        ])
        .arg(&export_file));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("OK: "), "{stdout}");

    let exported: BTreeMap<u64, String> = std::fs::read_to_string(&export_file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter_map(|v| Some((v["seq"].as_u64()?, v["leaf_hash"].as_str()?.to_owned())))
        .collect();
    for (seq, leaf) in &before {
        assert_eq!(
            exported.get(seq),
            Some(leaf),
            "entry {seq}, acknowledged before the backup, is missing or changed"
        );
    }
}

/// Runs `rampart ARGS` and returns (success, stdout, stderr).
fn cli(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let out = run(rampart().args(args).envs(envs.iter().copied()));
    let (stdout, stderr) = text(&out);
    (out.status.success(), stdout, stderr)
}

fn python(script: &str, path: &std::path::Path) {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_refuses_an_existing_output_postgres_and_an_uninitialized_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    assert!(cli(&["init", "--data-dir", data], &[]).0);
    let output = dir.path().join("exists.db");
    std::fs::write(&output, "keep me").unwrap();
    let out = output.to_str().unwrap();

    let (ok, _, stderr) = cli(&["backup", "--output", out, "--data-dir", data], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "keep me");
    let (ok, _, stderr) = cli(
        &["backup", "--output", out, "--data-dir", data, "--force"],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        std::fs::read(&output)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );
    // No partial file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");

    let url = "postgres://rampart:Sekr1tPw@db.internal/rampart";
    let fresh = dir.path().join("pg.db");
    let (ok, _, stderr) = cli(
        &[
            "backup",
            "--output",
            fresh.to_str().unwrap(),
            "--database-url",
            url,
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("pg_dump --format=custom"), "{stderr}");
    assert!(!stderr.contains("Sekr1tPw"), "{stderr}");
    assert!(!fresh.exists());

    let typo = dir.path().join("dta");
    let (ok, _, stderr) = cli(
        &[
            "backup",
            "--output",
            fresh.to_str().unwrap(),
            "--data-dir",
            typo.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("rampart init --data-dir"), "{stderr}");
    assert!(!typo.exists() && !fresh.exists());
}

#[test]
fn restore_refuses_bad_inputs_and_used_targets_and_leaves_them_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_text = data.to_str().unwrap();
    assert!(cli(&["init", "--data-dir", data_text], &[]).0);
    let good = dir.path().join("good.db");
    assert!(
        cli(
            &[
                "backup",
                "--output",
                good.to_str().unwrap(),
                "--data-dir",
                data_text
            ],
            &[]
        )
        .0
    );
    let target = dir.path().join("new");
    let target_text = target.to_str().unwrap();
    let restore = |input: &std::path::Path, target: &str, extra: &[&str]| {
        let mut args = vec![
            "restore",
            "--input",
            input.to_str().unwrap(),
            "--data-dir",
            target,
        ];
        args.extend_from_slice(extra);
        cli(&args, &[])
    };

    // Random bytes.
    let random = dir.path().join("random.db");
    std::fs::write(
        &random,
        rampart_crypto::random_secret::<32>().unwrap().as_ref(),
    )
    .unwrap();
    let (ok, _, stderr) = restore(&random, target_text, &[]);
    assert!(
        !ok && stderr.contains("is not a SQLite database"),
        "{stderr}"
    );
    assert!(!target.exists());

    // A SQLite file that is no Rampart deployment.
    let other = dir.path().join("other.db");
    python(
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (v)'); c.commit()",
        &other,
    );
    let (ok, _, stderr) = restore(&other, target_text, &[]);
    assert!(
        !ok && stderr.contains("not a Rampart deployment"),
        "{stderr}"
    );
    assert!(!target.exists());

    // A schema newer than this binary.
    let newer = dir.path().join("newer.db");
    std::fs::copy(&good, &newer).unwrap();
    python(
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO rampart_schema_migrations VALUES (9999, 'future', 'x', 0)\"); c.commit()",
        &newer,
    );
    let (ok, _, stderr) = restore(&newer, target_text, &[]);
    assert!(!ok && stderr.contains("newer than this binary"), "{stderr}");
    assert!(!target.exists());

    // A master key that is not the deployment's.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, crate::support::master_key()).unwrap();
    let (ok, _, stderr) = restore(
        &good,
        target_text,
        &["--master-key-file", wrong.to_str().unwrap()],
    );
    assert!(
        !ok && stderr.contains("does not open this backup"),
        "{stderr}"
    );
    assert!(!target.exists());

    // An initialized data dir, and a directory holding anything.
    let before = snapshot(&data);
    let (ok, _, stderr) = restore(&good, data_text, &[]);
    assert!(
        !ok && stderr.contains("holds a deployment already"),
        "{stderr}"
    );
    assert_eq!(snapshot(&data), before);
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "x").unwrap();
    let (ok, _, stderr) = restore(&good, busy.to_str().unwrap(), &[]);
    assert!(!ok && stderr.contains("is not empty"), "{stderr}");
    assert_eq!(snapshot(&busy).len(), 1);

    // PostgreSQL is pg_restore's.
    let (ok, _, stderr) = cli(
        &[
            "restore",
            "--input",
            good.to_str().unwrap(),
            "--data-dir",
            target_text,
        ],
        &[("RAMPART_DATABASE_URL", "postgres://h/db")],
    );
    assert!(!ok && stderr.contains("pg_restore"), "{stderr}");

    // The good file, with no key given: restored, and told where the key must go.
    let (ok, stdout, stderr) = restore(&good, target_text, &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("master key: not given"), "{stdout}");
    assert!(target.join("rampart.db").exists() && !target.join("master.key").exists());
    let names: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "staging left behind: {names:?}");
}
