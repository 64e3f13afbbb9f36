//! Dev-only test support: a throwaway PostgreSQL database per test ([`TestPostgres`]).
//! It uses `RAMPART_TEST_DATABASE_URL` when set, else starts a private cluster from the local
//! PostgreSQL binaries; with neither it skips, unless `RAMPART_REQUIRE_POSTGRES=1`.
#![forbid(unsafe_code)]

use std::fs;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

const SKIP: &str =
    "skipped: no PostgreSQL (install PostgreSQL 15 or set RAMPART_TEST_DATABASE_URL)";
const PORT: u16 = 5432;

/// A PostgreSQL database for one test. Dropping it stops the cluster it started (if any) and removes its files.
#[derive(Debug)]
pub struct TestPostgres {
    url: String,
    psql: PathBuf,
    cleanup: Cleanup,
    /// The private cluster this value started (`None` for `RAMPART_TEST_DATABASE_URL`).
    cluster: Option<Cluster>,
}

/// How to run `pg_ctl` on a private cluster: its binaries, directory, user and start options.
#[derive(Debug)]
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    options: String,
}

impl Cluster {
    /// `pg_ctl -D DIR/data` (through `runuser -u postgres` when running as root).
    fn pg_ctl(&self) -> Command {
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]);
            cmd.arg(self.bin.join("pg_ctl"));
            cmd
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        cmd.current_dir(&self.dir)
            .arg("-D")
            .arg(self.dir.join("data"));
        cmd
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    fn start_command(&self) -> Command {
        let mut start = self.pg_ctl();
        start.arg("-l").arg(self.dir.join("log")).args([
            "-w",
            "-t",
            "60",
            "-o",
            &self.options,
            "start",
        ]);
        start
    }
}

/// Runs `command` (stop the cluster, or drop the database) on drop, then removes `dir`.
#[derive(Debug)]
struct Cleanup {
    command: Option<Command>,
    dir: Option<TempDir>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(command) = &mut self.command {
            let _ = command.output();
        }
    }
}

/// True when `RAMPART_REQUIRE_POSTGRES=1`: a missing PostgreSQL is then an error, not a skip.
pub fn require_postgres() -> bool {
    std::env::var("RAMPART_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestPostgres {
    /// Returns Ok(Some(db)) with a fresh empty database; Ok(None) when no PostgreSQL is available
    /// (no RAMPART_TEST_DATABASE_URL and no initdb binary found) AND RAMPART_REQUIRE_POSTGRES is not set to "1";
    /// Err(String) with a clear message if PostgreSQL was found/required but could not start.
    /// When it returns None it prints to stderr loudly: "skipped: no PostgreSQL (install PostgreSQL 15 or set RAMPART_TEST_DATABASE_URL)".
    pub fn start() -> Result<Option<TestPostgres>, String> {
        let external = std::env::var("RAMPART_TEST_DATABASE_URL").ok();
        if let Some(admin_url) = external.filter(|url| !url.is_empty()) {
            return start_external(&admin_url).map(Some);
        }
        match find_initdb() {
            Some(initdb) => start_local(&initdb).map(Some),
            None if require_postgres() => Err("RAMPART_REQUIRE_POSTGRES=1 but no PostgreSQL \
                was found: install PostgreSQL 15 or set RAMPART_TEST_DATABASE_URL"
                .into()),
            None => {
                eprintln!("\n*** {SKIP} ***\n");
                Ok(None)
            }
        }
    }

    /// A connection URL for this database usable by sqlx and by `rampart serve --database-url`,
    /// e.g. "postgres://postgres@localhost:5432/rampart?host=/tmp/rampart-pg-XXXX" (socket dir in `host`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The unix socket directory of the cluster this value started (removed on drop);
    /// `None` for a database on the server named by `RAMPART_TEST_DATABASE_URL`.
    pub fn socket_dir(&self) -> Option<&Path> {
        self.cleanup.dir.as_ref().map(TempDir::path)
    }

    /// Runs `sql` in this database with `psql -At` (unaligned, tuples only, stops at the first
    /// error) and returns its stdout without the trailing newline, or an error with psql's output.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let out = run(psql(&self.psql, &self.url, sql), "psql")?;
        Ok(out.trim_end_matches('\n').to_owned())
    }

    /// Whether this value started its own cluster, which [`TestPostgres::stop`] and
    /// [`TestPostgres::start_again`] control (not a database on `RAMPART_TEST_DATABASE_URL`).
    pub fn controls_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// Stops the cluster with `pg_ctl stop -m MODE`, waiting until it is down: `fast` ends
    /// every session (they see `57P01 admin_shutdown`) and checkpoints; `immediate` kills the
    /// server processes, as a crash, and the next start recovers from the WAL.
    pub fn stop(&self, mode: &str) -> Result<(), String> {
        let cluster = self
            .cluster
            .as_ref()
            .ok_or("no private cluster to stop (RAMPART_TEST_DATABASE_URL)")?;
        let mut stop = cluster.pg_ctl();
        stop.args(["-m", mode, "-w", "-t", "60", "stop"]);
        run(stop, "pg_ctl stop").map(drop)
    }

    /// Starts the cluster [`TestPostgres::stop`] stopped, waiting until it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let cluster = self
            .cluster
            .as_ref()
            .ok_or("no private cluster to start (RAMPART_TEST_DATABASE_URL)")?;
        run(cluster.start_command(), "pg_ctl start").map(drop)
    }
}

