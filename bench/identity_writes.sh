#!/usr/bin/env bash
# Identity writes over HTTP on loopback against a release build on SQLite: CLIENTS concurrent
# clients each PATCH their own principal (email) and create then revoke API keys for SECONDS.
# Every one of these writes commits in the transaction of its audit entry.
# Usage: bench/identity_writes.sh [SECONDS] [CLIENTS]   (RAMPART_BIN=path to compare a build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
duration=${1:-10}
clients=${2:-16}
if [ -z "${RAMPART_BIN:-}" ]; then
  cargo build --release --quiet -p rampart
  RAMPART_BIN=./target/release/rampart
fi
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
# `serve` initializes only the default ./rampart-data: a data dir (or database) named here is made by `init` (its banner holds the admin key).
RUST_LOG=warn "$RAMPART_BIN" init --data-dir "$dir/data" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
RUST_LOG=warn RAMPART_RATE_LIMIT_PER_SECOND=1000000 "$RAMPART_BIN" serve --data-dir "$dir/data" \
  --listen "127.0.0.1:$port" >>"$dir/out" 2>>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 300); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
KEY=$(grep -o 'rk_[A-Za-z0-9]*' "$dir/out") python3 - "$port" "$duration" "$clients" <<'PY'
import http.client, json, os, sys, threading, time
port, duration, clients = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
key = os.environ["KEY"]
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

def call(conn, method, path, body=None):
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data

setup = http.client.HTTPConnection("127.0.0.1", port)
ids = []
for i in range(clients):
    status, data = call(setup, "POST", "/v1/principals", {"name": f"bench{i}", "roles": ["viewer"], "teams": ["t"]})
    assert status == 201, data
    ids.append(json.loads(data)["id"])

latencies = {"patch": [], "key": []}
lock = threading.Lock()
stop = time.monotonic() + duration

def worker(i):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    mine = {"patch": [], "key": []}
    n = 0
    while time.monotonic() < stop:
        started = time.perf_counter()
        status, data = call(conn, "PATCH", f"/v1/principals/{ids[i]}", {"email": f"b{i}.{n}@example.com"})
        assert status == 200, data
        mine["patch"].append(time.perf_counter() - started)
        started = time.perf_counter()
        status, data = call(conn, "POST", "/v1/api-keys", {"principal_id": ids[i], "name": f"k{n}", "scopes": ["audit:read"]})
        assert status == 201, data
        key_id = json.loads(data)["id"]
        status, data = call(conn, "DELETE", f"/v1/api-keys/{key_id}")
        assert status == 200, data
        mine["key"].append(time.perf_counter() - started)
        n += 1
    with lock:
        for k in mine:
            latencies[k].extend(mine[k])

threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
t0 = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - t0
writes = len(latencies["patch"]) + 2 * len(latencies["key"])
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")
print(f"identity writes: {writes / elapsed:.0f}/s over {elapsed:.1f} s with {clients} clients "
      f"(PATCH p50 {pct(latencies['patch'], .5):.1f} ms, p99 {pct(latencies['patch'], .99):.1f} ms; "
      f"key create+revoke p50 {pct(latencies['key'], .5):.1f} ms, p99 {pct(latencies['key'], .99):.1f} ms)")
PY
