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
from datetime import UTC, datetime, timedelta

from evbill.domain.ledger.accounts import AccountFamily
from evbill.domain.ledger.entries import LedgerEntry, Posting

# The accounts booked revenue reads (``analytics.booked``), which the ledger also keeps summed per
# quarter hour of posting as it is appended (``quarter_sums``): defined here, once, for both.
REVENUE_PREFIX = f"{AccountFamily.REVENUE}:"
VAT_PREFIX = f"{AccountFamily.VAT_PAYABLE}:"
QUARTER_SUMMED_PREFIXES = (REVENUE_PREFIX, VAT_PREFIX)
# A quarter hour: every time zone's offset from UTC is a whole number of them (today's zones; some
# zones' local mean time of before 1980 is not), so a local day, week or month is a range of quarters.
QUARTER = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def quarter_of(moment: datetime) -> int:
    """The quarter hour an aware instant falls in: whole quarters since the epoch (floor, exact).

    >>> [quarter_of(datetime(1970, 1, 1, 0, 14, 59, 999999, tzinfo=UTC)), quarter_of(_EPOCH + QUARTER)]
    [0, 1]
    """
    return (moment - _EPOCH) // QUARTER


def quarter_sums(entries: Iterable[LedgerEntry]) -> list[tuple[str, int, str, str, int]]:
    """(operator, quarter, account, currency, amount): the entries' postings on the accounts of
    ``QUARTER_SUMMED_PREFIXES`` summed per quarter hour of posting, sorted by the key (so writers
    adding them up in the database lock the rows in one order); a sum of zero kept (its row says, as
    the postings do, that the account was posted to then).

    >>> from evbill.domain.ledger.entries import EntryCause
    >>> at = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
    >>> entry = LedgerEntry("e1", "op", at, EntryCause.INVOICE_ISSUED, "inv-1", "",
    ...     (Posting("receivable:c", 121, "EUR"), Posting("revenue:energy", -100, "EUR"),
    ...      Posting("vat_payable:21", -21, "EUR")))
    >>> quarter_sums([entry, entry])
    [('op', 1995684, 'revenue:energy', 'EUR', -200), ('op', 1995684, 'vat_payable:21', 'EUR', -42)]
    """
    summed: dict[tuple[str, int, str, str], int] = defaultdict(int)
    kept: dict[str, bool] = {}
    for entry in entries:
        quarter: int | None = None
        for posting in entry.postings:
            account = posting.account
            keep = kept.get(account)
            if keep is None:
                keep = kept[account] = account.startswith(QUARTER_SUMMED_PREFIXES)
            if keep:
                if quarter is None:
                    quarter = quarter_of(entry.posted_at)
                summed[(entry.operator_id, quarter, account, posting.currency)] += posting.amount
    return [(*key, amount) for key, amount in sorted(summed.items())]
