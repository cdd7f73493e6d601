"""What the OCPP benchmark's processes need from the OS: file limits, CPU pinning, a server's RSS and CPU.

A thousand websockets are a thousand file descriptors on each side, so both the server and the load
generator raise their soft ``RLIMIT_NOFILE`` to the hard limit. Server and generator share a 2-core
machine; pinning them to different cores keeps them from trading places mid-run and makes the CPU
each one used readable. A server's memory and CPU come from ``/proc/PID`` (its worker processes included):

    >>> resident_kib(os.getpid()) > 0
    True
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

WANTED_OPEN_FILES = 65_536
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit towards the hard one; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(WANTED_OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return soft


def pin_to_cpu(cpu: int | None) -> list[int] | None:
    """Pin this process to ``cpu`` (None: leave it); return the CPUs it may run on (None: unknown)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    return sorted(os.sched_getaffinity(0))


def cpus_online() -> list[int]:
    """Every CPU of the machine, whatever this process is pinned to (``python -m bench`` pins itself)."""
    return list(range(os.cpu_count() or 1))


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (a server with worker processes is measured as a whole)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _stat_fields(int(entry.name))
            if parent is not None:
                children.setdefault(int(parent[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def resident_kib(pid: int) -> int | None:
    """``VmRSS`` in KiB of ``pid`` and its descendants, summed (pages they share count once each);
    None when ``pid`` cannot be read (gone, or not Linux)."""
    sizes = [_resident_kib(member) for member in process_tree(pid)]
    return None if sizes[0] is None else sum(size for size in sizes if size is not None)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` and its live descendants, all threads; None when unreadable."""
    times = [_cpu_seconds(member) for member in process_tree(pid)]
    return None if times[0] is None else sum(seconds for seconds in times if seconds is not None)


def _resident_kib(pid: int) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def _cpu_seconds(pid: int) -> float | None:
    fields = _stat_fields(pid)
    # counted from the state (field 3 of proc(5)): utime is field 14, stime field 15
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces): state, ppid, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def machine_busy_seconds() -> float | None:
    """CPU time all CPUs spent busy so far (user, system, interrupts, steal; not idle or iowait)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def busy_percent(seconds: float = 1.0) -> float | None:
    """How busy the whole machine is over the next ``seconds``, in % of one core (200 = 2 cores)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    after = machine_busy_seconds()
    return None if before is None or after is None else round(100 * (after - before) / seconds, 1)
