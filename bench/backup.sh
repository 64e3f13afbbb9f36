#!/usr/bin/env bash
# `rampart backup` of a SQLite deployment holding ENTRIES audit entries (appended over HTTP in
# batches of 1000), taken twice: with the server idle, and while a writer keeps appending batches
# (the online case). Prints the seconds each took and the backup's size, then restores the
# second one into a fresh dir and checks the restored server verifies its whole log.
# Usage: bench/backup.sh [ENTRIES]    (RAMPART_BIN=path to compare a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
entries=${1:-1000000}
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
pid=; writer=
trap 'kill $pid $writer 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
# `serve` initializes only the default ./rampart-data: the data dir named here is made by `init`.
RUST_LOG=warn "$RAMPART_BIN" init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn "$RAMPART_BIN" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" >>"$dir/out" 2>>"$dir/err" &
pid=$!
for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")
base="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $key" -H 'content-type: application/json')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $entries entries"
python3 - "$dir" <<'PY'
import json, sys
events = [{"actor": {"type": "user", "id": f"u-{i % 50}"}, "action": "order.submit",
           "resource": {"type": "order", "id": f"o-{i}"}, "status": "success",
           "details": {"venue": "XLON", "quantity": i % 1000}} for i in range(1000)]
json.dump({"events": events}, open(f"{sys.argv[1]}/batch.json", "w"))
PY
append() { curl -sf -o /dev/null -X POST "${auth[@]}" --data-binary @"$dir/batch.json" "$base/v1/audit/entries"; }
for _ in $(seq $(( entries / 1000 ))); do append; done
timed() { local s; s=$(date +%s.%N); "$@" >/dev/null; python3 -c "print(f'{$(date +%s.%N) - $s:.2f}')"; }
idle=$(timed "$RAMPART_BIN" backup --data-dir "$dir/data" --output "$dir/idle.backup")
echo "backup, server idle: $idle s, $(( $(stat -c %s "$dir/idle.backup") / 1048576 )) MiB (database file $(( $(stat -c %s "$dir/data/rampart.db") / 1048576 )) MiB, WAL $(( $(stat -c %s "$dir/data/rampart.db-wal" 2>/dev/null || echo 0) / 1048576 )) MiB)"
( while true; do append || break; done ) &
writer=$!
sleep 1
loaded=$(timed "$RAMPART_BIN" backup --data-dir "$dir/data" --output "$dir/loaded.backup")
kill $writer 2>/dev/null; wait $writer 2>/dev/null || true; writer=
echo "backup, while a writer appends 1000-entry batches: $loaded s, $(( $(stat -c %s "$dir/loaded.backup") / 1048576 )) MiB"
restored=$(timed "$RAMPART_BIN" restore --input "$dir/loaded.backup" --data-dir "$dir/restored" --master-key-file "$dir/data/master.key")
echo "restore (integrity check included): $restored s"
kill $pid; wait $pid 2>/dev/null || true
RUST_LOG=warn RAMPART_REQUEST_TIMEOUT_SECONDS=3600 "$RAMPART_BIN" serve --data-dir "$dir/restored" --listen "127.0.0.1:$port" >"$dir/out2" 2>"$dir/err2" &
pid=$!
for _ in $(seq 600); do grep -q listening "$dir/out2" 2>/dev/null && break; sleep 0.1; done
curl -sf -X POST "${auth[@]}" "$base/v1/audit/verify" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("restored server: verify ok=%s, tree size %s" % (r["ok"], r["tree_size"])); sys.exit(0 if r["ok"] else 1)'
