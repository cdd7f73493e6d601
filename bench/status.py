"""Status history: what storing every StatusNotification costs the OCPP journal, and utilisation over it.

On a fresh PostgreSQL schema (``EVBILL_BENCH_POSTGRES``, default ``postgresql://postgres@127.0.0.1:5432/test``)
with one operator, 100 stations of 2 EVSEs each:

1. **Journal.** 200 concurrent "stations" each send 100 messages through the group-commit journal,
   awaiting each before the next (as a charger does): with the incoming and reply frames only (what
   a 2.0.1 StatusNotification cost before the history), and with its status report as well; 3 rounds
   of each, alternated, medians. Messages per second of each, and the cost of binding a status row.
2. **Reports.** 30 days x 24 reports a day x 200 EVSEs = 144,000 reports (written by the repository),
   then utilisation by EVSE, faults and the occupancy heatmap over the 30 days, median of 3 runs.

PASS: the journal with status reports keeps >= 90 % of the frames-only throughput, and each report
answers in < 500 ms (issue 15). ``--quick``: 20 concurrent stations, 3 days.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from bench.ledger import DEFAULT_SERVER, _schema_url
from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.charging.journal import GroupCommitJournal
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.analytics.utilisation import (
    UtilisationQuery,
    shown_faults,
    shown_occupancy,
    shown_utilisation,
)
from evbill.application.sites import records as sites
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.utilisation_report import UtilisationGroup
from evbill.domain.charging.frames import Direction, Frame
from evbill.domain.charging.status_history import StatusReport

STATIONS = 100
EVSES = 2
MESSAGES = 100
CYCLE = ("Available", "Preparing", "Charging", "SuspendedEV", "Charging", "Finishing")
START = datetime(2026, 10, 1, tzinfo=UTC)
REPORT_TARGET_SECONDS = 0.5


def run(plan: Plan) -> Iterator[Result]:
    server = os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER)
    schema = f"bench_status_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield from _measure(_schema_url(server, schema), plan.quick)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _network(container: object) -> tuple[str, list[str]]:
    services = container.services  # type: ignore[attr-defined]
    operator_id = create_operator(
        services, name="Bench", legal_name="Bench B.V.", country="NL", default_currency="EUR"
    ).id
    admin = platform_actor(operator_id)
    location = sites.create(services, admin, sites.LOCATIONS, {
        "name": "Bench", "address": "Street 1", "city": "Amsterdam", "country": "NL",
        "time_zone": "Europe/Amsterdam", "latitude": Decimal("52.3"), "longitude": Decimal("4.9"),
    })  # fmt: skip
    stations = []
    for number in range(STATIONS):
        station = sites.create(services, admin, sites.STATIONS, {
            "location_id": location.id, "charge_point_id": f"CP-BENCH-{number}", "vendor": "Bench",
            "model": "B", "ocpp_version": "1.6",
        })  # fmt: skip
        for evse in range(1, EVSES + 1):
            sites.create(services, admin, sites.EVSES, {
                "station_id": station.id, "evse_id": f"NL*EVB*E{number}x{evse}", "ocpp_evse_id": evse,
            })  # fmt: skip
        stations.append(station.id)
    return operator_id, stations


async def _journal_rate(journal: GroupCommitJournal, operator_id: str, stations: list[str],
                        senders: int, with_status: bool) -> float:  # fmt: skip
    async def station(index: int) -> None:
        station_id = stations[index % len(stations)]
        for message in range(MESSAGES):
            now = datetime.now(UTC)
            raw = f'[2,"{index}-{message}","StatusNotification",{{"connectorId":1,"status":"Charging"}}]'
            frames = [
                Frame(operator_id, station_id, f"CP-{index}", Direction.IN, now, 2, f"{index}-{message}",
                      "StatusNotification", raw),
                Frame(operator_id, station_id, f"CP-{index}", Direction.OUT, now, 3, f"{index}-{message}",
                      "StatusNotification", f'[3,"{index}-{message}",{{}}]'),
            ]  # fmt: skip
            statuses = (
                [StatusReport(operator_id, station_id, 1, None, CYCLE[message % 6], now, now, "NoError")]
                if with_status
                else []
            )
            await journal(frames, statuses=statuses)

    started = time.perf_counter()
    await asyncio.gather(*(station(index) for index in range(senders)))
    return senders * MESSAGES / (time.perf_counter() - started)


def _bind_cost(journal: GroupCommitJournal, operator_id: str, station_id: str) -> float:
    """Seconds to bind one status row (the journal's whole per-message work for it)."""
    now = datetime.now(UTC)
    report = StatusReport(operator_id, station_id, 1, None, "Charging", now, now, "NoError")
    from evbill.adapters.db.charging.rows import status_row

    count = 20_000
    started = time.perf_counter()
    for _ in range(count):
        journal._statuses.bound(status_row(report))
    return (time.perf_counter() - started) / count


def _history(container: object, operator_id: str, stations: list[str], days: int) -> int:
    services = container.services  # type: ignore[attr-defined]
    rows = 0
    for station_id in stations:
        reports = []
        for evse in range(1, EVSES + 1):
            for hour in range(days * 24):
                at = START + timedelta(hours=hour, minutes=7 * evse)
                status = "Faulted" if hour % 97 == 0 else CYCLE[(hour + evse) % len(CYCLE)]
                error = "GroundFailure" if status == "Faulted" else "NoError"
                reports.append(StatusReport(operator_id, station_id, evse, None, status, at, at, error))
        with services.uow() as uow:
            uow.status_history.add(reports)
            uow.commit()
        rows += len(reports)
    return rows


def _median_seconds(action: object) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _measure(url: str, quick: bool) -> Iterator[Result]:
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    operator_id, stations = _network(container)
    senders, days = (20, 3) if quick else (200, 30)
    journal = GroupCommitJournal(container.engine)

    async def both() -> tuple[float, float]:
        await _journal_rate(journal, operator_id, stations, senders, False)  # warm up
        plain, status = [], []
        for _ in range(3):  # alternated, medians: the machine is shared and its speed drifts
            plain.append(await _journal_rate(journal, operator_id, stations, senders, False))
            status.append(await _journal_rate(journal, operator_id, stations, senders, True))
        return statistics.median(plain), statistics.median(status)

    frames_only, with_status = asyncio.run(both())
    bind = _bind_cost(journal, operator_id, stations[0])
    kept = with_status / frames_only
    passed = kept >= 0.9
    measured = f"{with_status:,.0f} msg/s with status rows vs {frames_only:,.0f} frames only ({kept:.0%})"
    yield Result(
        name="status/journal", passed=passed, measured=measured, target=">= 90 % of frames only",
        line=f"status/journal: {measured}; binding a status row {bind * 1e6:.1f} us -> {verdict(passed)}",
        figures={"senders": senders, "messages": senders * MESSAGES,
                 "frames_only_per_second": round(frames_only), "with_status_per_second": round(with_status),
                 "bind_microseconds": round(bind * 1e6, 2)},
    )  # fmt: skip
    rows = _history(container, operator_id, stations, days)
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE connector_status_history")
        connection.commit()
    who = platform_actor(operator_id)
    query = UtilisationQuery(START, START + timedelta(days=days))
    services = container.services
    timings = {
        "utilisation": _median_seconds(
            lambda: shown_utilisation(services, who, query=query, group_by=UtilisationGroup.EVSE)
        ),
        "faults": _median_seconds(lambda: shown_faults(services, who, query=query)),
        "occupancy": _median_seconds(lambda: shown_occupancy(services, who, query=query)),
    }
    container.dispose()
    passed = max(timings.values()) < REPORT_TARGET_SECONDS
    measured = ", ".join(f"{name} {seconds * 1000:,.0f} ms" for name, seconds in timings.items())
    yield Result(
        name="status/reports", passed=passed, measured=measured,
        target=f"each < {REPORT_TARGET_SECONDS * 1000:.0f} ms",
        line=f"status/reports over {rows:,} reports, {STATIONS * EVSES} EVSEs, {days} days: {measured} "
        f"-> {verdict(passed)}",
        figures={"reports": rows, "evses": STATIONS * EVSES, "days": days,
                 **{f"{name}_ms": round(seconds * 1000) for name, seconds in timings.items()}},
    )  # fmt: skip
