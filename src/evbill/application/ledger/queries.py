"""Reading the ledger: the trial balance and an account's statement, for one operator.

The trial balance lists every account's debits, credits and balance per currency; its balances sum to
zero per currency in a sound ledger (``totals``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.ledger.accounts import parse_account
from evbill.domain.ledger.balances import AccountBalance, StatementLine
from evbill.domain.ledger.entries import LedgerEntry


@dataclass(frozen=True, slots=True)
class TrialBalance:
    accounts: Sequence[AccountBalance]
    totals: dict[str, int]  # per currency: zero when the ledger balances


def trial_balance(svc: Services, who: Actor) -> TrialBalance:
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        accounts = uow.ledger.balances(who.operator_id)
    totals: dict[str, int] = {}
    for balance in accounts:
        totals[balance.currency] = totals.get(balance.currency, 0) + balance.balance
    return TrialBalance(accounts, dict(sorted(totals.items())))


def account_statement(
    svc: Services,
    who: Actor,
    account: str,
    currency: str,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Sequence[StatementLine]:
    """The account's lines in that currency with the running balance: all, or a page (``limit``)
    after the line ``after`` names (a line's ``posting_id``), the balance running on from it."""
    require(who, Permission.READ)
    parse_account(account, path="path.account")
    with svc.uow(read_only=True) as uow:
        return uow.ledger.statement(who.operator_id, account, currency, after=after, limit=limit)


def journal(svc: Services, who: Actor, *, after: str | None, limit: int) -> Sequence[LedgerEntry]:
    require(who, Permission.READ)
    with svc.uow(read_only=True) as uow:
        return uow.ledger.entries(who.operator_id, after=after, limit=limit)


# what an entry's reference names when it is a document's: "<kind>:<document id>"
DOCUMENT_REFERENCES = ("invoice", "receipt", "credit_note", "write_off")


def document_numbers(
    svc: Services, who: Actor, references: Iterable[str]
) -> dict[str, tuple[str, date | None]]:
    """The number and due date of the document each reference names (``invoice:<id>`` ...), by
    reference, for the accounting export (DATEV's Belegfeld 1 is the document number); references
    that name no issued document are left out."""
    require(who, Permission.READ)
    ids: dict[str, list[str]] = {}
    for reference in references:
        kind, colon, document_id = reference.partition(":")
        if colon and kind in DOCUMENT_REFERENCES and document_id:
            ids.setdefault(document_id, []).append(reference)
    with svc.uow(read_only=True) as uow:
        found = uow.invoices.numbers(who.operator_id, sorted(ids))
    return {reference: found[i] for i, named in ids.items() if i in found for reference in named}
