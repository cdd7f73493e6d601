"""The ledger at volume: post 1,000,000 entries, then ``evbill ledger check`` over them, on PostgreSQL.

A fresh schema on ``EVBILL_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
migrated, with one operator. Entries are built and checked by the domain (``make_entry``), as a use
case would, and appended through the ledger repository (``append_many``: COPY) in transactions of
50,000 entries: a mix of invoices (receivable, energy revenue, VAT: 3 postings), captures with a fee
(4 postings) and wallet top-ups (2 postings), 3 postings on average. Then ``check_all_books`` (what
``evbill ledger check`` runs) over the operator: every entry's balance and the trial balance, from
the database's sums, and the reconciliations with payments, wallets, bank transactions and documents
(the receivable postings summed per reference). The schema is
dropped afterwards. ``--quick``: 20,000 entries.

Posting goes through the ledger's bulk posting (``application.ledger.bulk.post_in_bulk``), as an
import of many entries would: it takes the entries lazily from the bench's generator (``make_entry``,
ids), building the next batch while its two writer threads append and commit the two before it
(``append_many``: COPY), each on a connection of its own, so the client's work overlaps the server's
and the server's two backends use both cores; each batch is its own transaction. The cyclic
garbage collector is paused by that production code while it runs, not by the bench.

PASS (issue 14, read strictly): posting the entries AND the check over them take < 30 s together.
Beside the total: posting and check alone, the client's CPU seconds (this process: building,
formatting COPY text), and the server's CPU seconds for the posting (both writers' backends', from
/proc, found by the engine's application_name, when the server runs on this machine), so a run on a
quieter machine can be predicted.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_operator
from evbill.application.analytics.booked import booked_revenue
from evbill.application.collection.reconciliation import check_all_books as check_ledger
from evbill.application.ledger.bulk import post_in_bulk
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor, Role
from evbill.domain.analytics.booked import Period
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, credit, debit, make_entry

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
ENTRIES = 1_000_000
QUICK_ENTRIES = 20_000
BATCH = 50_000
TARGET_SECONDS = 30.0
BOOKED_ROUNDS = 5
BOOKED_TARGET_SECONDS = 0.5  # as every report over a million sessions (issue 15)
START = datetime(2026, 1, 1, tzinfo=UTC)


# The accounts the entries post to, made once (an import names a few thousand accounts over and
# over; the entries are still each built and checked by make_entry).
_CUSTOMERS = tuple(accounts.receivable(f"cus-{n}") for n in range(1000))
_WALLETS = tuple(accounts.wallet(f"w-{n}") for n in range(500))
_CLEARING = accounts.gateway_clearing("sandbox")
_ENERGY = accounts.revenue(RevenueKind.ENERGY)
_VAT = accounts.vat_payable(Decimal(21))


def _entry(index: int, operator_id: str, entry_id: str) -> LedgerEntry:
    customer = _CUSTOMERS[index % 1000]
    clearing = _CLEARING
    amount = 100 + index % 9_900
    kind = index % 3
    if kind == 0:
        vat = amount * 21 // 121
        cause, postings = (
            EntryCause.INVOICE_ISSUED,
            (
                debit(customer, amount, "EUR"),
                credit(_ENERGY, amount - vat, "EUR"),
                credit(_VAT, vat, "EUR"),
            ),
        )
    elif kind == 1:
        fee = 25 + amount // 100
        cause, postings = (
            EntryCause.PAYMENT_CAPTURED,
            (
                debit(clearing, amount, "EUR"),
                credit(customer, amount, "EUR"),
                debit(accounts.GATEWAY_FEES, fee, "EUR"),
                credit(clearing, fee, "EUR"),
            ),
        )
    else:
        cause, postings = (
            EntryCause.WALLET_TOPPED_UP,
            (
                debit(clearing, amount, "EUR"),
                credit(_WALLETS[index % 500], amount, "EUR"),
            ),
        )
    return make_entry(
        entry_id=entry_id,
        operator_id=operator_id,
        posted_at=START + timedelta(seconds=index * 30),
        cause=cause,
        reference=f"ref-{index}",
        description=cause.value,
        postings=postings,
    )


def _schema_url(server: str, schema: str) -> str:
    parsed = make_url(server).set(drivername="postgresql+psycopg")
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    return parsed.update_query_dict(query).render_as_string(hide_password=False)


def run(plan: Plan) -> Iterator[Result]:
    server = os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER)
    schema = f"bench_ledger_{secrets.token_hex(4)}"
    count = QUICK_ENTRIES if plan.quick else ENTRIES
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield from _measure(server, _schema_url(server, schema), count)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _backend_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL backend, when it runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu_seconds(server: str, application_name: str) -> dict[int, float | None]:
    """CPU seconds of every backend serving the bench's engine (named by its application_name)."""
    with psycopg.connect(server, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return {pid: _backend_cpu_seconds(pid) for (pid,) in pids}


def _server_cpu(before: dict[int, float | None], after: dict[int, float | None]) -> float | None:
    """The backends' CPU seconds between the two readings (a backend opened in between had 0)."""
    if any(seconds is None for seconds in after.values()):
        return None  # the server runs on another machine
    return sum((seconds or 0.0) - (before.get(pid) or 0.0) for pid, seconds in after.items())


def _measure(server: str, url: str, count: int) -> Iterator[Result]:
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    services = container.services
    operator_id = create_operator(
        services, name="Bench", legal_name="Bench GmbH", country="DE", default_currency="EUR"
    ).id
    application_name = make_url(url).query["application_name"]
    with container.engine.connect() as connection:  # the backend the posting will use, opened now
        connection.exec_driver_sql("SELECT 1")
    backends = _backends_cpu_seconds(server, application_name)
    started = time.perf_counter()
    client_started = time.process_time()
    # As an import would: entries built lazily and handed to the ledger's bulk posting, which builds
    # the next batch while its two writer threads write the two before it.
    posted = post_in_bulk(
        services,
        (_entry(i, operator_id, services.ids.new_id()) for i in range(count)),
        batch_size=BATCH,
    )
    posting_seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_started
    server_cpu = _server_cpu(backends, _backends_cpu_seconds(server, application_name))
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE ledger_entries")
        connection.exec_driver_sql("ANALYZE ledger_postings")
        connection.commit()
    started = time.perf_counter()
    report = check_ledger(services, operator_ids=[operator_id])
    check_seconds = time.perf_counter() - started
    booked = _booked_revenue(services, operator_id, count)
    container.dispose()
    total = posting_seconds + check_seconds
    sound = report.ok and report.entries_checked == count == posted.entries
    passed = sound and total < TARGET_SECONDS
    server = "n/a" if server_cpu is None else f"{server_cpu:.1f}"
    measured = (
        f"posting + check {total:.1f} s over {count:,} entries (posting {posting_seconds:.1f} s, "
        f"check {check_seconds:.1f} s; posting CPU: client {client_cpu:.1f} s, server {server} s)"
    )
    yield Result(
        name="ledger/check",
        passed=passed,
        measured=measured,
        target=f"posting + check < {TARGET_SECONDS:g} s",
        line=f"ledger/check: {measured}; sound: {report.ok} -> {verdict(passed)}",
        figures={
            "entries": count,
            "postings": count * 3,
            "total_seconds": round(total, 2),
            "posting_seconds": round(posting_seconds, 2),
            "entries_per_second": round(count / posting_seconds),
            "check_seconds": round(check_seconds, 2),
            "posting_under_target": posting_seconds < TARGET_SECONDS,
            "check_under_target": check_seconds < TARGET_SECONDS,
            "client_cpu_seconds": round(client_cpu, 2),
            "server_cpu_seconds": None if server_cpu is None else round(server_cpu, 2),
            "load_average": [round(value, 2) for value in os.getloadavg()],
            "findings": len(report.findings),
        },
    )
    yield booked


def _booked_revenue(services: Services, operator_id: str, count: int) -> Result:
    """Booked revenue by month over every entry posted (``evbill report booked``, no window): its
    median over ``BOOKED_ROUNDS`` runs, after a first one that warms the caches."""
    actor = Actor(operator_id, Role.ADMIN, "bench", "booked revenue")
    runs = []
    for _ in range(1 + BOOKED_ROUNDS):
        started = time.perf_counter()
        report, _ = booked_revenue(services, actor, first=None, end=None, period=Period.MONTH)
        runs.append(time.perf_counter() - started)
    median = statistics.median(runs[1:])
    months = len({row.key for row in report.rows})
    passed = median < BOOKED_TARGET_SECONDS and months >= (12 if count == ENTRIES else 1)
    best = min(runs[1:])
    measured = f"{median * 1000:,.0f} ms ({months} months over {count:,} entries, best {best * 1000:,.0f} ms)"
    return Result(
        name="ledger/booked-revenue",
        passed=passed,
        measured=measured,
        target=f"< {BOOKED_TARGET_SECONDS * 1000:.0f} ms",
        line=f"ledger/booked-revenue by month: {measured} -> {verdict(passed)}",
        figures={"seconds": runs[1:], "median": median, "months": months, "entries": count},
    )
