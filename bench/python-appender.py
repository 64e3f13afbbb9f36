#!/usr/bin/env python3
"""Audit appends from Python: the buffered appender (rampart.AuditAppender, batches from a
background thread) beside plain per-call appends (client.audit.append, one request and one
durable write per event), N events each, on loopback; prints entries/s for both and the ratio.

Usage: bench/python-appender.py [N]    (default 2000)
  With RAMPART_ADDR and RAMPART_TOKEN set it uses that server (the token needs audit:write and
  audit:read); otherwise it starts its own: RAMPART_BIN (default ./target/release/rampart, built
  with cargo when missing), `init` in a temporary data dir, `serve` on a free loopback port.
Needs httpx and pydantic (the client's dependencies); the client is imported from
clients/python/src, so installing it is optional.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

from rampart import AuditAppender, Rampart  # noqa: E402


def event(i: int, action: str) -> dict[str, object]:
    """The event of bench/audit.sh, numbered."""
    return {
        "actor": {"type": "service", "id": f"svc-{i % 50}", "ip": "203.0.113.7"},
        "action": action,
        "resource": {"type": "payment", "id": f"pay-{i}"},
        "context": {"request_id": f"req-{i}", "team_id": "payments"},
        "details": {"amount": 1250, "currency": "EUR"},
        "status": "success",
        "data_classification": "confidential",
        "compliance_tags": ["pci-dss"],
    }


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """Starts a server of its own; returns the process, its base URL and the admin key."""
    binary = Path(os.environ.get("RAMPART_BIN", ROOT / "target" / "release" / "rampart"))
    if "RAMPART_BIN" not in os.environ and not binary.is_file():
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "rampart"], check=True)  # noqa: S607
    # Servers refuse RAMPART_* variables they do not know: pass none of this script's inputs.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env["RUST_LOG"] = "warn"
    data = tmp / "data"
    init = subprocess.run(  # noqa: S603
        [str(binary), "init", "--data-dir", str(data), "--json"],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    key = json.loads(init.stdout)["admin_api_key"]
    out = open(tmp / "out", "wb")
    server = subprocess.Popen(  # noqa: S603
        [str(binary), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    for _ in range(600):
        found = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", (tmp / "out").read_bytes())
        if found:
            return server, found.group(1).decode(), key
        time.sleep(0.1)
    server.kill()
    raise SystemExit("rampart serve did not start: " + (tmp / "out").read_text()[-2000:])


def measure(base_url: str, token: str, n: int) -> None:
    """Runs both measurements and prints them."""
    stamp = time.strftime("%H%M%S")
    with Rampart(base_url, token, timeout=60) as client:
        client.audit.append(event(0, "bench.warmup"))  # connection and first write out of the way
        action = f"bench.appender.{stamp}"
        with AuditAppender(client, spool_path=None, max_batch=1000) as appender:
            start = time.perf_counter()
            for i in range(n):
                appender.append(event(i, action))
            appended = time.perf_counter() - start
            appender.flush()
            buffered = time.perf_counter() - start
        action = f"bench.single.{stamp}"
        start = time.perf_counter()
        for i in range(n):
            client.audit.append(event(i, action))
        single = time.perf_counter() - start
        counts = [
            sum(1 for _ in client.audit.entries(action=f"bench.{kind}.{stamp}", page_size=1000))
            for kind in ("appender", "single")
        ]
    if counts != [n, n]:
        raise SystemExit(f"expected {n} entries of each kind in the log, found {counts}")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print(f"python {platform.python_version()}, {n} events each, server {base_url}")
    print(
        f"buffered appender (AuditAppender): {n / buffered:,.0f} entries/s "
        f"({buffered:.2f} s to durable; append() alone: {n / appended:,.0f} calls/s)"
    )
    print(f"per-call appends (client.audit.append): {n / single:,.0f} entries/s ({single:.2f} s)")
    print(f"ratio: {single / buffered:,.1f}x")
    print("every event found once in the log: yes")


def main() -> None:
    """Entry point."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    addr, token = os.environ.get("RAMPART_ADDR"), os.environ.get("RAMPART_TOKEN")
    if addr and token:
        measure(addr, token, n)
        return
    tmp = Path(tempfile.mkdtemp(prefix="rampart-bench-py-"))
    server, base_url, key = start_server(tmp)
    try:
        measure(base_url, key, n)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
