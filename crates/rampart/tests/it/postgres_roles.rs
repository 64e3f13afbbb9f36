//! PostgreSQL with two roles, as the README sets it up with `packaging/postgres/*.sql`: the
//! schema owner initializes and migrates, servers run as a role without DDL rights and without
//! UPDATE or DELETE on the evidence tables.

use rampart_test_support::TestPostgres;
use serde_json::{Value, json};

use crate::support::{Server, client, master_key, rampart, run, text};

/// A role setup script of `packaging/postgres/`, with the roles renamed for this test (roles
/// are cluster-wide; an external test server may be shared).
fn script(name: &str, suffix: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/postgres")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("rampart_owner", &format!("rampart_owner_{suffix}"))
        .replace("rampart_app", &format!("rampart_app_{suffix}"))
}

/// The test database's URL, as `role` (the test cluster trusts local connections).
fn url_as(pg: &TestPostgres, role: &str) -> String {
    let (scheme, rest) = pg.url().split_once("://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    format!("{scheme}://{role}@{host}")
}

#[test]
fn servers_run_as_a_role_that_cannot_rewrite_evidence() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let suffix = format!("{:08x}", rand_suffix());
    pg.psql(&script("1-roles.sql", &suffix)).expect("roles");
    let owner = url_as(&pg, &format!("rampart_owner_{suffix}"));
    let app = url_as(&pg, &format!("rampart_app_{suffix}"));
    let key = master_key();
    let env = [("RAMPART_MASTER_KEY", key.as_str())];

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let init = run(rampart()
        .args([
            "init",
            "--json",
            "--database-url",
            &owner,
            "--data-dir",
            data_dir,
        ])
        .envs(env));
    let (stdout, stderr) = text(&init);
    assert!(init.status.success(), "{stderr}");
    let admin: Value = serde_json::from_str(&stdout).unwrap();
    let admin = admin["admin_api_key"].as_str().unwrap().to_owned();
    pg.psql(&script("2-grants.sql", &suffix)).expect("grants");

    // `rampart migrate` with nothing to apply needs no DDL right: the runtime role may run it.
    let migrate = run(rampart()
        .args(["migrate", "--database-url", &app, "--data-dir", data_dir])
        .envs(env));
    let (stdout, stderr) = text(&migrate);
    assert!(migrate.status.success(), "{stderr}");
    assert!(stdout.contains("up to date"), "{stdout}");

    let server = Server::start(&["--database-url", &app, "--data-dir", data_dir], &env);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client(None, None);
        let post = |path: &str, body: Value| {
            http.post(format!("{}{path}", server.base))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        for i in 0..5 {
            let appended = post(
                "/v1/audit/entries",
                json!({"actor": {"type": "user", "id": format!("u{i}")}, "action": "payment.authorize",
                       "resource": {"type": "payment", "id": "p1"}, "status": "success"}),
            )
            .await
            .unwrap();
            assert_eq!(appended.status(), 201, "{}", appended.text().await.unwrap());
        }
        for (path, body) in [
            ("/v1/keys", json!({"name": "payments", "type": "aes256-gcm"})),
            (
                "/v1/principals",
                json!({"type": "service", "name": "ci", "roles": ["developer"]}),
            ),
            ("/v1/compliance/reports", json!({"framework": "soc2"})),
            ("/v1/retention/run", json!({})),
        ] {
            let answer = post(path, body).await.unwrap();
            let status = answer.status().as_u16();
            assert!(
                (200..300).contains(&status),
                "{path}: {status} {}",
                answer.text().await.unwrap()
            );
        }
        let ready = http
            .get(format!("{}/v1/health/ready", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
    });

    // The runtime role cannot rewrite the log, its checkpoints or a report, even by hand.
    for statement in [
        "UPDATE audit_entries SET status = 'failure'",
        "DELETE FROM audit_entries",
        "DELETE FROM audit_checkpoints",
        "UPDATE compliance_reports SET framework = 'x'",
        "TRUNCATE audit_entries",
        "CREATE TABLE intruder (x int)",
    ] {
        let refused = pg
            .psql(&format!("SET ROLE rampart_app_{suffix}; {statement}"))
            .expect_err(statement);
        assert!(
            refused.contains("permission denied"),
            "{statement}: {refused}"
        );
    }
    let entries = pg.psql("SELECT count(*) FROM audit_entries").unwrap();
    assert!(entries.parse::<u64>().unwrap() >= 5, "{entries}");
    server.terminate();
}

/// A random suffix for role names, from the system's randomness.
fn rand_suffix() -> u32 {
    let mut bytes = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
    u32::from_le_bytes(bytes)
}
