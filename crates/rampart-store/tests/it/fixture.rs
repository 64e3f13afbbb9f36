//! A fresh database per test, on either backend.

use rampart_store::Store;
use rampart_test_support::TestPostgres;
use sqlx::Connection;

/// A store on a fresh database, with what it takes to reach that database behind its back.
pub struct Fixture {
    pub store: Store,
    raw: Raw,
    _dir: tempfile::TempDir,
    _pg: Option<TestPostgres>,
}

pub enum Raw {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Fixture {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rampart.db");
        let store = Store::open_sqlite(&path, true).await.expect("opens");
        Self {
            store,
            raw: Raw::Sqlite(path),
            _dir: dir,
            _pg: None,
        }
    }

    pub async fn postgres() -> Option<Self> {
        let pg = TestPostgres::start().expect("PostgreSQL starts")?;
        let store = Store::open_postgres(pg.url()).await.expect("connects");
        let raw = Raw::Postgres(pg.url().to_owned());
        Some(Self {
            store,
            raw,
            _dir: tempfile::tempdir().expect("temp dir"),
            _pg: Some(pg),
        })
    }

    /// Another store on the same database, as a second node would open it: its own pool.
    pub async fn another_node(&self) -> Store {
        match &self.raw {
            Raw::Sqlite(path) => Store::open_sqlite(path, false).await.expect("opens"),
            Raw::Postgres(url) => Store::open_postgres(url).await.expect("connects"),
        }
    }

    /// Like `exec_raw`, returning the database's error text instead of panicking.
    pub async fn try_exec_raw(&self, sql: &str) -> Result<(), String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let result = match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sql).execute(&mut conn).await.map(|_| ())
            }
            Raw::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sql).execute(&mut conn).await.map(|_| ())
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Runs SQL on a separate connection, as an attacker or an operator with shell access would.
    pub async fn exec_raw(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .expect("raw sql");
            }
            Raw::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("raw connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .expect("raw sql");
            }
        }
    }

    /// One integer (a count) read on a separate connection, behind the store's back.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
            Raw::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("raw connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
        }
    }

    /// One nullable text value read on a separate connection, behind the store's back.
    pub async fn text(&self, sql: &str) -> Option<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
            Raw::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("raw connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
        }
    }

    /// One integer (a count) read from the audit query index behind the store's back: the
    /// index file on SQLite, the database on PostgreSQL.
    pub async fn index_scalar(&self, sql: &str) -> i64 {
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!(
                    "sqlite://{}",
                    path.with_extension("audit-index.db").display()
                );
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
            Raw::Postgres(_) => self.scalar(sql).await,
        }
    }

    /// The directory holding the SQLite files (`None` on PostgreSQL).
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.raw {
            Raw::Sqlite(path) => path.parent(),
            Raw::Postgres(_) => None,
        }
    }

    /// One integer read from the audit query index behind the store's back: the index file on
    /// SQLite, the database on PostgreSQL.
    pub async fn scalar_index(&self, sql: &str) -> i64 {
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!(
                    "sqlite://{}",
                    path.with_extension("audit-index.db").display()
                );
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .expect("raw query")
            }
            Raw::Postgres(_) => self.scalar(sql).await,
        }
    }

    /// Runs SQL on the audit query index behind the store's back: the index file on SQLite,
    /// the database on PostgreSQL.
    pub async fn exec_raw_index(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(path) => {
                let url = format!(
                    "sqlite://{}",
                    path.with_extension("audit-index.db").display()
                );
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("raw connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .expect("raw sql");
            }
            Raw::Postgres(_) => self.exec_raw(sql).await,
        }
    }
}
