//! Hardening findings at the edge, each attack replayed against the real binary on loopback:
//! connection exhaustion (#7), forwarded-header spoofing (#11), error amplification (#9),
//! integer overflow in paths and queries (#10), database file modes (#14c).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::Server;

fn address(server: &Server) -> SocketAddr {
    server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("banner address")
}

/// A connection that sends nothing.
fn idle_socket(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).expect("connects")
}

/// Whether the server closes `stream` within `wait` (EOF or reset); bytes it sends first (an
/// HTTP/2 SETTINGS frame, a response) are read and skipped.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Whether `stream` is still open: nothing to read yet, and no EOF.
fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let open = matches!(stream.peek(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    open
}

/// Sends `GET /v1/health` on `stream` (HTTP/1.1, keep-alive) and returns the status, or `None`
/// when the connection is closed or silent.
fn health_on(stream: &mut TcpStream) -> Option<u16> {
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: rampart\r\n\r\n")
        .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        response.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return head.split_whitespace().nth(1)?.parse().ok();
            }
        }
    }
}

/// `GET /v1/health` on a fresh connection.
fn health(addr: SocketAddr) -> Option<u16> {
    health_on(&mut TcpStream::connect(addr).ok()?)
}

/// #7: idle sockets from one address fill the per-address cap; the next is closed at once
/// (the listener keeps accepting), and once the idle timeout closes them health answers again.
#[test]
fn hardening_7_per_address_cap_and_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[
            ("RAMPART_MAX_CONNECTIONS_PER_ADDRESS", "20"),
            ("RAMPART_IDLE_TIMEOUT_SECONDS", "3"),
        ],
    );
    let addr = address(&server);
    assert_eq!(health(addr), Some(200));
    // The server counts that connection until it reads its close: let it.
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..20).map(|_| idle_socket(addr)).collect();
    // The 21st is closed right away, while the 20 idle ones are still open.
    let mut over = idle_socket(addr);
    assert!(
        closed_within(&mut over, Duration::from_secs(30)),
        "the connection over the per-address cap was kept"
    );
    let refused_after = started.elapsed();
    assert!(
        idle.iter().all(still_open),
        "idle sockets closed before the over-cap one: the cap was not what closed it"
    );
    assert_eq!(health(addr), None, "health served over the per-address cap");
    // Sockets that never send a byte are closed by the idle timeout.
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(60)),
            "an idle socket was never closed"
        );
    }
    let idle_closed_after = started.elapsed();
    assert!(
        idle_closed_after > refused_after * 2,
        "refused after {refused_after:?}, idle closed after {idle_closed_after:?}"
    );
    assert_eq!(health(addr), Some(200), "health did not come back");
}

/// #7: at `max_connections`, new connections are closed at once, an existing client keeps being
/// served, and a fresh connection works again as soon as one closes.
#[test]
fn hardening_7_total_cap_keeps_existing_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[
            ("RAMPART_MAX_CONNECTIONS", "5"),
            ("RAMPART_MAX_CONNECTIONS_PER_ADDRESS", "100"),
        ],
    );
    let addr = address(&server);
    let mut existing = TcpStream::connect(addr).unwrap();
    assert_eq!(health_on(&mut existing), Some(200));
    let mut idle: Vec<TcpStream> = (0..4).map(|_| idle_socket(addr)).collect();
    let mut over = idle_socket(addr);
    assert!(
        closed_within(&mut over, Duration::from_secs(30)),
        "the connection over max_connections was kept"
    );
    assert_eq!(health(addr), None, "a sixth connection was served");
    assert_eq!(
        health_on(&mut existing),
        Some(200),
        "an existing client lost service at the cap"
    );
    drop(idle.pop());
    let mut answered = None;
    for _ in 0..100 {
        answered = health(addr);
        if answered.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        answered,
        Some(200),
        "health did not come back below the cap"
    );
    assert!(idle.iter().all(still_open));
}

