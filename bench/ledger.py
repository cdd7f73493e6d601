"""The ledger at volume: post 1,000,000 entries, then ``evbill ledger check`` over them, on PostgreSQL.

A fresh schema on ``EVBILL_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
migrated, with one operator. Entries are built and checked by the domain (``make_entry``), as a use
case would, and appended through the ledger repository (``append_many``: COPY) in transactions of
50,000 entries: a mix of invoices (receivable, energy revenue, VAT: 3 postings), captures with a fee
(4 postings) and wallet top-ups (2 postings), 3 postings on average. Then ``check_ledger`` runs over
the operator: every entry's balance and the trial balance, from the database's sums. The schema is
dropped afterwards. ``--quick``: 20,000 entries.

Posting is pipelined as a caller importing many entries would: this thread builds batch N+1
(``make_entry``, ids) while a second thread appends and commits batch N (``append_many``: COPY), so
the client's work overlaps the server's. Each batch is its own transaction, as before. The cyclic
garbage collector is off while posting (the batches hold no cycles; reference counting frees them).

PASS (issue 14, read strictly): posting the entries AND the check over them take < 30 s together.
Beside the total: posting and check alone, the client's CPU seconds (this process: building,
formatting COPY text), and the server's CPU seconds for the posting (the backend's, from /proc,
when the server runs on this machine), so a run on a quieter machine can be predicted.
"""

from __future__ import annotations

import gc
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_operator
from evbill.application.payments.reconciliation import check_books as check_ledger
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.ledger import accounts
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, credit, debit, make_entry

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
ENTRIES = 1_000_000
QUICK_ENTRIES = 20_000
BATCH = 50_000
TARGET_SECONDS = 30.0
START = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(index: int, operator_id: str, entry_id: str) -> LedgerEntry:
    customer = accounts.receivable(f"cus-{index % 1000}")
    clearing = accounts.gateway_clearing("sandbox")
    amount = 100 + index % 9_900
    kind = index % 3
    if kind == 0:
        vat = amount * 21 // 121
        cause, postings = (
            EntryCause.INVOICE_ISSUED,
            (
                debit(customer, amount, "EUR"),
                credit(accounts.revenue(RevenueKind.ENERGY), amount - vat, "EUR"),
                credit(accounts.vat_payable(Decimal(21)), vat, "EUR"),
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
                credit(accounts.wallet(f"w-{index % 500}"), amount, "EUR"),
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
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def run(plan: Plan) -> Iterator[Result]:
    server = os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER)
    schema = f"bench_ledger_{secrets.token_hex(4)}"
    count = QUICK_ENTRIES if plan.quick else ENTRIES
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _measure(_schema_url(server, schema), count)
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


class _Appender:
    """Appends and commits batches on a thread of its own, as they are handed over."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._batches: queue.Queue[Sequence[LedgerEntry] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self.server_cpu: float | None = 0.0
        self.appending = 0.0  # wall seconds spent in append_many + commit
        self._thread = threading.Thread(target=self._run, name="ledger-appender", daemon=True)
        self._thread.start()

    def put(self, batch: Sequence[LedgerEntry]) -> None:
        if self._error is not None:
            raise self._error
        self._batches.put(batch)

    def close(self) -> None:
        self._batches.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._append(batch)
            except BaseException as error:  # handed to the building thread
                self._error = error

    def _append(self, batch: Sequence[LedgerEntry]) -> None:
        started = time.perf_counter()
        with self._services.uow() as uow:
            connection = uow._connection()  # noqa: SLF001 -- the bench reads the backend's CPU time
            pid = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            before = _backend_cpu_seconds(pid)
            uow.ledger.append_many(batch)
            uow.commit()
            after = _backend_cpu_seconds(pid)
        self.appending += time.perf_counter() - started
        if before is None or after is None or self.server_cpu is None:
            self.server_cpu = None
        else:
            self.server_cpu += after - before


def _measure(url: str, count: int) -> Result:
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    services = container.services
    operator_id = create_operator(
        services, name="Bench", legal_name="Bench GmbH", country="DE", default_currency="EUR"
    ).id
    started = time.perf_counter()
    client_started = time.process_time()
    appender = _Appender(services)
    building = 0.0
    # A batch is ~400,000 live objects without a reference cycle; the cyclic collector rescanning
    # them as the next batch is built doubled the building's CPU time (7.5 us an entry). Reference
    # counting still frees every batch; the collector is back on for the check.
    gc.disable()
    try:
        for first in range(0, count, BATCH):
            built = time.perf_counter()
            batch = [
                _entry(i, operator_id, services.ids.new_id()) for i in range(first, min(first + BATCH, count))
            ]
            building += time.perf_counter() - built
            appender.put(batch)
    finally:
        appender.close()
        gc.enable()
    posting_seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_started
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE ledger_entries")
        connection.exec_driver_sql("ANALYZE ledger_postings")
        connection.commit()
    started = time.perf_counter()
    report = check_ledger(services, operator_ids=[operator_id])
    check_seconds = time.perf_counter() - started
    container.dispose()
    total = posting_seconds + check_seconds
    sound = report.ok and report.entries_checked == count
    passed = sound and total < TARGET_SECONDS
    server = "n/a" if appender.server_cpu is None else f"{appender.server_cpu:.1f}"
    measured = (
        f"posting + check {total:.1f} s over {count:,} entries (posting {posting_seconds:.1f} s, "
        f"check {check_seconds:.1f} s; posting CPU: client {client_cpu:.1f} s, server {server} s)"
    )
    return Result(
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
            "client_building_seconds": round(building, 2),
            "appending_seconds": round(appender.appending, 2),
            "server_cpu_seconds": None if appender.server_cpu is None else round(appender.server_cpu, 2),
            "load_average": [round(value, 2) for value in os.getloadavg()],
            "findings": len(report.findings),
        },
    )
