"""The ledger at volume: post 1,000,000 entries, then ``evbill ledger check`` over them, on PostgreSQL.

A fresh schema on ``EVBILL_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
migrated, with one operator. Entries are built and checked by the domain (``make_entry``), as a use
case would, and appended through the ledger repository (``append_many``: COPY) in transactions of
50,000 entries: a mix of invoices (receivable, energy revenue, VAT: 3 postings), captures with a fee
(4 postings) and wallet top-ups (2 postings), 3 postings on average. Then ``check_ledger`` runs over
the operator: every entry's balance and the trial balance, from the database's sums. The schema is
dropped afterwards. ``--quick``: 20,000 entries.

PASS: the check over the entries takes < 30 s. The posting time is reported beside it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from sqlalchemy.engine import make_url

from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_operator
from evbill.application.payments.reconciliation import check_books as check_ledger
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


def _measure(url: str, count: int) -> Result:
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    services = container.services
    operator_id = create_operator(
        services, name="Bench", legal_name="Bench GmbH", country="DE", default_currency="EUR"
    ).id
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        batch = [
            _entry(i, operator_id, services.ids.new_id()) for i in range(first, min(first + BATCH, count))
        ]
        with services.uow() as uow:
            uow.ledger.append_many(batch)
            uow.commit()
    posting_seconds = time.perf_counter() - started
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE ledger_entries")
        connection.exec_driver_sql("ANALYZE ledger_postings")
        connection.commit()
    started = time.perf_counter()
    report = check_ledger(services, operator_ids=[operator_id])
    check_seconds = time.perf_counter() - started
    container.dispose()
    passed = report.ok and report.entries_checked == count and check_seconds < TARGET_SECONDS
    measured = f"check {check_seconds:.1f} s over {count:,} entries (posting {posting_seconds:.1f} s)"
    return Result(
        name="ledger/check",
        passed=passed,
        measured=measured,
        target=f"check < {TARGET_SECONDS:g} s",
        line=f"ledger/check: {measured}; sound: {report.ok} -> {verdict(passed)}",
        figures={
            "entries": count,
            "postings": count * 3,
            "posting_seconds": round(posting_seconds, 2),
            "entries_per_second": round(count / posting_seconds),
            "check_seconds": round(check_seconds, 2),
            "findings": len(report.findings),
        },
    )
