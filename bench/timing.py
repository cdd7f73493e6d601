"""Throughput measurement: rounds of at least a fixed length, reported as median and best.

A *pass* is a function that processes a fixed list of items once (say, rates 2,000 distinct CDRs).
``measure`` runs one untimed pass to warm up, then for each round repeats the pass until the round
has lasted at least ``plan.seconds``, and records items per second. The median is the headline
figure (what a run typically gets); the best shows what the machine can do when nothing interferes.

    >>> figures = measure(lambda: None, items=10, plan=Plan(rounds=3, seconds=0.001))
    >>> len(figures.rounds), figures.best >= figures.median > 0
    (3, True)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Plan:
    """How long to measure: ``rounds`` rounds of at least ``seconds`` each; ``quick`` for smoke tests."""

    rounds: int = 5
    seconds: float = 1.0
    quick: bool = False
    batch_cdrs: int = 100_000
    fresh: bool = False  # rebuild stored data sets (the api suite's) instead of reusing them

    @classmethod
    def choose(cls, *, quick: bool, fresh: bool = False) -> Plan:
        if quick:
            return cls(rounds=3, seconds=0.2, quick=True, batch_cdrs=10_000, fresh=fresh)
        return cls(fresh=fresh)


@dataclass(frozen=True, slots=True)
class Throughput:
    """Items per second, one figure per round."""

    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def best(self) -> float:
        return max(self.rounds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": round(self.median),
            "best": round(self.best),
            "rounds": [round(figure) for figure in self.rounds],
        }


def measure(run_pass: Callable[[], object], *, items: int, plan: Plan) -> Throughput:
    """Time ``run_pass`` (which handles ``items`` items) in ``plan.rounds`` rounds after a warm-up."""
    run_pass()
    return Throughput(tuple(_round(run_pass, items, plan.seconds) for _ in range(plan.rounds)))


def _round(run_pass: Callable[[], object], items: int, seconds: float) -> float:
    gc.collect()  # start every round with the same heap, so one round's garbage does not tax the next
    passes = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        run_pass()
        passes += 1
        elapsed = time.perf_counter() - started
    return passes * items / elapsed
