"""Ledger entries: balanced sets of postings, in integer minor units per currency.

A posting moves ``amount`` minor units of ``currency`` into one account: debit positive, credit
negative. An entry is refused unless, for every currency in it, its postings sum to zero; it has at
least two postings and none of zero. An entry names what caused it (``cause`` and ``reference``,
e.g. ``payment_captured`` and the payment's id), so the ledger can be reconciled with the records
of that cause.

    >>> from evbill.domain.ledger.accounts import gateway_clearing, receivable
    >>> entry = make_entry(
    ...     entry_id="e-1", operator_id="op", posted_at=datetime(2026, 12, 1, tzinfo=UTC),
    ...     cause=EntryCause.PAYMENT_CAPTURED, reference="pay-1", description="capture",
    ...     postings=(debit(gateway_clearing("sandbox"), 1234, "EUR"), credit(receivable("c"), 1234, "EUR")),
    ... )
    >>> [(p.account, p.amount) for p in entry.postings]
    [('gateway_clearing:sandbox', 1234), ('receivable:c', -1234)]
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from evbill.domain import currency as currencies
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.ledger.accounts import Account, parse_account

__all__ = [
    "UTC",
    "EntryCause",
    "LedgerEntry",
    "Posting",
    "credit",
    "debit",
    "imbalances",
    "make_entry",
]


class EntryCause(enum.StrEnum):
    """What happened, in the money's own words; each money event posts one entry."""

    INVOICE_ISSUED = "invoice_issued"
    RECEIPT_ISSUED = "receipt_issued"  # a receipt of a session paid at issue (card, wallet, ad hoc)
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    DOCUMENT_VOIDED = "document_voided"  # an issued invoice or receipt voided: its issue reversed
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_REFUNDED = "payment_refunded"
    GATEWAY_FEE = "gateway_fee"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSED = "chargeback_reversed"  # a lost dispute won after all: the money came back
    PAYOUT = "payout"
    WALLET_TOPPED_UP = "wallet_topped_up"
    WALLET_SPENT = "wallet_spent"
    WALLET_REFUNDED = "wallet_refunded"
    WRITE_OFF = "write_off"
    BANK_RECEIPT = "bank_receipt"  # a credit on the operator's bank statement
    SUBSCRIPTION_EARNED = "subscription_earned"
    ADJUSTMENT = "adjustment"


class UnbalancedEntry(InvalidInput):
    code = "unbalanced_entry"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str  # an account code from the chart (accounts.py)
    amount: int  # minor units: debit positive, credit negative
    currency: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: str
    operator_id: str
    posted_at: datetime
    cause: EntryCause
    reference: str  # the id of the record that caused it (payment, invoice, wallet transaction)
    description: str
    postings: tuple[Posting, ...]


def debit(account: Account, amount: int, currency: str) -> Posting:
    return Posting(account.code, amount, currency)


def credit(account: Account, amount: int, currency: str) -> Posting:
    return Posting(account.code, -amount, currency)


def imbalances(postings: Iterable[Posting]) -> Mapping[str, int]:
    """Per currency, the sum of the postings, where it is not zero (empty: balanced)."""
    sums: dict[str, int] = defaultdict(int)
    for posting in postings:
        sums[posting.currency] += posting.amount
    return {currency: total for currency, total in sorted(sums.items()) if total != 0}


def make_entry(
    *,
    entry_id: str,
    operator_id: str,
    posted_at: datetime,
    cause: EntryCause,
    reference: str,
    description: str,
    postings: tuple[Posting, ...],
) -> LedgerEntry:
    """A checked entry; UnbalancedEntry (an InvalidInput) listing every problem otherwise."""
    if posted_at.tzinfo is UTC and _plainly_sound(postings):
        return LedgerEntry(entry_id, operator_id, posted_at, cause, reference, description, postings)
    problems = _posting_problems(postings)
    if posted_at.tzinfo is None:
        problems.append(Problem("$.posted_at", "must be timezone-aware"))
    for currency, total in imbalances(postings).items():
        problems.append(Problem("$.postings", f"{currency} postings sum to {total}, not 0"))
    if problems:
        raise UnbalancedEntry("the ledger entry is refused", tuple(problems))
    return LedgerEntry(
        entry_id, operator_id, posted_at.astimezone(UTC), cause, reference, description, postings
    )


def _plainly_sound(postings: tuple[Posting, ...]) -> bool:
    """The usual entry, accepted without building a problem list: two or more postings in one known
    currency, each a non-zero integer on an account of the chart, summing to zero. Anything else
    (several currencies too) goes through the full check, which names every problem."""
    if len(postings) < 2:
        return False
    currency = postings[0].currency
    total = 0
    try:
        for posting in postings:
            amount = posting.amount
            if posting.currency != currency or type(amount) is not int or not amount:
                return False
            _known_account(posting.account)
            total += amount
    except InvalidInput:
        return False
    return total == 0 and currencies.is_known(currency)


def _posting_problems(postings: tuple[Posting, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if len(postings) < 2:
        problems.append(Problem("$.postings", "an entry needs at least two postings"))
    for index, posting in enumerate(postings):
        # the usual case (a known account, a non-zero integer, a known currency) builds no path
        try:
            _known_account(posting.account)
        except InvalidInput:
            try:
                parse_account(posting.account, path=f"$.postings[{index}].account")
            except InvalidInput as error:
                problems.extend(error.problems)
        if not isinstance(posting.amount, int) or isinstance(posting.amount, bool):
            problems.append(
                Problem(f"$.postings[{index}].amount", "must be an integer number of minor units")
            )
        elif posting.amount == 0:
            problems.append(Problem(f"$.postings[{index}].amount", "must not be zero"))
        if not currencies.is_known(posting.currency):
            problems.append(
                Problem(f"$.postings[{index}].currency", f"{posting.currency!r} is not an ISO 4217 code")
            )
    return problems


@lru_cache(maxsize=65_536)  # valid codes only (a refusal raises and is not cached)
def _known_account(code: str) -> bool:
    """True for a code in the chart; InvalidInput otherwise (``parse_account`` then names the path)."""
    parse_account(code)
    return True
