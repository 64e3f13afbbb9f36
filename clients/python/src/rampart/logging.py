"""Log redaction through the server's redact API: nothing reaches the output in clear.

* ``RedactingHandler(target, client)`` wraps a ``logging.Handler``: ``emit`` only queues the
  record (snapshotting its message, exception and stack text and its extra attributes); a
  background thread redacts up to ``max_batch`` records in one ``POST /v1/redact`` call
  (``privacy.redact_many``) every ``flush_interval`` seconds, then hands them to ``target``.
* ``RedactingFilter(client).install(handler)``: the same as a ``logging.Filter``. A
  filter decides synchronously and cannot batch, so it answers "no" to a record it has not seen,
  queues it, and the thread passes it again through what it is installed on (``handle``), marked
  redacted, after which the filter lets it through. Prefer the handler: it needs no ``install``.
* ``RedactingProcessor(client)``, a ``structlog`` processor: without ``sink`` it redacts each
  event dict in one call (a processor returns its answer at once: no batching there); with
  ``sink`` (the rest of the output, e.g. ``lambda ed: print(renderer(None, "", ed))``) it
  queues the event, drops it from the chain (``structlog.DropEvent``) and hands the redacted
  event dicts to ``sink`` in batches. Or route structlog through the standard library
  (``structlog.stdlib.LoggerFactory``) to a ``RedactingHandler``.

Never in clear: while the server is unreachable (connection failure, 5xx, 429) records are held,
at most ``max_pending`` of them and ``max_hold`` seconds each, and retried; past either bound,
or when the server refuses the call (403, 422, ...), a record is replaced whole by ``PLACEHOLDER``
(message, exception, stack and extra attributes), never emitted as it was. ``emit`` never waits
for the network. Records the transport logs (``httpx``/``httpcore``) from the redaction thread
are about its own calls: they are dropped, or each call would log a record to redact.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ConnectionFailed, RampartError, RateLimited, ServerError

if TYPE_CHECKING:
    from ._sync.client import Rampart

PLACEHOLDER = "[REDACTED: redaction unavailable]"
_log = logging.getLogger("rampart.logging")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_MARK = "_rampart_redacted"
#: The value of ``_MARK`` on a record this module redacted: an object no caller can pass in
#: ``extra`` (``extra={"_rampart_redacted": True}`` is just another attribute to redact).
_REDACTED = object()
_OWN = ("httpx", "httpcore", "rampart.logging")
T = TypeVar("T")


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


class _Batcher(Generic[T]):
    """The redaction thread: queues items with their snapshot (a JSON document), redacts them
    in batches, hands them to ``sink`` redacted, or blanked when that cannot be done."""

    def __init__(
        self,
        client: Rampart,
        sink: Callable[[T], object],
        apply: Callable[[T, Any], None],
        blank: Callable[[T], None],
        *,
        max_batch: int,
        flush_interval: float,
        max_pending: int,
        max_hold: float,
    ) -> None:
        if max_batch < 1 or max_pending < max_batch:
            raise ValueError("max_batch: at least 1, and max_pending at least max_batch")
        self._client, self._sink, self._apply, self._blank = client, sink, apply, blank
        self._max_batch, self._interval = max_batch, flush_interval
        self._max_pending, self._max_hold = max_pending, max_hold
        self._queue: deque[tuple[float, T, Any]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="rampart-log-redaction")
        self._thread.daemon = True
        self._thread.start()
        # At exit, held records are redacted (or blanked) and emitted, not dropped.
        atexit.register(self.close, 2.0)

    @property
    def thread_id(self) -> int | None:
        """The redaction thread's id."""
        return self._thread.ident

    def put(self, item: T, snapshot: Any) -> None:
        """Queues ``item``; when the queue is full it goes out blanked at once."""
        with self._cond:
            if len(self._queue) < self._max_pending and not self._closing:
                self._queue.append((time.monotonic(), item, snapshot))
                if len(self._queue) >= self._max_batch:
                    self._cond.notify_all()
                return
        self._blank(item)
        self._sink(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until the queue is empty; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.1 if left is None else min(left, 0.1))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Redacts what is queued (at most ``timeout`` seconds), blanks the rest, stops."""
        atexit.unregister(self.close)
        if self._closing:
            return
        self.flush(timeout)
        with self._cond:
            self._closing = True
            left = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        for _, item, _ in left:
            self._blank(item)
            self._sink(item)
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                if not self._closing and len(self._queue) < self._max_batch:
                    self._cond.wait(min(self._interval * 2**failures, 2.0))
                if self._closing:
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))
                ]
                self._busy = bool(batch)
            if not batch:
                continue
            try:
                held = self._redact(batch)
            except Exception:  # never a record in clear, whatever failed
                _log.exception("log redaction failed: records replaced by the placeholder")
                held = []
                for _, item, _ in batch:
                    self._blank(item)
                    self._sink(item)
            failures = min(failures + 1, 5) if held else 0
            with self._cond:
                self._queue.extendleft(reversed(held))
                self._busy = False
                self._cond.notify_all()

    def _redact(self, batch: list[tuple[float, T, Any]]) -> list[tuple[float, T, Any]]:
        try:
            results = self._client.privacy.redact_many([s for _, _, s in batch])
        except (ConnectionFailed, ServerError, RateLimited):
            now = time.monotonic()
            expired = [b for b in batch if now - b[0] >= self._max_hold]
            for _, item, _ in expired:
                self._blank(item)
                self._sink(item)
            return [b for b in batch if now - b[0] < self._max_hold]
        except RampartError as e:
            _log.error("log redaction refused (%d): records replaced by the placeholder", e.status)
            results = None
        for i, (_, item, _) in enumerate(batch):
            if results is None:
                self._blank(item)
            else:
                self._apply(item, results[i].document)
            self._sink(item)
        return []


def _snapshot(record: logging.LogRecord) -> dict[str, Any]:
    try:
        message = record.getMessage()
    except Exception:  # a bad format: redact what there is
        message = f"{record.msg!s} {record.args!r}"
    exc = record.exc_text
    if record.exc_info and not exc:
        exc = logging.Formatter().formatException(record.exc_info)
    extra = {k: _jsonable(v) for k, v in record.__dict__.items() if k not in _STANDARD}
    return {"m": message, "x": exc, "s": record.stack_info, "e": extra}


def _apply(record: logging.LogRecord, redacted: Any) -> None:
    record.msg, record.args, record.exc_info = redacted["m"], None, None
    record.exc_text, record.stack_info = redacted["x"], redacted["s"]
    for key, value in redacted["e"].items():
        setattr(record, key, value)
    setattr(record, _MARK, _REDACTED)


def _blank(record: logging.LogRecord) -> None:
    record.msg, record.args, record.exc_info = PLACEHOLDER, None, None
    record.exc_text = record.stack_info = None
    for key in [k for k in record.__dict__ if k not in _STANDARD]:
        setattr(record, key, PLACEHOLDER)
    setattr(record, _MARK, _REDACTED)


def _own_transport(record: logging.LogRecord, batcher: _Batcher[Any]) -> bool:
    return record.thread == batcher.thread_id and record.name.startswith(_OWN)


class RedactingHandler(logging.Handler):
    """Redacts records in batches through the server, then hands them to ``target`` (see the
    module's docstring). ``close`` redacts what is queued (5 s at most), blanks the rest, and
    closes ``target``."""

    def __init__(
        self,
        target: logging.Handler,
        client: Rampart,
        *,
        max_batch: int = 100,
        flush_interval: float = 0.05,
        max_pending: int = 10_000,
        max_hold: float = 5.0,
    ) -> None:
        super().__init__()
        self.target = target
        self._batcher: _Batcher[logging.LogRecord] = _Batcher(
            client,
            target.handle,
            _apply,
            _blank,
            max_batch=max_batch,
            flush_interval=flush_interval,
            max_pending=max_pending,
            max_hold=max_hold,
        )

    def emit(self, record: logging.LogRecord) -> None:
        """Queues the record (never waits for the network)."""
        if not _own_transport(record, self._batcher):
            self._batcher.put(record, _snapshot(record))

    def flush(self, timeout: float | None = 5.0) -> None:
        """Waits (at most ``timeout`` seconds) until every queued record reached ``target``."""
        self._batcher.flush(timeout)
        self.target.flush()

    def close(self) -> None:
        """Redacts or blanks what is queued, stops the thread, closes ``target``."""
        self._batcher.close()
        self.target.close()
        super().close()


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that lets a record through only redacted: call ``install`` with the
    handler to guard (see the module's docstring for how it batches). Not a logger: records of
    child loggers reach a logger's handlers without passing its filters."""

    def __init__(self, client: Rampart, **options: Any) -> None:
        super().__init__()
        self._client, self._options = client, options
        self._batcher: _Batcher[logging.LogRecord] | None = None

    def install(self, target: logging.Handler) -> RedactingFilter:
        """Guards the handler ``target`` (adds this filter to it); returns the filter."""
        if not isinstance(target, logging.Handler):
            raise TypeError(
                "install a RedactingFilter on a handler: records of child loggers skip a "
                "logger's filters (or wrap the handler in RedactingHandler)"
            )
        if self._batcher is not None:
            raise RuntimeError("a RedactingFilter guards one handler or logger")
        self._batcher = _Batcher(self._client, target.handle, _apply, _blank, **self._defaults())
        target.addFilter(self)
        return self

    def _defaults(self) -> dict[str, Any]:
        options = {"max_batch": 100, "flush_interval": 0.05, "max_pending": 10_000, "max_hold": 5.0}
        return {**options, **self._options}

    def filter(self, record: logging.LogRecord) -> bool:
        """True for a record already redacted; any other is queued (False for now)."""
        if getattr(record, _MARK, None) is _REDACTED:
            return True
        if self._batcher is None:
            _blank(record)  # not installed: nothing can redact it, nothing leaves in clear
            return True
        if not _own_transport(record, self._batcher):
            self._batcher.put(record, _snapshot(record))
        return False

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Waits until every queued record went through; False on timeout."""
        return self._batcher.flush(timeout) if self._batcher else True

    def close(self) -> None:
        """Redacts or blanks what is queued and stops the thread."""
        if self._batcher is not None:
            self._batcher.close()


#: structlog keys kept as they are when an event dict is blanked.
SAFE_KEYS = frozenset({"level", "timestamp", "logger", "logger_name"})


def _blank_event(event: MutableMapping[str, Any]) -> None:
    for key in list(event):
        if key not in SAFE_KEYS:
            del event[key]
    event["event"] = PLACEHOLDER


def _apply_event(event: MutableMapping[str, Any], redacted: Any) -> None:
    event.clear()
    event.update(redacted)


class RedactingProcessor:
    """A ``structlog`` processor that redacts every value of the event dict through the server
    (see the module's docstring: synchronous per event, or batched towards ``sink``)."""

    def __init__(
        self,
        client: Rampart,
        *,
        sink: Callable[[MutableMapping[str, Any]], object] | None = None,
        **options: Any,
    ) -> None:
        self._client = client
        self._batcher: _Batcher[MutableMapping[str, Any]] | None = None
        if sink is not None:
            defaults = {"max_batch": 100, "flush_interval": 0.05, "max_pending": 10_000}
            self._batcher = _Batcher(
                client, sink, _apply_event, _blank_event, **{**defaults, "max_hold": 5.0, **options}
            )

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """The event dict redacted (or blanked); in batch mode, queues it and drops it."""
        document = {k: _jsonable(v) for k, v in event_dict.items()}
        if self._batcher is not None:
            import structlog

            self._batcher.put(dict(event_dict), document)
            raise structlog.DropEvent
        try:
            redacted = self._client.privacy.redact(document=document).document
        except Exception:
            _log.warning("log redaction unavailable: event replaced by the placeholder")
            _blank_event(event_dict)
            return event_dict
        _apply_event(event_dict, redacted)
        return event_dict

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Batch mode: waits until every queued event reached ``sink``."""
        return self._batcher.flush(timeout) if self._batcher else True

    def close(self) -> None:
        """Batch mode: redacts or blanks what is queued and stops the thread."""
        if self._batcher is not None:
            self._batcher.close()
