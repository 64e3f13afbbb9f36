//! Fernet throughput: times `n` encryptions and `n` decryptions of a 64-byte and a 1 KiB
//! plaintext under a fixed key and prints one JSON object per (size, operation) with ops/s.
//! `bench/fernet_vs_python.sh` runs it next to the same loops in Python's `cryptography`.
//!
//! Usage: `cargo run --release -p rampart-crypto --example fernet_speed -- [n]` (default 20000).

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use rampart_crypto::fernet::FernetKey;

/// The key both sides use: 32 bytes of 0x42 (`QkJC…Qg==` in URL-safe base64).
const KEY: [u8; 32] = [0x42; 32];

/// Plaintext sizes measured.
const SIZES: [usize; 2] = [64, 1024];

/// The same deterministic plaintext as the Python side: byte i is (31 * i + 7) mod 256.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((31 * i + 7) % 256).unwrap_or(0))
        .collect()
}

fn report(size: usize, op: &str, n: u32, seconds: f64) {
    let ops = f64::from(n) / seconds;
    println!(
        "{{\"impl\":\"rust\",\"size\":{size},\"op\":\"{op}\",\"n\":{n},\"seconds\":{seconds:.6},\"ops_per_sec\":{ops:.1}}}"
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 20_000,
    };
    if n == 0 {
        return Err("n must be at least 1".into());
    }
    let key = FernetKey::from_bytes(&KEY);
    for size in SIZES {
        let message = plaintext(size);
        // Warm-up, and the token the decryption loop opens.
        let token = key.encrypt(&message, 0)?;
        for _ in 0..n.min(1000) {
            black_box(key.encrypt(black_box(&message), 0)?);
        }

        let start = Instant::now();
        for _ in 0..n {
            black_box(key.encrypt(black_box(&message), 0)?);
        }
        report(size, "encrypt", n, start.elapsed().as_secs_f64());

        let start = Instant::now();
        for _ in 0..n {
            let opened = key.decrypt(black_box(&token), None, 0)?;
            black_box(opened.len());
        }
        report(size, "decrypt", n, start.elapsed().as_secs_f64());

        if key.decrypt(&token, None, 0)?.as_slice() != message.as_slice() {
            return Err("round trip mismatch".into());
        }
    }
    Ok(())
}
