"""The spool: an append-only file of events not yet acknowledged by the server, bounded, fsynced
in groups, and its state file (the acknowledged position and a tree-size watermark), replaced
atomically. Every file is created ``0600`` (they hold whole events) and a directory the spool
creates ``0700``; an existing file readable by others is tightened, with a warning.

``<spool>``        one JSON line per event: ``{"p": position, "id": event id, "e": event}``
``<spool>.state``  ``{"acked": last acknowledged position, "watermark": tree size or null,
                   "v": 2}``: since v2 the watermark is saved before any spooled event is
                   sent, so a null one proves that none of the spool was ever sent (no lookup)
``<spool>.dead``   dead letters: events the server refused as invalid, with its answer
``<spool>.corrupt-<UTC time>``  a spool found with unreadable lines, as it was

Positions only grow, across processes, so the state never points into a file that compaction
replaced: loading skips the lines at or below ``acked`` whatever the file's history.

Group commit: ``write`` writes at once (the OS has the bytes: a crash of the process loses
nothing) and a syncer thread fsyncs at most once per ``sync_interval``; ``sync`` fsyncs now.
Only spooled events are kept on disk alone: a record keeps its offsets, not the event.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("rampart.appender")


class SpoolFull(RuntimeError):
    """The event could not be accepted: the server is unreachable (or slower than the appends)
    and the spool (or, without a spool file, the memory buffer) already holds
    ``max_spool_bytes``. Nothing was dropped: the caller decides what to do with this event."""


@dataclass(slots=True)
class Record:
    """One appended event and where it is: its position (the n-th event this spool has taken),
    its client event id, its action (for logs and dead letters), whether it may already be in
    the log (an earlier send's outcome is unknown), and the byte offset just past its line in
    the spool file (0: in memory only, ``event`` set; else ``event`` is None, read back from
    the file)."""

    position: int
    event_id: str | None
    event: dict[str, Any] | None
    size: int
    action: str = ""
    maybe_sent: bool = False
    end: int = 0
    done: bool = False


def open_private(path: Path, flags: int) -> int:
    """Opens (creating ``0600``) a file of the spool; an existing one readable by others is
    tightened to ``0600``, with a warning."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    mode = os.fstat(fd).st_mode & 0o777
    if mode & 0o077:
        os.fchmod(fd, 0o600)
        log.warning("audit spool: %s had mode %03o (readable by others): now 0600", path, mode)
    return fd


def make_private_dir(path: Path) -> None:
    """Creates ``path`` and its missing parents ``0700`` (an existing one is left as it is)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def parse(line: bytes) -> tuple[int, str | None, dict[str, Any]] | None:
    """A spool line's position, event id and event; None when it is not one."""
    try:
        item = json.loads(line)
        number, event, event_id = int(item["p"]), item["e"], item.get("id")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(event, dict) or not (event_id is None or isinstance(event_id, str)):
        return None
    return number, event_id, event


class Spool:
    """The spool file, its state file and the dead-letter file next to it. Its methods are
    called under the core's lock; the syncer thread only takes ``_mutex``."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int, sync_interval: float) -> None:
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".state")
        self.dead_path = self.path.with_name(self.path.name + ".dead")
        self.max_bytes = max_bytes
        self.sync_interval = sync_interval
        make_private_dir(self.path.parent)
        # One appender per spool: a second one (this process or another) would interleave.
        self._lock_fd = open_private(
            self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT
        )
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise RuntimeError(f"audit spool {self.path} is in use by another appender") from None
        state = self._read_state()
        self.acked: int = int(state.get("acked", -1))
        #: Bytes at the file's start already acknowledged.
        self.offset = 0
        watermark = state.get("watermark")
        self.watermark: int | None = int(watermark) if watermark is not None else None
        #: Nothing in the spool was ever sent: its records need no lookup.
        self.never_sent = state.get("v") == 2 and self.watermark is None
        self._saved: tuple[int, int | None] | None = None
        self._fd = open_private(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        self.end = os.fstat(self._fd).st_size
        self._mutex = threading.Condition()
        self._written = 0  # writes made / fsynced (generations)
        self._synced = 0
        self._closed = False
        self._syncer: threading.Thread | None = None

    def _read_state(self) -> dict[str, Any]:
        try:
            fd = open_private(self.state_path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        try:
            with os.fdopen(fd, "rb") as f:
                state = json.loads(f.read())
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

    def load(self) -> list[Record]:
        """The records an earlier appender left unacknowledged, in order. A torn last line (a
        crash in mid-write) is cut off with a warning. Unreadable lines elsewhere are skipped:
        the file as found is kept as ``<spool>.corrupt-<time>``, the spool rewritten with every
        readable line, and the count logged as an error."""
        bad = 0
        with open(self.path, "rb") as f:
            for line in f:
                if line.endswith(b"\n") and parse(line) is None:
                    bad += 1
        if bad:
            self._set_aside(bad)
        records: list[Record] = []
        position = 0
        with open(self.path, "rb") as f:
            for line in f:
                item = parse(line)
                if not line.endswith(b"\n"):
                    if item is None:
                        log.warning(
                            "audit spool %s: dropped a torn last line (%d bytes, a crash while "
                            "writing it)",
                            self.path,
                            len(line),
                        )
                        break
                    _write_all(self._fd, b"\n")  # complete but unterminated: keep it
                    line += b"\n"
                    self.end += 1
                assert item is not None  # the bad lines are gone
                position += len(line)
                number, event_id, event = item
                if number <= self.acked:
                    self.offset = position
                    continue
                action = sys.intern(str(event.get("action")))
                records.append(
                    Record(
                        number,
                        event_id,
                        None,
                        len(line),
                        action,
                        maybe_sent=not self.never_sent,
                        end=position,
                    )
                )
        if position != self.end:
            os.ftruncate(self._fd, position)
            self.end = position
        return records

    def _set_aside(self, bad: int) -> None:
        """Moves the file aside as ``<spool>.corrupt-<time>`` and writes its readable lines back."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.close(self._fd)
        os.rename(self.path, aside)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            with open(aside, "rb") as src:
                for line in src:
                    if not line.endswith(b"\n") or parse(line) is not None:
                        _write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._fd = open_private(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        self.end = os.fstat(self._fd).st_size
        log.error(
            "audit spool %s: %d unreadable lines skipped (the readable ones after them are "
            "kept); the file as found is %s",
            self.path,
            bad,
            aside,
        )

    @property
    def live_bytes(self) -> int:
        """Bytes of events not yet acknowledged."""
        return self.end - self.offset

    def write(self, records: list[Record]) -> None:
        """Appends ``records`` (fsynced within ``sync_interval``, or by ``sync``) and forgets
        their events (read back by ``read``); raises ``SpoolFull`` (writing none) when they do
        not fit in ``max_bytes``."""
        if not records:
            return
        lines = [
            json.dumps(
                {"p": r.position, "id": r.event_id, "e": r.event}, separators=(",", ":")
            ).encode()
            + b"\n"
            for r in records
        ]
        if self.live_bytes + sum(map(len, lines)) > self.max_bytes:
            raise SpoolFull(
                f"audit spool {self.path} is full ({self.live_bytes} of {self.max_bytes} bytes) "
                "while the server is unreachable: the event was not accepted"
            )
        _write_all(self._fd, b"".join(lines))
        for record, line in zip(records, lines, strict=True):
            self.end += len(line)
            record.end = self.end
            record.size = len(line)
            record.event = None
        with self._mutex:
            self._written += 1
            if self._syncer is None:
                self._syncer = threading.Thread(
                    target=self._sync_loop, name="rampart-audit-spool-sync", daemon=True
                )
                self._syncer.start()
            self._mutex.notify()

    def read(self, record: Record) -> dict[str, Any]:
        """The event of a record, from memory or from the spool file."""
        if record.event is not None:
            return record.event
        line = os.pread(self._fd, record.size, record.end - record.size)
        item = parse(line)
        if item is None or item[0] != record.position:
            raise RuntimeError(f"audit spool {self.path}: record {record.position} unreadable")
        return item[2]

    @property
    def unsynced(self) -> bool:
        """Whether some writes are not fsynced yet."""
        with self._mutex:
            return self._synced < self._written and not self._closed

    def sync(self) -> None:
        """Fsyncs what was written so far (outside the core's lock: a duplicate descriptor)."""
        with self._mutex:
            target = self._written
            if self._synced >= target or self._closed:
                return
            fd = os.dup(self._fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with self._mutex:
            self._synced = max(self._synced, target)

    def _sync_loop(self) -> None:
        while True:
            with self._mutex:
                while self._synced >= self._written and not self._closed:
                    self._mutex.wait()
                if self._closed:
                    return
            time.sleep(self.sync_interval)  # the writes of the next interval share the fsync
            try:
                self.sync()
            except OSError:
                log.exception("audit spool %s: fsync failed", self.path)

    def ack(self, end: int, position: int, watermark: int | None) -> int:
        """Everything up to byte ``end`` (the record at ``position``) is settled; returns the
        shift applied to the offsets of the records still spooled (the file is truncated when
        empty, compacted when the acknowledged part outgrows the live one)."""
        if self._fd < 0:
            raise RuntimeError(f"audit spool {self.path} is closed")
        self.offset = max(self.offset, end)
        self.acked = max(self.acked, position)
        self.watermark = watermark if watermark is not None else self.watermark
        shift = 0
        if self.offset == self.end:
            os.ftruncate(self._fd, 0)
            shift, self.offset, self.end = self.end, 0, 0
        elif self.offset > max(self.live_bytes, 1 << 20):
            shift = self._compact()
        self.save_state()
        return shift

    def _compact(self) -> int:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = open_private(tmp, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC)
        with open(self.path, "rb") as src:
            src.seek(self.offset)
            while chunk := src.read(1 << 20):
                _write_all(fd, chunk)
        os.fsync(fd)
        shift = self.offset
        self.offset, self.end = 0, self.end - shift
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        with self._mutex:
            old, self._fd = self._fd, fd
            self._synced = self._written
        os.close(old)
        return shift

    def save_state(self) -> None:
        """Writes the state file atomically (temporary file, fsync, rename) when it changed."""
        state = (self.acked, self.watermark)
        if state == self._saved:
            return
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            body = {"acked": self.acked, "watermark": self.watermark, "v": 2}
            _write_all(fd, json.dumps(body).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.state_path)
        _fsync_dir(self.path.parent)
        self._saved = state

    def dead_letter(self, record: Record, event: dict[str, Any], answer: dict[str, Any]) -> None:
        """Keeps a refused event, with the server's answer, in the dead-letter file (fsynced)."""
        line = {"position": record.position, "id": record.event_id, "event": event}
        fd = open_private(self.dead_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            _write_all(fd, json.dumps({**line, "answer": answer}).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Fsyncs and closes the spool file and lets another appender take it."""
        if self._lock_fd < 0:
            return
        self.sync()
        with self._mutex:
            self._closed = True
            self._mutex.notify()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
        os.close(self._fd)
        os.close(self._lock_fd)
        self._fd = self._lock_fd = -1  # a late use fails (EBADF), never hits a reused number
