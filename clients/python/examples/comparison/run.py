"""Runs the comparison's flows against a fresh Rampart server, then prints the glue counts.

    python clients/python/examples/comparison/run.py [--bin PATH] [--client-dir DIR]

Starts ``rampart init`` + ``rampart serve`` (the binary from ``--bin``, ``PYTEST_RAMPART_BIN`` or
the workspace's debug build) in a temporary data dir, on a free loopback port, with no RAMPART_*
variable in its environment, and runs each flow with ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (the
bootstrap admin key) set:
- ``raw_requests.py`` always;
- ``generated_client.py`` when ``--client-dir`` names a generated client or
  ``openapi-python-client`` is installed (it generates one into a temporary directory);
- ``ours.py`` once the client has the ``cards``, ``principals``, ``api_keys`` and ``auth``
  namespaces (issue 22, being written); ``hvac_vault.py`` never (no Vault here).
Exits 1 if a flow that ran failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
NAMESPACES = ["cards", "principals", "api_keys", "auth"]


def start(binary: Path, data: Path, log: Path) -> tuple[subprocess.Popen[str], str, str]:
    """A fresh server: the process, its base URL and the bootstrap admin key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    init = subprocess.run(  # noqa: S603 (the rampart binary, our arguments)
        [str(binary), "init", "--data-dir", str(data), "--json"],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    admin_key = json.loads(init.stdout)["admin_api_key"]
    process = subprocess.Popen(  # noqa: S603 (the rampart binary, our arguments)
        [str(binary), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            return process, line.split()[2], admin_key
        if not line and process.poll() is not None:
            break
    process.terminate()
    sys.exit(f"rampart serve did not start; see {log}")


def main() -> None:
    """Starts a server, runs the flows that can run here, prints the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.environ.get("PYTEST_RAMPART_BIN"))
    parser.add_argument("--client-dir", help="a directory holding a generated rampart_client")
    args = parser.parse_args()
    binary = Path(args.bin) if args.bin else REPO / "target" / "debug" / "rampart"
    generator = shutil.which("openapi-python-client", path=f"{Path(sys.executable).parent}:")
    generator = generator or shutil.which("openapi-python-client")
    missing = [n for n in NAMESPACES if importlib.util.find_spec(f"rampart._sync.{n}") is None]

    flows: list[list[str]] = [["raw_requests.py"]]
    if args.client_dir:
        flows.append(["generated_client.py", "--client-dir", args.client_dir])
    elif generator:
        flows.append(["generated_client.py"])
    else:
        print("skipped generated_client.py: openapi-python-client is not installed")
    if missing:
        print(f"skipped ours.py: the client has no {', '.join(missing)} namespace yet")
    else:
        flows.append(["ours.py"])

    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rampart-compare-") as tmp:
        process, base_url, admin_key = start(binary, Path(tmp) / "data", Path(tmp) / "server.log")
        try:
            env = {**os.environ, "RAMPART_ADDR": base_url, "RAMPART_TOKEN": admin_key}
            for flow in flows:
                print(f"--- {flow[0]}", flush=True)
                done = subprocess.run([sys.executable, str(HERE / flow[0]), *flow[1:]], env=env)  # noqa: S603
                if done.returncode != 0:
                    failed.append(flow[0])
        finally:
            process.terminate()
            process.wait(timeout=30)
    print()
    subprocess.run([sys.executable, str(HERE.parent / "count_lines.py"), "compare"], check=True)  # noqa: S603
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
