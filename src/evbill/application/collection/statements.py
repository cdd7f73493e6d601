"""Importing a bank statement: each credit matched to an invoice, applied, posted, reported.

``import_statement`` reads the file (``StatementReader``), then in one transaction, per entry:

1. a debit is not a payment: ``IGNORED``; an entry whose bank reference is stored already (or seen
   earlier in the same file) is a ``DUPLICATE`` and changes nothing;
2. the invoice is found by the entry's structured RF reference, else by an RF reference in its
   remittance text, else by exactly one open invoice's number in that text;
3. its amount is applied to the invoice's open amount (``PARTIAL``, ``MATCHED``); what is left over is a
   credit on the customer's account (``OVERPAID``), as is a payment for an invoice already paid;
4. an entry matched to nothing is ``UNMATCHED``, naming as a suggestion the one open invoice of exactly
   its amount and payer name, if there is one (it is never applied on a suggestion);
5. the transaction is stored (unique per bank reference: a concurrent import of the same file stores
   it once) and posts its entry: Dr bank, Cr the customer's receivable (suspense if unmatched).

A customer suspended for an overdue invoice gets their tokens back in the same transaction once
nothing of theirs is overdue beyond the policy (``dunning.reinstate_if_settled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from evbill.application.collection.dunning import reinstate_if_settled
from evbill.application.collection.ports import StatementReader
from evbill.application.invoicing.references import find_references, normalise
from evbill.application.ledger.posting import post
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.collection.statements import (
    BankTransaction,
    MatchedBy,
    Outcome,
    StatementEntry,
    StatementFormat,
    apply_amount,
    outcome_of,
    same_name,
)
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.documents import Document
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, credit, debit


@dataclass(frozen=True, slots=True)
class ImportedLine:
    entry_key: str
    outcome: Outcome
    amount_minor: int
    currency: str
    invoice_number: str | None = None
    matched_by: MatchedBy | None = None
    applied_minor: int = 0
    excess_minor: int = 0  # credited to the customer's account
    customer_id: str | None = None
    suggested_invoice_number: str | None = None
    counterparty_name: str | None = None
    remittance: str = ""


@dataclass(frozen=True, slots=True)
class ImportReport:
    lines: Sequence[ImportedLine] = field(default_factory=tuple)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome is outcome)

    @property
    def unmatched(self) -> Sequence[ImportedLine]:
        return [line for line in self.lines if line.outcome is Outcome.UNMATCHED]

    @property
    def overpaid(self) -> Sequence[ImportedLine]:
        return [line for line in self.lines if line.outcome is Outcome.OVERPAID]


def bank_reference(transaction_id: str) -> str:
    return f"bank:{transaction_id}"


def import_statement(
    services: Services, reader: StatementReader, actor: Actor, data: bytes, statement_format: StatementFormat
) -> ImportReport:
    require(actor, Permission.BILL)
    entries = reader.read(data, statement_format)
    lines: list[ImportedLine] = []
    with services.uow() as uow:
        stored = uow.collection.bank_transaction_keys(actor.operator_id, [e.entry_key for e in entries])
        open_invoices = _OpenInvoices(uow.invoices.open_documents(actor.operator_id))
        seen: set[str] = set()
        for entry in entries:
            lines.append(_import_entry(services, uow, actor, entry, stored | seen, open_invoices))
            seen.add(entry.entry_key)
        uow.commit()
    return ImportReport(tuple(lines))


def _import_entry(
    services: Services,
    uow: UnitOfWork,
    actor: Actor,
    entry: StatementEntry,
    known: set[str],
    open_invoices: _OpenInvoices,
) -> ImportedLine:
    base = ImportedLine(
        entry.entry_key, Outcome.IGNORED, entry.amount_minor, entry.currency,
        counterparty_name=entry.counterparty_name, remittance=entry.remittance,
    )  # fmt: skip
    if entry.entry_key in known:
        return replace(base, outcome=Outcome.DUPLICATE)
    if entry.amount_minor <= 0:
        return base
    document, matched_by = _find_document(uow, actor.operator_id, entry, open_invoices)
    if document is not None and document.currency != entry.currency:
        document, matched_by = None, None
    now = services.clock.now()
    if document is None:
        suggestion = _suggestion(entry, open_invoices.documents.values())
        line = replace(
            base, outcome=Outcome.UNMATCHED,
            suggested_invoice_number=None if suggestion is None else suggestion.number,
        )  # fmt: skip
        transaction = _transaction(services, actor, entry, line, now, suggestion)
    else:
        applied, excess = apply_amount(open_minor=document.open_minor, amount_minor=entry.amount_minor)
        line = replace(
            base, outcome=outcome_of(applied, excess, document.open_minor), invoice_number=document.number,
            matched_by=matched_by, applied_minor=applied, excess_minor=excess,
            customer_id=document.customer_id,
        )  # fmt: skip
        transaction = replace(_transaction(services, actor, entry, line, now, None), invoice_id=document.id)
    if not uow.collection.add_bank_transaction(transaction):
        return replace(base, outcome=Outcome.DUPLICATE)  # a concurrent import stored it first
    if document is not None and line.applied_minor:
        paid = lifecycle.pay(document, line.applied_minor)
        uow.invoices.update(paid, expected_version=document.version)
        open_invoices.documents[paid.id] = paid
    _post_receipt(services, uow, actor.operator_id, transaction)
    if line.customer_id is not None:
        reinstate_if_settled(services, uow, actor.operator_id, line.customer_id)
    return line


def _find_document(
    uow: UnitOfWork, operator_id: str, entry: StatementEntry, open_invoices: _OpenInvoices
) -> tuple[Document | None, MatchedBy | None]:
    references = [normalise(entry.reference)] if entry.reference else []
    references += find_references(entry.remittance.upper())
    for reference in references:
        if reference is None:
            continue
        document = uow.invoices.find_by_payment_reference(operator_id, reference)
        if document is not None:
            return open_invoices.documents.get(document.id, document), MatchedBy.REFERENCE
    named = {
        open_invoices.by_number[word] for word in _words(entry.remittance) if word in open_invoices.by_number
    }
    if len(named) == 1:
        return open_invoices.documents[named.pop()], MatchedBy.INVOICE_NUMBER
    return None, None


def _words(text: str) -> list[str]:
    """The text's words in capitals without punctuation: "Inv. INV-2026-000001!" -> INV, INV2026000001."""
    return "".join(c for c in text.upper() if c.isalnum() or c.isspace()).split()


