"""In-process rating throughput: CDRs per second on one core, for a simple and an hourly tariff.

The tariff is parsed and compiled once, before timing, as ``evbill rate`` and ``CdrPricer`` do. Two
figures are taken over the same 2,000 distinct CDRs, cycled:

* **rate** — the CDRs were read into ``SessionUsage`` beforehand; only ``rate(usage, compiled)`` is
  timed. This is the figure the targets apply to.
* **read+rate** — from already-decoded JSON dicts: ``parse_cdr(document)`` and then ``rate``. JSON
  decoding and writing the priced CDR are left out (the batch benchmark covers the whole path).

Targets (issue): >= 50,000 CDRs/s for the simple tariff with 1–3 periods; >= 10,000 CDRs/s for the
48-element hourly tariff with 24 periods crossing local midnight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bench import data
from bench.report import Result, per_second, verdict
from bench.timing import Plan, Throughput, measure
from evbill.adapters.ocpi.cdrs import parse_cdr
from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.rating import CompiledTariff, compile_tariff, rate

ZONE = "Europe/Berlin"
DISTINCT_CDRS = 2000


@dataclass(frozen=True, slots=True)
class RatingCase:
    """A tariff, a CDR generator and the throughput the "rate" figure must reach."""

    name: str
    describe: str
    tariff: Callable[[], data.Document]
    cdr: data.CdrMaker
    seed: int
    target: int


CASES = (
    RatingCase(
        name="rating/simple",
        describe="start fee + energy + parking (step 900), VAT; CDRs of 1-3 periods",
        tariff=data.simple_tariff,
        cdr=data.simple_cdr,
        seed=1,
        target=50_000,
    ),
    RatingCase(
        name="rating/hourly",
        describe="48 elements (24 h x weekday/weekend, ENERGY + TIME); CDRs of 24 periods over midnight",
        tariff=data.hourly_tariff,
        cdr=data.hourly_cdr,
        seed=2,
        target=10_000,
    ),
)


def compile_document(document: data.Document) -> CompiledTariff:
    """Read and compile a tariff for the benchmark zone (done once, outside the timing)."""
    return compile_tariff(parse_tariff(document).tariff, ZoneInfo(ZONE))


def rate_pass(usages: list[SessionUsage], compiled: CompiledTariff) -> Callable[[], None]:
    def run() -> None:
        for usage in usages:
            rate(usage, compiled)

    return run


def read_and_rate_pass(documents: list[data.Document], compiled: CompiledTariff) -> Callable[[], None]:
    def run() -> None:
        for document in documents:
            rate(parse_cdr(document).usage, compiled)

    return run


def run_case(case: RatingCase, plan: Plan) -> Result:
    """Measure both figures for one case and judge the median "rate" figure against the target."""
    print(f"{case.name}: {case.describe}", flush=True)
    compiled = compile_document(case.tariff())
    documents = data.generate(case.cdr, DISTINCT_CDRS, case.seed)
    usages = [parse_cdr(document).usage for document in documents]
    rated = measure(rate_pass(usages, compiled), items=len(usages), plan=plan)
    read_rated = measure(read_and_rate_pass(documents, compiled), items=len(documents), plan=plan)
    passed = rated.median >= case.target
    return Result(
        name=case.name,
        passed=passed,
        measured=per_second(rated.median),
        target=f">= {per_second(case.target)}",
        line=_line(case, rated, read_rated, passed),
        figures=_figures(case, plan, usages, rated, read_rated),
    )


def _line(case: RatingCase, rated: Throughput, read_rated: Throughput, passed: bool) -> str:
    return (
        f"{case.name}: rate {rated.median:,.0f} CDRs/s (best {rated.best:,.0f}, target {case.target:,})"
        f"  read+rate {read_rated.median:,.0f} CDRs/s (best {read_rated.best:,.0f})  {verdict(passed)}"
    )


def _figures(
    case: RatingCase, plan: Plan, usages: list[SessionUsage], rated: Throughput, read_rated: Throughput
) -> dict[str, object]:
    periods = sorted({len(usage.periods) for usage in usages})
    return {
        "description": case.describe,
        "unit": "CDRs/s",
        "target_figure": "rate, median",
        "target_cdrs_per_second": case.target,
        "rate": rated.as_dict(),
        "read_rate": read_rated.as_dict(),
        "rounds": plan.rounds,
        "round_seconds": plan.seconds,
        "quick": plan.quick,
        "distinct_cdrs": len(usages),
        "periods_per_cdr": f"{periods[0]}-{periods[-1]}" if len(periods) > 1 else str(periods[0]),
        "seed": case.seed,
        "zone": ZONE,
    }


def run(plan: Plan) -> Iterator[Result]:
    for case in CASES:
        yield run_case(case, plan)
