"""Importing a bank statement: each credit matched to an invoice, applied, posted, reported.

``import_statement`` reads the file (``StatementReader``), decides every entry in order in memory,
then stores it all in one transaction. Per entry:

0. a file with an entry booked more than a week after today is refused whole;
1. an entry whose bank reference is stored already (or seen earlier in the same file) is a
   ``DUPLICATE`` and changes nothing; one in another currency than the statement account's (camt.053
   ``Acct/Ccy``, else the operator's default currency) is ``SKIPPED``, with its reason, and is neither
   stored nor posted (the books would get a foreign amount without its rate); a debit is not a
   payment: ``IGNORED``;
2. the invoice is found by the entry's structured RF reference, else by an RF reference in its
   remittance text, else by exactly one open invoice's number in that text;
3. its amount is applied to the invoice's open amount (``PARTIAL``, ``MATCHED``); what is left over is a
   credit on the customer's account (``OVERPAID``), as is a payment for an invoice already paid;
4. an entry matched to nothing is ``UNMATCHED``, naming as a suggestion the one open invoice of exactly
   its amount and payer name, if there is one (it is never applied on a suggestion);
5. the transaction is stored (unique per bank reference) and posts its entry: Dr bank, Cr the
   customer's receivable (suspense if unmatched).

The transactions go in with one INSERT per thousand (``ON CONFLICT DO NOTHING``), each paid invoice
is updated once (under its version), the entries are appended together. Two imports of one file at
once: the second finds the first's rows at insert and is refused whole (Conflict, "import it
again"), and imported again it reports every entry a duplicate: nothing is ever applied twice.

A customer suspended for an overdue invoice gets their tokens back in the same transaction once
nothing of theirs is overdue beyond the policy (``receivables.reinstate_if_settled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from evbill.application.collection.ports import StatementReader
from evbill.application.invoicing.references import find_references, normalise
from evbill.application.ports import UnitOfWork
from evbill.application.receivables import reinstate_if_settled
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
from evbill.domain.errors import Conflict, InvalidInput, Problem
from evbill.domain.invoicing import documents as lifecycle
from evbill.domain.invoicing.documents import Document
from evbill.domain.ledger import accounts
from evbill.domain.ledger.entries import EntryCause, LedgerEntry, credit, debit, make_entry


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
    reason: str | None = None  # why a line was skipped
    where: str = ""  # where it is in the file ("line 3", "Stmt[1].Ntry[2]")


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

    @property
    def skipped(self) -> Sequence[ImportedLine]:
        return [line for line in self.lines if line.outcome is Outcome.SKIPPED]

    def skipped_reasons(self) -> dict[str, int]:
        """How many lines were skipped for each reason, e.g. {"in USD, not the account's EUR": 2}."""
        reasons: dict[str, int] = {}
        for line in self.skipped:
            reason = line.reason or "skipped"
            reasons[reason] = reasons.get(reason, 0) + 1
        return reasons


def bank_reference(transaction_id: str) -> str:
    return f"bank:{transaction_id}"


def import_statement(
    services: Services, reader: StatementReader, actor: Actor, data: bytes, statement_format: StatementFormat
) -> ImportReport:
    require(actor, Permission.BILL)
    entries = reader.read(data, statement_format)
    _refuse_future(services, entries)
    with services.uow() as uow:
        operator = uow.operators.get(actor.operator_id)
        assert operator is not None  # the actor's own operator
        keys = [e.entry_key for e in entries] + [e.legacy_key for e in entries if e.legacy_key]
        stored = uow.collection.bank_transaction_keys(actor.operator_id, keys)
        batch = _Batch(
            _OpenInvoices(uow.invoices.open_documents(actor.operator_id)), operator.default_currency
        )
        for entry in entries:
            batch.lines.append(_decide(services, uow, actor, entry, stored, batch))
            stored.add(entry.entry_key)
        _store(services, uow, actor, batch)
        uow.commit()
    return ImportReport(tuple(batch.lines))


FUTURE = timedelta(days=7)  # a booking date further ahead than this is a mistake in the file


def _refuse_future(services: Services, entries: Sequence[StatementEntry]) -> None:
    latest = (services.clock.now() + FUTURE).date()
    problems = tuple(
        Problem(f"{entry.where or entry.entry_key}.booked_on", f"{entry.booked_on} is in the future")
        for entry in entries
        if entry.booked_on > latest
    )
    if problems:
        raise InvalidInput("the statement cannot be read", problems)


@dataclass
class _Batch:
    """One import's decisions, made in order in memory, then stored together."""

    open_invoices: _OpenInvoices
    currency: str  # the operator's: the account's currency where the statement does not say it
    lines: list[ImportedLine] = field(default_factory=list)
    transactions: list[BankTransaction] = field(default_factory=list)
    originals: dict[str, Document] = field(default_factory=dict)  # each paid invoice as it was read


