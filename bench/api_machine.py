"""Who used the machine's CPUs during a measurement: the server, PostgreSQL, the load, or others.

A latency figure taken on a machine that was also running a test suite says little about the server,
so the API benchmark first waits (a while) for the machine to be quiet, and afterwards splits the
CPU time of the measured window between the evbill workers, PostgreSQL's processes, the load
generator (this process) and everything else, from /proc:

    before = snapshot()
    ...                                                 # the measurement
    attribute(before, snapshot(), workers={812, 813})   # {"busy_cores": 1.6, "cores": {...}, ...}
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_CORES = 0.25  # busier than this before the load starts, and the machine is not ours alone


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float  # time.monotonic()
    busy_ticks: int  # the whole machine, from /proc/stat
    interrupt_ticks: int  # of which irq and softirq (loopback TCP is processed there), no process's
    processes: dict[int, tuple[str, int]]  # pid -> (command name, CPU ticks used so far)


def snapshot() -> Snapshot:
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    busy = sum(values) - values[3] - values[4]  # all but idle and iowait
    interrupts = values[5] + values[6]
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rpartition(")")[2].split()
            processes[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return Snapshot(time.monotonic(), busy, interrupts, processes)


def attribute(before: Snapshot, after: Snapshot, *, workers: set[int]) -> dict[str, Any]:
    """CPU cores used on average between two snapshots, in total and by whom."""
    seconds = max(after.at - before.at, 1e-9)

    def cores(ticks: float) -> float:
        return round(ticks / CLOCK_TICKS / seconds, 2)

    used: Counter[str] = Counter()
    others: Counter[str] = Counter()
    own = os.getpid()
    for pid, (name, ticks) in after.processes.items():
        spent = ticks - before.processes.get(pid, (name, 0))[1]
        if pid in workers:
            used["evbill workers"] += spent
        elif pid == own:
            used["load generator"] += spent
        elif name == "postgres":
            used["postgres"] += spent
        else:
            used["other processes"] += spent
            others[name] += spent
    busy = after.busy_ticks - before.busy_ticks
    used["interrupts"] = after.interrupt_ticks - before.interrupt_ticks
    used["exited processes"] = max(busy - sum(used.values()), 0)  # gone before the end: not ours
    return {
        "seconds": round(seconds, 1),
        "busy_cores": cores(busy),
        "cpus": os.cpu_count(),
        "cores": {group: cores(ticks) for group, ticks in used.most_common()},
        "busiest_other_processes": {name: cores(ticks) for name, ticks in others.most_common(4) if ticks},
    }


def wait_until_quiet(*, patience: float, report: Any) -> dict[str, Any]:
    """Sample the machine for 1 s at a time until it is quiet or ``patience`` seconds have passed."""
    deadline = time.monotonic() + patience
    while True:
        before = snapshot()
        time.sleep(1.0)
        usage = attribute(before, snapshot(), workers=set())
        if usage["busy_cores"] <= QUIET_CORES or time.monotonic() >= deadline:
            return usage
        report(
            f"machine busy ({usage['busy_cores']:.2f} cores: {usage['busiest_other_processes']}); "
            f"waiting up to {max(deadline - time.monotonic(), 0):.0f} s more for it to be quiet ..."
        )
        time.sleep(4.0)


@contextmanager
def every_cpu() -> Iterator[set[int]]:
    """Undo ``python -m bench``'s pinning for the duration: server, database and load share the machine."""
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    try:
        yield os.sched_getaffinity(0)
    finally:
        os.sched_setaffinity(0, pinned)
