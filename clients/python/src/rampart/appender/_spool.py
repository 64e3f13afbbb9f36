"""The spool: an append-only file of events not yet acknowledged by the server, fsynced, bounded,
and its state file (the acknowledged offset and a tree-size watermark), replaced atomically.

``<spool>``        one JSON line per event: ``{"p": position, "id": event id, "e": event}``
``<spool>.state``  ``{"acked": last acknowledged position, "watermark": tree size or null}``

Positions only grow, across processes, so the state never points into a file that compaction
replaced: loading skips the lines at or below ``acked`` whatever the file's history.
``<spool>.dead``   dead letters: events the server refused as invalid, with its answer
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SpoolFull(RuntimeError):
    """The event could not be accepted: the server is unreachable (or slower than the appends)
    and the spool (or, without a spool file, the memory buffer) already holds
    ``max_spool_bytes``. Nothing was dropped: the caller decides what to do with this event."""


@dataclass
class Record:
    """One appended event and where it is: its position (the n-th event this spool has taken),
    its client event id, whether it may already be in the log (an earlier send's outcome is
    unknown), and the byte offset just past its line in the spool file (0: in memory only)."""

    position: int
    event_id: str | None
    event: dict[str, Any]
    size: int
    maybe_sent: bool = False
    end: int = 0
    done: bool = False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The spool file, its state file and the dead-letter file next to it."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int) -> None:
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".state")
        self.dead_path = self.path.with_name(self.path.name + ".dead")
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One appender per spool: a second one (this process or another) would interleave.
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "ab")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise RuntimeError(f"audit spool {self.path} is in use by another appender") from None
        state = self._read_state()
        self.acked: int = int(state.get("acked", -1))
        #: Bytes at the file's start already acknowledged.
        self.offset = 0
        watermark = state.get("watermark")
        self.watermark: int | None = int(watermark) if watermark is not None else None
        self._file = open(self.path, "ab")
        self.end = self._file.tell()

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def load(self) -> list[Record]:
        """The records an earlier appender left unacknowledged, in order. A torn last line (a
        crash in mid-write, never fsynced, never acknowledged to a caller) is cut off."""
        records: list[Record] = []
        with open(self.path, "rb") as f:
            position = 0
            for line in f:
                if not line.endswith(b"\n"):
                    break
                try:
                    item = json.loads(line)
                    number, event = int(item["p"]), item["e"]
                except (ValueError, KeyError, TypeError):
                    break
                position += len(line)
                if number <= self.acked:
                    self.offset = position
                    continue
                records.append(
                    Record(number, item.get("id"), event, len(line), maybe_sent=True, end=position)
                )
        if position != self.end:
            self._file.truncate(position)
            self.end = position
        return records

    @property
    def live_bytes(self) -> int:
        """Bytes of events not yet acknowledged."""
        return self.end - self.offset

    def write(self, records: list[Record]) -> None:
        """Appends ``records`` and fsyncs; raises ``SpoolFull`` (writing none) when they do not
        fit in ``max_bytes``."""
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
        self._file.write(b"".join(lines))
        self._file.flush()
        os.fsync(self._file.fileno())
        for record, line in zip(records, lines, strict=True):
            self.end += len(line)
            record.end = self.end
            record.size = len(line)

    def ack(self, end: int, position: int, watermark: int | None) -> int:
        """Everything up to byte ``end`` (the record at ``position``) is settled; returns the
        shift applied to the offsets of the records still spooled (the file is truncated when
        empty, compacted when the acknowledged part outgrows the live one)."""
        self.offset = max(self.offset, end)
        self.acked = max(self.acked, position)
        self.watermark = watermark if watermark is not None else self.watermark
        shift = 0
        if self.offset == self.end:
            self._file.truncate(0)
            shift, self.offset, self.end = self.end, 0, 0
        elif self.offset > max(self.live_bytes, 1 << 20):
            shift = self._compact()
        self.save_state()
        return shift

    def _compact(self) -> int:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            src.seek(self.offset)
            dst.write(src.read())
            dst.flush()
            os.fsync(dst.fileno())
        shift = self.offset
        self.offset, self.end = 0, self.end - shift
        self._file.close()
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._file = open(self.path, "ab")
        return shift

    def save_state(self) -> None:
        """Writes the state file atomically (temporary file, fsync, rename)."""
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"acked": self.acked, "watermark": self.watermark}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)
        _fsync_dir(self.path.parent)

    def dead_letter(self, record: Record, answer: dict[str, Any]) -> None:
        """Keeps a refused event, with the server's answer, in the dead-letter file (fsynced)."""
        line = {"position": record.position, "id": record.event_id, "event": record.event}
        with open(self.dead_path, "ab") as f:
            f.write(json.dumps({**line, "answer": answer}).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        """Closes the spool file and lets another appender take it."""
        self._file.close()
        self._lock.close()
