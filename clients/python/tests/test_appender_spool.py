"""The appender's spool file: a torn last line, unreadable lines in the middle (set aside, the
rest kept), private file modes, group commit (few fsyncs), memory that does not hold spooled
events."""

from __future__ import annotations

import logging
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from rampart import AuditAppender, Rampart

from .conftest import Server
from .test_appender import DEAD_URL, event, logged, unique_action


def spool_events(spool: Path, action: str, count: int, **extra: object) -> None:
    """Writes ``count`` events to ``spool`` through an appender that cannot reach a server."""
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        appender = AuditAppender(dead, spool_path=spool)
        for i in range(count):
            appender.append(event(i, action, **extra))
        appender.close(timeout=0.3)
    assert len(spool.read_bytes().splitlines()) == count


def test_a_torn_last_line_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    spool_events(spool, "py.torn", 5)
    whole = spool.read_bytes()
    spool.write_bytes(whole + b'{"p":5,"id":"x","e":{"actor":{"ty')  # a crash mid-write
    caplog.set_level(logging.WARNING, logger="rampart.appender")
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        appender = AuditAppender(dead, spool_path=spool)
        assert appender.pending == 5
        appender.close(timeout=0.1)
    assert "torn last line" in caplog.text
    assert spool.read_bytes() == whole
    assert not list(tmp_path.glob("spool.corrupt-*"))


def test_an_unreadable_line_keeps_the_lines_after_it_and_sets_the_file_aside(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    action = unique_action()
    spool = tmp_path / "spool"
    spool_events(spool, action, 6)
    lines = spool.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"p":2,"id":"x","e":\xff\x00 not json}\n'  # one bad byte run, mid-file
    lines[4] = b"[]\n"  # JSON, but not a spool line
    damaged = b"".join(lines)
    spool.write_bytes(damaged)
    caplog.set_level(logging.WARNING, logger="rampart.appender")
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        AuditAppender(rampart, spool_path=spool) as appender,
    ):
        assert appender.pending == 4
        appender.flush(timeout=30)
    assert logged(server.base_url, server.admin_key, action) == [0, 1, 3, 5]
    aside = list(tmp_path.glob("spool.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged, "the file as found is kept"
    assert aside[0].stat().st_mode & 0o777 == 0o600
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("2 unreadable lines" in r.getMessage() for r in errors)
    assert spool.stat().st_size == 0


def test_spool_files_are_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old_umask = os.umask(0o022)
    try:
        spool = tmp_path / "new" / "deeper" / "spool"
        spool_events(spool, "py.modes", 3)
        for directory in (tmp_path / "new", tmp_path / "new" / "deeper"):
            assert directory.stat().st_mode & 0o777 == 0o700, directory
        for name in ("spool", "spool.state", "spool.lock"):
            assert (spool.parent / name).stat().st_mode & 0o777 == 0o600, name
        # A spool left readable by others (an older version, a copy) is tightened, and said so.
        loose = tmp_path / "loose"
        loose.mkdir(mode=0o755)
        (loose / "spool").write_bytes(b"")
        os.chmod(loose / "spool", 0o644)
        caplog.set_level(logging.WARNING, logger="rampart.appender")
        with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
            AuditAppender(dead, spool_path=loose / "spool").close(timeout=0.1)
        assert (loose / "spool").stat().st_mode & 0o777 == 0o600
        assert "now 0600" in caplog.text
        assert loose.stat().st_mode & 0o777 == 0o755, "an existing directory is left as it is"
    finally:
        os.umask(old_umask)


def test_offline_appends_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    spool = tmp_path / "spool"
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        appender = AuditAppender(
            dead, spool_path=spool, flush_interval=0.01, spool_sync_interval=0.5
        )
        appender.append(event(0, "py.fsync"))
        deadline = time.monotonic() + 10
        while spool.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the appender knows the server is down
        calls = 0
        for i in range(1, 301):
            appender.append(event(i, "py.fsync"))
        assert calls < 10, f"{calls} fsyncs for 300 spooled appends"
        assert len(spool.read_bytes().splitlines()) == 301, "written at once"
        with pytest.raises(TimeoutError):
            appender.flush(timeout=0.05)
        synced = calls
        appender.close(timeout=0.05)
    assert synced >= 1, "flush fsyncs the spool even when it times out (not waiting 0.5 s)"
    with pytest.raises(ValueError, match="spool_sync_interval"):
        AuditAppender(Rampart(DEAD_URL, "rk_x"), spool_sync_interval=-1)


def test_spooled_events_are_not_kept_in_memory(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    filler = "x" * 2000
    with Rampart(DEAD_URL, "rk_x", retries=0) as dead:
        # Memory holds the batch being (re)sent, read back from the file: at most max_batch.
        appender = AuditAppender(dead, spool_path=spool, flush_interval=0.01, max_batch=50)
        appender.append(event(0, "py.memory"))
        deadline = time.monotonic() + 10
        while spool.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(1, 2001):
                appender.append(event(i, "py.memory", details={"filler": filler}))
            used = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        size = spool.stat().st_size
        appender.close(timeout=0.05)
    assert size > 4_000_000
    assert used < size / 4, f"{used} bytes of memory for a {size}-byte spool"
