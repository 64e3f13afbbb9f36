#!/usr/bin/env bash
# Erasure of a data subject over HTTP against a release build on SQLite (or PostgreSQL with
# DATABASE_URL and RAMPART_MASTER_KEY set): for each of RUNS subjects, ENTRIES audit entries
# with personal data (and a consent) are written, then `POST /v1/subjects/{id}/erasure` is timed
# with curl (the whole request: the subject's keys destroyed, its consents' personal fields
# removed, the entries counted, the erasure recorded). Prints each time and the median.
# Usage: bench/erasure.sh [ENTRIES] [RUNS]    (RAMPART_BIN=path to compare a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
entries=${1:-10000}
runs=${2:-5}
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
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite); $entries entries per subject"
post() { curl -s -o "$dir/answer" -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer $key" -H 'content-type: application/json' --data-binary "$2" "$base$1"; }
times=()
for run in $(seq "$runs"); do
  subject="bench-subject-$run"
  python3 - "$dir" "$subject" "$entries" <<'PY'
import json, sys
d, subject, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for b in range(0, n, 1000):
    events = [{"actor": {"type": "user", "id": f"clerk-{i % 7}"}, "action": "record.update",
               "resource": {"type": "patient", "id": f"p-{i}"}, "status": "success",
               "subject_id": subject, "compliance_tags": ["gdpr"],
               "personal": {"email": f"{subject}@example.com", "name": "Ada Lovelace", "visit": i}}
              for i in range(b, min(n, b + 1000))]
    json.dump({"events": events}, open(f"{d}/batch-{b // 1000}.json", "w"))
PY
  for f in "$dir"/batch-*.json; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $key" -H 'content-type: application/json' --data-binary @"$f" "$base/v1/audit/entries")
    [ "$code" = 201 ] || { echo "append failed: $code" >&2; exit 1; }
  done
  rm -f "$dir"/batch-*.json
  post "/v1/subjects/$subject/consents" '{"purpose": "analytics", "given": true, "source": "signup-form"}' >/dev/null
  sleep 1
  answer=$(post "/v1/subjects/$subject/erasure" '{"reason": "benchmark", "stores": ["crm"]}')
  code=${answer% *}; seconds=${answer#* }
  [ "$code" = 202 ] || { echo "erasure failed: $code $(cat "$dir/answer")" >&2; exit 1; }
  ms=$(python3 -c "print(f'{$seconds * 1000:.1f}')")
  echo "run $run: erasure of $entries entries: $ms ms"
  times+=("$ms")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median: " a[int((NR+1)/2)] " ms"}'
