#!/usr/bin/env bash
# Security monitoring latency on loopback against a release build on SQLite (or PostgreSQL with
# DATABASE_URL and RAMPART_MASTER_KEY set):
#  (a) alert latency: from the 201 of an append whose entry fires a threshold-1 rule
#      (`bench.trigger`, one group per trigger) to the alert listed by GET /v1/alerts (polled
#      every 10 ms);
#  (b) webhook latency: from that 201 to the `alert.opened` delivery's arrival at a receiver on
#      loopback (bench/webhook_receiver.py; RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true).
# Measured idle, then under bench/audit.sh's single-entry load (wrk, 64 connections, its body).
# Usage: bench/monitor.sh [TRIGGERS] [CONNECTIONS]   (needs wrk; RAMPART_BIN=path to use a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
triggers=${1:-100}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
hook_port=$(( port + 1 ))
args=(serve --data-dir "$dir/data" --listen "127.0.0.1:$port")
[ -n "${DATABASE_URL:-}" ] && args+=(--database-url "$DATABASE_URL")
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
init_args=(init --data-dir "$dir/data")
[ -n "${DATABASE_URL:-}" ] && init_args+=(--database-url "$DATABASE_URL")
RUST_LOG=warn "$RAMPART_BIN" "${init_args[@]}" >"$dir/out" 2>"$dir/err" || grep -q "already initialized" "$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn RAMPART_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true "$RAMPART_BIN" "${args[@]}" >>"$dir/out" 2>>"$dir/err" &
pid=$!
python3 bench/webhook_receiver.py "$hook_port" "$dir/hooks.ndjson" &
receiver=$!
wrk_pid=
trap 'kill $pid $receiver $wrk_pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 300); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
KEY=${RAMPART_ADMIN_KEY:-$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out" || true)}
[ -n "$KEY" ] || { echo "no admin key in the banner (an existing PostgreSQL deployment? set RAMPART_ADMIN_KEY)" >&2; exit 1; }
export KEY
base="http://127.0.0.1:$port"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite)"

# The rule: every bench.trigger entry fires at once, one group (one alert) per resource.
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data '{"rules": [{"name": "bench_trigger", "match": {"action": "bench.trigger"}, "group_by": ["resource.id"],
    "threshold": 1, "window_seconds": 60, "severity": "low", "open_incident": false, "enabled": true}]}' \
  "$base/v1/detection-rules"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  --data "{\"url\": \"http://127.0.0.1:$hook_port/hook\", \"events\": [\"alert.opened\"], \"description\": \"bench receiver\"}" \
  "$base/v1/webhooks"
# bench/audit.sh's single entry.
python3 - "$dir" <<'PY'
import json, sys
json.dump({"actor": {"type": "service", "id": "svc-0", "ip": "203.0.113.7"},
           "action": "payment.authorize", "resource": {"type": "payment", "id": "pay-0"},
           "context": {"request_id": "req-0", "team_id": "payments"},
           "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
           "data_classification": "confidential", "compliance_tags": ["pci-dss"]},
          open(f"{sys.argv[1]}/single.json", "w"))
PY

measure() { # $1: label, $2: trigger prefix
  python3 - "$base" "$triggers" "$2" "$dir/hooks.ndjson" "$1" <<'PY'
import http.client, json, sys, time
base, count, prefix, hooks, label = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
import os
key = os.environ["KEY"]
host, port = base.removeprefix("http://").split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=30)
headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
def call(method, path, body=None):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()
committed, alert_latency, missing = {}, [], 0
for i in range(count):
    rid = f"{prefix}-{i}"
    event = {"actor": {"type": "service", "id": "bench"}, "action": "bench.trigger",
             "resource": {"type": "bench", "id": rid}, "status": "success"}
    status, body = call("POST", "/v1/audit/entries", json.dumps(event))
    t1 = time.time()
    assert status == 201, (status, body)
    committed[rid] = t1
    seen = None
    while time.time() - t1 < 10:
        status, body = call("GET", "/v1/alerts?rule=bench_trigger&limit=5")
        if status == 200 and any(a["group"].get("resource.id") == rid for a in json.loads(body)["items"]):
            seen = time.time()
            break
        time.sleep(0.01)
    if seen is None:
        missing += 1
    else:
        alert_latency.append(seen - t1)
    time.sleep(0.02)
# Webhooks: wait up to 10 s for the last ones.
deadline = time.time() + 10
arrivals = {}
while time.time() < deadline:
    arrivals = {}
    for line in open(hooks):
        d = json.loads(line)
        rid = (d.get("group") or {}).get("resource.id")
        if rid in committed and rid not in arrivals:
            arrivals[rid] = d["at"]
    if len(arrivals) == len(committed):
        break
    time.sleep(0.1)
hook_latency = [arrivals[r] - committed[r] for r in arrivals]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))] * 1000 if xs else float("nan")
print(f"{label}: alert visible after the append's 201: p50 {pct(alert_latency, 50):.1f} ms, p99 {pct(alert_latency, 99):.1f} ms, max {pct(alert_latency, 100):.1f} ms ({len(alert_latency)}/{count}, {missing} not seen in 10 s)")
print(f"{label}: webhook arrived after the append's 201: p50 {pct(hook_latency, 50):.1f} ms, p99 {pct(hook_latency, 99):.1f} ms, max {pct(hook_latency, 100):.1f} ms ({len(hook_latency)}/{count} arrived)")
PY
}

echo "== idle: $triggers triggers, one at a time"
measure "idle" "idle"
# Under load: as long as the triggers take (about 0.1 s each), with margin.
load_seconds=$(( triggers / 4 + 20 ))
echo "== under load: bench/audit.sh's single-entry appends, $connections connections, during $triggers triggers"
BODY="$dir/single.json" wrk -t2 -c"$connections" -d"${load_seconds}s" --latency -s bench/lua/post_body.lua "$base/v1/audit/entries" >"$dir/wrk" 2>&1 &
wrk_pid=$!
sleep 3
measure "under load" "load"
if kill -0 "$wrk_pid" 2>/dev/null; then
  echo "(the load ran throughout)"
  wait "$wrk_pid" || true
else
  echo "WARNING: the load ended before the triggers did: raise load_seconds"
fi
wrk_pid=
grep -E 'Requests/sec| 99%| 50%|Non-2xx' "$dir/wrk" | sed 's/^/  load: /'
deliveries=$(curl -s -H "Authorization: Bearer $KEY" "$base/v1/webhooks" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
curl -s -H "Authorization: Bearer $KEY" "$base/v1/webhooks/$deliveries/deliveries" | python3 -c '
import collections, json, sys
items = json.load(sys.stdin)["items"]
print("deliveries listed:", dict(collections.Counter(d["status"] for d in items)), "attempts > 1:", sum(d["attempts"] > 1 for d in items))'
echo "server RSS: $(( $(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024 )) MiB"
