#!/usr/bin/env bash
# Audit log load on loopback with wrk against a release build on SQLite (or PostgreSQL with
# DATABASE_URL and RAMPART_MASTER_KEY set): durable batch appends, 64 concurrent single-entry
# clients, server-side verification, and inclusion proofs at the size reached.
# Usage: bench/audit.sh [SECONDS] [PREFILL_BATCHES]    (needs wrk: apt-get install wrk; RAMPART_BIN=path to compare a build)
# PREFILL_BATCHES 1000-entry batches go first, PREFILL_CLIENTS (4) curl processes in parallel;
# 10000 makes the 10,000,000-entry tree of DESIGN.md (minutes, ~10 GB of disk).
# BENCH_DATA=DIR keeps the data dir (and its admin key) in DIR for another run or another
# RAMPART_BIN: the prefill then only adds what is missing. Delete DIR afterwards.
# PHASES (default "batch single verify proofs") chooses what is measured.
# PERSONAL=1 gives every event a subject (1,000 of them) and `personal` data, sealed with the
# subject's key before the leaf is computed; PERSONAL=details puts the same data in `details`,
# in clear (what an application does without Rampart's sealing); PERSONAL=subject sends the
# subject alone. Compare their batch figures with each other and with PERSONAL unset.
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
duration=${1:-10}
prefill=${2:-0}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
phases=" ${PHASES:-batch single verify proofs} "
dir=$(mktemp -d)
data=${BENCH_DATA:-$dir/data}
port=$(( 20000 + RANDOM % 20000 ))
args=(serve --data-dir "$data" --listen "127.0.0.1:$port")
[ -n "${DATABASE_URL:-}" ] && args+=(--database-url "$DATABASE_URL")
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
init_args=(init --data-dir "$data")
[ -n "${DATABASE_URL:-}" ] && init_args+=(--database-url "$DATABASE_URL")
RUST_LOG=warn "$RAMPART_BIN" "${init_args[@]}" >"$dir/out" 2>"$dir/err" || grep -q "already initialized" "$dir/err" || { cat "$dir/err" >&2; exit 1; }
# A full verification of 10M entries takes longer than the default 30 s request timeout.
RUST_LOG=warn RAMPART_REQUEST_TIMEOUT_SECONDS=${RAMPART_REQUEST_TIMEOUT_SECONDS:-3600} "$RAMPART_BIN" "${args[@]}" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
if [ -s "$data/bench.key" ]; then
  export KEY=$(cat "$data/bench.key")
else
  export KEY=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
  [ -n "${BENCH_DATA:-}" ] && (umask 077; echo "$KEY" >"$data/bench.key")
fi
base="http://127.0.0.1:$port"
python3 - "$dir" "${PERSONAL:-}" <<'PY'
import json, sys
d = sys.argv[1]
mode = sys.argv[2]
def event(i):
    e = {"actor": {"type": "service", "id": f"svc-{i % 50}", "ip": "203.0.113.7"},
            "action": "payment.authorize", "resource": {"type": "payment", "id": f"pay-{i}"},
            "context": {"request_id": f"req-{i}", "team_id": "payments"},
            "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
            "data_classification": "confidential", "compliance_tags": ["pci-dss"]}
    data = {"email": f"customer-{i % 1000}@example.com", "name": "Ada Lovelace",
            "iban": "DE89370400440532013000"}
    if mode in ("1", "details", "subject"):
        e["subject_id"] = f"customer-{i % 1000}"
    if mode == "1":
        e["personal"] = data
    elif mode == "details":
        e["details"].update(data)
    return e
json.dump({"events": [event(i) for i in range(1000)]}, open(f"{d}/batch.json", "w"))
json.dump(event(0), open(f"{d}/single.json", "w"))
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite)"
tree_size() { curl -s "$base/v1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"]["tree_size"])'; }
missing=$(( prefill - $(tree_size) / 1000 ))
if [ "$missing" -gt 0 ]; then
  echo "== prefill: $missing batches of 1000, ${PREFILL_CLIENTS:-4} clients in parallel"
  start=$(date +%s.%N)
  seq "$missing" | xargs -P "${PREFILL_CLIENTS:-4}" -n 50 sh -c 'base=$1; shift; for _; do curl -s -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H "content-type: application/json" --data-binary @"$0" "$base/v1/audit/entries"; done' "$dir/batch.json" "$base"
  end=$(date +%s.%N)
  python3 -c "print(f'prefill: {$missing * 1000 / ($end - $start):,.0f} entries/s ({$end - $start:.0f} s)')"
fi
if [[ $phases == *" batch "* ]]; then
echo "== batch appends: POST 1000-entry batches, 4 connections, ${duration}s"
BODY="$dir/batch.json" wrk -t2 -c4 -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/audit/entries" | grep -E 'Requests/sec| 99%| 50%|Non-2xx'
fi
if [[ $phases == *" single "* ]]; then
echo "== single-entry appends: 64 connections, ${duration}s"
BODY="$dir/single.json" wrk -t2 -c64 -d"${duration}s" --latency -s bench/lua/post_body.lua "$base/v1/audit/entries" | grep -E 'Requests/sec| 99%| 50%|Non-2xx'
fi
size=$(tree_size)
verify() { # $1: query string; prints the verdict and the rate over the entries it re-hashed
  local start end checked
  start=$(date +%s.%N)
  checked=$(curl -s -m 3600 -X POST -H "Authorization: Bearer $KEY" "$base/v1/audit/verify$1" | python3 -c 'import json,sys; t=sys.stdin.read(); r=json.loads(t) if t.startswith("{") else {}; print(r.get("ok", t[:200].replace(" ", "_")), r.get("checked_entries", 0))')
  end=$(date +%s.%N)
  python3 -c "ok, n = '$checked'.split(); print(f'verify$1: ok {ok}, {int(n):,} entries re-hashed in {$end-$start:.3f} s: {int(n)/($end-$start):,.0f} entries/s')"
}
if [[ $phases == *" verify "* ]]; then
echo "== verify: POST /v1/audit/verify?full=true over $size entries, then again incrementally"
verify '?full=true'
verify ''
fi
if [[ $phases == *" proofs "* ]]; then
echo "== inclusion proofs at tree size $size: 16 connections, ${duration}s"
SIZE=$size wrk -t2 -c16 -d"${duration}s" --latency -s bench/lua/inclusion.lua "$base" | grep -E 'Requests/sec| 99%| 50%|Non-2xx'
echo "== consistency proofs to tree size $size: 16 connections, ${duration}s"
SIZE=$size wrk -t2 -c16 -d"${duration}s" --latency -s bench/lua/consistency.lua "$base" | grep -E 'Requests/sec| 99%| 50%|Non-2xx'
fi
echo "server RSS: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB; data dir: $(du -sh "$data" 2>/dev/null | cut -f1)"
