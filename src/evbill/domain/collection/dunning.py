"""The records of collection: a card on file, each charge attempt, each reminder sent, each suspension.

They are what ``evbill payments collect`` reads to know what is due and what was done already: an
attempt, a reminder and a direct debit are each unique per (invoice, number), so a second run, or a
run retried after a crash, finds them and does nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from evbill.domain.collection.mandates import SequenceType


@dataclass(frozen=True, slots=True)
class CardOnFile:
    """The customer's saved payment method: a gateway token (never card data)."""

    operator_id: str
    customer_id: str
    gateway: str
    payment_method: str
    saved_at: datetime
    charge_sessions: bool = False  # also charge each session at its end (contracts paying by card)


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A card the customer is saving at the gateway themselves (a Stripe SetupIntent: the card data
    goes from their browser to the gateway, never through evbill). evbill keeps whose it is, so its
    confirmation, by a call or by the gateway's webhook, saves the token to this customer of this
    operator, whatever the gateway's event says."""

    operator_id: str
    customer_id: str
    gateway: str
    reference: str  # the gateway's id of the setup (seti_...)
    charge_sessions: bool  # what the card on file will say once saved
    started_at: datetime
    saved_at: datetime | None = None  # when the card it gave was saved on file


@dataclass(frozen=True, slots=True)
class ChargeAttempt:
    id: str
    operator_id: str
    invoice_id: str
    number: int  # 1: the charge at issue; 2, 3, ...: the retries
    payment_id: str | None
    succeeded: bool
    decline_code: str | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class Reminder:
    id: str
    operator_id: str
    invoice_id: str
    number: int  # the n-th reminder of this invoice
    sent_to: str
    message_id: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Suspension:
    """The customer's tokens blocked for an overdue invoice; lifted when nothing is that overdue."""

    id: str
    operator_id: str
    customer_id: str
    invoice_id: str
    token_ids: tuple[str, ...]  # the tokens this suspension blocked (and only these are reinstated)
    suspended_at: datetime
    lifted_at: datetime | None


@dataclass(frozen=True, slots=True)
class DirectDebit:
    """One invoice in one pain.008 collection file."""

    id: str
    operator_id: str
    invoice_id: str
    mandate_id: str
    message_id: str
    collection_date: date
    amount_minor: int
    currency: str
    sequence_type: SequenceType
    end_to_end_id: str
    created_at: datetime
