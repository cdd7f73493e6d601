"""Benchmark results: the one line each benchmark prints, its JSON file, and the closing summary.

Every benchmark returns a ``Result``; ``save`` writes it to ``bench/results/<name>.json`` (``/`` in
the name becomes ``-``) together with the environment it was measured in, so figures from different
machines can be told apart:

    {"name": "rating/simple", "passed": true, "target": {...}, "rate": {"median": 71200, ...},
     "environment": {"python": "3.11.7", "cpu_model": "Intel(R) Xeon(R) ...", "cpu": 1,
                     "date": "2026-05-04T09:30:00+00:00", ...}}
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, slots=True)
class Result:
    """What one benchmark measured: its headline against its target, and every figure behind it."""

    name: str
    passed: bool
    measured: str  # the headline figure, e.g. "71,200 CDRs/s"
    target: str  # e.g. ">= 50,000 CDRs/s"
    line: str  # the line printed when the benchmark ends
    figures: dict[str, Any] = field(default_factory=dict)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def per_second(value: float) -> str:
    return f"{value:,.0f} CDRs/s"


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo ("unknown" where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Processor", "cpu model"}:
            return value.strip()
    return platform.processor() or "unknown"


def environment(cpu: int | None) -> dict[str, Any]:
    """Where and when the figures were taken."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu": cpu,
        "cpus_online": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save(result: Result, context: dict[str, Any]) -> Path:
    """Write ``result`` and its environment to bench/results/<name>.json; return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result.name.replace('/', '-')}.json"
    document = {
        "name": result.name,
        "passed": result.passed,
        "measured": result.measured,
        "target": result.target,
        **result.figures,
        "environment": context,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def summary_table(results: list[Result]) -> str:
    """A plain-text table: one row per benchmark, headline figure against target."""
    header = ("benchmark", "measured (median)", "target", "result")
    rows = [header] + [(r.name, r.measured, r.target, verdict(r.passed)) for r in results]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
