#!/usr/bin/env bash
# One sequential client appending single audit entries, against Rampart (release build, SQLite:
# one durable commit per batch, WAL + synchronous=FULL) and against seed 002's own design, the
# hand-rolled log teams write today: a SHA-256-chained JSON line per event appended to a file
# with one fsync per entry, in Python, served by a minimal keep-alive HTTP server (http.server,
# HTTP/1.1, TCP_NODELAY; the file stays open instead of the seed's open per entry, so it is as
# fast as that design allows). Same body (bench/audit.sh's single event), same client
# (wrk -t1 -c1, keep-alive), same filesystem, in alternation (A, B, A, B, ...); prints entries/s
# of each run and the Rampart / hand-rolled ratio. Afterwards the hand-rolled file's chain is
# re-checked (untimed), so it did what it claims.
# Usage: bench/audit_vs_handrolled.sh [SECONDS] [ROUNDS]    (defaults 10 and 2; needs wrk and
# python3; RAMPART_BIN=path to compare a build, else target/release/rampart is built)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
duration=${1:-10}
rounds=${2:-2}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
port_a=$(( 20000 + RANDOM % 20000 ))
port_b=$(( port_a + 1 ))

# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
RUST_LOG=warn "$RAMPART_BIN" init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn "$RAMPART_BIN" serve --data-dir "$dir/data" --listen "127.0.0.1:$port_a" >>"$dir/out" 2>>"$dir/err" &
pids+=($!)
for _ in $(seq 200); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out")

cat >"$dir/handrolled.py" <<'PY'
"""Seed 002's ImmutableAuditLog behind a minimal HTTP server: chained SHA-256, fsync per entry."""
import hashlib, http.server, json, os, sys, time

class ImmutableAuditLog:
    def __init__(self, path):
        self.file = open(path, "ab", buffering=0)
        self.previous_hash = None
        self.seq = 0

    def append(self, event):
        entry = {"timestamp": time.time_ns(), "event_type": event.get("action"),
                 "event_data": event, "previous_hash": self.previous_hash}
        entry_hash = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
        entry["hash"] = entry_hash
        self.file.write(json.dumps(entry).encode() + b"\n")
        os.fsync(self.file.fileno())
        self.previous_hash = entry_hash
        self.seq += 1
        return self.seq - 1, entry_hash

LOG = ImmutableAuditLog(sys.argv[2])

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seq, entry_hash = LOG.append(event)
        body = json.dumps({"entries": [{"seq": seq, "leaf_hash": entry_hash}]}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
python3 "$dir/handrolled.py" "$port_b" "$dir/handrolled.jsonl" >"$dir/out_b" 2>"$dir/err_b" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$dir/out_b" 2>/dev/null && break; sleep 0.1; done

python3 - "$dir" <<'PY'
import json, sys
event = {"actor": {"type": "service", "id": "svc-0", "ip": "203.0.113.7"},
         "action": "payment.authorize", "resource": {"type": "payment", "id": "pay-0"},
         "context": {"request_id": "req-0", "team_id": "payments"},
         "details": {"amount": 1250, "currency": "EUR"}, "status": "success",
         "data_classification": "confidential", "compliance_tags": ["pci-dss"]}
json.dump(event, open(f"{sys.argv[1]}/single.json", "w"))
PY

# Requests/s of one wrk run against URL; fails on any non-2xx answer.
run() {
  local out
  out=$(BODY="$dir/single.json" KEY="$key" wrk -t1 -c1 -d"${duration}s" -s bench/lua/post_body.lua "$1")
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers from $1:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); filesystem: $(df -T "$dir" | awk 'NR==2 {print $2}'); rampart: $RAMPART_BIN"
echo "one sequential client (wrk -t1 -c1, keep-alive), single-entry appends, ${duration}s per run"
a_all=(); b_all=()
for round in $(seq "$rounds"); do
  a=$(run "http://127.0.0.1:$port_a/v1/audit/entries")
  b=$(run "http://127.0.0.1:$port_b/")
  a_all+=("$a"); b_all+=("$b")
  python3 -c "print(f'round $round: rampart {$a:>9,.0f} entries/s | hand-rolled {$b:>9,.0f} entries/s | ratio {$a/$b:.2f}')"
done
python3 - "${a_all[*]}" "${b_all[*]}" <<'PY'
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ma, mb = sum(a) / len(a), sum(b) / len(b)
print(f"mean:    rampart {ma:>9,.0f} entries/s | hand-rolled {mb:>9,.0f} entries/s | ratio {ma/mb:.2f}")
PY
python3 - "$dir/handrolled.jsonl" <<'PY'
import hashlib, json, sys
previous, n = None, 0
for line in open(sys.argv[1], "rb"):
    entry = json.loads(line)
    stored = entry.pop("hash")
    assert entry["previous_hash"] == previous, f"chain broken at line {n}"
    assert hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest() == stored, n
    previous, n = stored, n + 1
print(f"hand-rolled log: {n} entries, chain verified")
PY
