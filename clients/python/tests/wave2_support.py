"""Helpers of the wave-2 tests: unique names, times ahead, waiting for the server's evaluators."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from rampart import Rampart

T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def ahead(seconds: float) -> str:
    """An RFC 3339 UTC time ``seconds`` from now."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def eventually(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """``probe``'s first answer that is not ``None`` (polled), or the test fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing after {timeout} s")


def denied_entry(rampart: Rampart, actor_id: str) -> int:
    """Appends a ``denied`` audit entry of ``actor_id`` (the default ``unauthorized_access``
    rule raises one alert per actor for it); returns its seq."""
    appended = rampart.audit.append(
        {
            "actor": {"type": "user", "id": actor_id},
            "action": "py.wave2.denied",
            "resource": {"type": "test", "id": actor_id},
            "status": "denied",
        }
    )
    return appended.entries[0].seq
