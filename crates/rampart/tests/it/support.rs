//! Starting and stopping the real binary, and reading what it prints.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// A `rampart` command with a clean environment: no RAMPART_* variable leaks in from the shell.
pub fn rampart() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    for (key, _) in std::env::vars() {
        if key.starts_with("RAMPART_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// Runs a command to completion.
pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("runs rampart")
}

/// Text of a command's stdout and stderr.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A fresh random master key in base64.
pub fn master_key() -> String {
    use secrecy::ExposeSecret as _;
    rampart_crypto::MasterKey::generate()
        .expect("rng")
        .to_base64()
        .expose_secret()
        .to_owned()
}

/// The value following `flag` in `args`.
fn flag_value<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    args.windows(2).find(|w| w[0] == flag).map(|w| w[1])
}

/// Runs `rampart init --json` for the data dir or database that `args`/`envs` name, unless they
/// name none (the default dir, which `serve` initializes) or an initialized data dir. Returns the
/// admin key it printed, `None` when the deployment already existed.
fn init_if_needed(
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<Option<String>, (String, String)> {
    let env = |name: &str| envs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let data_dir = flag_value(args, "--data-dir").or_else(|| env("RAMPART_DATA_DIR"));
    let database_url = flag_value(args, "--database-url").or_else(|| env("RAMPART_DATABASE_URL"));
    let config = flag_value(args, "--config");
    if data_dir.is_none() && database_url.is_none() && config.is_none() {
        return Ok(None);
    }
    if let (Some(dir), None) = (data_dir, database_url)
        && Path::new(dir).join("rampart.db").exists()
    {
        return Ok(None);
    }
    let mut command = rampart();
    command.args(["init", "--json"]).envs(envs.iter().copied());
    for flag in ["--config", "--data-dir", "--database-url"] {
        if let Some(value) = flag_value(args, flag) {
            command.args([flag, value]);
        }
    }
    let output = run(&mut command);
    let (stdout, stderr) = text(&output);
    if output.status.success() {
        let body: serde_json::Value = serde_json::from_str(stdout.trim()).expect("init --json");
        return Ok(body["admin_api_key"].as_str().map(str::to_owned));
    }
    if stderr.contains("already initialized") {
        return Ok(None);
    }
    Err((stdout, stderr))
}

/// A running `rampart serve`, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT` (or https).
    pub base: String,
    /// The admin key from the banner, on first start.
    pub admin_key: Option<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `rampart serve --listen 127.0.0.1:0 ARGS` with `envs`; waits for its banner.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::try_start(args, envs).unwrap_or_else(|(stdout, stderr)| {
            panic!("server did not start\nstdout:\n{stdout}\nstderr:\n{stderr}")
        })
    }

    /// Like `start`, but returns what it printed when it exits instead of serving.
    ///
    /// `serve` initializes only the default data dir, so a data dir or database named in `args`
    /// or `envs` that holds no deployment is first initialized with `rampart init` (its admin
    /// key becomes `admin_key`); a refusal of `init` is returned as the start's.
    pub fn try_start(args: &[&str], envs: &[(&str, &str)]) -> Result<Self, (String, String)> {
        let initialized_key = init_if_needed(args, envs)?;
        let mut server = Self::try_serve(args, envs)?;
        if server.admin_key.is_none() {
            server.admin_key = initialized_key;
        }
        Ok(server)
    }

    /// Starts `rampart serve --listen 127.0.0.1:0 ARGS` as is, with no `init` before it.
    pub fn try_serve(args: &[&str], envs: &[(&str, &str)]) -> Result<Self, (String, String)> {
        Self::try_serve_in(None, args, envs)
    }

    /// `try_serve` with the working directory `cwd` (where the default `./rampart-data` is).
    pub fn try_serve_in(
        cwd: Option<&Path>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Self, (String, String)> {
        let mut command = rampart();
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawns rampart");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<Option<String>>();
        {
            let lines = Arc::clone(&stdout);
            let out = child.stdout.take().expect("stdout piped");
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(rest) = line.strip_prefix("listening on ") {
                        let base = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        let _ = ready_tx.send(Some(base));
                    }
                    lines.lock().unwrap().push(line);
                }
                let _ = ready_tx.send(None);
            });
        }
        {
            let lines = Arc::clone(&stderr);
            let err = child.stderr.take().expect("stderr piped");
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(base)) => {
                let admin_key = stdout.lock().unwrap().iter().find_map(|line| {
                    line.split_whitespace()
                        .find(|word| word.starts_with("rk_"))
                        .map(str::to_owned)
                });
                Ok(Self {
                    child,
                    base,
                    admin_key,
                    stdout,
                    stderr,
                })
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let out = stdout.lock().unwrap().join("\n");
                let err = stderr.lock().unwrap().join("\n");
                Err((out, err))
            }
        }
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Every log line so far (stderr).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Sends `signal` (such as `HUP`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Kills the process with SIGKILL: no shutdown, no flush, as a power cut or OOM kill.
    pub fn kill_9(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill runs");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, waits for the exit, and returns the status with every log line.
    pub fn terminate_and_keep_logs(self) -> (std::process::ExitStatus, String) {
        let stderr = Arc::clone(&self.stderr);
        let status = self.terminate();
        let logs = stderr.lock().unwrap().join("\n");
        (status, logs)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().expect("waits") {
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client (rustls with ring, trusting `extra_root` when given).
pub fn client(extra_root: Option<&str>, identity: Option<(&str, &str)>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = extra_root {
        use rustls::pki_types::pem::PemObject as _;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => {
            use rustls::pki_types::pem::PemObject as _;
            let chain = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("cert");
            let key =
                rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert")
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Every file under `dir` with its bytes, to prove that something changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(snapshot(&path));
            } else {
                files.insert(path.clone(), std::fs::read(&path).expect("reads"));
            }
        }
    }
    files
}