/// A fresh `rampart_test_<hex>` database on the server at `admin_url`, dropped on drop.
fn start_external(admin_url: &str) -> Result<TestPostgres, String> {
    let database = format!("rampart_test_{:016x}", random_u64());
    let url = with_database(admin_url, &database)?;
    let psql_bin = find_initdb()
        .map(|initdb| initdb.with_file_name("psql"))
        .filter(|bin| bin.is_file())
        .or_else(|| find_on_path("psql"))
        .ok_or("RAMPART_TEST_DATABASE_URL is set but no psql binary was found")?;
    let create = format!("CREATE DATABASE {database}");
    run(
        psql(&psql_bin, admin_url, &create),
        "CREATE DATABASE at RAMPART_TEST_DATABASE_URL",
    )?;
    let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    let cleanup = Cleanup {
        command: Some(psql(&psql_bin, admin_url, &drop)),
        dir: None,
    };
    Ok(TestPostgres {
        url,
        psql: psql_bin,
        cleanup,
        cluster: None,
    })
}

/// A private cluster in a temporary directory (also its socket directory), with a database `rampart`.
fn start_local(initdb: &Path) -> Result<TestPostgres, String> {
    let bin = initdb
        .parent()
        .ok_or("initdb has no parent directory")?
        .to_path_buf();
    // A unix socket path is limited to ~107 bytes: avoid a long $TMPDIR.
    let mut parent = std::env::temp_dir();
    if parent.as_os_str().len() > 60 {
        parent = PathBuf::from("/tmp");
    }
    let dir = tempfile::Builder::new()
        .prefix("rampart-pg-")
        .tempdir_in(&parent);
    let dir = dir.map_err(|e| format!("creating a temp dir in {}: {e}", parent.display()))?;
    let path = dir.path().to_path_buf();
    let as_postgres = running_as_root();
    if as_postgres {
        // initdb refuses to run as root: hand the directory to the `postgres` user.
        let (uid, gid) = postgres_ids()?;
        chown_recursive(&path, uid, gid)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("chmod 0700 {}: {e}", path.display()))?;
    }
    let tool = |name: &str| {
        let program = if as_postgres {
            PathBuf::from("runuser")
        } else {
            bin.join(name)
        };
        let mut cmd = Command::new(program);
        if as_postgres {
            cmd.args(["-u", "postgres", "--"]).arg(bin.join(name));
        }
        cmd.current_dir(&path).arg("-D").arg(path.join("data"));
        cmd
    };
    let mut stop = tool("pg_ctl");
    stop.args("-m immediate -w stop".split(' '));
    // Armed before starting anything, so that a failed start is cleaned up too.
    let cleanup = Cleanup {
        command: Some(stop),
        dir: Some(dir),
    };

    let mut init = tool("initdb");
    init.args("-U postgres -A trust --no-sync -E UTF8 --locale=C".split(' '));
    let options = format!(
        "-c listen_addresses='' -k '{}' -p {PORT} -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200",
        path.display()
    );
    let cluster = Cluster {
        bin: bin.clone(),
        dir: path.clone(),
        as_postgres,
        options,
    };
    let start = cluster.start_command();
    let url = |db: &str| {
        format!(
            "postgres://postgres@localhost:{PORT}/{db}?host={}",
            path.display()
        )
    };
    let psql_bin = bin.join("psql");
    let create = psql(&psql_bin, &url("postgres"), "CREATE DATABASE rampart");
    let started = run(init, "initdb")
        .and_then(|_| run(start, "pg_ctl start"))
        .and_then(|_| run(create, "CREATE DATABASE rampart"));
    if let Err(e) = started {
        return Err(format!(
            "{e}\n--- server log (last 40 lines) ---\n{}",
            log_tail(&path)
        ));
    }
    Ok(TestPostgres {
        url: url("rampart"),
        psql: psql_bin,
        cleanup,
        cluster: Some(cluster),
    })
}

