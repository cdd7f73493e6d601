"""The OCPP load generator: N stations on one websocket each, against any OCPP-J server URL.

Run it as its own process, beside the server on the same machine:

    python -m bench.ocpp_load --url ws://127.0.0.1:9000/ocpp --stations 1000 --ocpp 1.6 \\
        --mode max --warmup 10 --duration 20 --auth-template 'bench-{id}-password' --id-prefix BENCH- \\
        --server-pid 4242 --cpu 1

Every station connects (HTTP Basic auth: user = its id, password from the template), boots and starts
one transaction (untimed), then reports its meter: 1.6 MeterValues or 2.0.1 TransactionEvent Updated.

* ``--mode max``: each station sends its next report as soon as the last is acknowledged, all stations
  at once (closed loop); the figure is round trips acknowledged per second in the measuring window.
* ``--mode rate --rate R``: reports are scheduled at R per second in total, each station every
  N/R seconds, staggered; latency runs from the scheduled send time to the CallResult.

Afterwards every open transaction is stopped (StopTransaction / TransactionEvent Ended, untimed) and
the connections closed. Progress goes to stderr; the last line on stdout is the JSON result. With
``--server-pid`` the result also has the server's RSS (before connecting, after the first tenth of
the stations, with all connected, after the load) and its CPU use in the window.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
import websockets

from bench import ocpp_frames as frames
from bench.ocpp_frames import OcppVersion, Station
from bench.ocpp_link import CallFailed, Link, open_link
from bench.ocpp_process import (
    cpu_seconds,
    machine_busy_seconds,
    pin_to_cpu,
    raise_open_files_limit,
    resident_kib,
)
from bench.ocpp_stats import Recorder, latency_summary, per_cpu_second, per_station_kib, utilisation


class Mode(StrEnum):
    MAX = "max"  # closed loop: as fast as acknowledged
    RATE = "rate"  # open loop: a fixed total rate


@dataclass(frozen=True, slots=True)
class LoadPlan:
    url: str
    version: OcppVersion
    stations: int
    mode: Mode
    rate: float
    warmup: float
    duration: float
    auth_template: str
    id_prefix: str
    id_tag_template: str
    server_pid: int | None
    connect_concurrency: int = 50
    call_timeout: float = 30.0


class Timestamps:
    """The current UTC time as OCPP wants it, formatted once per second rather than once per message."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._text


def progress(message: str) -> None:
    sys.stderr.write(f"ocpp_load: {message}\n")
    sys.stderr.flush()


