"""Receipts, invoices and credit notes, and the life of a document.

    DRAFT --issue--> ISSUED --payments--> PARTIALLY_PAID --> PAID
      |                 |  \\--due date passes--> OVERDUE --payments--> PARTIALLY_PAID / PAID
      v                 \\--void (only while nothing is paid)--> VOID
    ISSUED / OVERDUE / PARTIALLY_PAID --write off (what is still open)--> WRITTEN_OFF
    FAILED (generation failed; the billing run retries it as a new draft)

A draft has no number: the number is assigned when the document is issued (gapless per operator
and series, by the storage under a lock). Once issued a document never changes except its payment
state; a correction is a credit note that references it (full, or partial by line), with a reason.
Credit notes carry positive amounts, like the invoice they correct (EN 16931 type 381).

Due dates are counted in the operator's time zone from the local day of issue:

    >>> from zoneinfo import ZoneInfo
    >>> due_date(datetime(2026, 10, 31, 23, 30, tzinfo=ZoneInfo("UTC")), ZoneInfo("Europe/Berlin"), 14)
    datetime.date(2026, 11, 15)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.domain.errors import Conflict, InvalidInput, Problem
from evbill.domain.invoicing.compose import Composed, DocumentLine, DraftLine, compose
from evbill.domain.invoicing.tax import TaxMode, VatCategory
from evbill.domain.money import RoundingMode


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"

    @property
    def type_code(self) -> str:
        """UNTDID 1001: 380 commercial invoice, 381 credit note."""
        return "381" if self is DocumentKind.CREDIT_NOTE else "380"


class DocumentStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"
    FAILED = "failed"
    WRITTEN_OFF = "written_off"  # the open amount was given up (ledger: write-off expense)


UNPAID = (DocumentStatus.ISSUED, DocumentStatus.OVERDUE)


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer as EN 16931 names them (BG-4, BG-7)."""

    name: str
    country: str
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    vat_id: str | None = None
    registration: str | None = None  # company register number (BT-30)
    email: str | None = None
    iban: str | None = None  # the seller's account for transfers (BT-84)
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    operator_id: str
    kind: DocumentKind
    status: DocumentStatus
    series: str
    number: str | None  # assigned at issue
    contract_id: str | None
    customer_id: str | None
    bill_id: str | None
    seller: Party
    buyer: Party
    language: str
    composed: Composed
    rounding_mode: RoundingMode
    period_start: date | None
    period_end: date | None  # exclusive
    payment_due_days: int
    notes: tuple[str, ...] = ()
    issue_date: date | None = None
    due_date: date | None = None
    paid_minor: int = 0
    original_id: str | None = None  # a credit note's invoice
    original_number: str | None = None
    reason: str | None = None  # why a credit note or a void
    credited_lines: tuple[int, ...] = ()  # a credit note's lines: the original's line numbers, in order
    created_at: datetime | None = None
    version: int = 1
    payment_reference: str | None = None  # ISO 11649 creditor reference (RF..), assigned at issue

    @property
    def currency(self) -> str:
        return self.composed.currency

    @property
    def total_minor(self) -> int:
        return self.composed.totals.payable_minor

    @property
    def open_minor(self) -> int:
        """What the customer still has to pay (0 once paid, void or written off; 0 for a credit note)."""
        if self.kind is DocumentKind.CREDIT_NOTE or self.status not in (
            *UNPAID,
            DocumentStatus.PARTIALLY_PAID,
        ):
            return 0
        return self.total_minor - self.paid_minor


def due_date(issued_at: datetime, zone: ZoneInfo, payment_due_days: int) -> date:
    return issued_at.astimezone(zone).date() + timedelta(days=payment_due_days)


def issue(document: Document, *, number: str, issued_at: datetime, zone: ZoneInfo) -> Document:
    if document.status is not DocumentStatus.DRAFT:
        raise Conflict(f"only a draft can be issued; this document is {document.status.value}")
    return replace(
        document,
        status=DocumentStatus.ISSUED,
        number=number,
        issue_date=issued_at.astimezone(zone).date(),
        due_date=due_date(issued_at, zone, document.payment_due_days),
        version=document.version + 1,
    )


def pay(document: Document, amount_minor: int) -> Document:
    """Record a payment; the status follows what is paid of the payable total."""
    if document.status not in (*UNPAID, DocumentStatus.PARTIALLY_PAID):
        raise Conflict(f"a {document.status.value} document takes no payment")
    if amount_minor <= 0:
        raise InvalidInput("invalid payment", (Problem("$.amount", "must be positive"),))
    paid = document.paid_minor + amount_minor
    if paid > document.total_minor:
        raise InvalidInput("invalid payment", (Problem("$.amount", "more than the document's open amount"),))
    status = DocumentStatus.PAID if paid == document.total_minor else DocumentStatus.PARTIALLY_PAID
    return replace(document, paid_minor=paid, status=status, version=document.version + 1)


