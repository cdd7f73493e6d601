"""OCPP-J throughput and latency: evbill's server against a bare ``ocpp``-library server, 1,000 stations.

The issue: on this 2-core machine, with the load generator on the same machine, 1,000 stations
connected at once; sustained MeterValues (1.6) and TransactionEvent Updated (2.0.1) round trips per
second with everything stored, on SQLite and on PostgreSQL, at least equal to a bare server built on
the ``ocpp`` library that stores nothing, measured in the same run; p99 acknowledgement latency under
100 ms at half that rate; memory per connected station reported.

For each protocol version:

1. the bare server (``bench.ocpp_bare``) under the generator (``bench.ocpp_load``) in ``max`` mode:
   the reference figure; then in ``rate`` mode at half of it, for its p99 beside evbill's;
2. each server of ``target_servers()`` the same way, the ``rate`` run at half the *bare* figure. It
   passes with round trips/s >= the bare figure, p99 < 100 ms and no errors. evbill pushes running
   costs every 20 s meanwhile (``RUNNING_COSTS``), so both runs include pricing live sessions.

Server and generator are separate processes pinned to different cores (server on one, generator on
the core ``python -m bench`` pinned itself to); the server's RSS before and after connecting gives
memory per station. ``--quick``: 100 stations and 2 s + 5 s windows.

    python -m bench --only ocpp
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.ocpp_frames import OcppVersion, station_credentials
from bench.ocpp_process import busy_percent, cpus_online, pin_to_cpu
from bench.ocpp_report import P99_LIMIT_MS, bare_result, failed_result, target_result
from bench.ocpp_seed import POSTGRES_DATABASE, POSTGRES_SERVER, seed_evbill, seed_evbill_postgres
from bench.ocpp_servers import (
    REPOSITORY,
    RunningServer,
    ServerFailed,
    bare_server,
    command_server,
    free_port,
    python_module,
)
from bench.report import Result
from bench.timing import Plan

# Running costs every 20 s, not the default 60: a station's first push comes 0.5-1.5 intervals after
# its session starts, so at 60 s hardly any would fall inside a run's window; at 20 s each live
# session is priced and sent its cost about once in every window (1,000 stations: ~50 pushes/s).
RUNNING_COSTS = {"EVBILL_OCPP_COST_INTERVAL": "20"}
QUIET_PERCENT = 30.0  # busy CPU (% of one core) above which the machine is not idle enough to measure
AUTH_TEMPLATE = "bench-{id}-password"
ID_PREFIX = "BENCH-"
Credentials = list[tuple[str, str]]  # (charge point id, password) of every station the generator uses


@dataclass(frozen=True, slots=True)
class Windows:
    """How many stations, and how long each run warms up and measures."""

    stations: int
    warmup: float
    duration: float
    rate_warmup: float
    rate_duration: float
    patience: float  # how long to wait for other work on the machine to end before each run

    @classmethod
    def choose(cls, plan: Plan) -> Windows:
        if plan.quick:
            return cls(stations=100, warmup=2, duration=5, rate_warmup=2, rate_duration=5, patience=10)
        return cls(stations=1000, warmup=10, duration=20, rate_warmup=5, rate_duration=20, patience=180)


@dataclass(frozen=True, slots=True)
class TargetServer:
    """An OCPP-J server to hold to the bare figure: how to seed it, start it, and reach it.

    ``command`` and the values of ``environment`` may use ``{port}`` (a free port, which the server
    must listen on at 127.0.0.1) and ``{directory}`` (a fresh temporary directory, e.g. for a SQLite
    file). ``seed(environment, credentials, version)`` runs before the server starts and must create
    every station, registered for the OCPP ``version`` of the run (evbill holds a station to the
    version it is registered for), with its Basic auth password (and accept its idTag / idToken, the
    station id). Set ``pin`` to False for a server of several processes, so the scheduler may spread them.
    """

    name: str  # e.g. "evbill-sqlite"; results are ocpp/<name>-<version>
    command: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    seed: Callable[[Mapping[str, str], Credentials, str], None] | None = None
    path: str = "/ocpp"
    pin: bool = True


def target_servers() -> list[TargetServer]:
    """evbill's OCPP server, ``evbill serve`` (one process), on SQLite and on PostgreSQL."""
    evbill = str(Path(sys.executable).parent / "evbill")
    serve = (evbill, "serve", "--host", "127.0.0.1", "--port", "{port}")
    return [
        TargetServer(
            "evbill-sqlite",
            serve,
            {"EVBILL_DATABASE_URL": "sqlite:///{directory}/bench.db", **RUNNING_COSTS},
            seed=seed_evbill,
        ),
        TargetServer(
            "evbill-postgres",
            serve,
            {"EVBILL_DATABASE_URL": f"{POSTGRES_SERVER}/{POSTGRES_DATABASE}", **RUNNING_COSTS},
            seed=seed_evbill_postgres,
        ),
    ]


@dataclass(frozen=True, slots=True)
class Cores:
    server: int | None
    generator: int | None

    @classmethod
    def choose(cls) -> Cores:
        """Generator on the CPU this process is pinned to, server on another; None where impossible."""
        mine = pin_to_cpu(None) or []
        others = [cpu for cpu in cpus_online() if cpu not in mine]
        if len(mine) != 1 or not others:
            return cls(server=None, generator=None)
        return cls(server=others[0], generator=mine[0])


class GeneratorFailed(RuntimeError):
    """The load generator exited badly or printed no result."""


