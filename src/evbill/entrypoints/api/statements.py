"""POST /api/v1/payments/statements: import a bank statement (camt.053 XML or CSV) and get the report.

The file is the request body: ``application/xml`` (or ``text/xml``) for camt.053.001.02/.08,
``text/csv`` for evbill's CSV (README, "Getting paid"). Each line of the answer says what became of
one entry: matched, partial, overpaid (the rest is a credit on the customer's account), unmatched
(with a suggested invoice when one has exactly its amount and payer), duplicate or ignored. Sending
the same statement again changes nothing: its entries come back as duplicates.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from evbill.application.collection.statements import ImportedLine, import_statement
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.collection.statements import MatchedBy, Outcome, StatementFormat
from evbill.entrypoints.api.common import Exact
from evbill.entrypoints.api.ledger import money
from evbill.entrypoints.api.problems import problem
from evbill.entrypoints.api.security import actor, services

router = APIRouter(tags=["payments"])
FORMATS = {
    "application/xml": StatementFormat.CAMT053,
    "text/xml": StatementFormat.CAMT053,
    "text/csv": StatementFormat.CSV,
    "application/csv": StatementFormat.CSV,
}
CSV_EXAMPLE = (
    "entry_id,booked_on,amount,currency,name,iban,reference,remittance\n"
    "2026-12-01-0001,2026-12-01,20.01,EUR,Anna de Vries,NL91ABNA0417164300,RF94INV2026000001,\n"
)
STATEMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A camt.053 statement (XML) or evbill's CSV statement.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        },
    }
}


class ImportedLineOut(BaseModel):
    entry_key: str
    outcome: Outcome
    amount: Exact
    currency: str
    invoice_number: str | None
    matched_by: MatchedBy | None
    applied: Exact
    excess: Exact
    customer_id: str | None
    suggested_invoice_number: str | None
    counterparty_name: str | None
    remittance: str
    reason: str | None = Field(default=None, description="Why a line was skipped (never posted).")
    where: str = Field(default="", description='Where the line is in the file: "line 3", "Stmt[1].Ntry[2]".')


class ImportOut(BaseModel):
    lines: list[ImportedLineOut]
    counts: dict[str, int]
    skipped: dict[str, int] = Field(description="How many lines were skipped, by reason.")


def _line(line: ImportedLine) -> ImportedLineOut:
    def shown(minor: int) -> Decimal:
        return money(minor, line.currency)

    return ImportedLineOut(
        entry_key=line.entry_key, outcome=line.outcome, amount=shown(line.amount_minor),
        currency=line.currency, invoice_number=line.invoice_number, matched_by=line.matched_by,
        applied=shown(line.applied_minor), excess=shown(line.excess_minor), customer_id=line.customer_id,
        suggested_invoice_number=line.suggested_invoice_number, counterparty_name=line.counterparty_name,
        remittance=line.remittance, reason=line.reason, where=line.where,
    )  # fmt: skip


@router.post(
    "/payments/statements",
    response_model=ImportOut,
    summary="Import a bank statement: match credits to invoices, report what could not be matched",
    openapi_extra=STATEMENT_BODY,
)
async def import_bank_statement(
    request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    statement_format = FORMATS.get(media_type)
    if statement_format is None:
        return problem(
            415,
            "unsupported_media_type",
            f"send a camt.053 file as application/xml or a CSV as text/csv, not {media_type or 'nothing'}",
        )
    data = await request.body()
    reader = request.app.state.container.statement_reader
    report = await run_in_threadpool(lambda: import_statement(svc, reader, who, data, statement_format))
    return ImportOut(
        lines=[_line(line) for line in report.lines],
        counts={outcome.value: report.count(outcome) for outcome in Outcome},
        skipped=report.skipped_reasons(),
    )
