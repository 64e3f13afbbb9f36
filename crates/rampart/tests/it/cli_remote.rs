//! Issue 21: the `rampart` CLI as an HTTP client of a running server (`RAMPART_ADDR`,
//! `RAMPART_TOKEN`, the token file of `rampart login`): tables and JSON, the server's problem
//! details, exit codes by kind, and no credential ever printed.

use std::io::Write as _;
use std::process::Stdio;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

use crate::support::rampart;
use crate::threat::Env;

mod drive;
mod login;

/// What one run printed.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A CLI harness: the server's address, a credential (or none), a config home of its own,
/// and every output kept for the canary check.
struct Cli<'a> {
    env: &'a Env,
    config_home: tempfile::TempDir,
    outputs: Mutex<Vec<String>>,
}

impl<'a> Cli<'a> {
    fn new(env: &'a Env) -> Self {
        Self {
            env,
            config_home: tempfile::tempdir().unwrap(),
            outputs: Mutex::new(Vec::new()),
        }
    }

    /// `rampart ARGS` with `token` as RAMPART_TOKEN (none: the token file), `stdin` as input.
    fn run_with(
        &self,
        args: &[&str],
        token: Option<&str>,
        stdin: &[u8],
        addr: Option<&str>,
    ) -> Ran {
        let mut command = rampart();
        command
            .args(args)
            .env("RAMPART_ADDR", addr.unwrap_or(&self.env.base))
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("HOME", self.config_home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("RAMPART_TOKEN", token);
        }
        let mut child = command.spawn().expect("runs rampart");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        let output = child.wait_with_output().unwrap();
        let ran = Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.outputs
            .lock()
            .unwrap()
            .push(format!("{}\n{}", ran.stdout, ran.stderr));
        ran
    }

    /// As the admin.
    fn admin(&self, args: &[&str]) -> Ran {
        self.run_with(args, Some(&self.env.admin), b"", None)
    }

    /// As the admin; must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let ran = self.admin(args);
        assert_eq!(
            ran.code, 0,
            "{args:?}\nstdout:\n{}\nstderr:\n{}",
            ran.stdout, ran.stderr
        );
        ran.stdout
    }

    /// As the admin with `--format json`; must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(&[args, &["--format", "json"]].concat());
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn token_file(&self) -> std::path::PathBuf {
        self.config_home.path().join("rampart").join("token")
    }
}

/// `error: <title>: <detail>` of the server's problem for `path`.
async fn problem_line(
    env: &Env,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, String) {
    let answer = env.call(method, path, Some(key), None, body).await;
    let problem = &answer.body;
    (
        answer.status,
        format!(
            "error: {}: {}",
            problem["title"].as_str().unwrap(),
            problem["detail"].as_str().unwrap()
        ),
    )
}

fn row_of<'t>(table: &'t str, first: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in\n{table}"))
}

/// Completion scripts for bash, zsh and fish.
#[test]
fn completions_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let output = crate::support::run(rampart().args(["completions", shell]));
        assert!(output.status.success());
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.len() > 1000 && script.contains("rampart"), "{shell}");
        assert!(script.contains("api-keys"), "{shell}");
    }
    let bad = crate::support::run(rampart().args(["completions", "tcsh"]));
    assert_eq!(bad.status.code(), Some(2));
}

/// No credential appears in anything the CLI printed, nor in its help with one set.
fn canary(cli: &Cli<'_>, secrets: &[&str]) {
    let secret = secrets[0];
    for args in [
        vec!["--help"],
        vec!["keys", "--help"],
        vec!["keys", "list", "--help"],
        vec!["login", "--help"],
        vec!["keys", "list", "--token", secret, "--format", "xml"],
        vec!["keys", "show", "nope", "--token", secret],
        vec![
            "keys",
            "list",
            "--token",
            secret,
            "--addr",
            "http://127.0.0.1:9",
        ],
    ] {
        cli.run_with(&args, Some(secret), b"", None);
    }
    let outputs = cli.outputs.lock().unwrap();
    assert!(outputs.len() > 5);
    for output in outputs.iter() {
        for secret in secrets {
            assert!(
                !output.contains(secret),
                "a credential was printed:\n{output}"
            );
        }
    }
}

/// An https:// server with a certificate of a private CA: trusted with --ca-cert, refused
/// (exit 3) without it; a --ca-cert that holds no certificate is a usage error.
#[test]
fn https_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca_pem) = crate::tls::write_server_pki(dir.path());
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let data = dir.path().join("data").display().to_string();
    let server = crate::support::Server::start(
        &["--data-dir", &data, "--tls-cert", &cert, "--tls-key", &key],
        &[],
    );
    let admin = server.admin_key.clone().unwrap();
    let addr = server.base.replace("127.0.0.1", "localhost");
    let ran = |extra: &[&str]| {
        let output = crate::support::run(
            rampart()
                .args(["keys", "list", "--addr", &addr])
                .args(extra)
                .env("RAMPART_TOKEN", &admin),
        );
        let (stdout, stderr) = crate::support::text(&output);
        (output.status.code().unwrap_or(-1), stdout, stderr)
    };
    let (code, stdout, stderr) = ran(&["--ca-cert", ca.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("NAME"), "{stdout}");
    let (code, _, stderr) = ran(&[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let (code, _, stderr) = ran(&["--ca-cert", not_pem.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds no certificate"), "{stderr}");
    assert!(!stderr.contains(&admin));
}
