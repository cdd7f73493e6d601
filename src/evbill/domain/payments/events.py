"""A payment's state, derived from its append-only gateway events (DESIGN.md rule 8).

Nothing about a payment is updated in place: each thing the gateway reports (authorised, captured,
refunded, disputed...) is stored once as a ``PaymentEvent`` keyed by the gateway's reference and the
gateway's own event id, and ``derive_state`` folds them, in the order stored, into the amounts that
decide what may happen next:

    >>> events = [event(EventKind.AUTHORISED, 5000), event(EventKind.CAPTURED, 3210),
    ...           event(EventKind.REFUNDED, 1000)]
    >>> state = derive_state(events)
    >>> state.status, state.authorised, state.captured, state.released, state.refundable
    (<PaymentStatus.PARTIALLY_REFUNDED: 'partially_refunded'>, 5000, 3210, 1790, 2210)

Rules: one capture per authorisation, never above it; a partial capture releases the rest. Refunds,
in any number, never exceed what was captured (less what was charged back).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from evbill.domain.errors import Conflict, DomainError, InvalidInput
from evbill.domain.money import SettledMoney


class EventKind(enum.StrEnum):
    REQUIRES_ACTION = "requires_action"  # 3-D Secure: the customer must authenticate
    AUTHORISED = "authorised"
    DECLINED = "declined"
    CAPTURED = "captured"
    RELEASED = "released"  # the hold was cancelled without a capture
    REFUNDED = "refunded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"  # a chargeback: the money went back to the cardholder
    FEE = "fee"  # the gateway's fee for the payment


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    AUTHORISED = "authorised"
    DECLINED = "declined"
    CAPTURED = "captured"
    RELEASED = "released"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    CHARGED_BACK = "charged_back"


class PaymentDeclined(DomainError):
    code = "payment_declined"


class GatewayUnavailable(DomainError):
    """The gateway could not be reached or answered with an error of its own: nothing is recorded, and
    the same request (same idempotency key) may be sent again."""

    code = "gateway_unavailable"


class WebhookRefused(InvalidInput):
    """A webhook whose signature is missing or wrong (400): nothing in it is read or stored."""

    code = "webhook_refused"


class PaymentRefused(Conflict):
    """The payment's state does not allow this (over-capture, over-refund, a second capture...)."""

    code = "payment_refused"


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    event_id: str  # the gateway's id of this event: a duplicate (webhook resent, retry) is stored once
    kind: EventKind
    amount: int  # minor units, >= 0
    occurred_at: datetime
    detail: str | None = None  # a decline code, a dispute reason


@dataclass(frozen=True, slots=True)
class PaymentState:
    status: PaymentStatus
    authorised: int
    captured: int
    released: int
    refunded: int
    disputed: int
    charged_back: int
    fees: int
    decline_code: str | None

    @property
    def capturable(self) -> int:
        return self.authorised if self.status is PaymentStatus.AUTHORISED else 0

    @property
    def refundable(self) -> int:
        return max(self.captured - self.refunded - self.charged_back, 0)


def derive_state(events: Iterable[PaymentEvent]) -> PaymentState:
    status = PaymentStatus.PENDING
    authorised = captured = released = refunded = disputed = charged_back = fees = 0
    decline_code: str | None = None
    for item in events:
        kind, amount = item.kind, item.amount
        if kind is EventKind.REQUIRES_ACTION:
            # a late "needs authentication" (webhooks arrive in any order) never reopens a payment
            if status is PaymentStatus.PENDING:
                status = PaymentStatus.REQUIRES_ACTION
        elif kind is EventKind.AUTHORISED:
            status, authorised = PaymentStatus.AUTHORISED, amount
        elif kind is EventKind.DECLINED:
            status, decline_code = PaymentStatus.DECLINED, item.detail
        elif kind is EventKind.CAPTURED:
            status, captured, released = PaymentStatus.CAPTURED, amount, authorised - amount
        elif kind is EventKind.RELEASED:
            status, released = PaymentStatus.RELEASED, authorised - captured
        elif kind is EventKind.REFUNDED:
            refunded += amount
            status = PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
        elif kind is EventKind.DISPUTE_OPENED:
            status, disputed = PaymentStatus.DISPUTED, amount
        elif kind is EventKind.DISPUTE_WON:
            # won after it was lost (the chargeback reversed): the money is back with the operator
            status, disputed, charged_back = (
                _after_dispute(captured, refunded),
                0,
                max(charged_back - amount, 0),
            )
        elif kind is EventKind.DISPUTE_LOST:
            status, disputed, charged_back = PaymentStatus.CHARGED_BACK, 0, charged_back + amount
        elif kind is EventKind.FEE:
            fees += amount
    return PaymentState(
        status, authorised, captured, released, refunded, disputed, charged_back, fees, decline_code
    )


