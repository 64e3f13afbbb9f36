#!/usr/bin/env bash
# What threat protection costs over HTTP, on loopback with wrk against a release build:
# GET /v1/auth/whoami (authentication and the edge only) with the built-in rules, with 20
# per-node rules, and with one shared rule (counted in the database: one round trip per request).
# Usage: bench/threat.sh [SECONDS] [CONNECTIONS]
#   RAMPART_BIN=path   use that build;  DATABASE_URL=postgres://… RAMPART_MASTER_KEY=…  run on PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
duration=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
args=(serve --data-dir "$dir/data" --listen "127.0.0.1:$port")
[ -n "${DATABASE_URL:-}" ] && args+=(--database-url "$DATABASE_URL")
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
init_args=(init --data-dir "$dir/data")
[ -n "${DATABASE_URL:-}" ] && init_args+=(--database-url "$DATABASE_URL")
RUST_LOG=warn "$RAMPART_BIN" "${init_args[@]}" >"$dir/out" 2>"$dir/err" || grep -q "already initialized" "$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn "$RAMPART_BIN" "${args[@]}" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 300); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
KEY=${RAMPART_ADMIN_KEY:-$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out" || true)}
[ -n "$KEY" ] || { echo "no admin key in the banner (an existing PostgreSQL deployment? set RAMPART_ADMIN_KEY)" >&2; exit 1; }
base="http://127.0.0.1:$port"
put_rules() {
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
    --data "$1" "$base/v1/rate-limits"
  sleep 1.5  # every node reads the rules again within a second
}
run() {
  echo "== $1: GET /v1/auth/whoami, $connections connections, ${duration}s"
  wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $KEY" "$base/v1/auth/whoami" \
    | grep -E 'Requests/sec|99%|50%|Non-2xx'
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite)"
run "built-in rules (none applies to authenticated requests)"
rules=$(python3 -c '
import json
rules = [{"name": f"all-{k}", "key": k, "match": ["*"], "limit": 1000000000, "window_seconds": 60} for k in ["ip", "principal", "credential", "global"]]
rules += [{"name": f"brake-{i}", "key": "principal", "match": ["keys:decrypt", "cards:detokenize", "audit:export"], "limit": 1000, "window_seconds": 60} for i in range(4)]
rules += [{"name": f"prefix-{i}", "key": "ip", "match": [f"POST /v1/route-{i}", f"GET /v1/auth"], "limit": 1000000000, "window_seconds": 60} for i in range(12)]
print(json.dumps({"rules": rules}))')
put_rules "$rules"
run "20 per-node rules (16 count each request)"
put_rules '{"rules": [{"name": "shared-principal", "key": "principal", "match": ["*"], "limit": 1000000000, "window_seconds": 3600, "shared": true}]}'
run "one shared rule (a database round trip per request)"
put_rules '{"rules": []}'
run "no rules at all"
echo "server RSS: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB"
