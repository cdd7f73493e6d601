"""The OCPP suite's results: one per server and protocol version, headline against the issue's target.

The bare server's result is the reference (it passes when every station connected and nothing
failed); an evbill server's passes when its sustained round trips/s reach the bare figure of the same
run, its p99 at half that rate is under 100 ms, and nothing failed. Both keep every figure the
generator reported, its exact command line included, in bench/results/ocpp-<server>-<version>.json:

    ocpp/bare-1.6: 3,190 round trips/s max (1,000 stations); p99 4.2 ms at 1,595/s; 20.5 KiB/station; ...
"""

from __future__ import annotations

from typing import Any

from bench.ocpp_servers import RunningServer
from bench.report import Result, verdict

P99_LIMIT_MS = 100.0


def failed_result(name: str, problem: str) -> Result:
    return Result(
        name=name, passed=False, measured="failed", target="-",
        line=f"{name}: FAILED\n    " + problem.replace("\n", "\n    "), figures={"problem": problem},
    )  # fmt: skip


def clean(outcome: dict[str, Any]) -> bool:
    """Every station connected and set up, no error in the load, every transaction stopped."""
    return (
        outcome["stations_connected"] == outcome["stations_requested"]
        and not outcome["errors"]
        and outcome["teardown"]["transactions_stopped"] == outcome["stations_connected"]
    )


def describe(outcome: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one generator run, for the line and the summary."""
    server, latency = outcome["server"], outcome["latency_ms"]
    return {
        "rate": outcome["round_trips_per_second"],
        "p99": latency["p99"],
        "memory": server["marginal_memory_per_station_kib"],
        "server_cpu": server["cpu_percent"],
        "generator_cpu": outcome["generator"]["cpu_percent"],
        "other_cpu": outcome["other_cpu_percent"],
        "errors": outcome["errors"] + sum(outcome["setup_errors"].values()),
    }


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _pushes(outcome: dict) -> int:
    """Calls the server made during a run: running costs (1.6 DataTransfer, 2.0.1 CostUpdated)."""
    calls = outcome.get("server_calls") or {}
    return int(calls.get("DataTransfer", 0)) + int(calls.get("CostUpdated", 0))


def _line(name: str, stations: int, server: RunningServer, peak: dict, paced: dict, tail: str) -> str:
    top, half = describe(peak), describe(paced)
    memory = "n/a" if top["memory"] is None else f"{top['memory']:,.1f} KiB/station"
    return (
        f"{name}: {top['rate']:,.0f} round trips/s max "
        f"({peak['stations_connected']:,}/{stations:,} stations, p99 {top['p99']} ms); "
        f"p99 {half['p99']} ms at {paced['rate_target']:,.0f}/s; {memory}; "
        f"{_figure(peak['round_trips_per_server_cpu_second'])} per server CPU-second; "
        f"CPU server {top['server_cpu']}% (pinned {server.cpus}), generator {top['generator_cpu']}% "
        f"(pinned {peak['generator']['cpu_affinity']}), others {top['other_cpu']}%; "
        f"errors {top['errors']} + {half['errors']}; "
        f"calls to stations (running costs) {_pushes(peak)} + {_pushes(paced)}{tail}"
    )


def _figures(stations: int, server: RunningServer, peak: dict, paced: dict) -> dict[str, Any]:
    return {
        "stations": stations,
        "round_trips_per_second": peak["round_trips_per_second"],
        "round_trips_per_server_cpu_second": peak["round_trips_per_server_cpu_second"],
        "p99_ms_at_half_rate": paced["latency_ms"]["p99"],
        "half_rate": paced["rate_target"],
        "memory_per_station_kib": peak["server"]["marginal_memory_per_station_kib"],
        "server": {"url": server.url, "cpu_affinity": server.cpus},
        "max_run": peak,
        "rate_run": paced,
    }


def bare_result(name: str, stations: int, server: RunningServer, peak: dict, paced: dict) -> Result:
    passed = clean(peak) and clean(paced)
    line = _line(name, stations, server, peak, paced, f"  {verdict(passed)} (reference)")
    figures = _figures(stations, server, peak, paced)
    figures["description"] = (
        "bare ocpp-library CSMS (bench.ocpp_bare), default schema validation, stores nothing"
    )
    return Result(
        name=name, passed=passed, measured=f"{peak['round_trips_per_second']:,.0f} round trips/s",
        target="reference (stores nothing)", line=line, figures=figures,
    )  # fmt: skip


def target_result(
    name: str, stations: int, server: RunningServer, peak: dict, paced: dict, *, bare: float, limit_ms: float
) -> Result:
    rate, p99 = peak["round_trips_per_second"], paced["latency_ms"]["p99"]
    passed = clean(peak) and clean(paced) and rate >= bare and p99 is not None and p99 < limit_ms
    line = _line(name, stations, server, peak, paced, f"; bare {bare:,.0f}/s  {verdict(passed)}")
    figures = _figures(stations, server, peak, paced) | {"bare_round_trips_per_second": bare}
    target = f">= {bare:,.0f}/s (bare); p99 < {limit_ms:.0f} ms at {bare / 2:,.0f}/s"
    return Result(
        name=name, passed=passed, measured=f"{rate:,.0f} round trips/s, p99 {p99} ms",
        target=target, line=line, figures=figures,
    )  # fmt: skip
