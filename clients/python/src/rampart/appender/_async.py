# unasync: skip (hand-written: a task here, a thread in _sync.py)
"""``AsyncAuditAppender``: the buffered audit appender of the asynchronous client, an asyncio
task over the shared core (see the package's docstring for the design)."""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ..errors import ConnectionFailed, PermissionDenied, RampartError
from ._core import AppenderCore, Batch, DeadLetter, closing_report, log
from ._events import event_id_of
from ._sync import DEFAULT_MAX_SPOOL_BYTES

if TYPE_CHECKING:
    from .._async.client import AsyncRampart


class AsyncAuditAppender:
    """Appends audit events in batches from a task of the event loop, started by the first
    ``append`` or ``flush`` made inside a running loop (so it can be made at import time, e.g.
    for ``RampartMiddleware``). ``append`` only queues: a plain call, never awaiting the
    network (it writes the spool file while the server is unreachable). ``await flush()`` waits
    until everything appended so far is in the log; ``await aclose()`` flushes and stops.
    Spool, replay, exactly-once and dead letters as ``AuditAppender``. At interpreter exit
    without ``aclose`` the loop is gone: what is still in memory is written to the spool (when
    there is one) for the next appender. Used from a second event loop (another
    ``asyncio.run``) once the first one's task has ended, it starts a new task there. The spool
    is written at once and fsynced by a thread, never on the loop (``spool_sync_interval``).
    """

    def __init__(
        self,
        client: AsyncRampart,
        *,
        spool_path: str | Path | None = None,
        max_batch: int = 1000,
        flush_interval: float = 0.2,
        max_spool_bytes: int = DEFAULT_MAX_SPOOL_BYTES,
        max_retry_interval: float = 5.0,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
        spool_sync_interval: float = 0.05,
    ) -> None:
        self._client = client
        self._core = AppenderCore(
            spool_path, max_batch, max_spool_bytes, on_dead_letter, spool_sync_interval
        )
        self._interval = flush_interval
        self._max_retry = max(max_retry_interval, flush_interval)
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._closing = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        atexit.register(self._at_exit)

    def __repr__(self) -> str:
        return f"AsyncAuditAppender(pending={self._core.pending()})"

    def append(self, event: Mapping[str, Any]) -> None:
        """Queues one event (a copy). Raises ``InvalidEvent`` or ``SpoolFull`` as
        ``AuditAppender.append`` (``RuntimeError`` once ``aclose`` has started); never waits
        for the network."""
        full = self._core.add(event)
        self._start()
        if full:
            self._wake.set()

    def _start(self) -> asyncio.Task[None] | None:
        """The sending task, started in the running loop if there is none yet, or if the
        last one ended or belongs to a loop that is closed or no longer running."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._task
        task = self._task
        if task is not None and not task.done():
            other = task.get_loop()
            if other is loop or (other.is_running() and not other.is_closed()):
                return task
        if self._closing:
            return task
        # Events bind to the loop that first waits on them: new ones for the new task.
        self._wake, self._settled = asyncio.Event(), asyncio.Event()
        self._task = loop.create_task(self._run())
        return self._task

    async def flush(self, timeout: float | None = None) -> None:
        """Waits until every event appended so far is in the log (or dead-lettered); raises
        ``TimeoutError`` after ``timeout`` seconds (the events stay queued). Either way the
        spool is fsynced when it returns."""
        try:
            await self._wait_for(self._core.appended, timeout)
        finally:
            if self._core.unsynced:  # off the loop: an fsync may take milliseconds
                await asyncio.to_thread(self._core.sync)

    async def _wait_for(self, target: int, timeout: float | None) -> None:
        task = self._start()
        self._wake.set()
        async with asyncio.timeout(timeout):
            while self._core.settled < target:
                if task is None or task.done():
                    raise RuntimeError("the audit appender has stopped")
                self._settled.clear()
                try:
                    await asyncio.wait_for(self._settled.wait(), 0.5)
                except TimeoutError:
                    pass

    async def aclose(self, timeout: float | None = 30.0) -> None:
        """Refuses new appends (``RuntimeError``), flushes everything accepted (waiting at most
        ``timeout`` seconds) and stops. What is not in the log by then is written to the spool
        for the next appender (without a spool it is lost); either way the count is logged."""
        if self._closed:
            return
        self._closed = True
        target = self._core.stop_appends()
        try:
            await self._wait_for(target, timeout)
        except (TimeoutError, RuntimeError):
            pass
        finally:
            self._closing = True
            self._wake.set()
            task = self._task
            if task is not None and task.get_loop() is asyncio.get_running_loop():
                try:
                    await asyncio.wait_for(task, 5)
                except (TimeoutError, asyncio.CancelledError):
                    pass
            closing_report(*await asyncio.to_thread(self._core.spill))
            self._core.close()
            atexit.unregister(self._at_exit)

    @property
    def pending(self) -> int:
        """How many events are not yet in the log."""
        return self._core.pending()

    @property
    def dead_letters(self) -> int:
        """How many events the server refused as invalid."""
        return self._core.dead_letters

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _at_exit(self) -> None:
        if not self._closed:
            self._core.stop_appends()
            closing_report(*self._core.spill())

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            delay = self._interval * (2**failures) if failures else self._interval
            try:
                await asyncio.wait_for(self._wake.wait(), min(delay, self._max_retry))
            except TimeoutError:
                pass
            self._wake.clear()
            if self._closing:
                return
            while True:
                try:
                    outcome = await self._step()
                except Exception:  # a bug must not end the task: the events stay queued
                    log.exception("audit appender: unexpected failure")
                    outcome = "retry"
                self._settled.set()
                if outcome == "retry":
                    failures = min(failures + 1, 16)
                    break
                failures = 0
                if outcome == "idle" or self._closing:
                    break

    async def _step(self) -> str:
        batch = self._core.next_batch()
        if batch is None:
            return "idle"
        try:
            if self._core.watermark is None:
                self._core.set_watermark(await self._client.request("GET", "/v1/health"))
            if batch.lookup:
                self._core.resolve(batch, await self._lookup(batch))
            events = batch.events()
            answer = None
            if events:
                answer = await self._client.request(
                    "POST", "/v1/audit/entries", json={"events": events}
                )
        except RampartError as e:
            return "retry" if self._core.failed(batch, e) else "sent"
        except Exception as e:  # e.g. the HTTP stack failing after sending: outcome unknown
            log.exception("audit appender: unexpected failure while sending")
            self._core.failed(batch, ConnectionFailed(0, "unexpected failure", type(e).__name__))
            return "retry"
        self._core.complete(batch, answer)
        return "sent"

    async def _lookup(self, batch: Batch) -> set[str]:
        found: set[str] = set()
        params: dict[str, Any] = {"from_seq": batch.from_seq, "limit": 1000}
        try:
            while True:
                page = await self._client.request("GET", "/v1/audit/entries", params=params)
                found.update(i for e in page["items"] if (i := event_id_of(e)) in batch.wanted)
                if found >= batch.wanted or not page.get("next_cursor"):
                    return found
                params["cursor"] = page["next_cursor"]
        except PermissionDenied:
            log.warning("audit appender: no audit:read to look for unsure events: resending")
            return found
