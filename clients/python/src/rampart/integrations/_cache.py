"""A small LRU cache whose entries expire, for introspection results and decisions."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Miss:
    """What ``TTLCache.get`` answers for a key it does not hold (``None`` may be a value)."""


MISS = Miss()


class TTLCache(Generic[K, V]):
    """At most ``size`` entries, least recently used evicted first; each expires after its own
    time to live, by ``clock`` (seconds, monotonic)."""

    def __init__(self, size: int, clock: Callable[[], float]) -> None:
        if size < 1:
            raise ValueError("cache size: at least 1")
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[K]:
        """The keys held (expired ones included until they are looked up or evicted)."""
        return list(self._entries)

    def get(self, key: K) -> V | Miss:
        """The value, or ``MISS`` when absent or expired."""
        found = self._entries.get(key)
        if found is None:
            return MISS
        expires, value = found
        if self._clock() >= expires:
            del self._entries[key]
            return MISS
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V, ttl: float) -> None:
        """Keeps ``value`` for ``ttl`` seconds (nothing when ``ttl`` is not positive)."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forgets everything."""
        self._entries.clear()