class LoadRun:
    """One run: connect and set up the stations, load the server, stop the transactions, report."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.now = Timestamps()
        self.setup_errors: Counter[str] = Counter()
        self.server_calls: Counter[str] = Counter()
        self.memory: dict[str, int | None] = {}
        self.first_tenth = 0
        self.passwords = dict(
            frames.station_credentials(plan.stations, prefix=plan.id_prefix, auth_template=plan.auth_template)
        )

    def read_memory(self, moment: str) -> None:
        if self.plan.server_pid is not None:
            self.memory[moment] = resident_kib(self.plan.server_pid)

    async def set_up(self, station: Station, gate: asyncio.Semaphore) -> Link | None:
        """Connect, boot and start the transaction; None (and the reason counted) when any step fails."""
        plan, link = self.plan, None
        async with gate:
            try:
                link = await open_link(
                    url=plan.url, station=station, password=self.passwords[station.id], version=plan.version,
                    timeout=plan.call_timeout * 2, server_calls=self.server_calls,
                )  # fmt: skip
                booted = await link.call(*frames.boot_notification(plan.version), timeout=plan.call_timeout)
                refusal = frames.boot_refusal(booted)
                if refusal is None:
                    started = frames.start_transaction(plan.version, station, self.now())
                    response = await link.call(*started, timeout=plan.call_timeout)
                    refusal = frames.accept_transaction(plan.version, station, response)
            except (CallFailed, OSError, TimeoutError, websockets.InvalidHandshake) as problem:
                refusal = getattr(problem, "kind", None) or f"{type(problem).__name__}: {problem}"[:120]
            if refusal is None:
                return link
            self.setup_errors[refusal] += 1
            if link is not None:
                await link.close()
            return None

    async def connect_all(self) -> list[Link]:
        stations = [
            Station.numbered(number, prefix=self.plan.id_prefix, id_tag_template=self.plan.id_tag_template)
            for number in range(1, self.plan.stations + 1)
        ]
        gate = asyncio.Semaphore(self.plan.connect_concurrency)
        first = max(1, len(stations) // 10)
        self.read_memory("before")
        links = await asyncio.gather(*(self.set_up(station, gate) for station in stations[:first]))
        self.read_memory("after_first_tenth")
        links += await asyncio.gather(*(self.set_up(station, gate) for station in stations[first:]))
        self.read_memory("connected")
        self.first_tenth = sum(link is not None for link in links[:first])
        return [link for link in links if link is not None]

    async def drive_max(self, link: Link, recorder: Recorder) -> None:
        clock, version, timeout = time.perf_counter, self.plan.version, self.plan.call_timeout
        while clock() < recorder.end:
            report = frames.meter_report(version, link.station, self.now())
            sent = clock()
            try:
                await link.call(*report, timeout=timeout)
            except CallFailed as failure:
                recorder.fail(failure.kind, fatal=failure.fatal)
                if failure.fatal:
                    return
                continue
            acknowledged = clock()
            recorder.record(acknowledged, acknowledged=acknowledged, latency=acknowledged - sent)

    async def drive_rate(self, link: Link, recorder: Recorder, scheduled: float, period: float) -> None:
        clock, version, timeout = time.perf_counter, self.plan.version, self.plan.call_timeout
        while scheduled < recorder.end:
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            report = frames.meter_report(version, link.station, self.now())
            sent = clock()
            try:
                await link.call(*report, timeout=timeout)
            except CallFailed as failure:
                recorder.fail(failure.kind, fatal=failure.fatal)
                if failure.fatal:
                    return
            else:
                acknowledged = clock()
                recorder.record(
                    scheduled,
                    acknowledged=acknowledged,
                    latency=acknowledged - scheduled,
                    send_lag=sent - scheduled,
                )
            scheduled += period

    async def load(self, links: list[Link]) -> tuple[Recorder, dict[str, Any]]:
        """Run the load over ``links`` for warm-up plus window; return the recorder and CPU figures."""
        plan = self.plan
        begin = time.perf_counter() + 0.05
        recorder = Recorder(start=begin + plan.warmup, end=begin + plan.warmup + plan.duration)
        if plan.mode is Mode.MAX:
            drivers = [self.drive_max(link, recorder) for link in links]
        else:
            period = len(links) / plan.rate
            drivers = [
                self.drive_rate(link, recorder, begin + index / plan.rate, period)
                for index, link in enumerate(links)
            ]
        tasks = [asyncio.create_task(driver) for driver in drivers]
        await asyncio.sleep(max(0.0, recorder.start - time.perf_counter()))
        before = (time.process_time(), self._server_cpu(), machine_busy_seconds())
        await asyncio.sleep(max(0.0, recorder.end - time.perf_counter()))
        after = (time.process_time(), self._server_cpu(), machine_busy_seconds())
        self.read_memory("after_load")
        if tasks:
            await asyncio.wait(tasks, timeout=plan.call_timeout + 5)
        generator, server, machine = (
            utilisation(*pair, plan.duration) for pair in zip(before, after, strict=True)
        )
        others = None if None in (generator, server, machine) else round(machine - generator - server, 1)
        cpu = {"generator": generator, "server": server, "machine": machine, "others": others}
        return recorder, cpu

    def _server_cpu(self) -> float | None:
        return None if self.plan.server_pid is None else cpu_seconds(self.plan.server_pid)

    async def tear_down(self, links: list[Link]) -> dict[str, Any]:
        """Stop every open transaction (untimed) and close every connection."""
        errors: Counter[str] = Counter()
        gate = asyncio.Semaphore(self.plan.connect_concurrency)

        async def stop(link: Link) -> bool:
            async with gate:
                stopped = False
                if not link.broken:
                    ending = frames.stop_transaction(self.plan.version, link.station, self.now())
                    try:
                        await link.call(*ending, timeout=self.plan.call_timeout)
                        stopped = True
                    except CallFailed as failure:
                        errors[failure.kind] += 1
                await link.close()
                return stopped

        outcomes = await asyncio.gather(*(stop(link) for link in links))
        return {"transactions_stopped": sum(outcomes), "errors": dict(errors)}

    async def run(self) -> dict[str, Any]:
        plan = self.plan
        progress(f"connecting {plan.stations} stations to {plan.url} (OCPP {plan.version}) ...")
        started = time.perf_counter()
        links = await self.connect_all()
        connect_seconds = time.perf_counter() - started
        progress(f"{len(links)} connected in {connect_seconds:.1f} s; {plan.mode} load ...")
        recorder, cpu = await self.load(links)
        progress(f"{recorder.rate:,.0f} round trips/s; stopping transactions ...")
        teardown = await self.tear_down(links)
        return self.report(links, connect_seconds, recorder, cpu, teardown)

    def report(
        self, links: list[Link], connect_seconds: float, recorder: Recorder, cpu: dict[str, Any],
        teardown: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        plan, memory = self.plan, self.memory
        connected, connected_rss = len(links), memory.get("connected")
        return {
            "url": plan.url, "ocpp": str(plan.version), "mode": str(plan.mode),
            "rate_target": plan.rate if plan.mode is Mode.RATE else None,
            "stations_requested": plan.stations, "stations_connected": connected,
            "connect_seconds": round(connect_seconds, 2), "setup_errors": dict(self.setup_errors),
            "warmup_seconds": plan.warmup, "measure_seconds": plan.duration,
            "round_trips": recorder.count, "round_trips_per_second": round(recorder.rate, 1),
            # what the server gets done per second of its own CPU: the figure that survives a machine
            # that other work keeps busy, where round trips/s do not
            "round_trips_per_server_cpu_second": per_cpu_second(recorder.rate, cpu["server"]),
            "per_second": recorder.per_second, "p99_ms_per_second": recorder.p99_per_second(),
            "latency_ms": latency_summary(recorder.latencies),
            "send_lag_ms": latency_summary(recorder.send_lags) if plan.mode is Mode.RATE else None,
            "errors": sum(recorder.errors.values()), "error_kinds": dict(recorder.errors),
            "stations_lost": recorder.stations_lost, "server_calls": dict(self.server_calls),
            "teardown": teardown,
            "server": {
                "pid": plan.server_pid, "rss_kib": memory, "cpu_percent": cpu["server"],
                # gross: all growth from before the first connection, one-off costs (schemas, threads)
                # included; marginal: growth from the first tenth of the stations to all of them
                "memory_per_station_kib": per_station_kib(memory.get("before"), connected_rss, connected),
                "marginal_memory_per_station_kib": per_station_kib(
                    memory.get("after_first_tenth"), connected_rss, connected - self.first_tenth
                ),
            },
            "generator": {"cpu_percent": cpu["generator"], "pid": os.getpid()},
            # busy CPU of the whole machine in the window, in % of one core (200 = both cores), and
            # what neither the server nor the generator used: kernel network work, and other processes
            "machine_cpu_percent": cpu["machine"], "other_cpu_percent": cpu["others"],
        }  # fmt: skip


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ocpp_load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="OCPP-J base URL; the station id is appended")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--ocpp", type=OcppVersion, choices=list(OcppVersion), default=OcppVersion.V16)
    parser.add_argument("--mode", type=Mode, choices=list(Mode), default=Mode.MAX)
    parser.add_argument("--rate", type=float, default=0.0, help="total reports per second (--mode rate)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--auth-template", default="bench-{id}-password", help="Basic auth password")
    parser.add_argument("--id-prefix", default="BENCH-", help="station ids are PREFIX00001, PREFIX00002, ...")
    parser.add_argument("--id-tag-template", default="{id}", help="idTag / idToken of each station")
    parser.add_argument("--server-pid", type=int, help="read this process's RSS and CPU")
    parser.add_argument("--cpu", type=int, help="CPU to pin the generator to")
    arguments = parser.parse_args(argv)
    if arguments.mode is Mode.RATE and arguments.rate <= 0:
        parser.error("--mode rate needs --rate > 0")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    plan = LoadPlan(
        url=arguments.url, version=arguments.ocpp, stations=arguments.stations, mode=arguments.mode,
        rate=arguments.rate, warmup=arguments.warmup, duration=arguments.duration,
        auth_template=arguments.auth_template, id_prefix=arguments.id_prefix,
        id_tag_template=arguments.id_tag_template, server_pid=arguments.server_pid,
    )  # fmt: skip
    open_files = raise_open_files_limit()
    cpus = pin_to_cpu(arguments.cpu)
    result = asyncio.run(LoadRun(plan).run())
    result["generator"] |= {"cpu_affinity": cpus, "open_files_limit": open_files}
    result["generator"]["websockets"] = websockets.__version__
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0 if result["stations_connected"] else 1


if __name__ == "__main__":
    sys.exit(main())