def run_generator(
    server: RunningServer, version: OcppVersion, windows: Windows, *, rate: float | None, cpu: int | None
) -> dict[str, Any]:
    """One ``bench.ocpp_load`` run against ``server``: ``max`` mode, or ``rate`` mode when rate is given."""
    warmup, duration = (
        (windows.rate_warmup, windows.rate_duration) if rate else (windows.warmup, windows.duration)
    )
    arguments = [
        "--url", server.url, "--stations", str(windows.stations), "--ocpp", str(version),
        "--mode", "rate" if rate else "max", "--rate", f"{rate or 0:.1f}",
        "--warmup", str(warmup), "--duration", str(duration),
        "--auth-template", AUTH_TEMPLATE, "--id-prefix", ID_PREFIX, "--server-pid", str(server.pid),
    ] + ([] if cpu is None else ["--cpu", str(cpu)])  # fmt: skip
    command = python_module("bench.ocpp_load", *arguments)
    background = wait_for_quiet(windows.patience)
    completed = subprocess.run(
        command, cwd=REPOSITORY, capture_output=True, timeout=warmup + duration + 600, check=False
    )
    lines = completed.stdout.decode(errors="replace").strip().splitlines()
    if completed.returncode != 0 or not lines:
        tail = "\n".join(completed.stderr.decode(errors="replace").strip().splitlines()[-15:])
        raise GeneratorFailed(f"bench.ocpp_load exited with {completed.returncode}:\n{tail}")
    outcome = orjson.loads(lines[-1])
    outcome["command"] = shlex.join(["python", "-m", "bench.ocpp_load", *arguments])
    outcome["background_cpu_percent_before"] = background
    return outcome


def wait_for_quiet(patience: float) -> float | None:
    """Wait (up to ``patience`` s) for the machine to be idle but for us; return the last busy reading.

    Other work on the machine (a test run, another benchmark) takes CPU from the server and the
    generator and makes the figures wrong, so a run starts only once it has gone or patience runs out;
    the result keeps the reading, and each run's ``other_cpu_percent`` shows what came during it.
    """
    deadline = time.monotonic() + patience
    busy = busy_percent()
    while busy is not None and busy > QUIET_PERCENT and time.monotonic() < deadline:
        busy = busy_percent(2.0)
    if busy is not None and busy > QUIET_PERCENT:
        print(f"    warning: the machine is busy with other work ({busy:.0f}% of a core); figures suffer")
    return busy


def measure(
    start: Callable[[], AbstractContextManager[RunningServer]], version: OcppVersion, windows: Windows,
    cores: Cores, *, rate: float | None,
) -> tuple[RunningServer, dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Start a server, run ``max`` then ``rate`` (at ``rate``, else half the max figure), stop it."""
    with start() as server:
        peak = run_generator(server, version, windows, rate=None, cpu=cores.generator)
        paced_rate = rate if rate is not None else peak["round_trips_per_second"] / 2
        paced = run_generator(server, version, windows, rate=max(paced_rate, 1.0), cpu=cores.generator)
    return server, peak, paced


def run(plan: Plan) -> Iterator[Result]:
    windows, cores = Windows.choose(plan), Cores.choose()
    targets = target_servers()
    for version in OcppVersion:
        name = f"ocpp/bare-{version}"
        print(f"{name}: {windows.stations:,} stations, max then rate mode ...", flush=True)
        try:
            server, peak, paced = measure(
                lambda: bare_server(cpu=cores.server), version, windows, cores, rate=None
            )
        except (ServerFailed, GeneratorFailed, subprocess.TimeoutExpired) as problem:
            yield failed_result(name, str(problem))
            for target in targets:  # nothing to hold them to
                yield failed_result(f"ocpp/{target.name}-{version}", "no bare figure in this run")
            continue
        yield bare_result(name, windows.stations, server, peak, paced)
        for target in targets:
            yield from _run_target(target, version, windows, cores, bare=peak["round_trips_per_second"])
    if not targets:
        print("evbill OCPP server: not available yet (bench/ocpp.py target_servers() is empty)", flush=True)


def _run_target(
    target: TargetServer, version: OcppVersion, windows: Windows, cores: Cores, *, bare: float
) -> Iterator[Result]:
    name = f"ocpp/{target.name}-{version}"
    print(f"{name}: {windows.stations:,} stations, max then rate at {bare / 2:,.0f}/s ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="evbill-bench-ocpp-") as directory:
        port = free_port()
        fill = {"port": str(port), "directory": directory}
        command = tuple(part.format(**fill) for part in target.command)
        environment = {key: value.format(**fill) for key, value in target.environment.items()}
        if target.seed is not None:
            credentials = station_credentials(windows.stations, prefix=ID_PREFIX, auth_template=AUTH_TEMPLATE)
            try:
                target.seed(environment, credentials, version.value)
            except Exception as problem:  # whatever the seeding raises, the other servers still run
                yield failed_result(name, f"seeding failed: {type(problem).__name__}: {problem}")
                return
        cpu = cores.server if target.pin else None

        def start() -> AbstractContextManager[RunningServer]:
            return command_server(command, environment, port=port, path=target.path, cpu=cpu)

        try:
            server, peak, paced = measure(start, version, windows, cores, rate=bare / 2)
        except (ServerFailed, GeneratorFailed, subprocess.TimeoutExpired) as problem:
            yield failed_result(name, str(problem))
            return
    yield target_result(name, windows.stations, server, peak, paced, bare=bare, limit_ms=P99_LIMIT_MS)