def _decide(
    services: Services, uow: UnitOfWork, actor: Actor, entry: StatementEntry, known: set[str], batch: _Batch
) -> ImportedLine:
    base = ImportedLine(
        entry.entry_key, Outcome.IGNORED, entry.amount_minor, entry.currency,
        counterparty_name=entry.counterparty_name, remittance=entry.remittance, where=entry.where,
    )  # fmt: skip
    if entry.entry_key in known or (entry.legacy_key is not None and entry.legacy_key in known):
        # stored under its key, or under the key an older version gave it (see ``StatementEntry``)
        return replace(base, outcome=Outcome.DUPLICATE)
    account_currency = entry.account_currency or batch.currency
    if entry.currency != account_currency:
        reason = f"in {entry.currency}, not the account's {account_currency}"
        return replace(base, outcome=Outcome.SKIPPED, reason=reason)
    if entry.amount_minor <= 0:
        return base
    open_invoices = batch.open_invoices
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
        batch.transactions.append(_transaction(services, actor, entry, line, now, suggestion))
        return line
    applied, excess = apply_amount(open_minor=document.open_minor, amount_minor=entry.amount_minor)
    line = replace(
        base, outcome=outcome_of(applied, excess, document.open_minor), invoice_number=document.number,
        matched_by=matched_by, applied_minor=applied, excess_minor=excess, customer_id=document.customer_id,
    )  # fmt: skip
    batch.transactions.append(
        replace(_transaction(services, actor, entry, line, now, None), invoice_id=document.id)
    )
    if applied:
        batch.originals.setdefault(document.id, document)
        open_invoices.documents[document.id] = lifecycle.pay(document, applied)
    return line


def _store(services: Services, uow: UnitOfWork, actor: Actor, batch: _Batch) -> None:
    """The transactions (each once), each paid invoice's new state, the ledger entries, reinstatements."""
    stored = uow.collection.add_bank_transactions(batch.transactions)
    if len(stored) != len(batch.transactions):
        # another import stored some of these entries since this one read: its payments are in, and
        # this import's decisions were made without them. Nothing of this one is kept; run it again.
        raise Conflict("the statement was imported by someone else at the same time; import it again")
    uow.invoices.update_many(
        [
            (
                replace(batch.open_invoices.documents[invoice_id], version=original.version + 1),
                original.version,
            )
            for invoice_id, original in batch.originals.items()
        ]
    )
    uow.ledger.append_many([_receipt(services, actor.operator_id, t) for t in batch.transactions])
    for customer_id in sorted({t.customer_id for t in batch.transactions if t.customer_id is not None}):
        reinstate_if_settled(services, uow, actor.operator_id, customer_id)


def _find_document(
    uow: UnitOfWork, operator_id: str, entry: StatementEntry, open_invoices: _OpenInvoices
) -> tuple[Document | None, MatchedBy | None]:
    references = [normalise(entry.reference)] if entry.reference else []
    references += find_references(entry.remittance.upper())
    for reference in references:
        if reference is None:
            continue
        known = open_invoices.by_reference.get(reference)
        if known is not None:
            return open_invoices.documents[known], MatchedBy.REFERENCE
        document = uow.invoices.find_by_payment_reference(operator_id, reference)  # paid, void, ...
        if document is not None:
            return document, MatchedBy.REFERENCE
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
        self.by_reference = {d.payment_reference: d.id for d in documents if d.payment_reference}


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


def _receipt(services: Services, operator_id: str, transaction: BankTransaction) -> LedgerEntry:
    """Dr bank, Cr the customer's receivable (an over-payment leaves it in credit), or suspense."""
    amount, currency = transaction.amount_minor, transaction.currency
    counter = (
        accounts.SUSPENSE if transaction.customer_id is None else accounts.receivable(transaction.customer_id)
    )
    return make_entry(
        entry_id=services.ids.new_id(), operator_id=operator_id, posted_at=services.clock.now(),
        cause=EntryCause.BANK_RECEIPT, reference=bank_reference(transaction.id),
        description=f"bank {transaction.entry_key} {transaction.outcome.value}",
        postings=(debit(accounts.BANK, amount, currency), credit(counter, amount, currency)),
    )  # fmt: skip
