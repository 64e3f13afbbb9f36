#!/usr/bin/env bash
# POST /v1/authorize over HTTP with API-key authentication, on loopback with wrk against a
# release build (SQLite): allowed decisions (not audited) and team-isolation denials (each
# audited), plus whoami for the cost of authentication alone.
# Usage: bench/authz.sh [SECONDS] [CONNECTIONS]   (needs wrk: apt-get install wrk; RAMPART_BIN=path to compare a build)
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
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
RUST_LOG=warn "$RAMPART_BIN" init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RAMPART_AUTH_RATE_LIMIT_PER_MINUTE=100000000 RUST_LOG=warn "$RAMPART_BIN" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
export KEY=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
base="http://127.0.0.1:$port"
principal=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data '{"type": "service", "name": "checkout-svc", "roles": ["operator"], "teams": ["payments"]}' \
  "$base/v1/principals" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
printf '{"principal_id": "%s", "action": "actions:approve", "resource": {"type": "service", "id": "checkout", "team_id": "payments"}}' "$principal" > "$dir/allow.json"
printf '{"principal_id": "%s", "action": "actions:approve", "resource": {"type": "service", "id": "search", "team_id": "search"}}' "$principal" > "$dir/deny.json"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== POST /v1/authorize, allowed, $connections connections, ${duration}s"
BODY="$dir/allow.json" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/authorize" | grep -E 'Requests/sec|99%|50%|Non-2xx'
echo "== POST /v1/authorize, denied by team isolation (audited), $connections connections, ${duration}s"
BODY="$dir/deny.json" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/authorize" | grep -E 'Requests/sec|99%|50%|Non-2xx'
echo "== GET /v1/auth/whoami (authentication only), $connections connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $KEY" "$base/v1/auth/whoami" | grep -E 'Requests/sec|99%|50%|Non-2xx'
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data '{"type": "user", "name": "bench-user", "password": "Bench-Passw0rd-long", "roles": ["viewer"]}' "$base/v1/principals"
printf '{"name": "bench-user", "password": "Bench-Passw0rd-long"}' > "$dir/login.json"
echo "== POST /v1/auth/login (argon2id m=19456 KiB t=2 p=1, one hash per core), 8 connections, ${duration}s (rate limit raised for the run)"
BODY="$dir/login.json" KEY=none wrk -t2 -c8 -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/auth/login" | grep -E 'Requests/sec|99%|50%|Non-2xx'
echo "server RSS: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB"
