#!/usr/bin/env bash
# Compliance report generation over HTTP against a release build on SQLite (or PostgreSQL with
# DATABASE_URL and RAMPART_MASTER_KEY set), with ENTRIES audit entries in the log. The first
# report verifies the whole log (there is no earlier verification) and is timed apart; then
# 1,000 more entries are appended before each of 5 timed reports, which verify incrementally
# from the last verified checkpoint (DESIGN.md: < 2 s at 1,000,000 entries). Each report is
# one `POST /v1/compliance/reports`: every fact gathered, every control judged, signed, stored.
# Usage: bench/compliance.sh [ENTRIES] [FRAMEWORK]    (RAMPART_BIN=path to compare a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
entries=${1:-1000000}
framework=${2:-pci-dss}
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
for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
base="http://127.0.0.1:$port"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite); $entries entries; framework $framework"
auth=(-H "Authorization: Bearer $key" -H 'content-type: application/json')
python3 - "$dir" <<'PY'
import json, sys
events = [{"actor": {"type": "user", "id": f"clinician-{i % 50}"}, "action": "record.read",
           "resource": {"type": "patient_record", "id": f"r-{i}"}, "status": "success",
           "context": {"team_id": f"ward-{i % 4}"}, "compliance_tags": ["hipaa"],
           "details": {"fields": ["diagnosis", "medication"], "reason": "treatment"}}
          for i in range(1000)]
json.dump({"events": events}, open(f"{sys.argv[1]}/batch.json", "w"))
PY
append() {
  for _ in $(seq "$1"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${auth[@]}" --data-binary @"$dir/batch.json" "$base/v1/audit/entries")
    [ "$code" = 201 ] || { echo "append failed: $code" >&2; exit 1; }
  done
}
started=$(date +%s.%N)
append $(( entries / 1000 ))
echo "appended $entries entries in $(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')") s"
report() {
  curl -s -o "$dir/report.json" -w '%{http_code} %{time_total}' -X POST "${auth[@]}" \
    --data-binary "{\"framework\": \"$framework\"}" "$base/v1/compliance/reports"
}
read -r code first <<< "$(report)"
[ "$code" = 201 ] || { echo "report failed: $code $(cat "$dir/report.json")" >&2; exit 1; }
python3 - "$dir/report.json" "$first" "first (full verification)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["summary"]
print(f"{sys.argv[3]}: {float(sys.argv[2]):.3f} s; tree size {r['audit']['tree_size']}; "
      f"{s['pass']} pass, {s['fail']} fail, {s['manual']} manual, {s['waived']} waived, {s['not_applicable']} n/a")
PY
times=()
for _ in 1 2 3 4 5; do
  append 1
  read -r code seconds <<< "$(report)"
  [ "$code" = 201 ] || { echo "report failed: $code" >&2; exit 1; }
  times+=("$seconds")
done
python3 - "$dir/report.json" "${times[@]}" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1])); times = [float(t) for t in sys.argv[2:]]
v = next(f["value"] for f in r["facts"] if f["name"] == "audit_verification")
assert v["ok"], v
print(f"after it (incremental, 1,000 new entries each): median {statistics.median(times):.3f} s, "
      f"max {max(times):.3f} s over {len(times)} reports; the last re-hashed {v['checked_entries']} entries "
      f"from tree size {v['from_tree_size']} to {v['tree_size']}")
PY
