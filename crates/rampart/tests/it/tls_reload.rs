//! Issue 21: certificate rotation without a restart (SIGHUP and a change on disk), a bad new
//! certificate kept out of service, and the `tls_min_version` floor, on the real binary with a
//! plain rustls client whose handshakes and keep-alive connections the tests control.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SerialNumber};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned, SupportedProtocolVersion};

use crate::support::Server;

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A test CA that signs server certificates for `localhost`.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its own key, as PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate with serial `serial` and a fresh key.
    fn leaf(&self, serial: u8) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.serial_number = Some(SerialNumber::from(vec![0x21, serial]));
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

impl Leaf {
    fn der(&self) -> Vec<u8> {
        CertificateDer::from_pem_slice(self.cert.as_bytes())
            .unwrap()
            .to_vec()
    }

    /// Writes the pair where the server reads it: each file replaced by a rename, as a
    /// certificate manager does.
    fn install(&self, dir: &Path) {
        for (name, text) in [("server.pem", &self.cert), ("server.key", &self.key)] {
            let staged = dir.join(format!("{name}.new"));
            std::fs::write(&staged, text).unwrap();
            std::fs::rename(&staged, dir.join(name)).unwrap();
        }
    }
}

fn start(dir: &Path, leaf: &Leaf, extra: &[&str]) -> Server {
    leaf.install(dir);
    let cert = dir.join("server.pem").display().to_string();
    let key = dir.join("server.key").display().to_string();
    let data = dir.join("data").display().to_string();
    let mut args = vec!["--data-dir", &data, "--tls-cert", &cert, "--tls-key", &key];
    args.extend_from_slice(extra);
    Server::start(&args, &[])
}

/// A completed TLS handshake with the server at `base`, trusting `ca`, offering `versions`.
fn connect(
    base: &str,
    ca: &str,
    versions: &[&'static SupportedProtocolVersion],
) -> std::io::Result<Tls> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
        .unwrap();
    // A new configuration per connection: no session is resumed, so every handshake shows
    // the certificate the server holds now.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let address = base.trim_start_matches("https://");
    let socket = TcpStream::connect(address)?;
    socket.set_read_timeout(Some(Duration::from_secs(30)))?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = socket;
    while connection.is_handshaking() {
        connection.complete_io(&mut socket)?;
    }
    Ok(StreamOwned::new(connection, socket))
}

fn connect_any(base: &str, ca: &str) -> Tls {
    connect(base, ca, rustls::DEFAULT_VERSIONS).expect("handshake")
}

fn peer_leaf(stream: &Tls) -> Vec<u8> {
    stream.conn.peer_certificates().expect("a certificate")[0].to_vec()
}

