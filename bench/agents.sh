#!/usr/bin/env bash
# AI-agent governance over HTTP with wrk against a release build on SQLite (or PostgreSQL with
# DATABASE_URL and RAMPART_MASTER_KEY set): `POST /v1/agents/{id}/actions` by the agent itself
# (its own API key), for an auto-approved action under seed 003's guardrails (with an hourly cap
# high enough for the run, so the cap is counted in the database on every decision). Each
# decision is recorded with its audit entry (the agent as actor, reasoning redacted) and
# answered with its PASETO execution token. Then the same for an action that needs approval
# (no token, an approval.requested outbox check) and for denied ones.
# Usage: bench/agents.sh [SECONDS] [CONNECTIONS]    (needs wrk: apt-get install wrk;
# RAMPART_BIN=path to compare a build). DESIGN.md's floor: 10,000 decisions/s.
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
phases=" ${PHASES:-allowed pending denied} "
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
for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
admin=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out" | head -1)
base="http://127.0.0.1:$port"
api() { curl -sf -X "$1" "$base$2" -H "authorization: Bearer $admin" -H 'content-type: application/json' ${3:+-d "$3"}; }
policy=$(api GET /v1/policy | python3 -c 'import json,sys; p=json.load(sys.stdin); p["roles"]["remediation_agent"]={"permissions":["actions:*"]}; print(json.dumps(p))')
api PUT /v1/policy "$policy" >/dev/null
agent=$(api POST /v1/principals '{"type":"ai_agent","name":"remediation-agent","roles":["remediation_agent"],"teams":["payments"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
export KEY=$(api POST /v1/api-keys "{\"principal_id\":\"$agent\",\"name\":\"agent\",\"scopes\":[\"actions:*\"]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
api PUT "/v1/agents/$agent/guardrails" '{"max_actions_per_hour": 100000000,
  "forbidden_actions": ["drop_database", "delete_namespace", "modify_dns"],
  "require_approval": ["rollback", "failover", "scale_down"],
  "auto_approve": ["create_ticket", "send_notification", "scale_up_within_limits"],
  "max_blast_radius": {"traffic_percent": 10}, "approvals_required": 1,
  "approval_timeout_seconds": 3600, "otherwise": "deny"}' >/dev/null
body() {
  python3 - "$1" "$2" <<'PY'
import json, sys
import os
minimal = os.environ.get("MINIMAL") == "1"
print(json.dumps({"action": sys.argv[1],
  "target": {"type": "deployment", "id": "checkout", "team_id": "payments"},
  "parameters": {"replicas": 6, "zone": "eu-west-1a"},
  "blast_radius": {"traffic_percent": float(sys.argv[2])},
  "reasoning": "p99 latency above the SLO for 10 minutes; scaling out within limits",
  "tool_calls": [{"name": "query_metrics", "arguments": {"service": "checkout", "window": "10m"}}]}
  if not minimal else {"action": sys.argv[1], "target": {"type": "deployment", "id": "checkout", "team_id": "payments"}}))
PY
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() {
  echo "== $1: $connections connections, ${duration}s"
  body "$2" "$3" >"$dir/$1.json"
  local before after
  before=$(cpu_ticks)
  BODY="$dir/$1.json" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/lua/post_body.lua \
    "$base/v1/agents/$agent/actions" >"$dir/wrk.txt"
  after=$(cpu_ticks)
  grep -E 'Requests/sec| 99%| 50%|Non-2xx' "$dir/wrk.txt"
  # The server's own CPU per decision (user + system, all threads), beside wrk's.
  python3 -c "import re,sys; r=float(re.search(r'Requests/sec:\s+([0-9.]+)', open('$dir/wrk.txt').read()).group(1)); t=($after-$before)/$(getconf CLK_TCK); print(f'server CPU: {t:.1f} s for {r*$duration:.0f} decisions = {t/(r*$duration)*1e6:.0f} us each')"
}
[[ $phases == *" allowed "* ]] && run allowed scale_up_within_limits 5
[[ $phases == *" pending "* ]] && run pending rollback 5
[[ $phases == *" denied "* ]] && run denied drop_database 0
# Every decision was recorded: the audit log verifies, and counts one entry per decision.
echo "audit verify: $(api POST /v1/audit/verify '{}')"