/// The last 40 lines of the server log in `dir`.
fn log_tail(dir: &Path) -> String {
    let log = fs::read_to_string(dir.join("log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines
        .get(lines.len().saturating_sub(40)..)
        .unwrap_or_default()
        .join("\n")
}

/// `url` with its database path replaced by `database`, keeping credentials, host and query.
fn with_database(url: &str, database: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("RAMPART_TEST_DATABASE_URL is not a URL like postgres://user@host/db")?;
    let (before_query, query) = rest.split_once('?').map_or((rest, ""), |(a, q)| (a, q));
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(a, _)| a);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

/// `psql` running `sql` at `url`, unaligned and tuples only, stopping at the first error.
fn psql(bin: &Path, url: &str, sql: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args("-X -q -At -v ON_ERROR_STOP=1".split(' '))
        .args(["-d", url, "-c", sql]);
    cmd.env("PGCONNECT_TIMEOUT", "10");
    cmd
}

/// Runs `cmd` to completion; its stdout, or an error naming `what` with stdout and stderr.
fn run(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: could not run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = out.status;
    Err(format!(
        "{what} failed ({status}): {cmd:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    ))
}

/// The newest `/usr/lib/postgresql/*/bin/initdb`, else `initdb` on PATH (symlinks resolved).
fn find_initdb() -> Option<PathBuf> {
    let version = |name: &str| {
        name.split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect::<Vec<u64>>()
    };
    let newest = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| (version(&entry.file_name().to_string_lossy()), entry.path()))
        .map(|(version, dir)| (version, dir.join("bin/initdb")))
        .filter(|(_, initdb)| initdb.is_file())
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, initdb)| initdb);
    let initdb = newest.or_else(|| find_on_path("initdb"))?;
    Some(fs::canonicalize(&initdb).unwrap_or(initdb))
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Whether the effective uid is 0 (from /proc/self/status, else `id -u`).
fn running_as_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2) == Some("0");
    }
    let id = Command::new("id").arg("-u").output();
    id.is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_ids() -> Result<(u32, u32), String> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let ids = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != "postgres" {
            return None;
        }
        Some((fields.nth(1)?.parse().ok()?, fields.next()?.parse().ok()?))
    });
    ids.ok_or_else(|| "running as root, but there is no `postgres` user to run initdb as".into())
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("chown {}: {e}", path.display());
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(fail)?;
    if fs::symlink_metadata(path).map_err(fail)?.is_dir() {
        for entry in fs::read_dir(path).map_err(fail)? {
            chown_recursive(&entry.map_err(fail)?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// 64 random-enough bits for a database name, from std's randomly keyed hasher.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_and_keeps_the_rest() {
        let new = |url| with_database(url, "rampart_test_x").unwrap();
        assert_eq!(
            new("postgres://u:p@h:5/db?sslmode=disable"),
            "postgres://u:p@h:5/rampart_test_x?sslmode=disable"
        );
        assert_eq!(new("postgresql://u@h"), "postgresql://u@h/rampart_test_x");
        assert_eq!(
            new("postgres://u@h/?host=/run/pg"),
            "postgres://u@h/rampart_test_x?host=/run/pg"
        );
        assert!(with_database("not a url", "x").is_err());
    }
}
