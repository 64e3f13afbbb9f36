//! `rampart alerts list` and `rampart incidents list|show|ack|resolve` on a stopped server's
//! data dir.

use reqwest::Method;
use serde_json::{Value, json};

use super::{rt, start};
use crate::support::{rampart, run, text};

/// The CLI lists, shows, acknowledges and resolves an incident opened over the API; a bad
/// status or an unknown incident fails.
#[test]
fn monitor_cli_lists_shows_acknowledges_and_resolves_incidents() {
    let env = start(&[]);
    let id = rt().block_on(async {
        let answer = env
            .admin(
                Method::POST,
                "/v1/incidents",
                Some(json!({"title": "From the API", "severity": "high"})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    });
    let dir = env.dir.path().to_str().unwrap().to_owned();
    env.server.terminate();
    let cli = |args: &[&str]| {
        let out = run(rampart().args(args).args(["--data-dir", &dir]));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    let listed = cli(&["incidents", "list", "--status", "open"]);
    let lines: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{listed}");
    assert_eq!(lines[0]["id"], id.as_str());
    assert!(cli(&["alerts", "list"]).lines().all(|l| l.starts_with('{')));
    let shown: Value = serde_json::from_str(&cli(&["incidents", "show", &id])).unwrap();
    assert_eq!(shown["title"], "From the API");
    assert!(cli(&["incidents", "ack", &id]).contains("acknowledged"));
    assert!(cli(&["incidents", "resolve", &id, "--resolution", "done"]).contains("resolved"));
    let shown: Value = serde_json::from_str(&cli(&["incidents", "show", &id])).unwrap();
    assert_eq!(shown["status"], "resolved", "{shown}");
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "acknowledged", "resolved"]);
    assert_eq!(cli(&["incidents", "list", "--status", "open"]), "");
    let bad = run(rampart()
        .args(["incidents", "list", "--status", "closed", "--data-dir"])
        .arg(&dir));
    assert!(!bad.status.success());
    let missing = run(rampart()
        .args(["incidents", "show", "INC-20200101-0001", "--data-dir"])
        .arg(&dir));
    assert!(!missing.status.success());
}
