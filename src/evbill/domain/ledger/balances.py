"""Balances: the trial balance (every account's balance per currency) and an account's statement.

The trial balance of a sound ledger sums to zero per currency, since every entry does.

    >>> entries = [Posting("bank", 500, "EUR"), Posting("receivable:c", -500, "EUR")]
    >>> trial_balance(entries)
    {('bank', 'EUR'): 500, ('receivable:c', 'EUR'): -500}
    >>> trial_balance_totals(trial_balance(entries))
    {'EUR': 0}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from evbill.domain.ledger.entries import Posting


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account: str
    currency: str
    debit: int  # sum of the positive postings
    credit: int  # sum of the negative postings, as a positive number
    balance: int  # debit - credit


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: str
    posted_at: datetime
    cause: str
    reference: str
    description: str
    amount: int
    running_balance: int
    posting_id: str = ""  # the line's place in the statement (a page's cursor)


def trial_balance(postings: Iterable[Posting]) -> dict[tuple[str, str], int]:
    """(account, currency) -> balance, sorted by account then currency."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        sums[(posting.account, posting.currency)] += posting.amount
    return dict(sorted(sums.items()))


def trial_balance_totals(balances: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Per currency, the sum of all balances: zero in a sound ledger."""
    totals: dict[str, int] = defaultdict(int)
    for (_, currency), balance in balances.items():
        totals[currency] += balance
    return dict(sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class PeriodSum:
    """The sum of one account's postings in one currency over the entries posted in one period
    (``period`` is the period's index in the list asked for)."""

    period: int
    account: str
    currency: str
    amount: int
