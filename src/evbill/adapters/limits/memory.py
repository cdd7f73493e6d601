"""The in-process limiter: one TAT per key in a dict, for one process (the embedded default)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_KEYS = 100_000


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._arrivals: dict[str, float] = {}
        self._lock = threading.Lock()

    def _wait(self, key: str, limit: int, period: float, now: float) -> tuple[float, float]:
        """(seconds to wait before the next event, the TAT after it)."""
        interval = period / limit
        arrival = max(self._arrivals.get(key, now), now) + interval
        return arrival - period - now, arrival

    async def take(self, key: str, *, limit: int, period: float) -> float | None:
        now = self._clock()
        with self._lock:
            wait, arrival = self._wait(key, limit, period, now)
            if wait > 0:
                return float(max(1, math.ceil(wait)))
            if len(self._arrivals) >= MAX_KEYS:
                self._forget_the_past(now)
            self._arrivals[key] = arrival
        return None

    async def refuses(self, key: str, *, limit: int, period: float) -> float | None:
        now = self._clock()
        with self._lock:
            wait, _ = self._wait(key, limit, period, now)
        return float(max(1, math.ceil(wait))) if wait > 0 else None

    def _forget_the_past(self, now: float) -> None:
        # A key whose TAT has passed is the same as no key; if none has, start afresh (bounded memory).
        for key in [key for key, arrival in self._arrivals.items() if arrival <= now]:
            del self._arrivals[key]
        if len(self._arrivals) >= MAX_KEYS:
            self._arrivals.clear()