def overdue(document: Document, today: date) -> Document:
    """ISSUED past its due date (in the operator's calendar) becomes OVERDUE; anything else stays."""
    if (
        document.status is DocumentStatus.ISSUED
        and document.due_date is not None
        and today > document.due_date
    ):
        return replace(document, status=DocumentStatus.OVERDUE, version=document.version + 1)
    return document


def void(document: Document, reason: str) -> Document:
    """Void an issued document while nothing is paid on it (a credit note then replaces it)."""
    if document.status not in UNPAID or document.paid_minor:
        raise Conflict(f"only an unpaid issued document can be voided; this one is {document.status.value}")
    return replace(document, status=DocumentStatus.VOID, reason=reason, version=document.version + 1)


def write_off(document: Document, reason: str) -> Document:
    """Give up what is still open on an unpaid or partly paid document; what was paid stays paid."""
    if document.open_minor <= 0:
        raise Conflict(f"only an open invoice can be written off; this one is {document.status.value}")
    if not reason.strip():
        raise InvalidInput("invalid write-off", (Problem("$.reason", "a write-off says why"),))
    return replace(document, status=DocumentStatus.WRITTEN_OFF, reason=reason, version=document.version + 1)


def credit_note(
    original: Document,
    *,
    new_id: str,
    reason: str,
    credited_before: Mapping[int, Decimal],
    amounts: Mapping[int, Decimal] | None = None,
    created_at: datetime,
) -> Document:
    """A draft credit note for ``original``: every line in full, or ``amounts`` by line number.

    ``credited_before`` is what earlier credit notes took per line (precise); no line is credited
    beyond its own amount."""
    if original.kind is DocumentKind.CREDIT_NOTE or original.number is None:
        raise Conflict("only an issued invoice or receipt can be credited")
    if not reason.strip():
        raise InvalidInput("invalid credit note", (Problem("$.reason", "a credit note says why"),))
    by_number = {line.number: line for line in original.composed.lines}
    wanted = (
        amounts
        if amounts is not None
        else {n: line.net_precise - credited_before.get(n, Decimal(0)) for n, line in by_number.items()}
    )
    problems, drafts, numbers = [], [], []
    for number, amount in sorted(wanted.items()):
        line = by_number.get(number)
        if line is None:
            problems.append(Problem(f"$.lines[{number}]", f"the invoice has no line {number}"))
            continue
        left = line.net_precise - credited_before.get(number, Decimal(0))
        if amounts is None and not left:
            continue  # credited in full before
        # a discount line (negative) is credited negative: the credit note mirrors the invoice
        if not (0 < amount <= left if line.net_precise >= 0 else left <= amount < 0):
            problems.append(
                Problem(f"$.lines[{number}]", f"must be above 0 and at most {left} (not yet credited)")
            )
            continue
        numbers.append(number)
        drafts.append(
            DraftLine(
                line.description, amount, _credit_rate(line), line.supply_date, line.session_id, line.kind,
                exempt=line.category is VatCategory.EXEMPT,
            )
        )  # fmt: skip
    if problems or not drafts:
        raise InvalidInput(
            "invalid credit note", tuple(problems) or (Problem("$.lines", "nothing to credit"),)
        )
    reverse = any(line.category is VatCategory.REVERSE_CHARGE for line in original.composed.lines)
    composed = compose(
        drafts, currency=original.currency, mode=original.rounding_mode, reverse_charge=reverse,
        tax_mode=original.composed.tax_mode,
    )  # fmt: skip
    return replace(
        original,
        id=new_id,
        kind=DocumentKind.CREDIT_NOTE,
        status=DocumentStatus.DRAFT,
        number=None,
        bill_id=None,
        composed=composed,
        issue_date=None,
        due_date=None,
        paid_minor=0,
        original_id=original.id,
        original_number=original.number,
        reason=reason,
        credited_lines=tuple(numbers),
        payment_reference=None,
        notes=(f"Credit note for invoice {original.number}: {reason}",),
        created_at=created_at,
        version=1,
    )


def _credit_rate(line: DocumentLine) -> Decimal | None:
    """The rate that puts a credited line in its original's category (see ``tax.category_of``)."""
    if line.category is VatCategory.OUTSIDE_SCOPE:
        return None
    return line.rate if line.category in (VatCategory.STANDARD, VatCategory.ZERO) else Decimal(0)


def is_sales_tax(document: Document) -> bool:
    return document.composed.tax_mode is TaxMode.SALES_TAX
