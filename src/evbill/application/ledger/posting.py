"""Posting to the ledger inside the caller's unit of work, and the port the invoice side plugs into.

Every money event posts one balanced entry in the same transaction as the event that causes it: the
use case that records a capture, a refund or an issued invoice calls ``post`` on its own open unit of
work before its single ``commit``. An unbalanced entry is refused (``UnbalancedEntry``) and, since
nothing was committed, the event is refused with it.

Invoices (issue 13) plug in through ``Receivable`` and ``post_invoice_issued``: the invoice side calls

    post_invoice_issued(uow, ids, receivable=Receivable("invoice", invoice.id, customer_id, total),
                        revenue={RevenueKind.ENERGY: 1000}, vat={Decimal("21"): 210}, at=issued_at)

with settled (rounded once) amounts, in the same transaction as it issues the invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from evbill.application.ports import IdGenerator, UnitOfWork
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.ledger.accounts import RevenueKind, receivable, revenue, vat_payable
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, Posting, credit, debit, make_entry
from evbill.domain.money import SettledMoney


@dataclass(frozen=True, slots=True)
class Receivable:
    """What a customer owes for one document: the small port invoices (and credit notes) plug into.

    ``kind`` names the document type ("invoice", "credit_note", "session_receipt"); ``amount`` is
    the settled total incl. VAT in minor units.
    """

    kind: str
    id: str
    customer_id: str
    amount: SettledMoney

    @property
    def reference(self) -> str:
        return f"{self.kind}:{self.id}"


def post(
    uow: UnitOfWork,
    ids: IdGenerator,
    *,
    operator_id: str,
    at: datetime,
    cause: EntryCause,
    reference: str,
    description: str,
    postings: tuple[Posting, ...],
) -> LedgerEntry:
    """Check and append one entry in ``uow``'s transaction (the caller commits)."""
    entry = make_entry(
        entry_id=ids.new_id(),
        operator_id=operator_id,
        posted_at=at,
        cause=cause,
        reference=reference,
        description=description,
        postings=postings,
    )
    uow.ledger.append(entry)
    return entry


def invoice_postings(
    receivable_: Receivable, revenue_by_kind: Mapping[RevenueKind, int], vat_by_rate: Mapping[Decimal, int]
) -> tuple[Posting, ...]:
    """Debit the customer's receivable with the total; credit revenue per kind and VAT per rate.

    A credit note is the same with negative amounts (the signs flip on every posting).
    """
    currency = receivable_.amount.currency
    parts = sum(revenue_by_kind.values()) + sum(vat_by_rate.values())
    if parts != receivable_.amount.minor_units:
        raise InvalidInput(
            "the invoice does not add up",
            (Problem("$.amount", f"total {receivable_.amount.minor_units} != revenue + VAT {parts}"),),
        )
    postings = [debit(receivable(receivable_.customer_id), receivable_.amount.minor_units, currency)]
    postings += [
        credit(revenue(kind), amount, currency) for kind, amount in revenue_by_kind.items() if amount
    ]
    postings += [
        credit(vat_payable(rate), amount, currency) for rate, amount in vat_by_rate.items() if amount
    ]
    return tuple(postings)


def post_invoice_issued(
    uow: UnitOfWork,
    ids: IdGenerator,
    *,
    operator_id: str,
    receivable_: Receivable,
    revenue_by_kind: Mapping[RevenueKind, int],
    vat_by_rate: Mapping[Decimal, int],
    at: datetime,
    cause: EntryCause | None = None,
) -> LedgerEntry:
    if cause is None:
        cause = (
            EntryCause.INVOICE_ISSUED
            if receivable_.amount.minor_units >= 0
            else EntryCause.CREDIT_NOTE_ISSUED
        )
    return post(
        uow,
        ids,
        operator_id=operator_id,
        at=at,
        cause=cause,
        reference=receivable_.reference,
        description=f"{receivable_.kind} {receivable_.id}"
        + (" void" if cause is EntryCause.DOCUMENT_VOIDED else ""),
        postings=invoice_postings(receivable_, revenue_by_kind, vat_by_rate),
    )
