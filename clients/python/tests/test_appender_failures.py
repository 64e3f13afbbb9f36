"""The appender's failure paths against a real server: appends racing ``close``, a dead-letter
callback that uses the appender, 4xx answers that mean "not usable now" (not "invalid"), a
crash between a commit and its acknowledgement, the async appender in a second event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rampart import AsyncAuditAppender, AsyncRampart, AuditAppender, DeadLetter, Rampart

from .conftest import Server
from .test_appender import DEAD_URL, event, logged, unique_action


def test_appends_racing_close_are_logged_or_spooled(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    accepted: list[int] = []
    going = threading.Event()
    with Rampart(server.base_url, server.admin_key) as rampart:
        appender = AuditAppender(rampart, spool_path=spool, flush_interval=0.05)

        def write() -> None:
            i = 0
            while True:
                try:
                    appender.append(event(i, action))
                except RuntimeError:
                    return  # closed: this one was refused, not lost
                accepted.append(i)
                i += 1
                if i == 300:
                    going.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert going.wait(30)
        appender.close(timeout=30)
        writer.join(30)
        assert not writer.is_alive(), "appends after close must raise"
        with pytest.raises(RuntimeError, match="closed"):
            appender.append(event(-1, action))
        # What close could not send is in the spool: the next appender replays it.
        with AuditAppender(rampart, spool_path=spool) as again:
            again.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == accepted


def test_async_appends_racing_aclose_are_logged_or_spooled(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    accepted: list[int] = []

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            appender = AsyncAuditAppender(rampart, spool_path=spool, flush_interval=0.05)

            async def write() -> None:
                i = 0
                while True:
                    try:
                        appender.append(event(i, action))
                    except RuntimeError:
                        return
                    accepted.append(i)
                    i += 1
                    await asyncio.sleep(0)

            writer = asyncio.create_task(write())
            while len(accepted) < 300:
                await asyncio.sleep(0.01)
            await appender.aclose(timeout=30)
            await asyncio.wait_for(writer, 30)
            async with AsyncAuditAppender(rampart, spool_path=spool) as again:
                await again.flush(timeout=30)

    asyncio.run(run())
    assert logged(server.base_url, server.admin_key, action) == accepted


def test_the_dead_letter_callback_may_use_the_appender(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    action = unique_action()
    seen: list[tuple[int, int]] = []
    bad = event(1, action)
    bad["resource"]["colour"] = "red"  # refused by the server (unknown field)

    def on_dead_letter(letter: DeadLetter) -> None:
        seen.append((letter.position, appender.pending))
        appender.append(event(100 + letter.position, action))  # a follow-up event
        raise ValueError("a buggy callback")  # logged; the sender goes on

    with Rampart(server.base_url, server.admin_key) as rampart:
        appender = AuditAppender(
            rampart, spool_path=tmp_path / "spool", on_dead_letter=on_dead_letter
        )
        with appender:
            for item in (event(0, action), bad, event(2, action)):
                appender.append(item)
            appender.flush(timeout=15)  # deadlocked before: the callback ran under the lock
            appender.append(event(3, action))
            appender.flush(timeout=15)
            assert appender.dead_letters == 1
    assert [position for position, _ in seen] == [1]
    assert logged(server.base_url, server.admin_key, action) == [0, 2, 101, 3]
    assert "dead-letter callback failed" in caplog.text
    dead = tmp_path / "spool.dead"
    assert dead.stat().st_mode & 0o777 == 0o600, "dead letters hold whole events"


class AnswersFirst(httpx.HTTPTransport):
    """Answers the first ``count`` appends with ``status`` itself, then lets them through."""

    def __init__(self, count: int, status: int) -> None:
        super().__init__()
        self.count = count
        self.status = status

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/v1/audit/entries"):
            if self.count:
                self.count -= 1
                problem = {"type": "about:blank", "title": "Not here", "status": self.status}
                return httpx.Response(self.status, json=problem, request=request)
        return super().handle_request(request)


@pytest.mark.parametrize("status", [404, 408, 409, 423])
def test_a_4xx_that_is_not_about_the_event_backs_off_and_dead_letters_nothing(
    server: Server, tmp_path: Path, status: int
) -> None:
    action = unique_action()
    # Enough refusals for the old rule ("invalid: halve the batch until one event is left, then
    # dead-letter it") to dead-letter an event.
    transport = AnswersFirst(8, status)
    with (
        Rampart(server.base_url, server.admin_key, transport=transport) as rampart,
        AuditAppender(
            rampart, spool_path=tmp_path / "spool", flush_interval=0.02, max_retry_interval=0.1
        ) as appender,
    ):
        for i in range(20):
            appender.append(event(i, action))
        appender.flush(timeout=30)
        assert appender.dead_letters == 0
    assert transport.count == 0
    assert logged(server.base_url, server.admin_key, action) == list(range(20))
    assert not (tmp_path / "spool.dead").exists()


def test_a_wrong_base_path_spools_instead_of_dead_lettering(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    with Rampart(server.base_url + "/wrong/prefix", server.admin_key) as wrong:
        appender = AuditAppender(wrong, spool_path=spool, flush_interval=0.02)
        for i in range(10):
            appender.append(event(i, action))
        time.sleep(0.3)
        assert appender.dead_letters == 0
        appender.close(timeout=0.5)
    assert len(spool.read_text().splitlines()) == 10
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(rampart, spool_path=spool) as right,
    ):
        right.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == list(range(10))


CRASHES_AFTER_COMMIT = """
import sys, time, httpx
from rampart import AuditAppender, Rampart
url, key, spool, marker = sys.argv[1:]

