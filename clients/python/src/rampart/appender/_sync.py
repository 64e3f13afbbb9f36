# unasync: skip (hand-written: a thread here, a task in _async.py)
"""``AuditAppender``: the buffered audit appender of the synchronous client, a background
thread over the shared core (see the package's docstring for the design)."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ..errors import ConnectionFailed, PermissionDenied, RampartError
from ._core import AppenderCore, Batch, DeadLetter, closing_report, log
from ._events import event_id_of

if TYPE_CHECKING:
    from .._sync.client import Rampart

DEFAULT_MAX_SPOOL_BYTES = 64 * 1024 * 1024


class AuditAppender:
    """Appends audit events in batches from a background thread: ``append`` only queues (it
    never waits for the network), ``flush`` waits until everything appended so far is in the
    log, ``close`` flushes and stops (also at interpreter exit). While the server is unreachable
    events go to the spool file ``spool_path`` (fsynced, at most ``max_spool_bytes``), replayed
    in order once it is back or by the next appender with the same path; each event reaches the
    log once. Events the server refuses as invalid go to ``<spool>.dead`` and to
    ``on_dead_letter`` (with neither, they are logged by action and position only).
    Durability of a spooled event: on disk (fsynced) within ``spool_sync_interval`` seconds of
    its ``append``, and when ``flush`` or ``close`` returns (or raises).
    """

    def __init__(
        self,
        client: Rampart,
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
        self._wake = threading.Condition()
        self._settled = threading.Condition()
        self._urgent = False
        self._closing = False
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rampart-audit-appender")
        self._thread.daemon = True
        self._thread.start()
        atexit.register(self._at_exit)

    def __repr__(self) -> str:
        return f"AuditAppender(pending={self._core.pending()})"

    def append(self, event: Mapping[str, Any]) -> None:
        """Queues one event (a copy: later changes to ``event`` do not reach the log). Raises
        ``InvalidEvent`` for an event missing a required field and ``SpoolFull`` when the
        server is unreachable and the spool is full, ``RuntimeError`` once ``close`` has
        started; never waits for the network."""
        if self._core.add(event):
            with self._wake:
                self._wake.notify()

    def flush(self, timeout: float | None = None) -> None:
        """Waits until every event appended so far is in the log (or dead-lettered); raises
        ``TimeoutError`` after ``timeout`` seconds (the events stay queued). Either way the
        spool is fsynced when it returns."""
        self._flush(self._core.appended, timeout, give_up_offline=False)

    def _flush(self, target: int, timeout: float | None, *, give_up_offline: bool) -> None:
        try:
            self._wait_for(target, timeout, give_up_offline=give_up_offline)
        finally:
            self._core.sync()

    def _wait_for(self, target: int, timeout: float | None, *, give_up_offline: bool) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            self._urgent = True
            self._wake.notify()
        with self._settled:
            while self._core.settled < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"{self._core.pending()} audit events are not yet written")
                if not self._thread.is_alive():
                    raise RuntimeError("the audit appender has stopped")
                if give_up_offline and self._core.offline:
                    raise TimeoutError("the server is unreachable")
                self._settled.wait(0.5 if left is None else min(left, 0.5))

    def close(self, timeout: float | None = 30.0) -> None:
        """Refuses new appends (``RuntimeError``), flushes everything accepted (waiting at most
        ``timeout`` seconds) and stops. What is not in the log by then is written to the spool
        for the next appender (without a spool it is lost); either way the count is logged."""
        self._close(timeout, give_up_offline=False)

    def _close(self, timeout: float | None, *, give_up_offline: bool) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        target = self._core.stop_appends()
        try:
            self._flush(target, timeout, give_up_offline=give_up_offline)
        except (TimeoutError, RuntimeError):
            pass
        finally:
            with self._wake:
                self._closing = True
                self._wake.notify()
            self._thread.join(timeout=5)
            closing_report(*self._core.spill())
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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _at_exit(self) -> None:
        # Up to 10 s to reach the server, less once it is known to be unreachable: the spool
        # keeps the events for the next appender.
        self._close(10.0, give_up_offline=True)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._wake:
                if not self._urgent and not self._closing:
                    delay = self._interval * (2**failures) if failures else self._interval
                    self._wake.wait(min(delay, self._max_retry))
                self._urgent = False
                if self._closing:
                    return
            while True:
                try:
                    outcome = self._step()
                except Exception:  # a bug must not kill the thread: the events stay queued
                    log.exception("audit appender: unexpected failure")
                    outcome = "retry"
                with self._settled:
                    self._settled.notify_all()
                if outcome == "retry":
                    failures = min(failures + 1, 16)
                    break
                failures = 0
                if outcome == "idle" or self._closing:
                    break

    def _step(self) -> str:
        batch = self._core.next_batch()
        if batch is None:
            return "idle"
        try:
            if self._core.watermark is None:
                self._core.set_watermark(self._client.request("GET", "/v1/health"))
            if batch.lookup:
                self._core.resolve(batch, self._lookup(batch))
            events = batch.events()
            answer = None
            if events:
                answer = self._client.request("POST", "/v1/audit/entries", json={"events": events})
        except RampartError as e:
            return "retry" if self._core.failed(batch, e) else "sent"
        except Exception as e:  # e.g. the HTTP stack failing after sending: outcome unknown
            log.exception("audit appender: unexpected failure while sending")
            self._core.failed(batch, ConnectionFailed(0, "unexpected failure", type(e).__name__))
            return "retry"
        self._core.complete(batch, answer)
        return "sent"

    def _lookup(self, batch: Batch) -> set[str]:
        found: set[str] = set()
        params: dict[str, Any] = {"from_seq": batch.from_seq, "limit": 1000}
        try:
            while True:
                page = self._client.request("GET", "/v1/audit/entries", params=params)
                found.update(i for e in page["items"] if (i := event_id_of(e)) in batch.wanted)
                if found >= batch.wanted or not page.get("next_cursor"):
                    return found
                params["cursor"] = page["next_cursor"]
        except PermissionDenied:
            log.warning("audit appender: no audit:read to look for unsure events: resending")
            return found