/// `GET /v1/health` on a kept-alive connection; the status.
fn health(stream: &mut Tls) -> u16 {
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    stream.flush().unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits (at most a minute) until a new handshake gets `leaf`.
fn wait_for_leaf(server: &Server, ca: &str, leaf: &Leaf) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while peer_leaf(&connect_any(&server.base, ca)) != leaf.der() {
        assert!(
            Instant::now() < deadline,
            "never served:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (at most a minute) until the log has `count` lines containing `text`.
fn wait_for_log(server: &Server, text: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.stderr().matches(text).count() < count {
        assert!(
            Instant::now() < deadline,
            "no {text:?}:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sighup_rotates_the_certificate_for_new_handshakes_and_keeps_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let (first, second) = (ca.leaf(1), ca.leaf(2));
    let server = start(dir.path(), &first, &[]);
    let ca_pem = ca.pem();

    let mut open = connect_any(&server.base, &ca_pem);
    assert_eq!(peer_leaf(&open), first.der());
    assert_eq!(health(&mut open), 200);
    // The default floor is 1.2: a client limited to TLS 1.2 gets in.
    let mut tls12 = connect(&server.base, &ca_pem, &[&rustls::version::TLS12]).expect("1.2");
    assert_eq!(health(&mut tls12), 200);

    second.install(dir.path());
    server.signal("HUP");
    wait_for_log(&server, "\"SIGHUP\"", 1);
    wait_for_log(&server, "TLS certificate reloaded", 1);
    let mut fresh = connect_any(&server.base, &ca_pem);
    assert_eq!(peer_leaf(&fresh), second.der());
    assert_eq!(health(&mut fresh), 200);
    // The connection opened before the rotation still answers, with its certificate.
    assert_eq!(health(&mut open), 200);
    assert_eq!(peer_leaf(&open), first.der());
    let reloaded = server.stderr();
    assert!(reloaded.contains("21:02"), "serial not logged:\n{reloaded}");

    // A file that is no certificate: an error, the second certificate stays, the server serves.
    std::fs::write(dir.path().join("server.pem"), "not a certificate").unwrap();
    server.signal("HUP");
    wait_for_log(&server, "TLS certificate not reloaded", 1);
    let mut after_bad = connect_any(&server.base, &ca_pem);
    assert_eq!(peer_leaf(&after_bad), second.der());
    assert_eq!(health(&mut after_bad), 200);
    // A certificate beside a key that is not its own: refused the same way.
    std::fs::write(dir.path().join("server.pem"), ca.leaf(3).cert).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "TLS certificate not reloaded", 2);
    assert!(server.stderr().contains("does not fit the certificate"));
    assert_eq!(peer_leaf(&connect_any(&server.base, &ca_pem)), second.der());
    assert_eq!(health(&mut open), 200);
    let logs = server.stderr();
    assert!(!logs.contains("PRIVATE KEY"), "{logs}");
}

#[test]
fn a_certificate_replaced_on_disk_is_served_without_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let (first, second) = (ca.leaf(1), ca.leaf(2));
    let server = start(dir.path(), &first, &[]);
    let ca_pem = ca.pem();
    let mut open = connect_any(&server.base, &ca_pem);
    assert_eq!(health(&mut open), 200);

    second.install(dir.path());
    wait_for_leaf(&server, &ca_pem, &second);
    assert!(server.stderr().contains("the files changed"));
    assert!(!server.stderr().contains("SIGHUP\""));
    assert_eq!(health(&mut open), 200);
    assert_eq!(peer_leaf(&open), first.der());
}

#[test]
fn tls_min_version_1_3_refuses_tls_1_2_clients_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let leaf = ca.leaf(1);
    let server = start(dir.path(), &leaf, &["--tls-min-version", "1.3"]);
    let ca_pem = ca.pem();
    assert!(
        connect(&server.base, &ca_pem, &[&rustls::version::TLS12]).is_err(),
        "a TLS 1.2 client was accepted"
    );
    let mut tls13 = connect(&server.base, &ca_pem, &[&rustls::version::TLS13]).expect("1.3");
    assert_eq!(
        tls13.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(health(&mut tls13), 200);

    // The compliance report states the versions configured, not a constant.
    let http = crate::support::client(Some(&ca_pem), None);
    let base = server.base.replace("127.0.0.1", "localhost");
    let admin = server.admin_key.clone().unwrap();
    let report: serde_json::Value = crate::threat::rt().block_on(async {
        let response = http
            .post(format!("{base}/v1/compliance/reports"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"framework": "gdpr"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    });
    assert_eq!(
        crate::compliance::cited(&report, "TLS protocol versions accepted"),
        serde_json::json!(["TLSv1.3"])
    );
}

#[test]
fn tls_min_version_other_than_1_2_or_1_3_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = Ca::new().leaf(1);
    leaf.install(dir.path());
    let cert = dir.path().join("server.pem").display().to_string();
    let key = dir.path().join("server.key").display().to_string();
    let data = dir.path().join("data").display().to_string();
    let base = ["--data-dir", &data, "--tls-cert", &cert, "--tls-key", &key];
    let (_, stderr) = Server::try_start(&[&base[..], &["--tls-min-version", "1.1"]].concat(), &[])
        .err()
        .expect("1.1 refused");
    assert!(
        stderr.contains("tls_min_version") && stderr.contains("\"1.2\" or \"1.3\""),
        "{stderr}"
    );
    let (_, stderr) = Server::try_start(&base, &[("RAMPART_TLS_MIN_VERSION", "1.0")])
        .err()
        .expect("1.0 refused");
    assert!(
        stderr.contains("RAMPART_") && stderr.contains("tls_min_version"),
        "{stderr}"
    );
}

#[test]
fn a_plain_http_server_survives_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    server.signal("HUP");
    wait_for_log(&server, "nothing to reload", 1);
    let health = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{}/v1/health/live", server.base))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&health.stdout), "200");
}
