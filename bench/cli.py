"""CLI start-up: ``evbill --help`` and ``evbill rate`` on one CDR, each as a whole process.

A command-line tool is judged by how long a person waits for it. Each command is run N times as a
fresh process (the installed console script, as a user runs it); the figure is the median wall time,
with the median CPU time (user + system of the child) beside it, which a busy shared machine disturbs
less. Target: under 0.3 s each (issue 12).

    python -m bench --only cli
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.report import Result, verdict
from bench.timing import Plan

TARGET_SECONDS = 0.3
DEMO = Path(__file__).resolve().parent.parent / "src" / "evbill" / "demo"
EVBILL = Path(sys.executable).with_name("evbill")
COMMANDS = {
    "cli/help": ["--help"],
    "cli/rate-one-cdr": [
        "rate", "--tariff", str(DEMO / "tariff_time_of_use.json"), "--cdr", str(DEMO / "cdr_evening.json"),
    ],
}  # fmt: skip


def _once(arguments: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``evbill *arguments``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [str(EVBILL), *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(plan: Plan) -> Iterator[Result]:
    runs = 5 if plan.quick else 21
    for name, arguments in COMMANDS.items():
        _once(arguments)  # warm the file cache and the bytecode
        measured = [_once(arguments) for _ in range(runs)]
        wall = statistics.median(seconds for seconds, _ in measured)
        cpu = statistics.median(seconds for _, seconds in measured)
        passed = wall < TARGET_SECONDS
        yield Result(
            name=name,
            passed=passed,
            measured=f"{wall:.3f} s",
            target=f"< {TARGET_SECONDS} s",
            line=(
                f"{name}: median {wall:.3f} s wall, {cpu:.3f} s CPU over {runs} runs "
                f"(min {min(s for s, _ in measured):.3f} s) [{verdict(passed)}]"
            ),
            figures={
                "runs": runs,
                "wall_seconds": [s for s, _ in measured],
                "cpu_seconds": [c for _, c in measured],
            },
        )
