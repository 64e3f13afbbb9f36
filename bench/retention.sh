#!/usr/bin/env bash
# A disposal run over HTTP against a release build on SQLite (or PostgreSQL with DATABASE_URL
# and RAMPART_MASTER_KEY set): ENTRIES audit entries are appended (every 100th tagged `mifid2`,
# which a legal hold keeps), the checkpoint of that size is kept, `audit_entries` is given a
# zero-second policy, and `POST /v1/retention/run` is timed until `GET /v1/retention/runs/{id}`
# says finished (every entry but the held ones pruned). Then `POST /v1/audit/verify` must say
# ok, and a consistency proof from the checkpoint before the prune to the latest is verified
# here, in Python, by RFC 9162 §2.1.4.2 with no Rampart code.
# Usage: bench/retention.sh [ENTRIES]    (RAMPART_BIN=path to compare a build)
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
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); storage: $([ -n "${DATABASE_URL:-}" ] && echo postgres || echo sqlite); $entries entries"
auth=(-H "Authorization: Bearer $key" -H 'content-type: application/json')
python3 - "$dir" <<'PY'
import json, sys
events = [{"actor": {"type": "user", "id": f"trader-{i % 50}"}, "action": "order.submit",
           "resource": {"type": "order", "id": f"o-{i}"}, "status": "success",
           "context": {"team_id": f"desk-{i % 4}"},
           "compliance_tags": ["mifid2"] if i % 100 == 0 else ["ops"],
           "details": {"venue": "XLON", "quantity": i % 1000}}
          for i in range(1000)]
json.dump({"events": events}, open(f"{sys.argv[1]}/batch.json", "w"))
PY
started=$(date +%s.%N)
for _ in $(seq $(( entries / 1000 ))); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${auth[@]}" --data-binary @"$dir/batch.json" "$base/v1/audit/entries")
  [ "$code" = 201 ] || { echo "append failed: $code" >&2; exit 1; }
done
echo "appended $entries entries in $(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')") s"
curl -sf "${auth[@]}" "$base/v1/audit/checkpoint" >"$dir/before.json"
curl -sf -X POST "${auth[@]}" --data-binary '{"name": "MiFID II review", "reason": "benchmark", "scope": {"tag": "mifid2"}}' "$base/v1/legal-holds" >/dev/null
curl -sf -X PUT "${auth[@]}" --data-binary '{"retain_seconds": 0, "mode": "governance"}' "$base/v1/retention/policies/audit_entries" >/dev/null
# The query index is derived data an indexer writes after commit; a deployment's is current, so
# wait for it (on SQLite, its own file) before timing the run, which removes pruned postings too.
if [ -z "${DATABASE_URL:-}" ]; then
  python3 - "$dir/data" "$entries" <<'PY'
import sqlite3, sys, time
data, entries = sys.argv[1], int(sys.argv[2])
while True:
    try:
        db = sqlite3.connect(f"file:{data}/rampart.audit-index.db?mode=ro", uri=True)
        (indexed,) = db.execute("SELECT indexed_size FROM audit_index_state").fetchone()
        db.close()
        if indexed >= entries: break
    except sqlite3.Error:
        pass
    time.sleep(0.5)
PY
else
  sleep 30
fi
started=$(date +%s.%N)
run=$(curl -sf -X POST "${auth[@]}" "$base/v1/retention/run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
until curl -sf "${auth[@]}" "$base/v1/retention/runs/$run" >"$dir/run.json" && grep -q '"state":"finished"' "$dir/run.json"; do sleep 0.05; done
seconds=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
python3 - "$dir/run.json" "$seconds" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); seconds = float(sys.argv[2])
step = next(s for s in run["steps"] if s["data_type"] == "audit_entries")
print(f"disposal run: {step['disposed']} entries pruned, {step['held_back']} held back, in {seconds:.2f} s "
      f"({step['disposed'] / seconds:,.0f} entries/s)")
PY
curl -sf -X POST "${auth[@]}" "$base/v1/audit/verify" >"$dir/verify.json"
python3 -c "import json,sys; v=json.load(open('$dir/verify.json')); assert v['ok'], v; print('POST /v1/audit/verify: ok', {k: v[k] for k in v if k != 'ok'})"
curl -sf "${auth[@]}" "$base/v1/audit/checkpoint" >"$dir/after.json"
first=$(python3 -c "import json; print(json.load(open('$dir/before.json'))['tree_size'])")
second=$(python3 -c "import json; print(json.load(open('$dir/after.json'))['tree_size'])")
curl -sf "${auth[@]}" "$base/v1/audit/proofs/consistency?from=$first&to=$second" >"$dir/proof.json"
python3 - "$dir" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
before, after, proof = (json.load(open(f"{d}/{n}.json")) for n in ("before", "after", "proof"))
def node(l, r): return hashlib.sha256(b"\x01" + l + r).digest()
def verify(first, second, first_root, second_root, path):
    # RFC 9162 section 2.1.4.2.
    if first == second: return not path and first_root == second_root
    if first & (first - 1) == 0: path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1: fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr = node(c, fr); sr = node(c, sr)
            while fn and not fn & 1: fn >>= 1; sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
ok = verify(before["tree_size"], after["tree_size"], bytes.fromhex(before["root_hash"]),
            bytes.fromhex(after["root_hash"]), [bytes.fromhex(h) for h in proof["hashes"]])
assert ok, "the consistency proof does not verify"
print(f"consistency proof {before['tree_size']} -> {after['tree_size']} (before the prune -> latest): verified in Python")
PY
