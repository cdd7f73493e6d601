"""Bank statement import at volume: N open invoices, then one camt.053 statement paying each of them
(by its RF reference), imported in one transaction; on SQLite and on PostgreSQL.

Each invoice is 10.00 + 21 % = 12.10 EUR; the statement's N credits of 12.10 each match one invoice
by reference and pay it in full: N bank transactions stored, N invoices updated, N ledger entries
posted. Then ``evbill ledger check`` (with the bank reconciliation) over the result.

PASS: 10,000 lines imported in < 60 s on each database (``--quick``: 1,000 lines). The machine is
shared: the figures are pessimistic.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg
from sqlalchemy.engine import make_url

from bench.report import Result, verdict
from bench.timing import Plan
from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.statements import import_statement
from evbill.application.invoicing.references import creditor_reference
from evbill.application.offers.customers import create_customer
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.collection.statements import Outcome, StatementFormat
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.documents import issue as issue_document
from evbill.domain.money import RoundingMode

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
LINES = 10_000
QUICK_LINES = 1_000
TARGET_SECONDS = 60.0
ISSUED = datetime(2026, 12, 1, tzinfo=UTC)
CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _statement(numbers: list[str]) -> bytes:
    entries = "".join(
        f"<Ntry><Amt Ccy='EUR'>12.10</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>2026-12-02</Dt></BookgDt><AcctSvcrRef>B-{index}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<RltdPties><Dbtr><Pty><Nm>Payer {index}</Nm></Pty></Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf>"
        f"<Ref>{creditor_reference(number)}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for index, number in enumerate(numbers)
    )
    return (
        f"<Document xmlns='{CAMT}'><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId>"
        f"<CreDtTm>2026-12-02T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id>{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _invoices(operator_id: str, customer_id: str, count: int, new_id) -> list[Document]:  # noqa: ANN001
    composed = compose([DraftLine("Charging", Decimal("10.00"), Decimal("21"))], currency="EUR",
                       mode=RoundingMode.HALF_UP, reverse_charge=False)  # fmt: skip
    seller, buyer = Party("Bench B.V.", "NL", iban="NL91ABNA0417164300"), Party("Payer", "NL")
    made = []
    for index in range(count):
        draft = Document(
            id=new_id(), operator_id=operator_id, kind=DocumentKind.INVOICE, status=DocumentStatus.DRAFT,
            series="INV", number=None, contract_id=None, customer_id=customer_id, bill_id=None, seller=seller,
            buyer=buyer, language="nl", composed=composed, rounding_mode=RoundingMode.HALF_UP,
            period_start=None, period_end=None, payment_due_days=14, created_at=ISSUED,
        )  # fmt: skip
        number = f"INV-2026-{index + 1:06d}"
        issued = issue_document(draft, number=number, issued_at=ISSUED, zone=UTC)  # type: ignore[arg-type]
        made.append(replace(issued, payment_reference=creditor_reference(number)))
    return made


def _measure(database: str, url: str, count: int) -> Result:
    upgrade(url)
    container = bootstrap(Settings(database_url=url))
    services = container.services
    operator = create_operator(services, name="Bench", legal_name="Bench B.V.", country="NL",
                               default_currency="EUR")  # fmt: skip
    who = platform_actor(operator.id)
    customer = create_customer(services, who, {"kind": "INDIVIDUAL", "name": "Payer", "language": "nl",
                                               "currency": "EUR", "country": "NL"})  # fmt: skip
    invoices = _invoices(operator.id, customer.id, count, services.ids.new_id)
    with services.uow() as uow:
        for invoice in invoices:
            uow.invoices.add(invoice)
        uow.commit()
    data = _statement([invoice.number or "" for invoice in invoices])
    started = time.perf_counter()
    report = import_statement(services, container.statement_reader, who, data, StatementFormat.CAMT053)
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    books = check_all_books(services, operator_ids=[operator.id])
    check_seconds = time.perf_counter() - started
    container.dispose()
    matched = report.count(Outcome.MATCHED)
    passed = matched == count and books.ok and import_seconds < TARGET_SECONDS
    measured = (
        f"{count:,} lines in {import_seconds:.1f} s ({count / import_seconds:,.0f} lines/s), "
        f"ledger check {check_seconds:.1f} s"
    )
    return Result(
        name=f"statements/{database}",
        passed=passed,
        measured=measured,
        target=f"{count:,} lines < {TARGET_SECONDS:g} s",
        line=f"statements {database}: {measured} -> {verdict(passed)}",
        figures={
            "lines": count, "matched": matched, "import_seconds": round(import_seconds, 3),
            "check_seconds": round(check_seconds, 3), "ledger_ok": books.ok, "machine": "shared, busy",
        },
    )  # fmt: skip


def run(plan: Plan) -> Iterator[Result]:
    count = QUICK_LINES if plan.quick else LINES
    with TemporaryDirectory() as directory:
        yield _measure("sqlite", f"sqlite:///{Path(directory) / 'bench.sqlite3'}", count)
    server = os.environ.get("EVBILL_BENCH_POSTGRES", DEFAULT_SERVER)
    schema = f"bench_statements_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        parsed = make_url(server).set(drivername="postgresql+psycopg")
        url = parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
        yield _measure("postgresql", url, count)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