class CommitsThenHangs(httpx.HTTPTransport):
    def handle_request(self, request):
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/audit/entries":
            response.read()
            open(marker, "w").close()  # the server committed; the answer never arrives
            time.sleep(3600)
        return response

AuditAppender(Rampart(url, key, transport=CommitsThenHangs()), spool_path=spool,
              flush_interval=0.05)
time.sleep(3600)
"""


def entries_of(server: Server, action: str) -> list[dict[str, Any]]:
    """The raw entries with ``action``, in log order."""
    with Rampart(server.base_url, server.admin_key) as rampart:
        page = rampart.request("GET", "/v1/audit/entries", params={"action": action})
    return list(page["items"])


def test_a_crash_between_commit_and_acknowledgement_repeats_nothing(
    server: Server, tmp_path: Path
) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    marker = tmp_path / "committed"
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        first = AuditAppender(dead, spool_path=spool)  # the server is down from the start
        for i in range(20):
            first.append(event(i, action))
        first.close(timeout=0.3)
    # A second process replays the spool: the server commits, then the process is killed
    # before it learns so.
    args = [server.base_url, server.admin_key, str(spool), str(marker)]
    process = subprocess.Popen([sys.executable, "-c", CRASHES_AFTER_COMMIT, *args])  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the replay never reached the server"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    committed = entries_of(server, action)
    assert [int(e["actor"]["id"][1:]) for e in committed] == list(range(20))
    # The watermark was saved before the send: the next process looks from there (not from the
    # log's start, nor from after the commit).
    watermark = json.loads((tmp_path / "spool.state").read_text())["watermark"]
    assert watermark is not None and watermark <= min(e["seq"] for e in committed)
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(rampart, spool_path=spool) as third,
    ):
        third.append(event(20, action))
        third.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == list(range(21))


def test_async_appender_survives_a_second_event_loop(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    rampart = AsyncRampart(server.base_url, server.admin_key)
    appender = AsyncAuditAppender(
        rampart, spool_path=tmp_path / "spool", flush_interval=0.02, max_retry_interval=0.1
    )

    async def first() -> None:
        for i in range(10):
            appender.append(event(i, action))
        await appender.flush(timeout=30)

    async def second() -> None:
        for i in range(10, 20):
            appender.append(event(i, action))
        await appender.flush(timeout=30)  # raised "has stopped" before
        await appender.aclose()
        await rampart.aclose()

    asyncio.run(first())
    asyncio.run(second())
    assert logged(server.base_url, server.admin_key, action) == list(range(20))


def test_closing_without_a_spool_counts_the_lost(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rampart.appender")
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        appender = AuditAppender(dead)
        for i in range(7):
            appender.append(event(i, "py.lost"))
        appender.close(timeout=0.2)
    assert "7 events unsent: 7 lost" in caplog.text


class CountsLookups(httpx.HTTPTransport):
    """Counts the appender's lookups (``GET /v1/audit/entries``)."""

    lookups = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/audit/entries":
            self.lookups += 1
        return super().handle_request(request)


@pytest.mark.parametrize("old_state", [False, True], ids=["v2-state", "pre-v2-state"])
def test_a_spool_never_sent_is_replayed_without_a_lookup(
    server: Server, tmp_path: Path, old_state: bool
) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        first = AuditAppender(dead, spool_path=spool)  # the server is down from the start
        for i in range(20):
            first.append(event(i, action))
        first.close(timeout=0.3)
    state = json.loads((tmp_path / "spool.state").read_text())
    assert state == {"acked": -1, "watermark": None, "v": 2}
    if old_state:  # written by an earlier version: a null watermark proves nothing
        (tmp_path / "spool.state").write_text(json.dumps({"acked": -1, "watermark": None}))
    transport = CountsLookups()
    with (
        Rampart(server.base_url, server.admin_key, transport=transport) as rampart,
        AuditAppender(rampart, spool_path=spool) as second,
    ):
        second.flush(timeout=30)
    assert (transport.lookups > 0) == old_state
    assert logged(server.base_url, server.admin_key, action) == list(range(20))
