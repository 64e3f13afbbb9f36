#!/usr/bin/env bash
# HTTP load on loopback with wrk: health (no auth, storage ping) and whoami (API-key
# authentication: checksum, keyed hash, indexed lookup of key and principal).
# Usage: bench/http.sh [DURATION_SECONDS] [CONNECTIONS]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet -p rampart
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
RUST_LOG=warn ./target/release/rampart init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn ./target/release/rampart serve --data-dir "$dir/data" --listen "127.0.0.1:$port" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== GET /v1/health, $connections connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:$port/v1/health" | grep -E 'Requests/sec|Latency|99%|50%'
echo "== GET /v1/auth/whoami with an API key, $connections connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/auth/whoami" | grep -E 'Requests/sec|Latency|99%|50%|Non-2xx'
echo "server RSS after load: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB"
