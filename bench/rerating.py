"""Re-rating for backtests: stored sessions re-priced under a candidate tariff, sessions per second.

The sessions are what a backtest reads from storage: ``StoredSession`` values whose ``usage`` holds
the periods they were billed on (decoded ``session_usage`` rows; reading them from the database is
not timed here). One pass is the backtest's own re-rating step, ``rerate_sessions`` (application):
for each session, the candidate compiled once per zone, the session priced and its two totals
settled, as ``evbill backtest`` does. Two paths over the same sessions:

* **fast** — ``rating.fast`` (what backtests use): the engine's arithmetic to totals only;
* **scalar** — ``rating.rate`` + ``settle`` per session, the engine as a receipt uses it.

Target (issue 15): >= 100,000 sessions/s for the simple tariff over sessions of 1-3 periods. The
48-element hourly tariff over 24-period sessions is reported (no target): its cost is per period.

Each round is timed by the wall clock (the headline, as every suite) and by this process's CPU time
(``time.process_time``): on a machine shared with other work the wall clock counts the time other
processes had the core, the CPU figure does not, so both are printed and saved.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bench import data
from bench.rating import ZONE
from bench.report import Result, verdict
from bench.timing import Plan, Throughput
from evbill.adapters.ocpi.cdrs import parse_cdr
from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.application.analytics.backtests import rerate_sessions
from evbill.domain.analytics.backtest import StoredSession, rerate
from evbill.domain.money import RoundingMode
from evbill.domain.rating import compile_tariff
from evbill.domain.rating.fast import FastTariff
from evbill.domain.tariffs.model import Tariff

DISTINCT_SESSIONS = 5000


@dataclass(frozen=True, slots=True)
class RerateCase:
    name: str
    describe: str
    tariff: Callable[[], data.Document]
    cdr: data.CdrMaker
    seed: int
    target: int | None


CASES = (
    RerateCase(
        name="rerating/simple",
        describe="candidate: start fee + energy + parking (step 900), VAT; stored sessions of 1-3 periods",
        tariff=data.simple_tariff,
        cdr=data.simple_cdr,
        seed=11,
        target=100_000,
    ),
    RerateCase(
        name="rerating/hourly",
        describe="candidate: 48 elements (24 h x weekday/weekend); stored sessions of 24 periods",
        tariff=data.hourly_tariff,
        cdr=data.hourly_cdr,
        seed=12,
        target=None,
    ),
)


def stored_sessions(case: RerateCase) -> list[StoredSession]:
    """Sessions as the backtest reads them (billed totals are not compared here: zero)."""
    sessions = []
    for number, document in enumerate(data.generate(case.cdr, DISTINCT_SESSIONS, case.seed)):
        usage = parse_cdr(document).usage
        sessions.append(
            StoredSession(f"S{number}", "BER-MITTE", f"C{number % 500}", ZONE, "EUR", None, 0, 0, usage)
        )
    return sessions


def fast_pass(sessions: list[StoredSession], tariff: Tariff) -> Callable[[], None]:
    def run() -> None:
        left_out: dict[str, int] = {}
        for _ in rerate_sessions(sessions, tariff, RoundingMode.HALF_UP, left_out, {}):
            pass

    return run


def scalar_pass(sessions: list[StoredSession], tariff: Tariff) -> Callable[[], None]:
    compiled = compile_tariff(tariff, ZoneInfo(ZONE))

    def run() -> None:
        for session in sessions:
            rerate(session, session.usage, compiled, RoundingMode.HALF_UP)  # type: ignore[arg-type]

    return run


def check(sessions: list[StoredSession], tariff: Tariff) -> tuple[int, int]:
    """(sessions whose fast totals differ from the scalar ones, sessions left to the scalar engine)."""
    compiled = compile_tariff(tariff, ZoneInfo(ZONE))
    fast = FastTariff(compiled)
    differ = 0
    for session in sessions:
        expected = rerate(session, session.usage, compiled, RoundingMode.HALF_UP)  # type: ignore[arg-type]
        if fast.settled(session.usage, RoundingMode.HALF_UP) != expected[5:7]:  # type: ignore[arg-type]
            differ += 1
    return differ, fast.fallbacks


def measure(run_pass: Callable[[], object], *, items: int, plan: Plan) -> tuple[Throughput, Throughput]:
    """``timing.measure`` timed twice: (wall clock, CPU time of this process) per round."""
    run_pass()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(plan.rounds):
        gc.collect()
        passes = 0
        started, started_cpu = time.perf_counter(), time.process_time()
        elapsed = 0.0
        while elapsed < plan.seconds:
            run_pass()
            passes += 1
            elapsed = time.perf_counter() - started
        wall.append(passes * items / elapsed)
        cpu.append(passes * items / max(time.process_time() - started_cpu, 1e-9))
    return Throughput(tuple(wall)), Throughput(tuple(cpu))


def run_case(case: RerateCase, plan: Plan) -> Result:
    print(f"{case.name}: {case.describe}", flush=True)
    tariff = parse_tariff(case.tariff()).tariff
    sessions = stored_sessions(case)
    differ, fallbacks = check(sessions, tariff)
    fast, fast_cpu = measure(fast_pass(sessions, tariff), items=len(sessions), plan=plan)
    scalar, scalar_cpu = measure(scalar_pass(sessions, tariff), items=len(sessions), plan=plan)
    passed = differ == 0 and (case.target is None or fast.median >= case.target)
    share = statistics.median(w / c for w, c in zip(fast.rounds, fast_cpu.rounds, strict=True))
    target = "reported" if case.target is None else f">= {case.target:,} sessions/s"
    line = (
        f"{case.name}: fast {fast.median:,.0f} sessions/s (best {fast.best:,.0f}; per CPU second "
        f"{fast_cpu.median:,.0f}; {target})  scalar {scalar.median:,.0f} sessions/s (per CPU second "
        f"{scalar_cpu.median:,.0f})  x{fast_cpu.median / scalar_cpu.median:.2f}; this process had the "
        f"CPU {share:.0%} of the time; "
        f"{differ} of {len(sessions):,} totals differ, {fallbacks} left to the scalar engine  "
        f"{verdict(passed)}"
    )
    return Result(
        name=case.name,
        passed=passed,
        measured=f"{fast.median:,.0f} sessions/s",
        target=target,
        line=line,
        figures={
            **_figures(case, plan, sessions, fast, scalar, differ, fallbacks),
            "fast_per_cpu_second": fast_cpu.as_dict(),
            "scalar_per_cpu_second": scalar_cpu.as_dict(),
            "load_average": os.getloadavg(),
            "cpu_share_of_wall_clock": round(share, 3),
        },
    )


def _figures(
    case: RerateCase,
    plan: Plan,
    sessions: list[StoredSession],
    fast: Throughput,
    scalar: Throughput,
    differ: int,
    fallbacks: int,
) -> dict[str, object]:
    return {
        "description": case.describe,
        "unit": "sessions/s",
        "target_sessions_per_second": case.target,
        "fast": fast.as_dict(),
        "scalar": scalar.as_dict(),
        "sessions": len(sessions),
        "totals_differing_from_scalar": differ,
        "scalar_fallbacks": fallbacks,
        "rounds": plan.rounds,
        "round_seconds": plan.seconds,
        "quick": plan.quick,
        "seed": case.seed,
        "zone": ZONE,
    }


def run(plan: Plan) -> Iterator[Result]:
    for case in CASES:
        yield run_case(case, plan)
