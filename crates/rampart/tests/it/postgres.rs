//! `rampart serve --database-url postgres://…` against a real PostgreSQL server.

use rampart_test_support::TestPostgres;
use serde_json::Value;

use crate::support::{Server, client, master_key, rampart, run, text};

async fn get(base: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = client(None, None).get(format!("{base}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[test]
fn two_servers_share_one_postgres_deployment() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();

    // Without the master key in the environment, PostgreSQL deployments refuse to start.
    let (_, stderr) = Server::try_start(
        &[
            "--database-url",
            pg.url(),
            "--data-dir",
            dir_a.path().to_str().unwrap(),
        ],
        &[],
    )
    .err()
    .expect("refuses");
    assert!(
        stderr.contains("RAMPART_MASTER_KEY is required with PostgreSQL"),
        "{stderr}"
    );

    let a = Server::start(
        &[
            "--database-url",
            pg.url(),
            "--data-dir",
            dir_a.path().to_str().unwrap(),
        ],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    let admin = a
        .admin_key
        .clone()
        .expect("first start prints the admin key");
    assert!(
        !a.stdout().contains("master.key"),
        "PostgreSQL deployments use no key file"
    );
    let b = Server::start(
        &[
            "--database-url",
            pg.url(),
            "--data-dir",
            dir_b.path().to_str().unwrap(),
        ],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    assert_eq!(
        b.admin_key, None,
        "the second server re-initialized the database"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for server in [&a, &b] {
            let (status, health) = get(&server.base, "/v1/health", None).await;
            assert_eq!(status, 200);
            assert_eq!(health["storage"], "postgres");
            let (status, me) = get(&server.base, "/v1/auth/whoami", Some(&admin)).await;
            assert_eq!(status, 200, "{me}");
            assert_eq!(me["name"], "bootstrap-admin");
            let (status, problem) = get(&server.base, "/v1/auth/whoami", None).await;
            assert_eq!(status, 401);
            assert_eq!(
                problem["type"],
                "https://rampart.dev/problems/unauthenticated"
            );
        }
    });

    // init on an initialized database refuses; a wrong key refuses to serve.
    let out = run(rampart()
        .args(["init", "--database-url", pg.url()])
        .env("RAMPART_MASTER_KEY", &key));
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("already initialized"),
        "{}",
        text(&out).1
    );
    // The password in the URL (ignored by the test server's trust auth) is never printed.
    let with_password = pg.url().replacen(
        "postgres://postgres@",
        "postgres://postgres:CanaryPw0rd@",
        1,
    );
    assert_ne!(with_password, pg.url());
    let (_, stderr) = Server::try_start(
        &["--database-url", &with_password],
        &[("RAMPART_MASTER_KEY", &master_key())],
    )
    .err()
    .expect("refuses a wrong key");
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(
        !stderr.contains("CanaryPw0rd"),
        "the database password leaked: {stderr}"
    );
    assert!(stderr.contains("[REDACTED]"), "{stderr}");
}

#[test]
fn servers_racing_to_initialize_one_database_agree_on_one_deployment() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let key = master_key();
    let url = pg.url().to_owned();
    // `serve` alone refuses a database with no deployment, creating nothing: `init` makes it.
    let (_, stderr) = Server::try_serve(&["--database-url", &url], &[("RAMPART_MASTER_KEY", &key)])
        .err()
        .expect("serve refuses an uninitialized database");
    assert!(stderr.contains("has no Rampart deployment"), "{stderr}");
    assert!(stderr.contains("rampart init --database-url"), "{stderr}");
    let schema = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = rampart_store::Store::open_postgres(&url).await.unwrap();
        let version = store.schema_version().await.unwrap();
        store.close().await;
        version
    });
    assert_eq!(schema, None, "serve created tables");
    // Servers racing to start on it: each runs `init` first (Server::start), exactly one wins.
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                Server::start(&["--database-url", &url], &[("RAMPART_MASTER_KEY", &key)])
            })
        })
        .collect();
    let servers: Vec<Server> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let keys: Vec<&String> = servers
        .iter()
        .filter_map(|s| s.admin_key.as_ref())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "exactly one server initializes the deployment"
    );
    let admin = keys[0].clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for server in &servers {
            assert_eq!(
                get(&server.base, "/v1/auth/whoami", Some(&admin)).await.0,
                200
            );
        }
    });
}
