"""The API benchmark's verdict: figures per endpoint and overall, the printed lines, the JSON document.

    api: 6,000 list requests offered at 200/s (...): p50 6.1 ms, p95 19.0 ms, p99 38.2 ms, ...  PASS
        endpoint                  count      p50      p95      p99      max  errors  (ms)
        sessions                    840      6.3     19.5     40.1     61.0       0
        ...
        workers: 48 % CPU and 112.0 MiB RSS, ...; CPU cores used during the load: 1.41 of 2 (...)

PASS needs an overall p99 under 50 ms, no answer other than 2xx, and at least 99 % of the offered
rate answered (an open loop offers the full rate, so only missing answers make it fall short).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.api_data import Dataset
from bench.api_load import PER_CLIENT, Sample, summarize
from bench.api_machine import QUIET_CORES
from bench.api_mix import MIX
from bench.report import Result, verdict

LIMIT_P99_MS = 50.0
ANSWERED_FRACTION = 0.99


@dataclass(frozen=True, slots=True)
class Run:
    """One measured load: who served it, how it was offered, what came back, what it cost."""

    name: str
    server: str
    workers: int
    connections: int
    seed: int
    rate: float
    warmup: float
    seconds: float
    dataset: Dataset
    schema: str
    samples: list[Sample]
    usage: dict[str, Any]


def target(rate: float) -> str:
    return f"p99 < {LIMIT_P99_MS:.0f} ms at >= {rate:.0f} req/s, no errors"


def result(run: Run, *, quick: bool) -> Result:
    overall = summarize(run.samples, seconds=run.seconds)
    endpoints = {
        kind: summarize([sample for sample in run.samples if sample.kind == kind], seconds=run.seconds)
        for kind, _ in MIX
    }
    passed = (
        overall["count"] > 0
        and overall["errors"] == 0
        and overall["p99_ms"] < LIMIT_P99_MS
        and overall["achieved_per_second"] >= ANSWERED_FRACTION * run.rate
    )
    line = (
        f"{run.name}: {overall['count']:,} list requests offered at {run.rate:.0f}/s (open loop, "
        f"{run.seconds:.0f} s after {run.warmup:.0f} s warm-up; {run.server}; {run.dataset.sessions:,} "
        f"sessions): p50 {overall['p50_ms']:.1f} ms, p95 {overall['p95_ms']:.1f} ms, "
        f"p99 {overall['p99_ms']:.1f} ms, max {overall['max_ms']:.1f} ms; {overall['errors']} errors; "
        f"{overall['achieved_per_second']:.1f} req/s answered (target {target(run.rate)})  {verdict(passed)}"
    )
    line += "\n" + endpoint_table(endpoints) + "\n    " + usage_line(run.usage)
    return Result(
        name=run.name,
        passed=passed,
        measured=f"p99 {overall['p99_ms']:.1f} ms at {overall['achieved_per_second']:.0f} req/s",
        target=target(run.rate),
        line=line,
        figures={
            "description": f"open-loop GETs of list and filter endpoints; {run.server} on PostgreSQL",
            "quick": quick,
            "targets": {"p99_ms_below": LIMIT_P99_MS, "rate_per_second": run.rate, "errors": 0,
                        "answered_fraction_at_least": ANSWERED_FRACTION},
            "load": {
                "rate_per_second": run.rate, "warmup_seconds": run.warmup, "measured_seconds": run.seconds,
                "connections": run.connections, "workers": run.workers, "seed": run.seed,
                "mix_weights": dict(MIX),
                "client": f"asyncio + httpx.AsyncClient, keep-alive, {PER_CLIENT} connections per client",
                "latency": "from the scheduled send time to the last byte of the answer",
            },
            "dataset": {
                "schema": run.schema, "sessions": run.dataset.sessions,
                "loaded_at": run.dataset.loaded_at.isoformat(), "reused": run.dataset.reused,
                "build_seconds": round(run.dataset.load_seconds, 1),
                "big_operator": "1,000 locations, 1,000 stations, 10,000 EVSEs, 10,000 connectors",
            },
            "overall": overall,
            "endpoints": endpoints,
            "usage": run.usage,
            "contended": contended(run.usage),
        },
    )  # fmt: skip


def failure(name: str, rate: float, message: str) -> Result:
    return Result(
        name=name,
        passed=False,
        measured="not measured",
        target=target(rate),
        line=f"{name}: not measured: {message}  {verdict(False)}",
        figures={"error": message},
    )


def endpoint_table(endpoints: dict[str, dict[str, Any]]) -> str:
    rows = [f"    {'endpoint':<24}{'count':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'errors':>8}  (ms)"]
    for kind, figures in endpoints.items():
        if figures["count"]:
            rows.append(
                f"    {kind:<24}{figures['count']:>7,}{figures['p50_ms']:>9.1f}{figures['p95_ms']:>9.1f}"
                f"{figures['p99_ms']:>9.1f}{figures['max_ms']:>9.1f}{figures['errors']:>8}"
            )
    return "\n".join(rows)


def usage_line(usage: dict[str, Any]) -> str:
    workers = ", ".join(
        f"{worker['cpu_percent']:.0f} % CPU and {worker['rss_mib_after']} MiB RSS"
        for worker in usage["workers"]
    )
    during = usage["during_load"]
    shares = ", ".join(
        f"{group} {cores:.2f} ({usage['cpu_ms_per_request'][group]:.2f} ms/request)"
        for group, cores in during["cores"].items()
    )
    spread = " / ".join(str(count) for count in usage["connections_per_worker_halfway"].values())
    line = f"workers: {workers}; connections held halfway: {spread or '?'}\n"
    line += (
        f"    CPU cores used during the load: {during['busy_cores']:.2f} of {len(usage['cpus'])}: {shares}"
    )
    if contended(usage):
        line += (
            f"\n    NOTE: the machine was not ours alone ({usage['before_load']['busy_cores']:.2f} cores "
            f"busy before the load; {during['busiest_other_processes']} during it): figures are pessimistic"
        )
    return line


def contended(usage: dict[str, Any]) -> bool:
    """Whether other work competed for the CPUs before or during the load."""
    cores = usage["during_load"]["cores"]
    others = cores.get("other processes", 0.0) + cores.get("exited processes", 0.0)
    return bool(usage["before_load"]["busy_cores"] > QUIET_CORES or others > QUIET_CORES)
