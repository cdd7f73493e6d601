"""Simulated time: a fixed start plus real elapsed time multiplied by the speed.

Stations schedule everything on the simulated timeline as whole seconds after the start and stamp
messages with those scheduled times, so a run is reproducible even when the event loop lags:

    >>> from datetime import UTC, datetime
    >>> clock = SimulatedClock(start=datetime(2026, 11, 17, 16, 0, tzinfo=UTC), speed=60)
    >>> format_timestamp(clock.moment(20 * 60))
    '2026-11-17T16:20:00.000Z'
    >>> clock.real_seconds(20 * 60)
    20.0
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimulatedClock:
    def __init__(self, *, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic):
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (self._monotonic() - self._origin) * self.speed

    def now(self) -> int:
        """The current simulated second (seconds after the start)."""
        return int(self.elapsed())

    def moment(self, offset: float) -> datetime:
        return self.start + timedelta(seconds=offset)

    def real_seconds(self, simulated: float) -> float:
        return simulated / self.speed

    async def sleep_until(self, offset: float, stop: asyncio.Event) -> bool:
        """Wait until simulated ``offset``; False if ``stop`` was set first."""
        delay = self.real_seconds(offset - self.elapsed())
        return await wait_or_stop(delay, stop)


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep ``seconds`` (real); False if ``stop`` is or becomes set before they are over."""
    if stop.is_set():
        return False
    if seconds <= 0:
        await asyncio.sleep(0)
        return not stop.is_set()
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return True
    return False


def format_timestamp(moment: datetime) -> str:
    """OCPP's date-time: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
