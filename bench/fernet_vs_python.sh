#!/usr/bin/env bash
# Fernet throughput, Rampart (rampart_crypto::fernet, AES-128-CBC from RustCrypto `aes`/`cbc`,
# HMAC-SHA256 from `ring`) against Python's `cryptography.fernet.Fernet` (OpenSSL), single
# thread, same key (32 bytes of 0x42) and same plaintexts (64 B and 1 KiB, byte i = 31*i+7 mod
# 256). Encrypt: N calls of encrypt(plaintext) (fresh random IV and current time, as both
# libraries do it); decrypt: N calls of decrypt(token) without a TTL on one token. Both sides warm
# up first and report ops/s; the table also shows the Rust/Python ratio.
# Usage: bench/fernet_vs_python.sh [N]    (default 20000; needs python3 with `cryptography`)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
python3 -c 'import cryptography.fernet' 2>/dev/null || {
    echo "python3 with the cryptography package is needed: pip install cryptography" >&2
    exit 1
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --release --quiet -p rampart-crypto --example fernet_speed
./target/release/examples/fernet_speed "$n" >"$out/rust.jsonl"

python3 - "$n" >"$out/python.jsonl" <<'PY'
import base64, json, sys, time
from cryptography.fernet import Fernet

n = int(sys.argv[1])
f = Fernet(base64.urlsafe_b64encode(bytes([0x42] * 32)))
for size in (64, 1024):
    message = bytes((31 * i + 7) % 256 for i in range(size))
    token = f.encrypt(message)
    for _ in range(min(n, 1000)):
        f.encrypt(message)
    encrypt = f.encrypt
    start = time.perf_counter()
    for _ in range(n):
        encrypt(message)
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "python", "size": size, "op": "encrypt", "n": n,
                      "seconds": seconds, "ops_per_sec": n / seconds}))
    decrypt = f.decrypt
    start = time.perf_counter()
    for _ in range(n):
        decrypt(token)
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "python", "size": size, "op": "decrypt", "n": n,
                      "seconds": seconds, "ops_per_sec": n / seconds}))
    assert f.decrypt(token) == message
PY

python3 - "$out/rust.jsonl" "$out/python.jsonl" "$n" <<'PY'
import json, platform, sys
import cryptography
from cryptography.hazmat.backends.openssl.backend import backend

rows = {}
for path in sys.argv[1:3]:
    with open(path) as lines:
        for line in lines:
            r = json.loads(line)
            rows[(r["impl"], r["size"], r["op"])] = r["ops_per_sec"]
print(f"Fernet, {sys.argv[3]} operations each, single thread; python {platform.python_version()}, "
      f"cryptography {cryptography.__version__} ({backend.openssl_version_text()})")
print(f"{'plaintext':>9}  {'operation':<9}  {'rust ops/s':>12}  {'python ops/s':>12}  {'rust/python':>11}")
for size in (64, 1024):
    for op in ("encrypt", "decrypt"):
        rust, python = rows[("rust", size, op)], rows[("python", size, op)]
        print(f"{size:>7} B  {op:<9}  {rust:>12,.0f}  {python:>12,.0f}  {rust / python:>10.2f}x")
PY
