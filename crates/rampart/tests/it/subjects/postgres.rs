//! Erasure on PostgreSQL: the same guarantees, checked with a dump of every table.

use rampart_test_support::TestPostgres;
use reqwest::Method;
use serde_json::{Value, json};

use super::{append_all, entries_of, event, rt};
use crate::support::{Server, client, master_key};
use crate::threat::Env;

/// Every row of every table of the database, as text.
fn dump(pg: &TestPostgres) -> String {
    let tables = pg
        .psql("SELECT string_agg(quote_ident(table_name), ',') FROM information_schema.tables WHERE table_schema = 'public'")
        .unwrap();
    tables
        .split(',')
        .map(|table| {
            pg.psql(&format!(
                "SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM {table} t"
            ))
            .unwrap()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn subjects_erasure_on_postgres_leaves_no_personal_data_in_any_table() {
    let Some(pg) = TestPostgres::start().expect("PostgreSQL starts") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = master_key();
    let server = Server::start(
        &[
            "--database-url",
            pg.url(),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("RAMPART_MASTER_KEY", &key)],
    );
    let env = Env {
        base: server.base.clone(),
        admin: server.admin_key.clone().expect("admin key"),
        server,
        dir,
        envs: Vec::new(),
        http: client(None, None),
    };
    let canary = format!("PgCanary{}", std::process::id());
    let kept = format!("PgKept{}", std::process::id());
    rt().block_on(async {
        let mine: Vec<Value> = (0..300)
            .map(|n| event("pg-subject", json!({"email": format!("{canary}-{n}")}), n))
            .collect();
        append_all(&env, mine).await;
        append_all(&env, vec![event("pg-other", json!({"email": kept.clone()}), 0)]).await;
        let answer = env
            .admin(
                Method::POST,
                "/v1/subjects/pg-subject/consents",
                Some(json!({"purpose": "analytics", "given": true, "source": format!("{canary}-form")})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let before = dump(&pg);
        assert!(!before.contains(&format!("{canary}-1")), "personal data is stored sealed");
        assert!(before.contains(&format!("{canary}-form")), "the consent's source, before erasure");

        let answer = env
            .admin(
                Method::POST,
                "/v1/subjects/pg-subject/erasure",
                Some(json!({"reason": "Art. 17"})),
            )
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.body["status"], "completed", "no store to wait for");

        let verify = env.admin(Method::POST, "/v1/audit/verify", None).await;
        assert_eq!(verify.body["ok"], true, "{}", verify.body);
        let after = entries_of(&env, "pg-subject").await;
        assert!(after
            .iter()
            .filter(|e| e.get("personal").is_some())
            .all(|e| e["personal_plain"] == "[ERASED]"));
        let other = entries_of(&env, "pg-other").await;
        assert_eq!(other[0]["personal_plain"]["email"], kept.as_str());
        let dumped = dump(&pg);
        assert!(!dumped.contains(&canary), "{canary} left in a table");
    });
}
