"""An issued document's ledger entry, posted in the transaction that issues it.

An invoice (or receipt) debits the customer's receivable with its total incl. VAT and credits revenue
per kind and VAT payable per rate, all in the settled amounts the document shows; a credit note posts
the same with the signs flipped. The lines' shown amounts add up to the total excl. VAT and the tax
breakdown to the VAT (EN 16931 BR-CO-10 to BR-CO-15, which ``compose`` guarantees), so the entry
balances. For example an invoice of a 9.99 plan fee and 6.55 of charging at 21 % VAT (3.47):

    receivable:cus-1            +20.01
    revenue:subscriptions        -9.99
    revenue:energy               -6.55
    vat_payable:21               -3.47

Revenue is split by what was sold: a plan fee is subscriptions, a service fee fees, and a session
line (or a discount or allowance taken off one) by its components, the precise price parts it
carries (energy, time, idle fee = PARKING_TIME, fees = FLAT). The document is rounded once, so the
split is too: each kind's precise sum over the document is rounded with the document's mode, and
what the kinds then miss of the document's net total (a cent or two) goes to the largest kind (by
precise amount; a tie to the first in ``RevenueKind`` order). A receipt of 1.95 energy and 0.35
start fee posts revenue:energy -1.95 and revenue:fees -0.35. A document issued before lines carried
components posts its session lines to energy, as it always did.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from evbill.application.ledger.posting import Receivable, post_invoice_issued
from evbill.application.ports import IdGenerator, UnitOfWork
from evbill.domain.invoicing.compose import Composed, DocumentLine
from evbill.domain.invoicing.documents import Document, DocumentKind
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.ledger.entries import EntryCause, LedgerEntry
from evbill.domain.money import (
    PRECISE_CONTEXT,
    RoundingMode,
    SettledMoney,
    quantize_precise,
    round_to_minor_units,
)

# What an invoice line sold, by the bill line's kind (domain.billing.cycle.LineKind), when the line
# carries no components.
REVENUE_OF_LINE = {
    "PLAN_FEE": RevenueKind.SUBSCRIPTIONS,
    "FLAT_RATE": RevenueKind.SUBSCRIPTIONS,
    "SERVICE_FEE": RevenueKind.FEES,
    "SESSION": RevenueKind.ENERGY,
    "ALLOWANCE": RevenueKind.ENERGY,
    "DISCOUNT": RevenueKind.ENERGY,
}
# What a price part sold (a line's components are tariff dimensions), as the analytics report names it.
REVENUE_OF_DIMENSION = {
    "ENERGY": RevenueKind.ENERGY,
    "TIME": RevenueKind.TIME,
    "PARKING_TIME": RevenueKind.IDLE,
    "FLAT": RevenueKind.FEES,
}


def _line_revenue(line: DocumentLine) -> Iterator[tuple[RevenueKind, Decimal]]:
    """The line's precise net by revenue kind: its components, in proportion when they do not add up
    to the line (a partial credit of a line carries the original's split)."""
    weights = [
        (REVENUE_OF_DIMENSION.get(name, RevenueKind.ENERGY), amount) for name, amount in line.components
    ]
    total = sum((amount for _, amount in weights), Decimal(0))
    if not weights or not total:
        yield REVENUE_OF_LINE.get(line.kind, RevenueKind.ENERGY), line.net_precise
    elif total == line.net_precise:
        yield from weights
    else:
        for kind, amount in weights:
            yield kind, quantize_precise(PRECISE_CONTEXT.divide(line.net_precise * amount, total))


def revenue_of(composed: Composed, mode: RoundingMode) -> dict[RevenueKind, int]:
    """A document's net total (minor units) by revenue kind, summing to it exactly (module docstring)."""
    precise: dict[RevenueKind, Decimal] = {}
    for line in composed.lines:
        for kind, amount in _line_revenue(line):
            precise[kind] = precise.get(kind, Decimal(0)) + amount
    rounded = {
        kind: round_to_minor_units(amount, composed.currency, mode) for kind, amount in precise.items()
    }
    missing = composed.totals.excl_vat_minor - sum(rounded.values())
    if missing:
        largest = max((kind for kind in RevenueKind if kind in precise), key=lambda kind: abs(precise[kind]))
        rounded[largest] += missing
    return rounded


def post_issued(
    uow: UnitOfWork, ids: IdGenerator, document: Document, at: datetime, *, receivable_key: str | None = None
) -> LedgerEntry | None:
    """Post ``document`` (just issued, in ``uow``'s open transaction); the caller commits. A document
    whose every amount is zero moves no money and posts nothing. ``receivable_key``: whose receivable
    it debits when that is not the document's customer: the receipt of a session paid at the charger
    debits ``receivable:adhoc:<start>``, the account the capture of its hold credits, so the two net
    out (``application.invoicing.receipts``); without it, ``receivable_key_of`` finds it."""
    return _post(uow, ids, document, at, void=False, receivable_key=receivable_key)


def post_voided(uow: UnitOfWork, ids: IdGenerator, document: Document, at: datetime) -> LedgerEntry | None:
    """Reverse ``document``'s issue entry (just voided, in ``uow``'s transaction): every posting of
    the issue with its sign flipped, under the same reference, so the document's receivable, revenue
    and VAT come back to zero (``invoicing.reconciliation.reconcile_documents`` checks that)."""
    return _post(uow, ids, document, at, void=True)


def receivable_key_of(uow: UnitOfWork, document: Document) -> str:
    """Whose receivable a document moves: its customer's; for a document of a session paid at the
    charger by an anonymous driver (its receipt, a credit note or void of it), the ad hoc start's,
    where the capture of the hold meets it."""
    if document.customer_id:
        return document.customer_id
    for session_id in dict.fromkeys(line.session_id for line in document.composed.lines if line.session_id):
        start = uow.session_payments.start_of_session(document.operator_id, session_id)
        if start is not None:
            return f"adhoc:{start.id}"
    return document.buyer.name


def _post(
    uow: UnitOfWork,
    ids: IdGenerator,
    document: Document,
    at: datetime,
    *,
    void: bool,
    receivable_key: str | None = None,
) -> LedgerEntry | None:
    sign = -1 if document.kind is DocumentKind.CREDIT_NOTE else 1
    if void:
        sign = -sign
    revenue = {
        kind: sign * amount for kind, amount in revenue_of(document.composed, document.rounding_mode).items()
    }
    vat: dict[Decimal, int] = {}
    for tax in document.composed.breakdown:
        vat[tax.rate] = vat.get(tax.rate, 0) + sign * tax.tax_minor
    totals = document.composed.totals
    if not totals.incl_vat_minor and not any(revenue.values()) and not any(vat.values()):
        return None
    customer = receivable_key or receivable_key_of(uow, document)
    receivable = Receivable(
        document.kind.value,
        document.id,
        customer,
        SettledMoney(sign * totals.incl_vat_minor, document.currency),
    )
    return post_invoice_issued(
        uow,
        ids,
        operator_id=document.operator_id,
        receivable_=receivable,
        revenue_by_kind=revenue,
        vat_by_rate=vat,
        at=at,
        cause=EntryCause.DOCUMENT_VOIDED
        if void
        else EntryCause.RECEIPT_ISSUED
        if document.kind is DocumentKind.RECEIPT
        else None,
    )
