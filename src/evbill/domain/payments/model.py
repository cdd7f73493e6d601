"""Payments and wallets as records: what was asked of which gateway, for what.

A ``Payment`` is the head of one gateway payment (a PaymentIntent at Stripe): who pays, for what
(``purpose`` and ``subject``: a receivable reference such as ``invoice:INV-1``, a session, or the wallet
topped up), and the gateway's reference. Its state is never stored on it: it is derived from its
events (``events.derive_state``). A ``Wallet`` is a prepaid balance, likewise the sum of its
append-only ``WalletTransaction``s.

No card number, CVC or track data is ever part of these: a payment method is a gateway token.
``looks_like_card_number`` lets the edges refuse one before it goes anywhere (and never echo it).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from evbill.domain.errors import Conflict

_DIGITS = re.compile(r"[\d \-]{12,}")


class SessionStep(enum.StrEnum):
    """The card-on-file charge of one session is two gateway calls, each with its own key."""

    AUTHORISE = "authorise"
    CAPTURE = "capture"


def session_key(session_id: str, step: SessionStep | None = None) -> str:
    """The idempotency key of what is taken for one session by itself: ``session:<id>`` for its wallet
    spend, ``session:<id>:authorise`` / ``session:<id>:capture`` for its card-on-file charge. The
    payment side takes the money under these keys and the receipt side finds it by them, so they are
    spelt here only.

    >>> session_key("s1"), session_key("s1", SessionStep.AUTHORISE)
    ('session:s1', 'session:s1:authorise')
    """
    return f"session:{session_id}" if step is None else f"session:{session_id}:{step.value}"


class PaymentPurpose(enum.StrEnum):
    SESSION = "session"  # ad hoc at the charger, or a card on file per session
    INVOICE = "invoice"
    WALLET_TOP_UP = "wallet_top_up"


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    operator_id: str
    customer_id: str | None
    purpose: PaymentPurpose
    subject: str  # "invoice:INV-1", "session:<id>", or the wallet id for a top-up
    gateway: str
    gateway_reference: str
    currency: str
    amount: int  # the amount asked to authorise, minor units
    created_at: datetime
    # an invoice payment's capture as recorded on the invoice (at most what was open then; the rest
    # stayed credit on the receivable): a refund takes from that credit first, then reopens the
    # invoice. None until captured (and for a capture stored before migration 0027: all applied)
    invoice_applied: int | None = None


@dataclass(frozen=True, slots=True)
class InFlight:
    """A money move on a payment (capture, confirm, release, refund) sent to the gateway and not yet
    recorded: one at a time per payment, committed before the gateway is called. A crash leaves it
    behind; the retry with the same key finishes it (the gateway answers that key as before), and
    another request on the payment is refused meanwhile: it could move the money a second time."""

    operator_id: str
    payment_id: str
    idempotency_key: str  # the client's key (the gateway got "<operator id>:<key>")
    operation: str  # capture, confirm, release, refund
    started_at: datetime


class WalletTransactionKind(enum.StrEnum):
    TOP_UP = "top_up"
    TOP_UP_REFUNDED = "top_up_refunded"  # a top-up paid back to the card it came from
    SPEND = "spend"
    REFUND = "refund"  # a refund paid into the wallet


@dataclass(frozen=True, slots=True)
class Wallet:
    id: str
    operator_id: str
    customer_id: str
    currency: str
    minimum_balance: int  # minor units: an authorisation that would leave less is refused
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WalletTransaction:
    id: str
    operator_id: str
    wallet_id: str
    kind: WalletTransactionKind
    amount: int  # signed minor units: + into the wallet, - out of it
    reference: str  # the payment, receivable or refund it belongs to
    idempotency_key: str
    created_at: datetime


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


def looks_like_card_number(text: str) -> bool:
    """12+ digits (spaces or dashes between): a PAN, never accepted where a token belongs."""
    return bool(_DIGITS.fullmatch(text.strip())) and sum(c.isdigit() for c in text) >= 12
