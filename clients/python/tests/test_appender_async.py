"""The async appender (a task): order, a server stopped and restarted while events keep coming,
a lost answer, the spool replayed by a new appender, dead letters."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from rampart import AsyncAuditAppender, AsyncRampart, DeadLetter, InvalidEvent, SpoolFull

from .conftest import RestartableServer, Server
from .test_appender import DEAD_URL, event, logged, unique_action


def test_async_events_arrive_in_order(server: Server, tmp_path: Path) -> None:
    action = unique_action()

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            async with AsyncAuditAppender(rampart, spool_path=tmp_path / "s", max_batch=50) as ap:
                for i in range(220):
                    ap.append(event(i, action))
                with pytest.raises(InvalidEvent):
                    ap.append({"action": action})
                await ap.flush(timeout=30)
                assert ap.pending == 0

    asyncio.run(run())
    assert logged(server.base_url, server.admin_key, action) == list(range(220))


def test_async_server_restart_loses_and_repeats_nothing(
    restartable: RestartableServer, tmp_path: Path
) -> None:
    action = unique_action()
    sent: list[int] = []

    async def run() -> None:
        async with AsyncRampart(restartable.base_url, restartable.admin_key, timeout=5) as rampart:
            appender = AsyncAuditAppender(rampart, spool_path=tmp_path / "s", flush_interval=0.05)
            loop = asyncio.get_running_loop()
            i = 0

            async def append_for(seconds: float) -> None:
                nonlocal i
                end = loop.time() + seconds
                while loop.time() < end:
                    appender.append(event(i, action))
                    sent.append(i)
                    i += 1
                    await asyncio.sleep(0.002)

            await append_for(0.5)
            await asyncio.to_thread(restartable.stop)
            await append_for(1.0)
            assert (tmp_path / "s").stat().st_size > 0, "spooled while the server was down"
            await asyncio.to_thread(restartable.start)
            await append_for(0.5)
            await appender.aclose(timeout=60)

    asyncio.run(run())
    assert len(sent) > 100
    assert logged(restartable.base_url, restartable.admin_key, action) == sent


class DropsAnswers(httpx.AsyncHTTPTransport):
    """Loses the answers to the first ``drops`` appends, after the server wrote them."""

    def __init__(self, drops: int) -> None:
        super().__init__()
        self.drops = drops

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "POST" and request.url.path == "/v1/audit/entries" and self.drops:
            await response.aread()
            self.drops -= 1
            raise httpx.ReadError("connection lost after sending", request=request)
        return response


def test_async_lost_answers_and_dead_letters(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    letters: list[DeadLetter] = []
    transport = DropsAnswers(drops=1)

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key, transport=transport) as rampart:
            async with AsyncAuditAppender(
                rampart, spool_path=tmp_path / "s", on_dead_letter=letters.append
            ) as appender:
                for i in range(30):
                    appender.append(event(i, action))
                await appender.flush(timeout=30)
                bad = event(30, action)
                bad["resource"]["colour"] = "red"
                appender.append(bad)
                appender.append(event(31, action))
                await appender.flush(timeout=30)

    asyncio.run(run())
    assert transport.drops == 0
    assert logged(server.base_url, server.admin_key, action) == [*range(30), 31]
    assert [(d.position, d.status) for d in letters] == [(30, 422)]


def test_async_spool_full_then_replayed(server: Server, tmp_path: Path) -> None:
    action = unique_action()
    spool = tmp_path / "s"
    accepted = 0

    async def fill() -> None:
        nonlocal accepted
        async with AsyncRampart(DEAD_URL, "rk_x") as dead:
            appender = AsyncAuditAppender(dead, spool_path=spool, max_spool_bytes=4096)
            with pytest.raises(SpoolFull):
                for i in range(1000):
                    appender.append(event(i, action))
                    accepted += 1
                    await asyncio.sleep(0.001)
            await appender.aclose(timeout=0.2)

    async def replay() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            async with AsyncAuditAppender(rampart, spool_path=spool) as appender:
                await appender.flush(timeout=30)

    asyncio.run(fill())
    assert 0 < accepted < 1000
    assert all(json.loads(line)["e"]["action"] == action for line in spool.read_text().splitlines())
    asyncio.run(replay())
    assert logged(server.base_url, server.admin_key, action) == list(range(accepted))
