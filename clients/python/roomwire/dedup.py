"""Remembers delivered event ids for a time and up to a count (PROTOCOL.md §6, guarantees)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable


class DedupCache:
    """Event ids seen within ``ttl_s`` (the replay window), at most ``max_ids`` of them, oldest forgotten first.

    Ids are kept in arrival order with one fixed TTL, so expiry order is arrival order: insert,
    lookup and expiry are O(1) amortised. The clock is monotonic: a wall clock set forward would
    expire every id at once and let duplicates through.

    Example::

        seen = DedupCache(ttl_s=300, max_ids=10_000)
        if seen.add(envelope["id"]):
            deliver(envelope)
    """

    def __init__(self, ttl_s: float, max_ids: int, now: Callable[[], float] = time.monotonic) -> None:
        if not ttl_s > 0 or not max_ids > 0:
            raise ValueError("DedupCache: ttl_s and max_ids must be positive")
        self._ttl_s = ttl_s
        self._max_ids = max_ids
        self._now = now
        self._expires: "OrderedDict[str, float]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._expires)

    def add(self, event_id: str) -> bool:
        """Records ``event_id``; False when it was already seen within the window (a duplicate)."""
        now = self._now()
        self._expire(now)
        if event_id in self._expires:
            return False
        while len(self._expires) >= self._max_ids:
            self._expires.popitem(last=False)
        self._expires[event_id] = now + self._ttl_s
        return True

    def __contains__(self, event_id: object) -> bool:
        self._expire(self._now())
        return event_id in self._expires

    def _expire(self, now: float) -> None:
        while self._expires:
            oldest_id, expires_at = next(iter(self._expires.items()))
            if expires_at > now:
                return
            del self._expires[oldest_id]
