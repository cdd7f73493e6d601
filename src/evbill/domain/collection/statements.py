"""Bank statement entries and what became of each one when it was imported.

A statement entry is one credit (or debit) the bank booked on the operator's account. Imported, a
credit is matched to an invoice, first by its structured ISO 11649 reference (``RF..``), then by an
invoice number in its remittance text, and its amount is applied to the invoice's open amount:

    >>> apply_amount(open_minor=2001, amount_minor=1000)
    (1000, 0)
    >>> apply_amount(open_minor=2001, amount_minor=2500)
    (2001, 499)

``MATCHED`` pays the invoice in full, ``PARTIAL`` in part, ``OVERPAID`` in full with money left over
(the rest is a credit on the customer's account). An entry matched to nothing is ``UNMATCHED``; if one
open invoice has exactly its amount and its payer's name, that invoice is named as a suggestion, never
applied. Debits (money going out) are not payments and are ``IGNORED``. An entry in another currency
than the statement account's is ``SKIPPED`` with its reason: it is never stored nor posted (the books
keep the account's currency; a foreign amount needs its exchange rate, which the file does not give).
An entry is identified by the bank's own reference (account servicer reference, or the entry id):
imported twice, it is a ``DUPLICATE`` and changes nothing. An entry without any reference is keyed on
its content; one stored under its older key (``legacy_key``: the statement's id and the entry's
position) is a duplicate too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime


class StatementFormat(enum.StrEnum):
    CAMT053 = "camt053"
    CSV = "csv"


class Outcome(enum.StrEnum):
    MATCHED = "matched"
    PARTIAL = "partial"
    OVERPAID = "overpaid"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    SKIPPED = "skipped"  # not in the account's currency: never posted, the reason says why


class MatchedBy(enum.StrEnum):
    REFERENCE = "reference"  # the structured RF creditor reference
    INVOICE_NUMBER = "invoice_number"  # the invoice number in the remittance text


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked entry as read from a statement file (amount signed: + credit, - debit)."""

    entry_key: str  # unique at the bank: AcctSvcrRef, or NtryRef / the CSV's id
    booked_on: date
    amount_minor: int
    currency: str
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    reference: str | None = None  # a structured creditor reference (CdtrRefInf/Ref)
    remittance: str = ""  # unstructured remittance text
    end_to_end_id: str | None = None
    where: str = ""  # where it is in the file ("line 3", "Stmt[1].Ntry[2]"), for problems
    # the key an older evbill gave an entry without any bank reference ("<Stmt/Id>#<n>"): an entry
    # stored under it is the same entry, imported before entries were keyed on their content
    legacy_key: str | None = None
    # the currency of the account the statement is of (camt.053 ``Acct/Ccy``); None: not said (a CSV),
    # the operator's own currency
    account_currency: str | None = None


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """An imported credit and what it paid: stored once, never changed."""

    id: str
    operator_id: str
    entry_key: str
    booked_on: date
    amount_minor: int
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str
    outcome: Outcome
    matched_by: MatchedBy | None
    invoice_id: str | None
    customer_id: str | None
    applied_minor: int  # what went to the invoice
    excess_minor: int  # what is left as a credit on the customer's account
    suggested_invoice_id: str | None
    imported_at: datetime


def apply_amount(*, open_minor: int, amount_minor: int) -> tuple[int, int]:
    """(applied to the invoice, left over) of a credit of ``amount_minor`` against ``open_minor``."""
    applied = max(0, min(open_minor, amount_minor))
    return applied, amount_minor - applied


def outcome_of(applied_minor: int, excess_minor: int, open_minor: int) -> Outcome:
    if excess_minor > 0:
        return Outcome.OVERPAID
    return Outcome.MATCHED if applied_minor == open_minor else Outcome.PARTIAL


def same_name(left: str | None, right: str | None) -> bool:
    """Names compared as a bank prints them: case, spacing and punctuation ignored."""

    def key(name: str) -> str:
        return "".join(character for character in name.casefold() if character.isalnum())

    return bool(left and right) and key(left or "") == key(right or "")
