"""Starting and stopping the OCPP servers the suite measures, each in a process of its own.

The bare reference server says where it listens on its first stdout line; any other server (evbill's
``evbill serve``) is given a free port and is ready once that port accepts a TCP connection. Both are
stopped with SIGTERM (SIGKILL after 10 s). A server's stderr goes to a temporary file, shown when it
fails, so that a chatty server can never block on a full pipe.

    with bare_server(cpu=0) as server:
        print(server.url, server.pid)        # ws://127.0.0.1:40123/ocpp 4242
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

REPOSITORY = Path(__file__).resolve().parent.parent
START_SECONDS = 30.0


class ServerFailed(RuntimeError):
    """A server that did not start, or died; the message ends with the tail of its stderr."""


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str  # the OCPP-J base URL, station ids are appended
    pid: int
    cpus: list[int] | None  # what it is pinned to (None: free to use any CPU)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def python_module(module: str, *arguments: str) -> list[str]:
    return [sys.executable, "-m", module, *arguments]


def stderr_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:]) or "(nothing on stderr)"


@contextmanager
def bare_server(*, cpu: int | None) -> Iterator[RunningServer]:
    """The bare ``ocpp``-library server (bench.ocpp_bare) on a free port, pinned to ``cpu``."""
    arguments = ["--port", "0"] + ([] if cpu is None else ["--cpu", str(cpu)])
    command = python_module("bench.ocpp_bare", *arguments)
    with _process(command, os.environ, announces=True) as (process, errors):
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        line = process.stdout.readline() if ready else b""
        if not line:
            raise ServerFailed(f"bench.ocpp_bare did not start:\n{stderr_tail(errors)}")
        announced = orjson.loads(line)
        yield RunningServer(announced["listening"], announced["pid"], announced["cpu_affinity"])


@contextmanager
def command_server(
    command: Sequence[str], environment: Mapping[str, str], *, port: int, path: str, cpu: int | None
) -> Iterator[RunningServer]:
    """A server started by ``command`` (already given ``port``); ready when the port accepts."""
    with _process(list(command), {**os.environ, **environment}, announces=False) as (process, errors):
        cpus = None
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
            cpus = [cpu]
        _wait_for_port(port, process, errors)
        yield RunningServer(f"ws://127.0.0.1:{port}{path}", process.pid, cpus)


@contextmanager
def _process(
    command: list[str], environment: Mapping[str, str], *, announces: bool
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Run ``command``; stdout is a pipe only for a server that announces itself (and then says no more)."""
    with tempfile.NamedTemporaryFile(prefix="evbill-bench-server-", suffix=".log") as errors:
        process = subprocess.Popen(
            command, cwd=REPOSITORY, env=dict(environment), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if announces else errors, stderr=errors,
        )  # fmt: skip
        try:
            yield process, Path(errors.name)
            if process.poll() is not None:
                raise ServerFailed(
                    f"server exited with {process.returncode}:\n{stderr_tail(Path(errors.name))}"
                )
        finally:
            _stop(process)


def _wait_for_port(port: int, process: subprocess.Popen, errors: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"server exited with {process.returncode}:\n{stderr_tail(errors)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise ServerFailed(
        f"server not listening on port {port} after {START_SECONDS:.0f} s:\n{stderr_tail(errors)}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
