//! Issue 16: `rampart alerts list` and `rampart incidents list|show|ack|resolve` on the real
//! binary and a real data dir, run as a second process while the server serves the same
//! SQLite deployment (WAL; the audit log's appends from two processes are compare-and-set).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{rampart, run, text};
use crate::threat::{Env, eventually, rt, start};

const ENVS: &[(&str, &str)] = &[
    ("RAMPART_MAX_LOGIN_ATTEMPTS", "100"),
    ("RAMPART_ACCOUNT_LOCKOUT_FAILURES", "100"),
];

/// `rampart ARGS --data-dir DIR`: (exit code, stdout, stderr).
fn cli(env: &Env, args: &[&str]) -> (i32, String, String) {
    let output = run(rampart()
        .args(args)
        .args(["--data-dir", env.dir.path().to_str().unwrap()]));
    let (stdout, stderr) = text(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// `rampart ARGS --json`, which must succeed, parsed.
fn cli_json(env: &Env, args: &[&str]) -> Value {
    let (code, stdout, stderr) = cli(env, &[args, &["--json"]].concat());
    assert_eq!(code, 0, "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn alerts_of(env: &Env, rule: &str) -> Vec<Value> {
    let answer = env
        .admin(Method::GET, &format!("/v1/alerts?rule={rule}"), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"].as_array().unwrap().clone()
}

/// Five failed logins raise one `failed_logins` alert that `rampart alerts list` shows (JSON as
/// the API's, and a table); an incident opened through the API is acknowledged and resolved
/// with the CLI, its timeline and the audit log record it, the server sees it at once; an unknown
/// id exits 1 with one line naming it.
#[test]
fn monitor_cli_lists_alerts_and_acknowledges_and_resolves_incidents() {
    let env = start(ENVS);
    let runtime = rt();
    let alert = runtime.block_on(async {
        env.user("lena", &["viewer"]).await;
        for _ in 0..5 {
            let answer = env
                .call(
                    Method::POST,
                    "/v1/auth/login",
                    None,
                    None,
                    Some(json!({"name": "lena", "password": "not-the-password-1"})),
                )
                .await;
            assert_eq!(answer.status, 401, "{}", answer.body);
        }
        assert!(
            eventually(Duration::from_secs(10), || async {
                !alerts_of(&env, "failed_logins").await.is_empty()
            })
            .await,
            "no failed_logins alert"
        );
        alerts_of(&env, "failed_logins").await.remove(0)
    });

    // The CLI, a second process on the server's data dir, sees the same alert as the API.
    let listed = cli_json(&env, &["alerts", "list"]);
    let items = listed["items"].as_array().unwrap();
    let failed: Vec<&Value> = items
        .iter()
        .filter(|a| a["rule"] == "failed_logins")
        .collect();
    assert_eq!(failed.len(), 1, "{listed:#}");
    assert_eq!(failed[0], &alert, "the CLI's JSON is the API's");
    assert_eq!(failed[0]["count"], 5, "{listed:#}");
    let only = cli_json(
        &env,
        &[
            "alerts",
            "list",
            "--rule",
            "failed_logins",
            "--status",
            "open",
        ],
    );
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only:#}");
    let none = cli_json(&env, &["alerts", "list", "--status", "resolved"]);
    assert_eq!(none["items"], json!([]), "{none:#}");
    let (code, table, stderr) = cli(&env, &["alerts", "list"]);
    assert_eq!(code, 0, "{stderr}");
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for column in [
        "ID",
        "RULE",
        "SEVERITY",
        "STATUS",
        "COUNT",
        "FIRST SEEN",
        "LAST SEEN",
    ] {
        assert!(header.contains(column), "{table}");
    }
    let row = table
        .lines()
        .find(|l| l.contains("failed_logins"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[0], alert["id"].as_str().unwrap(), "{table}");
    assert_eq!(
        &cells[1..5],
        ["failed_logins", "medium", "open", "5"],
        "{table}"
    );
    // Columns are aligned: the RULE column starts at the same offset on every line.
    let at = header.find("RULE").unwrap();
    assert_eq!(row.find("failed_logins"), Some(at), "{table}");

    // An incident opened through the API, acknowledged with the CLI.
    let id = runtime.block_on(async {
        let answer = env
            .admin(
                Method::POST,
                "/v1/incidents",
                Some(json!({"title": "Brute force on lena", "severity": "medium",
                    "description": "five failed logins", "alert_ids": [alert["id"]]})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    });
    let (code, stdout, stderr) = cli(&env, &["incidents", "ack", &id]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("acknowledged {id}")), "{stdout}");
    let shown = cli_json(&env, &["incidents", "show", &id]);
    assert_eq!(shown["status"], "acknowledged", "{shown:#}");
    assert!(shown["acknowledged_at"].is_string(), "{shown:#}");
    assert_eq!(shown["next_escalation_at"], Value::Null, "{shown:#}");
    let timeline = shown["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t["kind"] == "acknowledged" && t["actor"] == "rampart-cli"),
        "{shown:#}"
    );
    let (code, human, stderr) = cli(&env, &["incidents", "show", &id]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        human.starts_with(&format!("{id}  Brute force on lena")),
        "{human}"
    );
    assert!(
        human.contains("acknowledged") && human.contains("rampart-cli"),
        "{human}"
    );
    // A second acknowledgement is refused, naming the incident.
    let (code, _, stderr) = cli(&env, &["incidents", "ack", &id]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&id), "{stderr}");

    runtime.block_on(async {
        // The server reads the CLI's change, and the audit log has it as the API would.
        let answer = env
            .admin(Method::GET, &format!("/v1/incidents/{id}"), None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["status"], "acknowledged", "{}", answer.body);
        let path = format!("/v1/audit/entries?action=incident.acknowledge&resource_id={id}");
        assert!(
            eventually(Duration::from_secs(10), || async {
                let entries = env.admin(Method::GET, &path, None).await;
                entries.body["items"].as_array().is_some_and(|items| {
                    items.iter().any(|e| {
                        e["actor"]["type"] == "system"
                            && e["actor"]["id"] == "rampart-cli"
                            && e["resource"]["type"] == "incident"
                    })
                })
            })
            .await,
            "no incident.acknowledge entry by rampart-cli"
        );
    });

    // Resolve, then list by status.
    let (code, stdout, stderr) = cli(
        &env,
        &[
            "incidents",
            "resolve",
            &id,
            "--resolution",
            "password reset, false alarm",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("resolved {id}")), "{stdout}");
    let resolved = cli_json(&env, &["incidents", "list", "--status", "resolved"]);
    let items = resolved["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{resolved:#}");
    assert_eq!(items[0]["id"], id.as_str());
    assert!(
        items[0]["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "resolved" && t["text"] == "password reset, false alarm"),
        "{resolved:#}"
    );
    let open = cli_json(&env, &["incidents", "list", "--status", "open"]);
    assert_eq!(open["items"], json!([]), "{open:#}");
    let (code, table, _) = cli(&env, &["incidents", "list"]);
    assert_eq!(code, 0);
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("resolved")),
        "{table}"
    );

    // Unknown ids: exit 1 with one line naming the id, for every command that takes one.
    for args in [
        vec!["incidents", "show", "INC-20990101-0042"],
        vec!["incidents", "ack", "INC-20990101-0042"],
        vec![
            "incidents",
            "resolve",
            "INC-20990101-0042",
            "--resolution",
            "x",
        ],
        vec!["incidents", "show", "not-an-id"],
    ] {
        let (code, stdout, stderr) = cli(&env, &args);
        let wanted = args[2];
        assert_eq!(code, 1, "{args:?}: {stdout}\n{stderr}");
        assert_eq!(
            stderr.trim(),
            format!("error: no such incident: {wanted}"),
            "{args:?}"
        );
        assert!(stdout.is_empty(), "{stdout}");
    }
}
