"""``python -m bench``: pin to one CPU, run the benchmarks, print a summary, exit 1 on a missed target.

python -m bench                 # the issue's figures: 5 rounds of >= 1 s, 100,000-CDR batch
python -m bench --quick         # smoke test: short rounds, 10,000-CDR batch
python -m bench --only rating   # only the benchmarks whose name starts with "rating"
python -m bench --only rerating # backtest re-rating: stored sessions per second, fast path vs scalar
python -m bench --only ocpp     # OCPP-J round trips: bare ocpp-library server vs evbill, 1,000 stations
python -m bench --only api      # REST list endpoints at 200 req/s on PostgreSQL, 1,000,000 sessions
python -m bench --only api --fresh   # the same, reloading its PostgreSQL data set first
python -m bench --only cli      # CLI start-up: evbill --help and evbill rate, whole processes, median
python -m bench --only ledger   # 1,000,000 ledger entries posted, then `ledger check` over them (PostgreSQL)
python -m bench --only billing  # a monthly run: 10,000 contracts, 300,000 sessions (SQLite, PostgreSQL)
python -m bench --only status   # status history: journal cost of each report, utilisation over 144,000
python -m bench --only reports  # every report over 1,000,000 sessions on PostgreSQL, median of 7 runs
python -m bench --only pdf      # Factur-X rendering of typical invoices (20 sessions each) per core
python -m bench --only statements  # a 10,000-line camt.053 statement imported (SQLite and PostgreSQL)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator

from bench import api, batch, billing, cli, ledger, ocpp, pdf, rating, reports, rerating, statements, status
from bench.report import Result, cpu_model, environment, save, summary_table
from bench.timing import Plan

SUITES: tuple[tuple[str, Callable[[Plan], Iterator[Result]]], ...] = (
    ("rating", rating.run),
    ("rerating", rerating.run),
    ("batch", batch.run),
    ("ocpp", ocpp.run),
    ("api", api.run),
    ("cli", cli.run),
    ("ledger", ledger.run),
    ("billing", billing.run),
    ("status", status.run),
    ("reports", reports.run),
    ("pdf", pdf.run),
    ("statements", statements.run),
)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds and a small batch (smoke test)")
    parser.add_argument("--cpu", type=int, help="CPU to pin to (default: the highest one allowed)")
    parser.add_argument(
        "--only",
        help="run only the suites whose name starts with this "
        "(rating, rerating, batch, ocpp, api, cli, ledger, billing, status, reports, pdf, statements)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="rebuild stored benchmark data (the api suite's PostgreSQL set)"
    )
    return parser.parse_args(argv)


def pin(cpu: int | None) -> int | None:
    """Pin this process (and the commands it starts) to one CPU; None where the OS cannot."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    chosen = max(os.sched_getaffinity(0)) if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    plan = Plan.choose(quick=arguments.quick, fresh=arguments.fresh)
    cpu = pin(arguments.cpu)
    print(
        f"evbill bench: Python {sys.version.split()[0]}, {cpu_model()}, pinned to CPU {cpu}; "
        f"{plan.rounds} rounds of >= {plan.seconds:g} s{' (quick)' if plan.quick else ''}",
        flush=True,
    )
    results: list[Result] = []
    for name, run in SUITES:
        if arguments.only and not name.startswith(arguments.only):
            continue
        for result in run(plan):
            save(result, environment(cpu))
            print(result.line, flush=True)
            results.append(result)
    print()
    print(summary_table(results))
    failed = [result.name for result in results if not result.passed]
    print(f"\n{len(results) - len(failed)} of {len(results)} passed; results in bench/results/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
