#!/usr/bin/env bash
# The evidence package of a report over HTTP against a release build on SQLite (or PostgreSQL
# with DATABASE_URL and RAMPART_MASTER_KEY set), with ENTRIES audit entries in the log: one
# report is made (its period is the whole log, so its package holds the export of every entry),
# then its package is downloaded with curl while the server's RSS is watched (peak RSS reset
# just before via /proc/PID/clear_refs, and sampled every 20 ms), and checked offline with
# `rampart compliance verify --public-key` (time and peak RSS). Then a download is cut short
# and the server is checked to hold no temporary file once it is over (DESIGN.md: < 150 MB RSS
# under load). The package build must end within request_timeout_seconds (default 30; set
# RAMPART_REQUEST_TIMEOUT_SECONDS to raise it).
# Usage: bench/compliance_evidence.sh [ENTRIES] [FRAMEWORK]   (RAMPART_BIN=path to compare a build)
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
sampler=
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "$sampler" ] && kill $sampler 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
base="http://127.0.0.1:$port"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite); $entries entries; framework $framework; $RAMPART_BIN"
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
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
mib() { python3 -c "print(f'{$1 / 1024:.0f} MiB')"; }
held() { find "/proc/$pid/fd" -lname '*(deleted)' 2>/dev/null | wc -l; }

started=$(date +%s.%N)
append $(( entries / 1000 ))
echo "appended $entries entries in $(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')") s"
code=$(curl -s -o "$dir/report.json" -w '%{http_code}' -X POST "${auth[@]}" \
  --data-binary "{\"framework\": \"$framework\"}" "$base/v1/compliance/reports")
[ "$code" = 201 ] || { echo "report failed: $code $(cat "$dir/report.json")" >&2; exit 1; }
id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/report.json")
echo "report $id over tree size $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["audit"]["tree_size"])' "$dir/report.json")"

echo "temporary files held before: $(held)"
echo "server before the download: VmRSS $(mib "$(status VmRSS)"), VmHWM $(mib "$(status VmHWM)") (peak so far)"
# Reset the peak (VmHWM) to the current RSS, and sample RSS as well.
echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || echo "(cannot reset VmHWM: the peak below includes the appends)"
( max=0; while kill -0 $pid 2>/dev/null; do
    r=$(status VmRSS); [ "${r:-0}" -gt "$max" ] && { max=$r; echo "$max" > "$dir/rss-max"; }
    sleep 0.02; done ) &
sampler=$!
read -r code total first size <<< "$(curl -s -D "$dir/headers" -o "$dir/evidence.zip" -w '%{http_code} %{time_total} %{time_starttransfer} %{size_download}' \
  -H "Authorization: Bearer $key" "$base/v1/compliance/reports/$id/evidence")"
sleep 0.1
kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true; sampler=
[ "$code" = 200 ] || { echo "download failed: $code $(head -c 500 "$dir/evidence.zip")" >&2; exit 1; }
echo "response headers: $(grep -i -E '^(content-length|transfer-encoding|content-type):' "$dir/headers" | tr -d '\r' | paste -sd ';' -)"
echo "package: $size bytes ($(python3 -c "print(f'{$size / 1048576:.1f}')") MiB); first byte after $first s (the package is built before), downloaded in $total s"
echo "server during the download: peak RSS (VmHWM since the reset) $(mib "$(status VmHWM)"), sampled max $(mib "$(cat "$dir/rss-max" 2>/dev/null || echo 0)"); after it: VmRSS $(mib "$(status VmRSS)"); temporary files held: $(held)"
python3 - "$dir/evidence.zip" <<'PY'
import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    print(f"  {i.filename}: {i.file_size} bytes, {i.compress_size} compressed")
PY

public_key=$(curl -s -H "Authorization: Bearer $key" "$base/v1/audit/public-key" | python3 -c 'import json, sys; print(json.load(sys.stdin)["verifier_key"])')
set +e
/usr/bin/time -f '%e %M' -o "$dir/verify-time" "$RAMPART_BIN" compliance verify "$dir/evidence.zip" --public-key "$public_key" >"$dir/verify-out" 2>&1
verified=$?
set -e
read -r seconds kib < "$dir/verify-time"
echo "rampart compliance verify: exit $verified in $seconds s, peak RSS $(mib "$kib"); $(tail -n 1 "$dir/verify-out")"

# A download cut short: the server must not keep its temporary files.
curl -s -o /dev/null --limit-rate 1M --max-time 3 -H "Authorization: Bearer $key" \
  "$base/v1/compliance/reports/$id/evidence" || true
for _ in $(seq 120); do [ "$(held)" = 0 ] && break; sleep 0.5; done
echo "after a download cut short: temporary files held $(held), VmRSS $(mib "$(status VmRSS)")"