class _OpenInvoices:
    """The operator's open documents as the import goes (paid ones stay: a second payment is credit),
    and an index of them by number as ``_words`` writes it, built once per import."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = {document.id: document for document in documents}
        self.by_number = {"".join(_words(d.number)): d.id for d in documents if d.number}


def _suggestion(entry: StatementEntry, documents: Iterable[Document]) -> Document | None:
    candidates = [
        document
        for document in documents
        if document.currency == entry.currency
        and document.open_minor == entry.amount_minor
        and same_name(document.buyer.name, entry.counterparty_name)
    ]
    return candidates[0] if len(candidates) == 1 else None


def _transaction(
    services: Services,
    actor: Actor,
    entry: StatementEntry,
    line: ImportedLine,
    now: datetime,
    suggestion: Document | None,
) -> BankTransaction:
    return BankTransaction(
        id=services.ids.new_id(), operator_id=actor.operator_id, entry_key=entry.entry_key,
        booked_on=entry.booked_on, amount_minor=entry.amount_minor, currency=entry.currency,
        counterparty_name=(entry.counterparty_name or "")[:140] or None,
        counterparty_iban=(entry.counterparty_iban or "")[:34] or None, remittance=entry.remittance,
        outcome=line.outcome, matched_by=line.matched_by, invoice_id=None, customer_id=line.customer_id,
        applied_minor=line.applied_minor, excess_minor=line.excess_minor,
        suggested_invoice_id=None if suggestion is None else suggestion.id, imported_at=now,
    )  # fmt: skip


def _post_receipt(
    services: Services, uow: UnitOfWork, operator_id: str, transaction: BankTransaction
) -> None:
    """Dr bank, Cr the customer's receivable (an over-payment leaves it in credit), or suspense."""
    amount, currency = transaction.amount_minor, transaction.currency
    counter = (
        accounts.SUSPENSE if transaction.customer_id is None else accounts.receivable(transaction.customer_id)
    )
    post(
        uow, services.ids, operator_id=operator_id, at=services.clock.now(), cause=EntryCause.BANK_RECEIPT,
        reference=bank_reference(transaction.id),
        description=f"bank {transaction.entry_key} {transaction.outcome.value}",
        postings=(debit(accounts.BANK, amount, currency), credit(counter, amount, currency)),
    )  # fmt: skip


def statement_format(name: str) -> StatementFormat:
    return StatementFormat(name)
