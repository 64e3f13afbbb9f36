"""A real Rampart server for the tests: ``rampart init`` in a temporary data dir, then
``rampart serve`` on a free loopback port. The binary comes from ``PYTEST_RAMPART_BIN`` (CI sets
it), else the workspace's debug build."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Server:
    """A running server: its base URL and the bootstrap admin key."""

    base_url: str
    admin_key: str


def _binary() -> Path:
    given = os.environ.get("PYTEST_RAMPART_BIN")
    path = Path(given) if given else ROOT / "target" / "debug" / "rampart"
    if not path.is_file():
        pytest.fail(f"no rampart binary at {path}: build it or set PYTEST_RAMPART_BIN")
    return path


def _clean_env() -> dict[str, str]:
    # Rampart refuses RAMPART_* variables it does not know: pass none of the test runner's.
    return {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    binary = _binary()
    with tempfile.TemporaryDirectory(prefix="rampart-py-") as tmp:
        data = Path(tmp) / "data"
        env = _clean_env()
        init = subprocess.run(
            [str(binary), "init", "--data-dir", str(data), "--json"],
            env=env,
            capture_output=True,
            check=True,
            text=True,
        )
        admin_key = json.loads(init.stdout)["admin_api_key"]
        log = open(Path(tmp) / "server.log", "w")
        process = subprocess.Popen(
            [str(binary), "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            base_url = _wait_for_banner(process)
            yield Server(base_url, admin_key)
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _wait_for_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("rampart serve exited before listening")
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            base_url = found.group(1)
            for _ in range(100):
                if httpx.get(f"{base_url}/v1/health/ready").status_code == 200:
                    return base_url
                time.sleep(0.1)
    raise RuntimeError("rampart serve did not become ready")


class RestartableServer:
    """A server of its own that a test can stop and start again on the same data dir and port
    (``rampart serve --data-dir D --listen 127.0.0.1:PORT``)."""

    def __init__(self, binary: Path, tmp: Path) -> None:
        self._binary = binary
        self._tmp = tmp
        self._data = tmp / "data"
        self._env = _clean_env()
        init = subprocess.run(
            [str(binary), "init", "--data-dir", str(self._data), "--json"],
            env=self._env,
            capture_output=True,
            check=True,
            text=True,
        )
        self.admin_key: str = json.loads(init.stdout)["admin_api_key"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        """Starts it and waits until it is ready."""
        assert self._process is None, "already running"
        self._starts += 1
        out = open(self._tmp / f"server-{self._starts}.log", "wb")
        self._process = subprocess.Popen(
            [
                str(self._binary),
                "serve",
                "--data-dir",
                str(self._data),
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            env=self._env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("rampart serve exited before listening")
            try:
                if httpx.get(f"{self.base_url}/v1/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("rampart serve did not become ready")

    def stop(self, *, kill: bool = False) -> None:
        """Stops it (SIGTERM, or SIGKILL: no chance to finish a request) and waits for the end."""
        if self._process is not None:
            if kill:
                self._process.kill()
            else:
                self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None


@pytest.fixture
def restartable() -> Iterator[RestartableServer]:
    """A running server of the test's own, which the test may stop and start again."""
    with tempfile.TemporaryDirectory(prefix="rampart-py-restart-") as tmp:
        server = RestartableServer(_binary(), Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()
