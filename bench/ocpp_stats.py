"""What the load generator counts: round trips inside the measuring window, their latency, and errors.

A run has a warm-up and then a measuring window ``[start, end)``. Only round trips that belong to the
window count: in ``max`` mode those acknowledged inside it (so the figure is the sustained rate, not
the ramp-up), in ``rate`` mode those *scheduled* inside it, with latency taken from the scheduled send
time so that a server which falls behind is charged for the queue it causes (no coordinated omission).

    >>> recorder = Recorder(start=10.0, end=12.0)
    >>> for at in (9.5, 10.2, 10.7, 11.9, 12.0):
    ...     recorder.record(at, acknowledged=at, latency=0.004)
    >>> recorder.count, recorder.per_second, recorder.rate
    (3, [2, 1], 1.5)
    >>> recorder.p99_per_second()
    [4.0, 4.0]
    >>> latency_summary([0.001 * n for n in range(1, 101)])["p99"]
    99.0
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Recorder:
    """Round trips and errors seen while the load runs; only round trips in the window are kept."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    send_lags: list[float] = field(default_factory=list)
    per_second: list[int] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)  # the second of the window each latency belongs to
    errors: Counter[str] = field(default_factory=Counter)
    stations_lost: int = 0

    def __post_init__(self) -> None:
        self.per_second = [0] * max(1, math.ceil(self.end - self.start))

    def record(
        self, at: float, *, acknowledged: float, latency: float, send_lag: float | None = None
    ) -> None:
        """Count a round trip that belongs to the window by time ``at`` (acknowledged or scheduled).

        ``per_second`` counts it in the second it was acknowledged, so that in ``rate`` mode it shows
        what the server kept up with rather than the schedule.
        """
        if not self.start <= at < self.end:
            return
        self.latencies.append(latency)
        second = max(0, min(int(acknowledged - self.start), len(self.per_second) - 1))
        self.per_second[second] += 1
        self.seconds.append(second)
        if send_lag is not None:
            self.send_lags.append(send_lag)

    def fail(self, kind: str, *, fatal: bool) -> None:
        self.errors[kind] += 1
        self.stations_lost += fatal

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / (self.end - self.start)

    def p99_per_second(self) -> list[float | None]:
        """Each second's p99 in ms: whether the tail is spread over the window or comes in bursts."""
        by_second: list[list[float]] = [[] for _ in self.per_second]
        for second, latency in zip(self.seconds, self.latencies, strict=True):
            by_second[second].append(latency)
        return [round(percentile(sorted(values), 0.99) * 1000, 1) if values else None for values in by_second]


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (``fraction`` in (0, 1])."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_summary(seconds: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean in milliseconds, rounded to 0.01 ms; None everywhere for no samples."""
    keys = ("p50", "p95", "p99", "max", "mean")
    if not seconds:
        return dict.fromkeys(keys)
    ordered = sorted(seconds)
    figures = [percentile(ordered, 0.50), percentile(ordered, 0.95), percentile(ordered, 0.99)]
    figures += [ordered[-1], sum(ordered) / len(ordered)]
    return {key: round(value * 1000, 2) for key, value in zip(keys, figures, strict=True)}


def utilisation(cpu_before: float | None, cpu_after: float | None, seconds: float) -> float | None:
    """Percent of one core a process used between two CPU-time readings ``seconds`` apart."""
    if cpu_before is None or cpu_after is None or seconds <= 0:
        return None
    return round(100 * (cpu_after - cpu_before) / seconds, 1)


def per_station_kib(before: int | None, after: int | None, stations: int) -> float | None:
    """Growth of a resident set per station, in KiB; None when a reading is missing."""
    if before is None or after is None or stations <= 0:
        return None
    return round((after - before) / stations, 1)


def per_cpu_second(rate: float, cpu_percent: float | None) -> float | None:
    """Round trips per second of the server's CPU time; None without a CPU reading or with no CPU used."""
    if not cpu_percent:
        return None
    return round(rate / (cpu_percent / 100), 1)
