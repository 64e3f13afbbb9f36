use std::path::Path;

use rcgen::{CertificateParams, KeyPair, SerialNumber};

use super::reload::read;
use super::*;

/// A self-signed certificate for `localhost` with `serial`, and its key, as PEM.
fn certificate(serial: u8) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.serial_number = Some(SerialNumber::from(vec![0x42, serial]));
    params.not_after = rcgen::date_time_ymd(2031, 7, 9);
    let cert = params.self_signed(&key).expect("signs");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).expect("write");
    std::fs::write(&key_path, key).expect("write");
    (cert_path, key_path)
}

fn leaf_der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("pem")
        .to_vec()
}

#[test]
fn a_reload_serves_the_new_pair_and_a_bad_one_keeps_the_old() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = certificate(1);
    let (cert, key) = write(dir.path(), &first);
    let (_, served) = server_config(&cert, &key, None, TlsMinVersion::Tls12).expect("configures");
    let leaf = || served.current_leaf().expect("leaf").to_vec();
    assert_eq!(leaf(), leaf_der(&first.0));

    let second = certificate(2);
    write(dir.path(), &second);
    let summary = served.reload().expect("reloads");
    assert_eq!(leaf(), leaf_der(&second.0));
    assert_eq!(summary.serial.as_deref(), Some("42:02"));
    assert_eq!(summary.not_after.as_deref(), Some("2031-07-09T00:00:00Z"));
    assert_eq!(summary.sha256.len(), 64);

    // Not PEM: refused, the second stays.
    std::fs::write(&cert, "not a certificate").expect("write");
    assert!(matches!(
        served.reload(),
        Err(TlsError::NoCertificates { .. } | TlsError::Pem { .. })
    ));
    assert_eq!(leaf(), leaf_der(&second.0));
    // A certificate with another pair's key: refused as a mismatch, naming both files.
    let third = certificate(3);
    std::fs::write(&cert, &third.0).expect("write");
    let err = served.reload().expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("key.pem") && err.to_string().contains("cert.pem"));
    assert!(!err.to_string().contains("PRIVATE KEY"));
    assert_eq!(leaf(), leaf_der(&second.0));
    // A missing key file: refused, the second stays.
    std::fs::remove_file(&key).expect("remove");
    assert!(matches!(served.reload(), Err(TlsError::Pem { .. })));
    assert_eq!(leaf(), leaf_der(&second.0));
}

#[test]
fn a_change_is_noticed_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = write(dir.path(), &certificate(1));
    let (_, served) = server_config(&cert, &key, None, TlsMinVersion::Tls13).expect("configures");
    let unchanged = read(&cert, &key);
    assert!(!served.remember(&unchanged), "same files seen as a change");
    let second = certificate(2);
    write(dir.path(), &second);
    served.reload_if_changed();
    assert_eq!(
        served.current_leaf().expect("leaf").to_vec(),
        leaf_der(&second.0)
    );
    assert!(!served.remember(&read(&cert, &key)));
}

#[test]
fn the_floor_sets_the_offered_versions() {
    assert_eq!(protocol_versions(TlsMinVersion::Tls13).len(), 1);
    assert_eq!(
        protocol_versions(TlsMinVersion::Tls12)
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        [
            rustls::ProtocolVersion::TLSv1_3,
            rustls::ProtocolVersion::TLSv1_2
        ]
    );
}
