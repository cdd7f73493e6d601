"""The API under test: ``evbill serve --workers N`` as a child process, and what its workers use.

    with running_server(database_url, workers=2, log=path) as server:
        ...  # requests to server.base_url
        server.workers()            # the worker pids
        process_figures(pid)        # their memory and CPU time, from /proc

The server is started exactly as an operator would run it (the venv's ``evbill`` script, settings
from the environment), with a rate limit high enough not to throttle the benchmark, on a free port,
in its own process group. It is ready once ``/api/v1/health`` answers 200; on the way out (also after
an error) it gets SIGTERM, then SIGKILL for the whole group if it has not stopped within 15 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.batch import evbill_command

REPOSITORY = Path(__file__).resolve().parent.parent
READY_SECONDS = 60.0
STOP_SECONDS = 15.0
RATE_LIMIT_PER_MINUTE = 100_000_000  # per key and worker: the benchmark must never see a 429
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(RuntimeError):
    """The server did not start, or stopped before it was ready."""


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor started by ``evbill serve``)."""
        return [pid for pid in children(self.process.pid) if b"spawn_main" in _cmdline(pid)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    database_url: str, *, workers: int, log: Path, nodelay: bool = False, niceness: int = 0
) -> Iterator[Server]:
    """``evbill serve`` on a free port, its output to ``log``; stopped on the way out.

    ``nodelay``: the what-if launcher ``bench.api_nodelay`` instead (the same app, with TCP_NODELAY).
    ``niceness``: run it under ``nice -n`` (negative: ahead of other work on a shared machine).
    """
    port = free_port()
    environment = {
        **os.environ,
        "EVBILL_DATABASE_URL": database_url,
        "EVBILL_RATE_LIMIT": str(RATE_LIMIT_PER_MINUTE),
    }
    command = [sys.executable, "-m", "bench.api_nodelay"] if nodelay else [evbill_command(), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if niceness:
        command = ["nice", "-n", str(niceness), *command]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=REPOSITORY,  # where ``python -m bench.api_nodelay`` finds the bench package
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the workers can be stopped with it
        )
    server = Server(process, port)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"evbill serve exited with {server.process.returncode}: {_tail(log)}")
        try:
            if httpx.get(f"{server.base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ServerFailed(f"evbill serve was not ready within {READY_SECONDS:.0f} s: {_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind, if any
    except ProcessLookupError:
        pass
    process.wait()


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/<pid>/stat of every process: portable across kernels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def process_figures(pid: int) -> dict[str, Any]:
    """Resident memory now and at its peak (MiB), and CPU seconds used so far, of one process."""
    figures: dict[str, Any] = {"pid": pid}
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return figures
    for line in status:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[{"VmRSS": "rss_mib", "VmHWM": "peak_rss_mib"}[key]] = round(
                int(value.split()[0]) / 1024, 1
            )
    figures["cpu_seconds"] = round((int(stat[11]) + int(stat[12])) / CLOCK_TICKS, 2)  # utime + stime
    return figures


def connections_per_worker(port: int, workers: list[int]) -> dict[str, int]:
    """How many established client connections each worker holds (the kernel decides who accepts)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rpartition(":")[2], 16) == port:  # ESTABLISHED, ours
                inodes.add(fields[9])
    counts = {}
    for pid in workers:
        held = 0
        try:
            for entry in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(entry)
                held += target.startswith("socket:[") and target[8:-1] in inodes
        except OSError:
            pass
        counts[str(pid)] = held
    return counts