def still_taken(state: PaymentState, asked: int) -> int:
    """What a payment still takes of what it pays for (minor units): a payment not yet decided
    (pending, waiting for 3-D Secure) the ``asked`` amount it may still be authorised for, a hold its
    authorisation, a captured one its capture less what went back (refunds, a lost dispute); a
    declined or released one nothing.

    >>> still_taken(derive_state([event(EventKind.AUTHORISED, 1000)]), 1000)
    1000
    >>> events = [event(EventKind.AUTHORISED, 1000), event(EventKind.CAPTURED, 800),
    ...           event(EventKind.REFUNDED, 300)]
    >>> still_taken(derive_state(events), 1000)
    500
    >>> still_taken(derive_state([event(EventKind.DECLINED, 0)]), 1000)
    0
    """
    if state.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION):
        return asked
    if state.status is PaymentStatus.AUTHORISED:
        return state.authorised
    if state.status is PaymentStatus.DECLINED:
        return 0
    return state.refundable  # captured (or released: nothing captured), less refunds and chargebacks


def _after_dispute(captured: int, refunded: int) -> PaymentStatus:
    if refunded == 0:
        return PaymentStatus.CAPTURED
    return PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED


def _shown(amount: int, currency: str | None) -> str:
    """Minor units as the API shows them ("100.01 EUR"); bare minor units when no currency is known."""
    return str(amount) if currency is None else str(SettledMoney(amount, currency))


def check_capture(state: PaymentState, amount: int, currency: str | None = None) -> None:
    """A capture of ``amount`` is allowed: the payment is authorised, and 0 < amount <= the hold."""
    if state.status is not PaymentStatus.AUTHORISED:
        raise PaymentRefused(f"cannot capture a payment that is {state.status.value}")
    if amount <= 0:
        raise PaymentRefused("a capture must be positive (release the hold instead)")
    if amount > state.authorised:
        raise PaymentRefused(
            f"capture of {_shown(amount, currency)} exceeds the authorisation of "
            f"{_shown(state.authorised, currency)}"
        )


def check_release(state: PaymentState) -> None:
    if state.status not in (PaymentStatus.AUTHORISED, PaymentStatus.REQUIRES_ACTION):
        raise PaymentRefused(f"cannot release a payment that is {state.status.value}")


def check_refund(state: PaymentState, amount: int, currency: str | None = None) -> None:
    """A refund of ``amount`` is allowed: 0 < amount <= what was captured and not yet refunded."""
    if state.status is PaymentStatus.DISPUTED:
        raise PaymentRefused("cannot refund a disputed payment (the dispute decides)")
    if amount <= 0:
        raise PaymentRefused("a refund must be positive")
    if amount > state.refundable:
        raise PaymentRefused(
            f"refund of {_shown(amount, currency)} exceeds the {_shown(state.refundable, currency)} "
            "captured and not refunded"
        )


def event(kind: EventKind, amount: int, event_id: str = "", detail: str | None = None) -> PaymentEvent:
    """An event at a fixed moment (examples and tests)."""
    return PaymentEvent(
        event_id or f"{kind.value}-{amount}", kind, amount, datetime(2026, 12, 1, tzinfo=UTC), detail
    )
