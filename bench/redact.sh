#!/usr/bin/env bash
# `rampart redact` as a whole process (stdin to stdout) on two NDJSON log streams of ~200 MiB:
# "dense", where every line holds 4-6 personal values (a UUID request id, an email, a password,
# a client address, an email in a URL's query, a user agent, numbers, some phones and cards),
# and "mixed", where about one line in five does. Prints MB/s per core (bytes over user+sys CPU
# time), MB/s by the wall clock, and the peak RSS (from /usr/bin/time -v).
# Usage: bench/redact.sh [MiB]     RAMPART_BIN=path  use that build (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
# Script inputs, not settings: servers refuse RAMPART_* variables they do not know.
export -n RAMPART_BIN RAMPART_ADMIN_KEY
mib=${1:-200}
bin=${RAMPART_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q --release -p rampart
  bin=target/release/rampart
fi
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian package: time)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); build: $bin"
"$bin" init --data-dir "$dir/data" >/dev/null 2>&1
python3 - "$dir" "$mib" <<'PY'
import json, random, sys
d, mib = sys.argv[1], int(sys.argv[2])
limit = mib * 1024 * 1024
agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
          "curl/8.5.0", "python-requests/2.31.0",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"]
def dense(r, i):
    user = f"user{r.randrange(10**6)}"
    line = {"ts": f"2026-12-04T23:{i % 60:02d}:{i * 7 % 60:02d}.{i % 1000:03d}Z", "level": "info",
            "request_id": "%08x-%04x-4%03x-a%03x-%012x" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(12), r.getrandbits(12), r.getrandbits(48)),
            "email": f"{user}@example.com", "password": f"hunter2-{i}",
            "client_ip": f"203.0.{r.randrange(256)}.{r.randrange(256)}",
            "url": f"https://app.example.com/reset?email={user}%40example.com&next=/home",
            "user_agent": r.choice(agents), "status": 200, "bytes": r.randrange(10**6),
            "duration_ms": round(r.random() * 100, 3)}
    if i % 3 == 0:
        line["phone"] = f"+1 415 555 {r.randrange(10**4):04d}"
    if i % 7 == 0:
        line["card"] = "4111 1111 1111 1111"
    return line
def mixed(r, i):
    k = i % 10
    if k == 0:
        return {"ts": "2026-11-22T14:03:07.123Z", "level": "info", "msg": "login ok",
                "user": {"email": f"user{i}@example.com", "id": f"u{i}"}, "ip": f"203.0.113.{i % 250}"}
    if k == 4:
        return {"ts": "2026-11-22T14:03:07Z", "level": "info", "msg": "profile updated",
                "patient": {"ssn": "123-45-6789", "phone": "+1 415 555 2671"}, "by": f"nurse-{i}"}
    if k == 3:
        return {"ts": "2026-11-22T14:03:07Z", "level": "warn", "msg": "retrying upstream", "attempt": i % 5,
                "service": "inventory", "trace_id": "4bf92f3577b34da6a3ce929d0e0e%04d" % (i % 10000)}
    return {"ts": "2026-11-22T14:03:07Z", "level": "info", "msg": "job finished", "job": f"export-{i}",
            "rows": i * 7, "elapsed": "3.2s", "version": "1.2.3", "request": f"GET /v1/items?page={i}"}
for name, make in (("dense", dense), ("mixed", mixed)):
    r = random.Random(7)
    size, i = 0, 0
    with open(f"{d}/{name}.ndjson", "w") as f:
        while size < limit:
            line = json.dumps(make(r, i), separators=(",", ":")) + "\n"
            f.write(line)
            size += len(line)
            i += 1
PY
for corpus in dense mixed; do
  input="$dir/$corpus.ndjson"
  bytes=$(stat -c %s "$input")
  /usr/bin/time -v "$bin" redact --data-dir "$dir/data" --stats <"$input" >"$dir/out" 2>"$dir/time" || {
    cat "$dir/time" >&2; exit 1; }
  python3 - "$corpus" "$bytes" "$dir/time" <<'PY'
import re, sys
corpus, size, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
def field(name):
    return re.search(re.escape(name) + r": (.*)", log).group(1).strip()
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
seconds = sum(float(p) * 60 ** k for k, p in enumerate(reversed(wall)))
rss = int(field("Maximum resident set size (kbytes)")) // 1024
stats = log.strip().splitlines()[0]
print(f"{corpus}: {size / 1e6:.0f} MB in {seconds:.2f} s wall, {cpu:.2f} s CPU: "
      f"{size / 1e6 / cpu:.0f} MB/s per core, {size / 1e6 / seconds:.0f} MB/s wall; peak RSS {rss} MiB")
print(f"  {stats}")
PY
done
