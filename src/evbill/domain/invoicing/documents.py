"""Receipts, invoices and credit notes, and the life of a document.

    DRAFT --issue--> ISSUED --payments--> PARTIALLY_PAID --> PAID (--refunds--> back, per the due date)
      |                 |  \\--due date passes--> OVERDUE --payments--> OVERDUE (paid > 0) / PAID
      v                 \\--void (only while nothing is paid or credited)--> VOID
    ISSUED / OVERDUE / PARTIALLY_PAID --write off (what is still open)--> WRITTEN_OFF
    ISSUED / OVERDUE / PARTIALLY_PAID / PAID --credit notes for the whole total--> CREDITED
    FAILED (generation failed; the billing run retries it as a new draft)

The payment state is recomputed from the amounts and the due date (``settled``): what is left to
pay is the total less what was paid and what credit notes took (``credited_minor``, incl. VAT);
nothing left: PAID, or CREDITED when credit notes took the whole total; something left: OVERDUE
once the due date has passed (a part payment does not hide that: ``paid_minor`` says how much was
paid), else PARTIALLY_PAID when something was paid, else ISSUED. A void document moves the books
back (the application posts the reversing ledger entry); a credit note is never voided.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.domain import currency as currencies
from evbill.domain.errors import Conflict, InvalidInput, Problem
from evbill.domain.invoicing.compose import Composed, DocumentLine, DraftLine, compose
from evbill.domain.invoicing.tax import REVERSE_CHARGE_NOTE, TaxMode, VatCategory
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
    CREDITED = "credited"  # credit notes took the whole total: nothing is owed on it
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
    credited_minor: int = 0  # what issued credit notes took from the total incl. VAT (an invoice's)

    @property
    def currency(self) -> str:
        return self.composed.currency

    @property
    def total_minor(self) -> int:
        return self.composed.totals.payable_minor

    @property
    def open_minor(self) -> int:
        """What the customer still has to pay: the total less payments and credit notes (0 once paid,
        credited, void or written off; 0 for a credit note)."""
        if self.kind is DocumentKind.CREDIT_NOTE or self.status not in (
            *UNPAID,
            DocumentStatus.PARTIALLY_PAID,
        ):
            return 0
        return max(0, self.total_minor - self.paid_minor - self.credited_minor)


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


SETTLING = (*UNPAID, DocumentStatus.PARTIALLY_PAID, DocumentStatus.PAID, DocumentStatus.CREDITED)


def settled(document: Document, today: date | None = None) -> DocumentStatus:
    """The payment state from the amounts and the due date (see the module's docstring). Without
    ``today`` an OVERDUE document with something left stays OVERDUE (its due date only recedes)."""
    if document.kind is DocumentKind.CREDIT_NOTE or document.status not in SETTLING:
        return document.status
    left = document.total_minor - document.paid_minor - document.credited_minor
    if left <= 0:
        if document.credited_minor >= document.total_minor and document.credited_minor > 0:
            return DocumentStatus.CREDITED
        return DocumentStatus.PAID
    late = document.status is DocumentStatus.OVERDUE
    if today is not None and document.due_date is not None:
        late = today > document.due_date
    if late:
        return DocumentStatus.OVERDUE
    return DocumentStatus.PARTIALLY_PAID if document.paid_minor else DocumentStatus.ISSUED


def pay(document: Document, amount_minor: int) -> Document:
    """Record a payment; the status follows what is paid of the total less credit notes."""
    if document.kind is DocumentKind.CREDIT_NOTE or document.status not in (
        *UNPAID,
        DocumentStatus.PARTIALLY_PAID,
    ):
        raise Conflict(f"a {document.status.value} {document.kind.value} takes no payment")
    if amount_minor <= 0:
        raise InvalidInput("invalid payment", (Problem("$.amount", "must be positive"),))
    if amount_minor > document.open_minor:
        raise InvalidInput("invalid payment", (Problem("$.amount", "more than the document's open amount"),))
    paid = replace(document, paid_minor=document.paid_minor + amount_minor)
    return replace(paid, status=settled(paid), version=document.version + 1)


def take_back(document: Document, amount_minor: int, today: date) -> Document:
    """Take back ``amount_minor`` of what was paid (a payment of it was refunded): the status follows
    what is left to pay and the due date on ``today`` (the operator's day), so a PAID invoice becomes
    PARTIALLY_PAID, ISSUED or OVERDUE again. Never more than was paid."""
    if document.kind is DocumentKind.CREDIT_NOTE or document.status not in SETTLING:
        raise Conflict(f"a {document.status.value} {document.kind.value} has no payment to take back")
    if amount_minor <= 0 or amount_minor > document.paid_minor:
        raise InvalidInput(
            "invalid refund",
            (Problem("$.amount", f"1 to {document.paid_minor} (what the document shows paid)"),),
        )
    unpaid = replace(document, paid_minor=document.paid_minor - amount_minor)
    return replace(unpaid, status=settled(unpaid, today), version=document.version + 1)


def overdue(document: Document, today: date) -> Document:
    """ISSUED or PARTIALLY_PAID past its due date (in the operator's calendar) with something left to
    pay becomes OVERDUE; anything else stays."""
    if document.status in (DocumentStatus.ISSUED, DocumentStatus.PARTIALLY_PAID):
        status = settled(document, today)
        if status is DocumentStatus.OVERDUE:
            return replace(document, status=status, version=document.version + 1)
    return document


def credited(document: Document, note: Document) -> Document:
    """``document`` after ``note`` (an issued credit note for it) took its total incl. VAT."""
    taken = replace(document, credited_minor=document.credited_minor + note.composed.totals.incl_vat_minor)
    return replace(taken, status=settled(taken), version=document.version + 1)


def void(document: Document, reason: str) -> Document:
    """Void an issued invoice or receipt while nothing is paid on it and no credit note took from
    it (credit what is left instead); the caller posts the reversing ledger entry. A credit note is
    not voided: it would put back what it took (issue a new invoice for that)."""
    if document.kind is DocumentKind.CREDIT_NOTE:
        raise Conflict("a credit note is not voided; invoice the amount again instead")
    if document.status not in UNPAID or document.paid_minor:
        raise Conflict(f"only an unpaid issued document can be voided; this one is {document.status.value}")
    if document.credited_minor:
        raise Conflict(
            "credit notes were issued for this document; credit what is left instead of voiding it"
        )
    return replace(document, status=DocumentStatus.VOID, reason=reason, version=document.version + 1)


def write_off(document: Document, reason: str) -> Document:
    """Give up what is still open on an unpaid or partly paid document; what was paid stays paid."""
    if document.open_minor <= 0:
        raise Conflict(f"only an open invoice can be written off; this one is {document.status.value}")
    if not reason.strip():
        raise InvalidInput("invalid write-off", (Problem("$.reason", "a write-off says why"),))
    return replace(document, status=DocumentStatus.WRITTEN_OFF, reason=reason, version=document.version + 1)


@dataclass(frozen=True, slots=True)
class Credited:
    """What earlier credit notes took from an original, as they show it (rounded on each note)."""

    lines: Mapping[int, int]  # original line number -> shown net minor units
    tax: Mapping[tuple[VatCategory, Decimal], int]  # VAT minor units per category and rate
    incl_vat_minor: int = 0


def credited_by(notes: Sequence[Document]) -> Credited:
    """Sum what the issued (not void) credit notes ``notes`` of one original show."""
    lines: dict[int, int] = {}
    tax: dict[tuple[VatCategory, Decimal], int] = {}
    total = 0
    for note in notes:
        if note.kind is not DocumentKind.CREDIT_NOTE or note.status is DocumentStatus.VOID:
            continue
        for number, line in zip(note.credited_lines, note.composed.lines, strict=True):
            lines[number] = lines.get(number, 0) + line.net_minor
        for part in note.composed.breakdown:
            tax[part.category, part.rate] = tax.get((part.category, part.rate), 0) + part.tax_minor
        total += note.composed.totals.incl_vat_minor
    return Credited(lines, tax, total)


def _within(value: int, limit: int) -> bool:
    """``value`` between 0 and ``limit`` (a discount line's limit is negative)."""
    return 0 <= value <= limit if limit >= 0 else limit <= value <= 0


def credit_note(
    original: Document,
    *,
    new_id: str,
    reason: str,
    credited_before: Credited | None = None,
    amounts: Mapping[int, Decimal] | None = None,
    created_at: datetime,
    positions: Mapping[int, int] | None = None,
) -> Document:
    """A draft credit note for ``original``: what is left of every line, or ``amounts`` by line number.

    A credit note is an ordinary document with its own rounding (EN 16931): each line's amount (excl.
    VAT, any number of decimals) is rounded on the note like an invoice line. What the notes SHOW is
    capped, so rounding never credits more than the invoice shows: per line, the shown amounts of all
    credit notes stay within the original's shown line; per VAT category and rate, their VAT within
    the original's; and their totals incl. VAT within its total. A line whose amount rounds to zero is
    refused (it would take a number and credit nothing). The full credit (``amounts`` None) credits
    what is left of each line as shown: the original's precise lines when nothing was credited before
    (the note mirrors the invoice), else the shown remainders, with the VAT that is left of each rate
    (which may differ from rate x base by a cent or so: the notes together then cancel the invoice's
    VAT exactly). ``positions``: line number -> index in the request, for the problems' paths."""
    if original.kind is DocumentKind.CREDIT_NOTE or original.number is None:
        raise Conflict("only an issued invoice or receipt can be credited")
    if original.status is DocumentStatus.VOID:
        raise Conflict("a void document is not credited: voiding already cancelled it")
    if not reason.strip():
        raise InvalidInput("invalid credit note", (Problem("$.reason", "a credit note says why"),))
    credited_before = credited_before or Credited({}, {})
    scale = currencies.exponent(original.currency)
    by_number = {line.number: line for line in original.composed.lines}
    before = credited_before.lines
    fresh = not before and not credited_before.incl_vat_minor
    full = amounts is None
    wanted: Mapping[int, Decimal]
    if amounts is None:
        wanted = {
            n: line.net_precise if fresh else _decimal(line.net_minor - before.get(n, 0), scale)
            for n, line in by_number.items()
            if line.net_minor - before.get(n, 0) or (fresh and line.net_precise)
        }
    else:
        wanted = amounts
    where = dict(positions or {})

    def path(number: int) -> str:
        return f"$.lines[{where[number]}].amount" if number in where else "$.lines"

    problems, drafts, numbers = [], [], []
    for number, amount in sorted(wanted.items()):
        line = by_number.get(number)
        if line is None:
            index = where.get(number)
            problems.append(
                Problem(
                    f"$.lines[{index}].line" if index is not None else "$.lines",
                    f"the invoice has no line {number}",
                )
            )
            continue
        left = line.net_minor - before.get(number, 0)
        if not amount or (amount < 0) != (
            line.net_minor < 0 or (line.net_minor == 0 and line.net_precise < 0)
        ):
            # a discount line (negative) is credited negative: the credit note mirrors the invoice
            bound = (
                f"below 0 and at least {_decimal(left, scale)}"  # -12.69 <= amount < 0
                if line.net_minor < 0
                else f"above 0 and at most {_decimal(left, scale)}"
            )
            problems.append(
                Problem(path(number), f"line {number}: must be {bound} "
                                      "(what the invoice shows for it, less earlier credit notes)")
            )  # fmt: skip
            continue
        numbers.append(number)
        drafts.append(
            DraftLine(
                line.description, amount, _credit_rate(line), line.supply_date, line.session_id, line.kind,
                exempt=line.category is VatCategory.EXEMPT, components=line.components,
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
    if full and not fresh:
        composed = _rest_of_vat(composed, original, credited_before)
    for number, shown in zip(numbers, composed.lines, strict=True):
        line = by_number[number]
        left = line.net_minor - before.get(number, 0)
        if not shown.net_minor and not full:  # a full credit mirrors a line shown as 0.00 too
            problems.append(
                Problem(path(number), f"line {number}: {shown.net_precise} rounds to "
                                      f"{_decimal(0, scale)} {original.currency}; nothing would be credited")
            )  # fmt: skip
        elif not _within(before.get(number, 0) + shown.net_minor, line.net_minor):
            problems.append(
                Problem(path(number), f"line {number}: {shown.net_precise} rounds to "
                                      f"{_decimal(shown.net_minor, scale)}, more than the "
                                      f"{_decimal(left, scale)} left to credit (what the invoice shows for "
                                      "it, less earlier credit notes)")
            )  # fmt: skip
    if not problems:
        original_tax = {(p.category, p.rate): p.tax_minor for p in original.composed.breakdown}
        for part in composed.breakdown:
            key = (part.category, part.rate)
            taken = credited_before.tax.get(key, 0) + part.tax_minor
            if not _within(taken, original_tax.get(key, 0)):
                problems.append(
                    Problem("$.lines", f"the VAT at {part.rate.normalize():f} % would come to "
                                       f"{_decimal(taken, scale)} over all credit notes, more than the "
                                       f"invoice's {_decimal(original_tax.get(key, 0), scale)}")
                )  # fmt: skip
        total, cap = credited_before.incl_vat_minor + composed.totals.incl_vat_minor, original.total_minor
        if not problems and not _within(total, cap):
            problems.append(
                Problem("$.lines", f"the credit notes would come to {_decimal(total, scale)}, more than "
                                   f"the invoice's {_decimal(cap, scale)}")
            )  # fmt: skip
        if (
            not problems
            and not composed.totals.incl_vat_minor
            and not any(line.net_minor for line in composed.lines)
        ):
            problems.append(Problem("$.lines", "nothing to credit: the credit note rounds to zero"))
    if problems:
        raise InvalidInput("invalid credit note", tuple(problems))
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
        credited_minor=0,
        original_id=original.id,
        original_number=original.number,
        reason=reason,
        credited_lines=tuple(numbers),
        payment_reference=None,
        notes=(CREDIT_NOTE_NOTE.format(original.number, reason),),
        created_at=created_at,
        version=1,
    )


def _decimal(minor: int, scale: int) -> Decimal:
    return Decimal(minor).scaleb(-scale)


def _rest_of_vat(composed: Composed, original: Document, before: Credited) -> Composed:
    """The full credit after partial ones: each rate's VAT is what is left of the invoice's."""
    original_tax = {(p.category, p.rate): p.tax_minor for p in original.composed.breakdown}
    breakdown = tuple(
        replace(part, tax_minor=original_tax.get((part.category, part.rate), 0)
                - before.tax.get((part.category, part.rate), 0))
        for part in composed.breakdown
    )  # fmt: skip
    vat = sum(part.tax_minor for part in breakdown)
    totals = composed.totals
    incl = totals.excl_vat_minor + vat
    changed = replace(totals, vat_minor=vat, incl_vat_minor=incl, payable_minor=incl - totals.prepaid_minor)
    shown = _decimal(incl, currencies.exponent(composed.currency))
    return replace(
        composed, breakdown=breakdown, totals=changed,
        rounding_difference=shown - composed.precise_incl_vat,
    )  # fmt: skip


def _credit_rate(line: DocumentLine) -> Decimal | None:
    """The rate that puts a credited line in its original's category (see ``tax.category_of``)."""
    if line.category is VatCategory.OUTSIDE_SCOPE:
        return None
    return line.rate if line.category in (VatCategory.STANDARD, VatCategory.ZERO) else Decimal(0)


CREDITS_NOTE = "Corrects invoice {0}: {1}"
CREDIT_NOTE_NOTE = "Credit note for invoice {0}: {1}"  # stored on the note (the e-invoices' note)
ROUNDING_NOTE = "Amounts are rounded once for this document; the exact sum of its lines differs by {0}."


def printed_notes(
    document: Document,
    *,
    credits: str = CREDITS_NOTE,
    rounding: str = ROUNDING_NOTE,
    reverse_charge: tuple[str, ...] = (),
    amount: Callable[[Decimal], str] = lambda value: f"{value.normalize():f}",
) -> list[str]:
    """The notes a document prints (the PDF, in its language) and shows (the API, in English): its
    own, the reverse charge, what a credit note corrects, the rounding difference. ``reverse_charge``:
    notes added in the document's language when the reverse charge applies."""
    notes = list(document.notes)
    reverse = any(part.category is VatCategory.REVERSE_CHARGE for part in document.composed.breakdown)
    if reverse and REVERSE_CHARGE_NOTE not in notes:
        notes.append(REVERSE_CHARGE_NOTE)
    if reverse:
        notes.extend(reverse_charge)
    if document.kind is DocumentKind.CREDIT_NOTE and document.original_number:
        stored = CREDIT_NOTE_NOTE.format(document.original_number, document.reason or "")
        notes = [note for note in notes if note != stored]  # said once, in the document's language
        notes.insert(0, credits.format(document.original_number, document.reason or ""))
    difference = document.composed.rounding_difference
    if difference:
        notes.append(rounding.format(f"{amount(difference)} {document.currency}"))
    return notes


def is_sales_tax(document: Document) -> bool:
    return document.composed.tax_mode is TaxMode.SALES_TAX
