"""The buffered audit appender (the sync one, a thread) against real servers: order, a server
stopped and restarted while events keep coming (each event exactly once), a lost answer (the
lookup settles it), a spool replayed by a new appender, a full spool, dead letters."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from rampart import AuditAppender, DeadLetter, InvalidEvent, Rampart, SpoolFull
from rampart.appender import EVENT_ID_KEY, _core

from .conftest import RestartableServer, Server

#: Nothing listens here (port 9 is discard; refused on loopback).
DEAD_URL = "http://127.0.0.1:9"


def event(i: int, action: str, **extra: Any) -> dict[str, Any]:
    """An event whose actor id carries its number."""
    return {
        "actor": {"type": "service", "id": f"a{i}"},
        "action": action,
        "resource": {"type": "test", "id": str(i)},
        "status": "success",
        **extra,
    }


def logged(base_url: str, key: str, action: str) -> list[int]:
    """The numbers of the entries with ``action``, in log order."""
    with Rampart(base_url, key) as rampart:
        return [
            int(e.actor["id"][1:]) for e in rampart.audit.entries(action=action, page_size=1000)
        ]


def unique_action() -> str:
    return f"py.appender.{uuid.uuid4().hex[:12]}"


def test_events_arrive_in_order_with_their_ids(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(rampart, spool_path=tmp_path / "spool", max_batch=64) as appender,
    ):
        mine = event(0, action, details={EVENT_ID_KEY: "my-own-id", "n": 1})
        appender.append(mine)
        mine["action"] = "changed.after.append"
        for i in range(1, 300):
            appender.append(event(i, action))
        appender.flush(timeout=30)
        assert appender.pending == 0
        entries = list(rampart.audit.entries(action=action, page_size=1000))
    assert [int(e.actor["id"][1:]) for e in entries] == list(range(300))
    details = [e.details for e in entries if e.details is not None]
    assert details[0] == {EVENT_ID_KEY: "my-own-id", "n": 1}, "the caller's own id is kept"
    assert len({d[EVENT_ID_KEY] for d in details}) == 300


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"action": "x", "resource": {"type": "r"}, "status": "success"}, "actor.type"),
        (
            {"actor": {"type": "robot", "id": "r"}, "action": "x", "resource": {"type": "r"}},
            "actor.type",
        ),
        (
            {"actor": {"type": "user", "id": ""}, "action": "x", "resource": {"type": "r"}},
            "actor.id",
        ),
        ({"actor": {"type": "user", "id": "u"}, "resource": {"type": "r"}}, "action"),
        ({"actor": {"type": "user", "id": "u"}, "action": "x"}, "resource.type"),
        (
            {"actor": {"type": "user", "id": "u"}, "action": "x", "resource": {"type": "r"}},
            "status",
        ),
        (event(0, "x", details={"when": object()}), "JSON"),
        ("not a mapping", "mapping"),
    ],
)
def test_invalid_events_are_refused_locally(bad: Any, named: str) -> None:
    with Rampart(DEAD_URL, "rk_x") as rampart, AuditAppender(rampart) as appender:
        if isinstance(bad, dict) and "status" not in bad and named != "status":
            bad["status"] = "success"
        with pytest.raises(InvalidEvent, match=named.replace(".", r"\.")):
            appender.append(bad)
        assert appender.pending == 0


def _keep_appending(appender: AuditAppender, action: str, stop: threading.Event) -> list[int]:
    sent: list[int] = []

    def run() -> None:
        i = 0
        while not stop.is_set():
            appender.append(event(i, action))
            sent.append(i)
            i += 1
            time.sleep(0.002)

    thread = threading.Thread(target=run)
    thread.start()
    stop.wait()
    thread.join()
    return sent


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_a_server_restart_loses_and_repeats_nothing(
    restartable: RestartableServer, tmp_path: Path, kill: bool
) -> None:
    action = unique_action()
    stop = threading.Event()
    result: list[list[int]] = []
    with (
        Rampart(restartable.base_url, restartable.admin_key, timeout=5) as rampart,
        AuditAppender(rampart, spool_path=tmp_path / "spool", flush_interval=0.05) as appender,
    ):
        writer = threading.Thread(
            target=lambda: result.append(_keep_appending(appender, action, stop))
        )
        writer.start()
        time.sleep(0.5)
        restartable.stop(kill=kill)
        time.sleep(1.0)  # appends go on while the server is down: they are spooled
        assert (tmp_path / "spool").stat().st_size > 0
        restartable.start()
        time.sleep(0.5)
        stop.set()
        writer.join()
        appender.flush(timeout=60)
    sent = result[0]
    assert len(sent) > 100
    assert logged(restartable.base_url, restartable.admin_key, action) == sent


class DropsAnswers(httpx.HTTPTransport):
    """Sends every request, but loses the answers to the first ``drops`` appends (the server
    wrote them; the client cannot know)."""

    def __init__(self, drops: int, error: type[httpx.TransportError] = httpx.ReadError) -> None:
        super().__init__()
        self.drops = drops
        self.error = error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/audit/entries" and self.drops:
            response.read()
            self.drops -= 1
            raise self.error("connection lost after sending", request=request)
        return response


def test_a_lost_answer_is_looked_up_not_appended_twice(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    transport = DropsAnswers(drops=2)
    with (
        Rampart(server.base_url, server.admin_key, transport=transport) as rampart,
        AuditAppender(rampart, spool_path=tmp_path / "spool", flush_interval=0.05) as appender,
    ):
        for i in range(50):
            appender.append(event(i, action))
        appender.flush(timeout=30)
        for i in range(50, 80):
            appender.append(event(i, action))
        appender.flush(timeout=30)
    assert transport.drops == 0, "the answers were lost"
    assert logged(server.base_url, server.admin_key, action) == list(range(80))


def test_after_a_timeout_the_lookup_waits_for_the_server_to_finish(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_core, "UNSURE_GRACE_SECONDS", 2.0)
    action = unique_action()
    transport = DropsAnswers(drops=1, error=httpx.ReadTimeout)
    with (
        Rampart(server.base_url, server.admin_key, transport=transport) as rampart,
        AuditAppender(rampart, flush_interval=0.05) as appender,
    ):
        for i in range(20):
            appender.append(event(i, action))
        deadline = time.monotonic() + 30
        while transport.drops and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert appender.pending == 20, "nothing looked up or resent within the grace period"
        appender.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == list(range(20))


def test_a_new_appender_replays_the_spool_once(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    with Rampart(DEAD_URL, "rk_x") as dead:
        first = AuditAppender(dead, spool_path=spool, flush_interval=0.05)
        for i in range(40):
            first.append(event(i, action))
        first.close(timeout=0.5)  # the server is unreachable: all 40 stay in the spool
    lines = spool.read_text().splitlines()
    assert len(lines) == 40
    # A process that died after its send reached the server but before the spool knew: the
    # first 10 are already in the log. Before sending, it saved the watermark (the log's size).
    with Rampart(server.base_url, server.admin_key) as rampart:
        size = rampart.request("GET", "/v1/health")["audit"]["tree_size"]
        state = tmp_path / "spool.state"
        state.write_text(json.dumps({**json.loads(state.read_text()), "watermark": size}))
        rampart.audit.append_batch([json.loads(line)["e"] for line in lines[:10]])
        with AuditAppender(rampart, spool_path=spool) as second:
            second.append(event(40, action))
            second.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == list(range(41))
    assert spool.stat().st_size == 0, "a drained spool is truncated"


def test_a_full_spool_refuses_new_events_and_keeps_the_rest(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    accepted = 0
    with Rampart(DEAD_URL, "rk_x") as dead:
        appender = AuditAppender(dead, spool_path=spool, max_spool_bytes=4096)
        with pytest.raises(SpoolFull, match="full"):
            for i in range(1000):
                appender.append(event(i, action))
                accepted += 1
                time.sleep(0.001)
        appender.close(timeout=0.2)
    assert 0 < accepted < 1000
    assert spool.stat().st_size <= 4096
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(rampart, spool_path=spool) as again,
    ):
        again.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == list(range(accepted))


def test_without_a_spool_the_memory_buffer_is_bounded_too() -> None:
    with Rampart(DEAD_URL, "rk_x") as dead, AuditAppender(dead, max_spool_bytes=2048) as appender:
        with pytest.raises(SpoolFull):
            for i in range(1000):
                appender.append(event(i, "py.nospool"))
        appender.close(timeout=0.1)


def test_refused_events_become_dead_letters_and_the_rest_lands(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    action = unique_action()
    letters: list[DeadLetter] = []
    canary = "canary-4111111111111111-secret"
    bad = event(5, action, details={"note": canary})
    bad["actor"]["nickname"] = canary  # valid here, refused by the server (unknown field)
    caplog.set_level(logging.INFO, logger="rampart.appender")
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(
            rampart, spool_path=tmp_path / "spool", on_dead_letter=letters.append
        ) as appender,
    ):
        for i in range(10):
            appender.append(bad if i == 5 else event(i, action))
        appender.flush(timeout=30)
        assert appender.dead_letters == 1
    assert logged(server.base_url, server.admin_key, action) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert [(d.position, d.action, d.status) for d in letters] == [(5, action, 422)]
    assert any("nickname" in e.field for e in letters[0].errors)
    dead = [json.loads(line) for line in (tmp_path / "spool.dead").read_text().splitlines()]
    assert dead[0]["event"]["actor"]["nickname"] == canary, "the dead-letter file keeps it"
    assert "position 5" in caplog.text and action in caplog.text
    assert canary not in caplog.text and canary not in repr(letters)


def test_one_appender_per_spool(tmp_path: Path) -> None:
    with Rampart(DEAD_URL, "rk_x") as dead:
        with AuditAppender(dead, spool_path=tmp_path / "spool"):
            with pytest.raises(RuntimeError, match="in use"):
                AuditAppender(dead, spool_path=tmp_path / "spool")
        with AuditAppender(dead, spool_path=tmp_path / "spool") as again:
            assert again.pending == 0
        with pytest.raises(ValueError, match="max_batch"):
            AuditAppender(dead, max_batch=10_001)


PROCESS = """
import sys
from rampart import AuditAppender, Rampart
url, key, spool, action, first, last = sys.argv[1:]
appender = AuditAppender(Rampart(url, key), spool_path=spool, flush_interval=0.05)
for i in range(int(first), int(last)):
    appender.append({"actor": {"type": "service", "id": f"a{i}"}, "action": action,
                     "resource": {"type": "test"}, "status": "success"})
# No flush, no close: the interpreter's exit does it.
"""


def run_process(*args: str) -> None:
    subprocess.run([sys.executable, "-c", PROCESS, *args], check=True, timeout=120)  # noqa: S603


def test_processes_flush_at_exit_and_replay_what_an_earlier_one_spooled(
    server: Server, tmp_path: Path
) -> None:
    action = unique_action()
    spool = str(tmp_path / "spool")
    run_process(DEAD_URL, "rk_x", spool, action, "0", "25")
    assert len(Path(spool).read_text().splitlines()) == 25, "spooled at exit"
    run_process(server.base_url, server.admin_key, spool, action, "25", "30")
    assert logged(server.base_url, server.admin_key, action) == list(range(30))
    assert Path(spool).stat().st_size == 0
