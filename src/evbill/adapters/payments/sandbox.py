"""The built-in sandbox gateway: a stand-in for a real one, for the demo and the tests.

It behaves as a gateway does, in memory: holds, captures, releases and refunds with the same rules
(capture never above the hold, refunds never above the capture), an idempotency key per call (the
same key gives back the same result and moves nothing twice), and an event id per event that is the
same in the reply and in the "webhook" (``raise_dispute``, ``close_dispute``, ``events``); an event
names the idempotency key of the call that caused it, as Stripe's events do. Its fee
is 1.4 % + 0.25 (rounded half up) of each capture.

Test payment methods (tokens, as a real gateway gives them out; no card number is ever accepted):

    tok_visa                 authorised
    tok_declined             declined (card_declined)
    tok_insufficient_funds   declined (insufficient_funds)
    tok_lost_card            declined (lost_card: a hard decline, never retried)
    tok_3ds                  needs 3-D Secure; ``confirm`` then authorises
    tok_3ds_fail             needs 3-D Secure; ``confirm`` then declines (authentication_failed)
    tok_dispute              authorised and captured as usual; ``raise_dispute`` opens a dispute,
                             ``close_dispute`` wins or loses it (a lost one can still be won)

Card setups (Stripe's SetupIntents) start as ``requires_payment_method``; ``confirm_card_setup``
plays the customer's browser giving it a token: ``tok_visa`` (or ``tok_dispute``) succeeds, a
3-D Secure token waits (``requires_action``), a declined one stays ``requires_payment_method``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from evbill.application.ports import GatewayCardSetup, GatewayEvent, GatewayResult
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import EventKind, PaymentRefused

DECLINES = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds",
            "tok_lost_card": "lost_card"}  # fmt: skip
NEEDS_AUTHENTICATION = {"tok_3ds": None, "tok_3ds_fail": "authentication_failed"}
KNOWN = {"tok_visa", "tok_dispute", *DECLINES, *NEEDS_AUTHENTICATION}
FEE_RATE = Decimal("0.014")
FEE_FIXED = 25


@dataclass
class _Intent:
    reference: str
    currency: str
    amount: int
    method: str
    status: str  # requires_action, authorised, declined, captured, released
    captured: int = 0
    refunded: int = 0
    events: list[GatewayEvent] = field(default_factory=list)


class SandboxGateway:
    name = "sandbox"

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._intents: dict[str, _Intent] = {}
        self._replies: dict[str, GatewayResult] = {}  # idempotency key -> the reply it got
        self._request_key: str | None = None  # the key of the call being answered, put on its events
        self.calls: list[tuple[str, str]] = []  # (operation, idempotency key), for tests
        self._setups: dict[str, GatewayCardSetup] = {}  # card setups by reference

    # --- the gateway port ---------------------------------------------------------------------

    def authorise(
        self, *, amount: SettledMoney, payment_method: str, idempotency_key: str, description: str
    ) -> GatewayResult:
        return self._once(
            idempotency_key, "authorise", lambda: self._authorise(amount, payment_method, idempotency_key)
        )

    def confirm(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        return self._once(idempotency_key, "confirm", lambda: self._confirm(self._intent(reference)))

    def capture(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        return self._once(idempotency_key, "capture", lambda: self._capture(self._intent(reference), amount))

    def release(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        return self._once(idempotency_key, "release", lambda: self._release(self._intent(reference)))

    def refund(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        return self._once(idempotency_key, "refund", lambda: self._refund(self._intent(reference), amount))

    def start_card_setup(
        self, *, operator_id: str, customer_id: str, idempotency_key: str
    ) -> GatewayCardSetup:
        reference = "seti_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        with self._lock:
            self.calls.append(("start_card_setup", idempotency_key))
            setup = GatewayCardSetup(
                reference, "requires_payment_method", f"{reference}_secret_sandbox", None, operator_id
            )
            return self._setups.setdefault(reference, setup)  # the same key: the same setup

    def card_setup(self, *, reference: str) -> GatewayCardSetup:
        with self._lock:
            try:
                return self._setups[reference]
            except KeyError:
                raise PaymentRefused(f"the sandbox has no card setup {reference!r}") from None

    # --- what a test (or the demo) makes the gateway do on its own ---------------------------------

    def confirm_card_setup(self, reference: str, payment_method: str) -> GatewayCardSetup:
        """The customer's browser gives the setup a card (here: a test token)."""
        with self._lock:
            setup = self._setups[reference]
            if payment_method in NEEDS_AUTHENTICATION:
                status, method = "requires_action", None
            elif payment_method in KNOWN and payment_method not in DECLINES:
                status, method = "succeeded", payment_method
            else:
                status, method = "requires_payment_method", None
            self._setups[reference] = GatewayCardSetup(reference, status, setup.client_secret, method,
                                                       setup.operator_id)  # fmt: skip
            return self._setups[reference]

    def raise_dispute(self, reference: str) -> GatewayEvent:
        with self._lock:
            intent = self._intent(reference)
            if intent.status != "captured" or intent.captured == intent.refunded:
                raise PaymentRefused("only a captured payment with money left on it can be disputed")
            intent.status = "disputed"
            return self._emit(
                intent, EventKind.DISPUTE_OPENED, intent.captured - intent.refunded, "fraudulent"
            )

    def close_dispute(self, reference: str, *, won: bool) -> GatewayEvent:
        with self._lock:
            intent = self._intent(reference)
            # a lost dispute can still be won (the card network reverses the chargeback on appeal)
            if intent.status != "disputed" and not (won and intent.status == "charged_back"):
                raise PaymentRefused("no open dispute")
            intent.status = "captured" if won else "charged_back"
            kind = EventKind.DISPUTE_WON if won else EventKind.DISPUTE_LOST
            return self._emit(intent, kind, intent.captured - intent.refunded)

    def events(self, reference: str) -> list[GatewayEvent]:
        """Every event of a payment, as its webhooks would deliver them."""
        with self._lock:
            return list(self._intent(reference).events)

    # --- inside ----------------------------------------------------------------------------

    def _once(self, key: str, operation: str, act: Callable[[], GatewayResult]) -> GatewayResult:
        if not key:
            raise InvalidInput("idempotency key missing", (Problem("idempotency_key", "required"),))
        with self._lock:
            self.calls.append((operation, key))
            if key in self._replies:
                return self._replies[key]
            self._request_key = key
            try:
                result = act()
            finally:
                self._request_key = None
            self._replies[key] = result
            return result

    def _intent(self, reference: str) -> _Intent:
        try:
            return self._intents[reference]
        except KeyError:
            raise PaymentRefused(f"the sandbox has no payment {reference!r}") from None

    def _emit(self, intent: _Intent, kind: EventKind, amount: int, detail: str | None = None) -> GatewayEvent:
        number = len(intent.events) + 1
        event = GatewayEvent(
            intent.reference,
            f"evt_{intent.reference[3:]}_{number}",
            kind,
            amount,
            intent.currency,
            self._clock(),
            detail,
            request_key=self._request_key,
        )
        intent.events.append(event)
        return event

    def _authorise(self, amount: SettledMoney, method: str, key: str) -> GatewayResult:
        if method not in KNOWN:
            raise InvalidInput(
                "unknown payment method", (Problem("$.payment_method", "not a sandbox test token"),)
            )
        reference = "pi_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        intent = _Intent(reference, amount.currency, amount.minor_units, method, "authorised")
        self._intents[reference] = intent
        if method in DECLINES:
            intent.status = "declined"
            return GatewayResult(reference, (self._emit(intent, EventKind.DECLINED, 0, DECLINES[method]),))
        if method in NEEDS_AUTHENTICATION:
            intent.status = "requires_action"
            event = self._emit(intent, EventKind.REQUIRES_ACTION, 0)
            return GatewayResult(reference, (event,), f"https://sandbox.evbill.invalid/3ds/{reference}")
        return GatewayResult(reference, (self._emit(intent, EventKind.AUTHORISED, intent.amount),))

    def _confirm(self, intent: _Intent) -> GatewayResult:
        if intent.status != "requires_action":
            raise PaymentRefused(f"the sandbox payment is {intent.status}, not waiting for authentication")
        failure = NEEDS_AUTHENTICATION[intent.method]
        if failure:
            intent.status = "declined"
            return GatewayResult(intent.reference, (self._emit(intent, EventKind.DECLINED, 0, failure),))
        intent.status = "authorised"
        return GatewayResult(intent.reference, (self._emit(intent, EventKind.AUTHORISED, intent.amount),))

    def _capture(self, intent: _Intent, amount: SettledMoney) -> GatewayResult:
        if intent.status != "authorised" or not 0 < amount.minor_units <= intent.amount:
            raise PaymentRefused(
                f"the sandbox refuses to capture {amount.minor_units} of {intent.status} {intent.amount}"
            )
        intent.status, intent.captured = "captured", amount.minor_units
        fee = int((amount.minor_units * FEE_RATE).to_integral_value(ROUND_HALF_UP)) + FEE_FIXED
        captured = self._emit(intent, EventKind.CAPTURED, amount.minor_units)
        return GatewayResult(intent.reference, (captured, self._emit(intent, EventKind.FEE, fee)))

    def _release(self, intent: _Intent) -> GatewayResult:
        if intent.status not in ("authorised", "requires_action"):
            raise PaymentRefused(f"the sandbox cannot release a {intent.status} payment")
        intent.status = "released"
        return GatewayResult(intent.reference, (self._emit(intent, EventKind.RELEASED, intent.amount),))

    def _refund(self, intent: _Intent, amount: SettledMoney) -> GatewayResult:
        if intent.status != "captured" or not 0 < amount.minor_units <= intent.captured - intent.refunded:
            raise PaymentRefused("the sandbox refuses a refund above what was captured")
        intent.refunded += amount.minor_units
        return GatewayResult(intent.reference, (self._emit(intent, EventKind.REFUNDED, amount.minor_units),))