/// #7: an h2c connection that sends the preface and SETTINGS, then nothing, is closed by the
/// idle timeout; so is an HTTP/1.1 keep-alive connection after its last response.
#[test]
fn hardening_7_idle_h2c_and_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RAMPART_IDLE_TIMEOUT_SECONDS", "2")],
    );
    let addr = address(&server);
    let mut h2c = TcpStream::connect(addr).unwrap();
    h2c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    // An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
    h2c.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    let mut keep_alive = TcpStream::connect(addr).unwrap();
    assert_eq!(health_on(&mut keep_alive), Some(200));
    // Well under the HTTP/2 keep-alive ping interval (30 s): only the idle timeout closes it.
    assert!(
        closed_within(&mut h2c, Duration::from_secs(20)),
        "an idle h2c connection was kept"
    );
    assert!(
        closed_within(&mut keep_alive, Duration::from_secs(20)),
        "an idle keep-alive connection was kept"
    );
    assert_eq!(health(addr), Some(200));
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// #11: behind a proxy that sets `Forwarded`, a client's forged `X-Forwarded-For` no longer
/// chooses the address the audit log records for its denied request.
#[test]
fn hardening_11_forged_x_forwarded_for_is_ignored_when_forwarded_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[
            ("RAMPART_TRUSTED_PROXIES", "127.0.0.0/8"),
            ("RAMPART_FORWARDED_HEADER", "forwarded"),
        ],
    );
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    rt().block_on(async move {
        let http = crate::support::client(None, None);
        let response = http
            .get(format!("{base}/v1/auth/whoami"))
            .bearer_auth("rk_junk")
            .header("x-forwarded-for", "6.6.6.6")
            // The client forged the first element; the proxy (127.0.0.1) appended the second.
            .header("forwarded", "for=6.6.6.7, for=198.51.100.7")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let page: serde_json::Value = http
            .get(format!("{base}/v1/audit/entries?status=denied"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        assert_eq!(items[0]["action"], "api.unauthenticated", "{page}");
        assert_eq!(items[0]["actor"]["ip"], "198.51.100.7", "{page}");
    });
}

/// #9: one audit event with 400,000 unknown keys (4.7 MB) made a 43 MB 422. Now the answer is
/// small, lists at most 100 errors, says it was cut, and the event is not appended.
#[test]
fn hardening_9_errors_are_capped_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    let mut event = String::with_capacity(5 * 1024 * 1024);
    event.push('{');
    for i in 0..400_000 {
        if i > 0 {
            event.push(',');
        }
        event.push_str(&format!("\"k{i:06}\":0"));
    }
    event.push('}');
    assert!(event.len() > 4 * 1024 * 1024);
    rt().block_on(async move {
        let http = crate::support::client(None, None);
        let response = http
            .post(format!("{base}/v1/audit/entries"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let body = response.bytes().await.unwrap();
        assert!(body.len() < 64 * 1024, "a {} byte answer", body.len());
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            !errors.is_empty() && errors.len() <= 100,
            "{}",
            errors.len()
        );
        assert_eq!(errors[0]["field"], "k000000");
        assert_eq!(problem["errors_truncated"], true);
        // The log holds only the server's own record of the refused request.
        let page: serde_json::Value = http
            .get(format!("{base}/v1/audit/entries"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        assert_eq!(items[0]["status"], "failure", "{page}");
        assert_eq!(items[0]["details"]["status"], 422, "{page}");
    });
}

/// #10: `GET /v1/audit/entries/9223372036854775807` was a 500 (seq + 1 overflowed). Every
/// integer in a path or query answers 404 or 422 naming the parameter, never 500 or 400.
#[test]
fn hardening_10_out_of_range_integers_are_404_or_422() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--data-dir", dir.path().to_str().unwrap()], &[]);
    let key = server.admin_key.clone().unwrap();
    let base = server.base.clone();
    const U64_MAX: &str = "18446744073709551615";
    const I64_MAX: &str = "9223372036854775807";
    const I64_MAX_PLUS_1: &str = "9223372036854775808";
    rt().block_on(async move {
        let huge = "9".repeat(400);
        let bad = [U64_MAX, I64_MAX, I64_MAX_PLUS_1, "-1", huge.as_str()];
        let http = crate::support::client(None, None);
        // One entry, so that proofs and exports have a log to refer to.
        let response = http
            .post(format!("{base}/v1/audit/entries"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "actor": {"type": "user", "id": "u1"},
                "action": "test.action",
                "resource": {"type": "thing"},
                "status": "success",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let mut cases: Vec<(String, &str, u16)> = Vec::new();
        for value in bad {
            let path_status = if value == "-1" { 422 } else { 404 };
            cases.push((format!("/v1/audit/entries/{value}"), "seq", path_status));
            for (query, name) in [
                ("/v1/audit/entries?from_seq=", "from_seq"),
                ("/v1/audit/entries?to_seq=", "to_seq"),
                ("/v1/audit/entries?cursor=", "cursor"),
                ("/v1/audit/entries?limit=", "limit"),
                ("/v1/audit/proofs/inclusion?seq=", "seq"),
                ("/v1/audit/proofs/inclusion?seq=0&tree_size=", "tree_size"),
                ("/v1/audit/proofs/consistency?from=", "from"),
                ("/v1/audit/proofs/consistency?from=1&to=", "to"),
                ("/v1/audit/export?from_seq=", "from_seq"),
                ("/v1/audit/export?to_seq=", "to_seq"),
                ("/v1/keys?limit=", "limit"),
                ("/v1/principals?limit=", "limit"),
                ("/v1/api-keys?limit=", "limit"),
            ] {
                cases.push((format!("{query}{value}"), name, 422));
            }
        }
        for (path, name, status) in &cases {
            let response = http
                .get(format!("{base}{path}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let code = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            // i64::MAX is in range for the list's filters and cursor: a valid page.
            if code == 200 && path.starts_with("/v1/audit/entries?") && path.ends_with(I64_MAX) {
                assert!(body["items"].is_array(), "{path}: {body}");
                continue;
            }
            assert_eq!(code, *status, "{path}: {body}");
            if code == 422 {
                assert_eq!(body["errors"][0]["field"], *name, "{path}: {body}");
            }
            assert!(
                !body.to_string().contains(&huge),
                "{path}: the value was quoted back"
            );
        }
        // The entry that exists still reads.
        let response = http
            .get(format!("{base}/v1/audit/entries/0"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
}

/// #14c: the SQLite database and its -wal/-shm files were created 0644 (world-readable audit log,
/// sealed secrets, key hashes). After the first start every file in the data dir is owner-only
/// and the data dir Rampart created is 0700.
#[test]
fn hardening_14c_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(health(address(&server)), Some(200));
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(mode(&path), 0o600, "{name} is {:o}", mode(&path));
        names.push(name);
    }
    names.sort();
    for expected in [
        "master.key",
        "rampart.db",
        "rampart.db-shm",
        "rampart.db-wal",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
}
