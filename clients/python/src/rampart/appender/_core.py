"""The appender's sans-IO core, shared by the thread (``AuditAppender``) and the task
(``AsyncAuditAppender``): the queue, batching, the spool, the dedup
lookup's bookkeeping and what each failure means. It never touches the network: the drivers
send what ``next_batch`` gives and report the outcome.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ..errors import ConnectionFailed, FieldError, RampartError, RateLimited, ServerError
from ._events import stamp, validate
from ._spool import Record, Spool, SpoolFull

log = logging.getLogger("rampart.appender")

#: Failures after which the request surely never reached the server.
_NOT_SENT = frozenset({"ConnectError", "ConnectTimeout"})
#: Failures after which the server may still be working on the request.
_STILL_RUNNING = frozenset({"ReadTimeout", "WriteTimeout"})
#: How long to wait, after such a failure, before looking for its events: longer than the
#: server's request timeout (30 s by default), after which a request has committed or never will.
UNSURE_GRACE_SECONDS = 35.0
#: The answers meaning "this batch is invalid" (dead letters); any other failure means "the
#: server is not usable right now" (a wrong base URL's 404, 401/403, 408, 409, 423, 429, 5xx):
#: back off and spool.
INVALID_STATUSES = frozenset({400, 413, 415, 422})
_EVENT_INDEX = re.compile(r"^events\[(\d+)\]")


def closing_report(unsent: int, lost: int) -> None:
    """Logs what a closing appender could not send: kept in the spool, or lost."""
    if lost:
        log.error(
            "audit appender closed with %d events unsent: %d lost (no spool file, or it is full)",
            unsent,
            lost,
        )
    elif unsent:
        log.warning(
            "audit appender closed with %d events unsent: kept in the spool for the next appender",
            unsent,
        )


@dataclass(frozen=True)
class DeadLetter:
    """An event the server refused as invalid: its position (the n-th event of this spool), its
    client event id, its action, the status and the field errors. Never the event's content:
    the dead-letter file next to the spool keeps that."""

    position: int
    event_id: str | None
    action: str
    status: int
    errors: tuple[FieldError, ...]


@dataclass
class Batch:
    """The head of the queue, to send next: ``lookup`` when some of it may already be in the
    log (look for its ids from tree size ``from_seq`` first)."""

    records: list[Record]
    payload: list[dict[str, Any]]
    lookup: bool
    from_seq: int
    wanted: set[str]

    def events(self) -> list[dict[str, Any]]:
        """The events still to send."""
        return [e for r, e in zip(self.records, self.payload, strict=True) if not r.done]


class AppenderCore:
    """The queue of events not yet in the log, in order: spooled ones first (a prefix), then
    the ones only in memory. Thread-safe (one lock); the drivers send one batch at a time."""

    def __init__(
        self,
        spool_path: str | Path | None,
        max_batch: int,
        max_spool_bytes: int,
        on_dead_letter: Callable[[DeadLetter], None] | None,
        spool_sync_interval: float = 0.05,
    ) -> None:
        if not 1 <= max_batch <= 10_000:
            raise ValueError("max_batch: 1 to 10,000 (the API's largest batch)")
        if max_spool_bytes < 1024:
            raise ValueError("max_spool_bytes: at least 1024")
        if not 0 <= spool_sync_interval <= 60:
            raise ValueError("spool_sync_interval: 0 to 60 seconds")
        self.lock = threading.Lock()
        self.max_batch = max_batch
        self.max_bytes = max_spool_bytes
        self._limit = max_batch
        self._on_dead_letter = on_dead_letter
        self._spool = (
            Spool(spool_path, max_spool_bytes, spool_sync_interval)
            if spool_path is not None
            else None
        )
        loaded = self._spool.load() if self._spool else []
        self._queue: deque[Record] = deque(loaded)
        start = self._spool.acked + 1 if self._spool else 0
        self._next = max([start] + [r.position + 1 for r in loaded])
        self._memory_bytes = 0
        self.watermark: int | None = self._spool.watermark if self._spool else None
        self.offline = False
        self.dead_letters = 0
        #: Set (under the lock) when closing starts: later appends raise.
        self.closed = False
        self._not_before = 0.0
        if loaded:
            log.info("audit appender: replaying %d spooled events", len(loaded))

    # -- the caller's side --------------------------------------------------------------------

    def add(self, event: Mapping[str, Any]) -> bool:
        """Queues an event (spooled when the server is unreachable); True when a full batch
        waits. Raises ``InvalidEvent`` or ``SpoolFull``, having queued nothing."""
        copy_, size = validate(event)
        event_id = stamp(copy_)
        size += 128  # the id, the spool line's framing
        with self.lock:
            if self.closed:
                raise RuntimeError("the audit appender is closed")
            record = Record(self._next, event_id, copy_, size, sys.intern(copy_["action"]))
            spooling = self.offline or (self._queue and self._queue[-1].end > 0)
            if self._memory_bytes + size > self.max_bytes:
                spooling = True
            if spooling:
                self._spill([record])
            else:
                self._memory_bytes += size
            self._queue.append(record)
            self._next += 1
            return len(self._queue) >= self._limit

    def _spill(self, extra: list[Record]) -> None:
        """Moves the in-memory tail, then ``extra``, to the spool (under the lock)."""
        memory = [r for r in self._queue if r.end == 0 and not r.done]
        if self._spool is None:
            if self._memory_bytes + sum(r.size for r in extra) > self.max_bytes:
                raise SpoolFull(
                    f"audit appender buffer is full ({self._memory_bytes} bytes, no spool file) "
                    "while the server is unreachable: the event was not accepted"
                )
            self._memory_bytes += sum(r.size for r in extra)
            return
        # The watermark first: spooled events next to a null one are taken as never sent.
        self._spool.watermark = self.watermark
        self._spool.save_state()
        in_memory = sum(r.size for r in memory)
        self._spool.write(memory + extra)
        self._memory_bytes -= in_memory

    def spill(self) -> tuple[int, int]:
        """Spools what is only in memory (closing, interpreter exit) and fsyncs the spool;
        returns how many events are unsent and how many of them could not be kept (no spool
        file, or it is full)."""
        with self.lock:
            unsent = sum(1 for r in self._queue if not r.done)
            memory = [r for r in self._queue if r.end == 0 and not r.done]
            lost = 0
            if memory:
                try:
                    self._spill([])
                    lost = 0 if self._spool else len(memory)
                except SpoolFull:
                    lost = len(memory)
        self.sync()
        return unsent, lost

    def stop_appends(self) -> int:
        """Closing: every later ``add`` raises. Returns the position of the next event: every
        event before it was accepted."""
        with self.lock:
            self.closed = True
            return self._next

    @property
    def unsynced(self) -> bool:
        """Whether the spool has writes not fsynced yet."""
        return self._spool is not None and self._spool.unsynced

    def sync(self) -> None:
        """Fsyncs the spool now (the syncer does it within ``spool_sync_interval``)."""
        if self._spool is not None:
            self._spool.sync()

    @property
    def appended(self) -> int:
        """The position the next event will get."""
        with self.lock:
            return self._next

    @property
    def settled(self) -> int:
        """Every event before this position is in the log (or dead-lettered)."""
        with self.lock:
            return self._queue[0].position if self._queue else self._next

    def pending(self) -> int:
        """How many events are not yet in the log."""
        with self.lock:
            return len(self._queue)

    # -- the driver's side --------------------------------------------------------------------

    def next_batch(self) -> Batch | None:
        """The next batch to send, from the head of the queue (``None``: nothing to send)."""
        with self.lock:
            if not self._queue or time.monotonic() < self._not_before:
                return None
            records = list(islice(self._queue, self._limit))
            spool = self._spool
            payload = [spool.read(r) if spool else r.event or {} for r in records]
            lookup = any(r.maybe_sent and not r.done for r in records)
            # Every id whose send is unknown, in the whole queue: one scan settles them all (a
            # batch cut in two after a refusal must not be looked up from a later watermark).
            wanted = {r.event_id for r in self._queue if r.maybe_sent and r.event_id}
            if lookup:
                log.info(
                    "audit appender: looking for %d unsure events from seq %d",
                    len(wanted),
                    self.watermark or 0,
                )
            return Batch(records, payload, lookup, self.watermark or 0, wanted)

    def set_watermark(self, health: Any) -> None:
        """Takes the tree size from ``GET /v1/health``: every entry sent after has a higher seq."""
        size = int(health["audit"]["tree_size"])
        with self.lock:
            self.watermark = size if self.watermark is None else min(self.watermark, size)
            # Spooled events may be sent from now on: a crash between their commit and its
            # acknowledgement must find this watermark in the state file, or the next process
            # would look for them too late and send them again.
            if self._spool is not None and self._spool.live_bytes:
                self._spool.watermark = self.watermark
                self._spool.save_state()

    def resolve(self, batch: Batch, found: set[str]) -> None:
        """The lookup's outcome (it covered the log from ``batch.from_seq`` to now): events whose
        ids are in the log are settled; the others surely are not there and are sent (again)."""
        with self.lock:
            for record in self._queue:
                if not record.maybe_sent:
                    continue
                if record.event_id in found:
                    record.done = True
                elif record.maybe_sent and record.event_id is None:
                    log.warning(
                        "audit appender: event at position %d (action %s) has no place for an "
                        "event id and its earlier send is unknown: it is sent again",
                        record.position,
                        record.action,
                    )
                record.maybe_sent = False

    def complete(self, batch: Batch, answer: Any) -> None:
        """The batch is in the log (``answer``: the append's; ``None`` when nothing was left to
        send after the lookup)."""
        with self.lock:
            for record in batch.records:
                record.done = True
            if answer is not None:
                self.watermark = int(answer["tree_size"])
            if self.offline:
                log.warning("audit appender: server reachable again")
            self.offline = False
            self._limit = self.max_batch
            self._settle()

    def failed(self, batch: Batch, error: RampartError) -> bool:
        """A failed send: returns True when the driver should back off (the server is
        unreachable or not usable now: anything but an invalid batch), False when the batch was
        refused as invalid (400, 413, 415, 422) and the rest can go at once. The dead-letter
        callback runs here, after the lock is released (it may call ``append``)."""
        letters: list[DeadLetter] = []
        with self.lock:
            if isinstance(error, ConnectionFailed | ServerError) or error.status == 408:
                if error.detail not in _NOT_SENT:
                    for record in batch.records:
                        record.maybe_sent = record.maybe_sent or not record.done
                if isinstance(error, ConnectionFailed) and error.detail in _STILL_RUNNING:
                    self._not_before = time.monotonic() + UNSURE_GRACE_SECONDS
            backoff = isinstance(error, ConnectionFailed | RateLimited | ServerError) or (
                error.status not in INVALID_STATUSES
            )
            if backoff:
                if not self.offline:
                    log.warning(
                        "audit appender: cannot append (%s %s): spooling",
                        error.status or "no answer:",
                        error.detail if isinstance(error, ConnectionFailed) else error.title,
                    )
                self.offline = True
                try:
                    self._spill([])
                except SpoolFull:
                    log.error("audit appender: spool full; new events are refused")
            else:
                letters = self._reject(batch, error)
        if self._on_dead_letter is not None:
            for letter in letters:
                try:
                    self._on_dead_letter(letter)
                except Exception:
                    log.exception("audit appender: the dead-letter callback failed")
        return backoff

    def _reject(self, batch: Batch, error: RampartError) -> list[DeadLetter]:
        """Dead-letters the events an invalid batch's errors name (under the lock)."""
        live = [(r, e) for r, e in zip(batch.records, batch.payload, strict=True) if not r.done]
        named = {int(m.group(1)) for e in error.errors if (m := _EVENT_INDEX.match(e.field))}
        bad = [live[i] for i in sorted(named) if i < len(live)]
        if not bad and len(live) == 1:
            bad = live
        if not bad:
            self._limit = max(1, len(live) // 2)
            return []
        letters = []
        for record, event in bad:
            own = tuple(e for e in error.errors if _EVENT_INDEX.match(e.field)) or error.errors
            letter = DeadLetter(record.position, record.event_id, record.action, error.status, own)
            letters.append(letter)
            if self._spool is not None:
                self._spool.dead_letter(
                    record,
                    event,
                    {"status": error.status, "detail": error.detail, "title": error.title},
                )
            record.done = True
            self.dead_letters += 1
            log.error(
                "audit appender: event at position %d (action %s) refused with %d: dead-lettered",
                record.position,
                letter.action,
                error.status,
            )
        self._settle()
        return letters

    def _settle(self) -> None:
        """Drops the settled head of the queue and acknowledges it in the spool."""
        last: Record | None = None
        while self._queue and self._queue[0].done:
            record = self._queue.popleft()
            if record.end == 0:
                self._memory_bytes -= record.size
            else:
                last = record
        if self._spool is not None and last is not None:
            shift = self._spool.ack(last.end, last.position, self.watermark)
            if shift:
                for record in self._queue:
                    if record.end:
                        record.end -= shift

    def close(self) -> None:
        """Fsyncs and closes the spool file."""
        with self.lock:
            if self._spool is not None:
                self._spool.close()
