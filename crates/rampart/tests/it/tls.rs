//! TLS and mTLS with real certificates made for the test.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::support::{Server, client};

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Rampart test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["client.example".to_owned()]).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "client");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// Writes a server certificate (for `localhost` and 127.0.0.1), its key and the CA into
/// `dir`; their paths, and the CA's PEM.
pub fn write_server_pki(dir: &std::path::Path) -> (String, String, String) {
    let pki = pki();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cert = write("server.pem", &pki.server_cert);
    let key = write("server.key", &pki.server_key);
    (cert, key, pki.ca_pem)
}

#[test]
fn tls_serves_https_with_hsts_and_mtls_requires_a_client_certificate() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cert = write("server.pem", &pki.server_cert);
    let key = write("server.key", &pki.server_key);
    let ca = write("ca.pem", &pki.ca_pem);
    let data = dir.path().join("data").display().to_string();

    let server = Server::start(
        &["--data-dir", &data, "--tls-cert", &cert, "--tls-key", &key],
        &[],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let https = server.base.replace("127.0.0.1", "localhost");
    let plain = server.base.replace("https://", "http://");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let response = client(Some(&pki.ca_pem), None)
            .get(format!("{https}/v1/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        // A client that does not trust the CA refuses the server; plain HTTP gets nothing.
        assert!(
            client(None, None)
                .get(format!("{https}/v1/health"))
                .send()
                .await
                .is_err()
        );
        let plain_result = client(None, None)
            .get(format!("{plain}/v1/health"))
            .send()
            .await;
        assert!(plain_result.map(|r| r.status() != 200).unwrap_or(true));
    });
    drop(server);

    let server = Server::start(
        &[
            "--data-dir",
            &data,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ],
        &[],
    );
    let https = server.base.replace("127.0.0.1", "localhost");
    rt.block_on(async {
        let anonymous = client(Some(&pki.ca_pem), None)
            .get(format!("{https}/v1/health"))
            .send()
            .await;
        assert!(
            anonymous.is_err(),
            "mTLS accepted a client without a certificate"
        );
        let response = client(Some(&pki.ca_pem), Some((&pki.client_cert, &pki.client_key)))
            .get(format!("{https}/v1/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
}

#[test]
fn bad_tls_files_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let data = dir.path().join("data").display().to_string();
    let (_, stderr) = Server::try_start(
        &[
            "--data-dir",
            &data,
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            cert.to_str().unwrap(),
        ],
        &[],
    )
    .err()
    .expect("refuses");
    assert!(stderr.contains("cert.pem"), "{stderr}");
}
