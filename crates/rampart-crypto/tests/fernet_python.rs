//! Fernet interoperability with Python's `cryptography` package, both ways.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use rampart_crypto::fernet::{FernetKey, now_unix};
use serde_json::{Value, json};

/// Whether `python3` can import `cryptography`; without it the tests pass with a note, unless
/// `RAMPART_REQUIRE_PYTHON=1` makes that a failure.
fn python_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography.fernet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ok {
        assert_ne!(
            std::env::var("RAMPART_REQUIRE_PYTHON").as_deref(),
            Ok("1"),
            "RAMPART_REQUIRE_PYTHON=1 but python3 cannot import cryptography"
        );
        eprintln!("skipped: python cryptography not installed");
    }
    ok
}

/// Runs `script` with `input` as JSON on stdin and returns its stdout parsed as JSON.
fn python(script: &str, input: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("python3 runs");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

/// The plaintexts both directions use: empty, 1, 15, 16, 17 bytes and 1000 bytes of binary.
fn plaintexts() -> Vec<Vec<u8>> {
    let binary = (0..1000u32)
        .map(|i| u8::try_from((i * 131 + 7) % 256).unwrap())
        .collect();
    vec![
        Vec::new(),
        b"x".to_vec(),
        b"fifteen bytes!!".to_vec(),
        b"sixteen bytes!!!".to_vec(),
        b"seventeen bytes!!".to_vec(),
        binary,
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const PYTHON_ENCRYPTS: &str = r#"
import json, sys
from cryptography.fernet import Fernet
plaintexts = [bytes.fromhex(h) for h in json.load(sys.stdin)["plaintexts"]]
key = Fernet.generate_key()
f = Fernet(key)
print(json.dumps({"key": key.decode(), "tokens": [f.encrypt(p).decode() for p in plaintexts]}))
"#;

const PYTHON_DECRYPTS: &str = r#"
import json, sys
from cryptography.fernet import Fernet, InvalidToken
data = json.load(sys.stdin)
f = Fernet(data["key"].encode())
out = {"plain": [], "ttl60": [], "wrong_key_refused": []}
other = Fernet(Fernet.generate_key())
for token in data["tokens"]:
    out["plain"].append(f.decrypt(token.encode()).hex())
    out["ttl60"].append(f.decrypt(token, ttl=60).hex())
    try:
        other.decrypt(token)
        out["wrong_key_refused"].append(False)
    except InvalidToken:
        out["wrong_key_refused"].append(True)
print(json.dumps(out))
"#;

#[test]
fn rust_decrypts_what_python_encrypts() {
    if !python_available() {
        return;
    }
    let plaintexts = plaintexts();
    let hexes: Vec<String> = plaintexts.iter().map(|p| hex(p)).collect();
    let out = python(PYTHON_ENCRYPTS, &json!({ "plaintexts": hexes }));
    let key = FernetKey::from_base64(out["key"].as_str().unwrap()).expect("python's key parses");
    let tokens = out["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), plaintexts.len());
    let now = now_unix();
    for (token, plaintext) in tokens.iter().zip(&plaintexts) {
        let token = token.as_str().unwrap();
        let opened = key.decrypt(token, None, now).expect("decrypts");
        assert_eq!(opened.as_slice(), plaintext.as_slice());
        let opened = key
            .decrypt(token, Some(60), now)
            .expect("decrypts within 60 s");
        assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}

#[test]
fn python_decrypts_what_rust_encrypts() {
    if !python_available() {
        return;
    }
    let key = FernetKey::generate().expect("rng");
    let key_text = URL_SAFE.encode(*key.to_bytes());
    assert_eq!(
        *FernetKey::from_base64(&key_text).unwrap().to_bytes(),
        *key.to_bytes()
    );
    let plaintexts = plaintexts();
    let tokens: Vec<String> = plaintexts
        .iter()
        .map(|p| key.encrypt(p, now_unix()).expect("rng"))
        .collect();
    let out = python(
        PYTHON_DECRYPTS,
        &json!({ "key": key_text, "tokens": tokens }),
    );
    for field in ["plain", "ttl60"] {
        let decrypted: Vec<&str> = out[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<String> = plaintexts.iter().map(|p| hex(p)).collect();
        assert_eq!(decrypted, expected, "{field}");
    }
    assert!(
        out["wrong_key_refused"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v == &Value::Bool(true))
    );
}
