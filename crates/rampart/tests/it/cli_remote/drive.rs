//! Keys, principals, API keys, policy, audit queries and incidents through the CLI.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Cli, canary, problem_line, row_of};
use crate::support::rampart;
use crate::threat::{rt, start};

/// Keys, principals, API keys, policy and audit queries through the CLI: tables hold the
/// rows, JSON is the server's, problems are printed with their exit codes.
#[test]
fn cli_drives_a_running_server() {
    let env = start(&[]);
    let runtime = rt();
    let cli = Cli::new(&env);

    // Keys: create, list (table and JSON), show, rotate (positional and --key), encrypt and
    // decrypt through standard input.
    cli.ok(&["keys", "create", "payments"]);
    let table = cli.ok(&["keys", "list"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(row_of(&table, "payments").contains("aes256-gcm"), "{table}");
    let listed = cli.json(&["keys", "list"]);
    let api = runtime.block_on(env.admin(Method::GET, "/v1/keys", None));
    assert_eq!(listed["items"], api.body["items"]);
    assert!(
        cli.ok(&["keys", "rotate", "payments"])
            .contains("latest version is now 2")
    );
    assert!(
        cli.ok(&["keys", "rotate", "--key", "payments"])
            .contains("latest version is now 3")
    );
    let shown = cli.json(&["keys", "show", "payments"]);
    assert_eq!(shown["latest_version"], 3);
    let sealed = cli.run_with(
        &["keys", "encrypt", "payments"],
        Some(&env.admin),
        b"top \x00secret",
        None,
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    assert!(
        sealed.stdout.starts_with("rampart:v3:"),
        "{}",
        sealed.stdout
    );
    let opened = cli.run_with(
        &["keys", "decrypt", "payments"],
        Some(&env.admin),
        sealed.stdout.as_bytes(),
        None,
    );
    assert_eq!(opened.code, 0, "{}", opened.stderr);
    assert_eq!(opened.stdout.as_bytes(), b"top \x00secret");

    // Not found: exit 6 with the server's problem detail.
    let (status, wanted) = runtime.block_on(problem_line(
        &env,
        Method::GET,
        "/v1/keys/nope",
        &env.admin,
        None,
    ));
    assert_eq!(status, 404);
    let missing = cli.admin(&["keys", "show", "nope"]);
    assert_eq!(missing.code, 6, "{}", missing.stderr);
    assert_eq!(missing.stderr.trim(), wanted);
    assert!(missing.stdout.is_empty());

    // A conflict: exit 8.
    let again = cli.admin(&["keys", "create", "payments"]);
    assert_eq!(again.code, 8, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("a key named 'payments' already exists"),
        "{}",
        again.stderr
    );

    // Validation: exit 7 with the field named.
    let bad = cli.admin(&["keys", "create", "bad name!"]);
    assert_eq!(bad.code, 7, "{}", bad.stderr);
    assert!(bad.stderr.starts_with("error: "), "{}", bad.stderr);
    assert!(bad.stderr.contains("name"), "{}", bad.stderr);

    // Principals: create, list, show (as the API's JSON), disable, enable.
    let viewer = cli.json(&["principals", "create", "--name", "vera", "--role", "viewer"]);
    let viewer_id = viewer["id"].as_str().unwrap().to_owned();
    assert_eq!(viewer["roles"], json!(["viewer"]));
    let table = cli.ok(&["principals", "list"]);
    assert!(row_of(&table, &viewer_id).contains("vera"), "{table}");
    let shown = cli.json(&["principals", "show", &viewer_id]);
    let api =
        runtime.block_on(env.admin(Method::GET, &format!("/v1/principals/{viewer_id}"), None));
    assert_eq!(shown, api.body);
    assert_eq!(
        cli.json(&["principals", "disable", &viewer_id])["disabled"],
        true
    );
    assert_eq!(
        cli.json(&["principals", "enable", &viewer_id])["disabled"],
        false
    );

    // API keys: --scope is required; the key is printed once; list and revoke.
    let unscoped = cli.admin(&["api-keys", "create", "--name", "ci"]);
    assert_eq!(unscoped.code, 2, "{}", unscoped.stderr);
    assert!(unscoped.stderr.contains("--scope"), "{}", unscoped.stderr);
    let issued = cli.json(&[
        "api-keys",
        "create",
        "--name",
        "ci",
        "--scope",
        "keys:read",
        "--principal",
        &viewer_id,
    ]);
    let issued_key = issued["key"].as_str().unwrap().to_owned();
    let key_id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["scopes"], json!(["keys:read"]));
    let table = cli.ok(&["api-keys", "list", "--principal", &viewer_id]);
    let row = row_of(&table, &key_id);
    assert!(
        row.contains("ci") && row.contains("keys:read") && row.contains("false"),
        "{table}"
    );
    // A scope beyond the principal's permissions: 422, exit 7.
    let beyond = cli.admin(&[
        "api-keys",
        "create",
        "--name",
        "x",
        "--scope",
        "users:manage",
        "--principal",
        &viewer_id,
    ]);
    assert_eq!(beyond.code, 7, "{}", beyond.stderr);

    // The viewer's key (made through the API: the CLI printed the one above, on purpose):
    // keys are readable, principals are not (403: exit 5).
    let viewer_key = runtime.block_on(env.api_key(&viewer_id, "v", &["keys:read"]));
    let as_viewer = cli.run_with(&["keys", "list"], Some(&viewer_key), b"", None);
    assert_eq!(as_viewer.code, 0, "{}", as_viewer.stderr);
    let denied = cli.run_with(&["principals", "list"], Some(&viewer_key), b"", None);
    assert_eq!(denied.code, 5, "{}", denied.stderr);
    assert!(
        denied.stderr.starts_with("error: Permission denied"),
        "{}",
        denied.stderr
    );
    // A bad token: 401, exit 4; no server there: exit 3.
    let wrong = cli.run_with(&["keys", "list"], Some("rk_not_a_real_key"), b"", None);
    assert_eq!(wrong.code, 4, "{}", wrong.stderr);
    let nobody = cli.run_with(
        &["keys", "list"],
        Some(&env.admin),
        b"",
        Some("http://127.0.0.1:9"),
    );
    assert_eq!(nobody.code, 3, "{}", nobody.stderr);
    assert!(
        nobody
            .stderr
            .contains("cannot reach the server at http://127.0.0.1:9"),
        "{}",
        nobody.stderr
    );
    let revoked = cli.ok(&["api-keys", "revoke", &key_id]);
    assert!(revoked.contains(&key_id), "{revoked}");
    let after = cli.run_with(&["keys", "list"], Some(&issued_key), b"", None);
    assert_eq!(after.code, 4, "{}", after.stderr);

    // Policy: show as a table and as the API's JSON; set from a file.
    let table = cli.ok(&["policy", "show"]);
    assert!(row_of(&table, "viewer").contains("keys:read"), "{table}");
    let mut policy = cli.json(&["policy", "show"]);
    let api = runtime.block_on(env.admin(Method::GET, "/v1/policy", None));
    assert_eq!(policy, api.body);
    policy["roles"]["auditor_lite"] = json!({"permissions": ["audit:read"]});
    let file = env.dir.path().join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let set = cli.ok(&["policy", "set", file.to_str().unwrap()]);
    assert!(row_of(&set, "auditor_lite").contains("audit:read"), "{set}");
    let broken = env.dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"roles": {"a": {"inherits": ["nobody"]}}}"#).unwrap();
    let refused = cli.admin(&["policy", "set", broken.to_str().unwrap()]);
    assert_eq!(refused.code, 7, "{}", refused.stderr);

    // Audit queries: filters, a limit, and the cursor followed past one page of 1000.
    let events: Vec<Value> = (0..1100)
        .map(|i| json!({"actor": {"type": "service", "id": "bulk"}, "action": "test.bulk", "resource": {"type": "item", "id": format!("i{i}")}, "status": "success"}))
        .collect();
    let written = runtime.block_on(env.admin(
        Method::POST,
        "/v1/audit/entries",
        Some(json!({"events": events})),
    ));
    assert_eq!(written.status, 201, "{}", written.body);
    let all = cli.json(&["audit", "query", "--action", "test.bulk", "--all"]);
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 1100);
    let seqs: Vec<u64> = items.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "ascending, no repeats"
    );
    assert!(all["next_cursor"].is_null());
    let some = cli.json(&["audit", "query", "--action", "test.bulk", "--limit", "1050"]);
    assert_eq!(some["items"].as_array().unwrap().len(), 1050);
    assert!(some["next_cursor"].is_string());
    let table = cli.ok(&["audit", "query", "--action", "keys.*", "--limit", "5"]);
    assert!(table.lines().next().unwrap().starts_with("SEQ"), "{table}");
    assert!(
        table.contains("keys.create") && table.contains("key/payments"),
        "{table}"
    );
    let bad_filter = cli.admin(&["audit", "query", "--since", "yesterday"]);
    assert!(
        bad_filter.code == 7,
        "{} {}",
        bad_filter.code,
        bad_filter.stderr
    );

    // Alerts and incidents ask the server when no store is named.
    let incident = runtime.block_on(env.admin(
        Method::POST,
        "/v1/incidents",
        Some(json!({"title": "cli check", "severity": "low", "description": "d"})),
    ));
    assert_eq!(incident.status, 201, "{}", incident.body);
    let id = incident.body["id"].as_str().unwrap().to_owned();
    assert!(row_of(&cli.ok(&["incidents", "list"]), &id).contains("open"));
    assert!(cli.ok(&["incidents", "ack", &id]).contains("acknowledged"));
    assert!(
        cli.ok(&["incidents", "resolve", &id, "--resolution", "fine"])
            .contains("resolved")
    );
    assert_eq!(cli.json(&["incidents", "show", &id])["status"], "resolved");
    let unknown = cli.admin(&["incidents", "show", "INC-20990101-0042"]);
    assert_eq!(unknown.code, 6, "{}", unknown.stderr);
    cli.ok(&["alerts", "list"]);
    // With a store named (here by RAMPART_DATA_DIR), the same command reads the store, not
    // the server (whose address here answers nothing).
    let mut local = rampart();
    local
        .args(["alerts", "list"])
        .env("RAMPART_DATA_DIR", env.dir.path())
        .env("RAMPART_ADDR", "http://127.0.0.1:9");
    let local = crate::support::run(&mut local);
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let rotated = crate::support::run(rampart().args([
        "keys",
        "rotate",
        "payments",
        "--data-dir",
        env.dir.path().to_str().unwrap(),
    ]));
    assert!(
        String::from_utf8_lossy(&rotated.stdout).contains("latest version is now 4"),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );

    canary(&cli, &[&env.admin, &viewer_key]);
}
