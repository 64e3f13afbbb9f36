#!/usr/bin/env bash
# Keys service load on loopback with wrk against a release build (SQLite): batched AES-256-GCM
# encrypts of 1 KiB plaintexts (items/s = requests/s x batch size), batched decrypts, and
# single-item encrypts. Every request is authenticated with an API key and audited (one audit
# entry per request, durable before the answer).
# Usage: bench/keys.sh [SECONDS] [BATCH] [CONNECTIONS]   (needs wrk: apt-get install wrk; RAMPART_BIN=path to compare a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
duration=${1:-10}
batch=${2:-100}
connections=${3:-8}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
RUST_LOG=warn "$RAMPART_BIN" init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn "$RAMPART_BIN" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
export KEY=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
base="http://127.0.0.1:$port"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data '{"name": "bench", "type": "aes256-gcm"}' "$base/v1/keys"
python3 - "$dir" "$batch" <<'PY'
import base64, json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
items = [{"plaintext": base64.b64encode(os.urandom(1024)).decode()} for _ in range(n)]
json.dump({"batch": items}, open(f"{d}/encrypt.json", "w"))
json.dump(items[0], open(f"{d}/single.json", "w"))
PY
curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data-binary @"$dir/encrypt.json" "$base/v1/keys/bench/encrypt" \
  | python3 -c 'import json,sys; b=json.load(sys.stdin)["batch"]; json.dump({"batch": [{"ciphertext": i["ciphertext"]} for i in b]}, open(sys.argv[1], "w"))' "$dir/decrypt.json"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
rate() { awk -v n="$1" '/Requests\/sec/ {printf "  items/s: %.0f\n", $2 * n}'; }
echo "== encrypt: batches of $batch x 1 KiB, $connections connections, ${duration}s"
out=$(BODY="$dir/encrypt.json" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/keys/bench/encrypt")
echo "$out" | grep -E 'Requests/sec|99%|50%|Non-2xx'; echo "$out" | rate "$batch"
echo "== decrypt: batches of $batch x 1 KiB, $connections connections, ${duration}s"
out=$(BODY="$dir/decrypt.json" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/keys/bench/decrypt")
echo "$out" | grep -E 'Requests/sec|99%|50%|Non-2xx'; echo "$out" | rate "$batch"
echo "== encrypt: single 1 KiB items, 64 connections, ${duration}s"
BODY="$dir/single.json" wrk -t2 -c64 -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/keys/bench/encrypt" | grep -E 'Requests/sec|99%|50%|Non-2xx'
echo "server RSS: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB; audit entries: $(curl -s "$base/v1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"]["tree_size"])')"
