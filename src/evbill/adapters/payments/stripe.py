"""The Stripe gateway, on the real ``stripe`` SDK: PaymentIntents with manual capture, 3-D Secure,
SetupIntents for cards on file, off-session charges, SEPA Direct Debit, refunds, and webhooks.

Every POST to Stripe carries an idempotency key derived from the caller's (``<key>|<step>`` when one
port call takes two requests), so a call retried after a crash gets Stripe's stored answer and moves
no money twice. Payment methods are Stripe tokens (``pm_...``): no card number ever reaches evbill.

What Stripe says (a reply or a webhook) becomes ``GatewayEvent``s with ids derived from Stripe's own
objects, so the reply of a call and the webhook that follows it name the same events and are stored
once, whatever order they arrive in::

    pi_123:authorised     the hold (status requires_capture), the PaymentIntent's amount
    pi_123:captured       the capture (succeeded): what was received; the rest of the hold is released
    txn_456:fee           Stripe's fee, from the charge's balance transaction
    pi_123:released       the hold cancelled
    re_789                a refund
    dp_1:opened, dp_1:lost / dp_1:won    a dispute and its outcome (lost: a chargeback)

A webhook carries a snapshot of the object, and each snapshot implies everything before it (a
captured PaymentIntent was authorised first), so a late or missing earlier webhook changes nothing.

localstripe (the stand-in the tests drive) has no ``amount_received`` and no ``amount_captured``: a
partial capture shows there as a refund of the released rest, without a PaymentIntent. Such a refund
is read as the release, not as money paid back (see ``captured_amount``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from evbill.application.payments.webhooks import GatewayWebhook
from evbill.application.ports import GatewayCardSetup, GatewayEvent, GatewayResult
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import EventKind, GatewayUnavailable, PaymentRefused, WebhookRefused

NAME = "stripe"
OPERATOR = "evbill_operator"  # metadata of every object evbill creates: whose it is
Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A card (or SEPA mandate) on file: the SetupIntent's outcome, tokens only."""

    setup_intent: str
    status: str  # succeeded, requires_action (3-D Secure), ...
    customer: str
    payment_method: str | None


class StripeGateway:
    name = NAME

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        clock: Callable[[], datetime],
        api_base: str = "",
    ) -> None:
        if not webhook_secret:
            raise InvalidInput(
                "the Stripe gateway needs its webhook secret",
                (Problem("EVBILL_STRIPE_WEBHOOK_SECRET", "required: webhooks are always checked"),),
            )
        addresses: Any = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=0)
        self._api = self._client.v1
        self._webhook_secret = webhook_secret
        self._clock = clock

    # --- the gateway port ---------------------------------------------------------------------

    def authorise(
        self, *, amount: SettledMoney, payment_method: str, idempotency_key: str, description: str
    ) -> GatewayResult:
        """A PaymentIntent on the token, confirmed at once: a hold (cards: capture_method=manual), or
        3-D Secure first (requires_action), or a decline. SEPA Direct Debit cannot be held: it is
        debited (capture_method=automatic) and reported captured when Stripe says it succeeded."""
        try:
            method = self._api.payment_methods.retrieve(payment_method).to_dict()
        except stripe.InvalidRequestError:
            raise InvalidInput(
                "unknown payment method", (Problem("$.payment_method", "not a Stripe payment method token"),)
            ) from None
        except stripe.StripeError as error:
            raise _translated(error) from None
        sepa = method.get("type") == "sepa_debit"
        params: dict[str, Any] = {
            "amount": amount.minor_units,
            "currency": amount.currency.lower(),
            "payment_method": payment_method,
            "payment_method_types": ["sepa_debit" if sepa else "card"],
            "capture_method": "automatic" if sepa else "manual",
            "metadata": {OPERATOR: _operator_of(idempotency_key), "evbill_description": description[:500]},
        }
        if method.get("customer"):
            params["customer"] = method["customer"]
        created = self._call(
            lambda: self._api.payment_intents.create(params, {"idempotency_key": f"{idempotency_key}|create"})
        )
        return self._confirm_intent(created["id"], idempotency_key)

    def confirm(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        """After the customer authenticated (3-D Secure happens between the customer and Stripe): what
        Stripe now says of the PaymentIntent, confirmed again if it waits for that."""
        intent = self._call(lambda: self._api.payment_intents.retrieve(reference))
        if intent.get("status") == "requires_confirmation":
            return self._confirm_intent(reference, idempotency_key)
        return self._result(intent, idempotency_key)

    def capture(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        params = {"amount_to_capture": amount.minor_units, "expand": ["latest_charge.balance_transaction"]}
        intent = self._call(
            lambda: self._api.payment_intents.capture(reference, params, {"idempotency_key": idempotency_key})
        )
        return self._result(intent, idempotency_key, captured=amount.minor_units)

    def release(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        intent = self._call(
            lambda: self._api.payment_intents.cancel(reference, {}, {"idempotency_key": idempotency_key})
        )
        return self._result(intent, idempotency_key)

    def refund(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        params = {
            "payment_intent": reference,
            "amount": amount.minor_units,
            "metadata": {OPERATOR: _operator_of(idempotency_key)},
        }
        refund = self._call(lambda: self._api.refunds.create(params, {"idempotency_key": idempotency_key}))
        if refund.get("status") in ("failed", "canceled"):
            raise PaymentRefused(f"Stripe refused the refund ({refund.get('failure_reason') or 'failed'})")
        event = refund_event(refund, reference, self._clock(), idempotency_key)
        return GatewayResult(reference, (event,))

    # --- cards on file and off-session charges --------------------------------------------------

    def start_card_setup(
        self, *, operator_id: str, customer_id: str, idempotency_key: str
    ) -> GatewayCardSetup:
        """A SetupIntent for the customer's browser (Stripe.js ``confirmCardSetup`` with the client
        secret) on a Stripe customer of theirs, for later off-session charges; metadata names the
        operator and the customer."""
        customer = self.create_customer(
            operator_id=operator_id, customer_id=customer_id, idempotency_key=f"{idempotency_key}|customer"
        )
        params = {
            "customer": customer,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": {OPERATOR: operator_id, "evbill_customer": customer_id},
        }
        intent = self._call(
            lambda: self._api.setup_intents.create(params, {"idempotency_key": f"{idempotency_key}|create"})
        )
        return setup_of(intent)

    def card_setup(self, *, reference: str) -> GatewayCardSetup:
        return setup_of(self._call(lambda: self._api.setup_intents.retrieve(reference)))

    def create_customer(self, *, operator_id: str, customer_id: str, idempotency_key: str) -> str:
        """The Stripe customer that holds an evbill customer's saved payment methods."""
        params = {"metadata": {OPERATOR: operator_id, "evbill_customer": customer_id}}
        customer = self._call(
            lambda: self._api.customers.create(params, {"idempotency_key": idempotency_key})
        )
        return str(customer["id"])

    def save_payment_method(
        self,
        *,
        customer: str,
        payment_method: str,
        operator_id: str,
        idempotency_key: str,
        sepa: bool = False,
    ) -> SavedCard:
        """A SetupIntent for later off-session charges: the card (or SEPA mandate) is kept on file at
        Stripe; a card may need 3-D Secure first (status requires_action)."""
        params = {
            "customer": customer,
            "usage": "off_session",
            "payment_method_types": ["sepa_debit" if sepa else "card"],
            "metadata": {OPERATOR: operator_id},
        }
        intent = self._call(
            lambda: self._api.setup_intents.create(params, {"idempotency_key": f"{idempotency_key}|create"})
        )
        confirmed = self._call(
            lambda: self._api.setup_intents.confirm(
                intent["id"],
                {"payment_method": payment_method},
                {"idempotency_key": f"{idempotency_key}|confirm"},
            )
        )
        return SavedCard(
            str(confirmed["id"]), str(confirmed["status"]), customer, confirmed.get("payment_method")
        )

    def charge_off_session(
        self,
        *,
        customer: str,
        payment_method: str,
        amount: SettledMoney,
        idempotency_key: str,
        description: str,
    ) -> GatewayResult:
        """Charge a saved method without the customer present (an invoice when issued): captured at once
        (cards) or debited (SEPA); a card that would need the customer (3-D Secure) is declined."""
        params: dict[str, Any] = {
            "amount": amount.minor_units,
            "currency": amount.currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
            "metadata": {OPERATOR: _operator_of(idempotency_key), "evbill_description": description[:500]},
        }
        try:
            intent = self._api.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.CardError as declined:
            reference = _intent_of_error(declined)
            if reference is None:
                raise PaymentRefused(f"Stripe declined the charge ({declined.code})") from None
            intent = self._call(lambda: self._api.payment_intents.retrieve(reference))
        except stripe.StripeError as error:
            raise _translated(error) from None
        return self._result(intent, idempotency_key)

    # --- webhooks -----------------------------------------------------------------------------

    def read_webhook(self, payload: bytes, signature: str | None) -> GatewayWebhook:
        """Check the ``Stripe-Signature`` (always; a missing or wrong one is refused, and so is one
        dated in the past beyond Stripe's tolerance or in the future beyond a clock's skew) and read
        the event into the payment events it implies. A signed payload that is not a Stripe event
        of the shape its type says is refused too (400: Stripe stops resending a 2xx, keeps
        resending a 5xx, and a malformed event will not get better)."""
        try:
            event = stripe.Webhook.construct_event(payload, signature or "", self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as refused:
            reason = "missing" if not signature else "does not match the payload and the endpoint's secret"
            if isinstance(refused, ValueError) and signature:
                reason = "the payload is not a Stripe event"
            raise WebhookRefused("webhook refused", (Problem("header.Stripe-Signature", reason),)) from None
        except (AttributeError, TypeError, KeyError):  # signed, but not a JSON object
            raise _not_an_event("the payload is not a JSON object") from None
        _check_not_future(signature or "")
        try:
            data = event.to_dict()
            request = data.get("request")
            request_key = _client_key(request.get("idempotency_key")) if isinstance(request, dict) else None
            event_type, item = data["type"], data["data"]["object"]
            if not isinstance(event_type, str) or not isinstance(item, Mapping) or "id" not in data:
                raise TypeError("no id, type or data.object")
            reference, events = self.events_of(event_type, item, request_key)
            setup = setup_of(item, secret=False) if event_type.startswith("setup_intent.") else None
        except (AttributeError, TypeError, KeyError, ValueError, ArithmeticError) as bad:
            raise _not_an_event(f"not a Stripe event of its type: {type(bad).__name__} {bad}") from None
        return GatewayWebhook(
            NAME, str(data["id"]), str(data["type"]), reference, events, payload.decode("utf-8", "replace"),
            card_setup=setup,
        )  # fmt: skip

    def events_of(
        self, event_type: str, item: Json, request_key: str | None
    ) -> tuple[str | None, tuple[GatewayEvent, ...]]:
        """(the PaymentIntent concerned, the events it implies) of one webhook's object."""
        at = self._clock()
        if event_type.startswith("payment_intent."):
            if item.get("status") == "succeeded" and isinstance(item.get("latest_charge"), str):
                item = {**item, "latest_charge": self._charge(item["latest_charge"]) or item["latest_charge"]}
            return str(item["id"]), intent_events(item, at, request_key, fee=self._fee_of)
        if event_type.startswith("charge.dispute."):
            reference = item.get("payment_intent")
            return reference, dispute_events(item, at, request_key) if reference else ()
        if event_type.startswith("charge."):
            reference = item.get("payment_intent")
            if not reference:
                return None, ()
            return reference, charge_events(
                item, reference, _operator(item), at, request_key, fee=self._fee_of
            )
        if event_type.startswith("refund.") and item.get("payment_intent"):
            reference = str(item["payment_intent"])
            return reference, (refund_event(item, reference, at, request_key),)
        return None, ()  # setup_intent.* (a card setup: ``setup_of``), customer.* ...: no payment

    # --- inside ----------------------------------------------------------------------------

    def _confirm_intent(self, reference: str, idempotency_key: str) -> GatewayResult:
        try:
            intent = self._api.payment_intents.confirm(
                reference, {}, {"idempotency_key": f"{idempotency_key}|confirm"}
            )
        except stripe.CardError:
            # declined: the PaymentIntent says why (last_payment_error), and the decline is recorded
            intent = self._call(lambda: self._api.payment_intents.retrieve(reference))
        except stripe.StripeError as error:
            raise _translated(error) from None
        return self._result(intent, idempotency_key)

    def _result(self, intent: Any, idempotency_key: str, captured: int | None = None) -> GatewayResult:
        data = intent.to_dict() if hasattr(intent, "to_dict") else intent
        events = intent_events(data, self._clock(), idempotency_key, captured=captured, fee=self._fee_of)
        return GatewayResult(str(data["id"]), events, _next_action_url(data))

    def _charge(self, charge_id: str) -> Json | None:
        """A charge with its balance transaction (for the fee); None when Stripe does not answer."""
        try:
            params = {"expand": ["balance_transaction"]}
            return self._api.charges.retrieve(charge_id, params).to_dict()  # type: ignore[no-any-return]
        except stripe.StripeError:
            return None

    def _fee_of(self, balance_transaction: Any) -> tuple[str, int] | None:
        """(id, fee) of a charge's balance transaction: read from the object when expanded, else asked
        of Stripe; None when Stripe does not say (yet)."""
        if isinstance(balance_transaction, Mapping):
            return str(balance_transaction["id"]), int(balance_transaction.get("fee") or 0)
        if not isinstance(balance_transaction, str) or not balance_transaction:
            return None
        try:
            found = self._api.balance_transactions.retrieve(balance_transaction).to_dict()
        except stripe.StripeError:
            return None  # recorded later, by the next webhook or capture that carries it
        return str(found["id"]), int(found.get("fee") or 0)

    def _call(self, request: Callable[[], Any]) -> Any:
        try:
            answer = request()
        except stripe.StripeError as error:
            raise _translated(error) from None
        return answer.to_dict() if hasattr(answer, "to_dict") else answer


# --- Stripe objects -> payment events (pure functions) --------------------------------------------


FeeReader = Callable[[Any], "tuple[str, int] | None"]


def _no_fee(balance_transaction: Any) -> tuple[str, int] | None:
    """The fee of an expanded balance transaction (a recorded payload); nothing is asked of Stripe."""
    if isinstance(balance_transaction, Mapping):
        return str(balance_transaction["id"]), int(balance_transaction.get("fee") or 0)
    return None


def intent_events(
    intent: Json,
    at: datetime,
    request_key: str | None,
    *,
    captured: int | None = None,
    fee: FeeReader = _no_fee,
) -> tuple[GatewayEvent, ...]:
    """The events a PaymentIntent's state implies, in the order they happened."""
    reference, status = str(intent["id"]), intent.get("status")
    currency = str(intent["currency"]).upper()
    operator = _operator(intent)
    charge = intent.get("latest_charge")
    charge = charge if isinstance(charge, Mapping) else None

    def emit(event_id: str, kind: EventKind, amount: int, detail: str | None = None) -> GatewayEvent:
        return GatewayEvent(reference, event_id, kind, amount, currency, at, detail, request_key, operator)

    if status == "requires_action":
        return (emit(f"{reference}:requires_action", EventKind.REQUIRES_ACTION, 0),)
    if status == "requires_payment_method":
        error = intent.get("last_payment_error")
        if not isinstance(error, Mapping):
            return ()
        attempt = error.get("charge") or (charge or {}).get("id") or "authentication"
        code = error.get("decline_code") or error.get("code") or "declined"
        return (emit(f"{reference}:declined:{attempt}", EventKind.DECLINED, 0, str(code)),)
    if status == "requires_capture":
        return (emit(f"{reference}:authorised", EventKind.AUTHORISED, int(intent["amount"])),)
    if status == "canceled":
        held = charge is not None and charge.get("status") == "succeeded" and not charge.get("captured")
        released = emit(f"{reference}:released", EventKind.RELEASED, int(intent["amount"]))
        if held:
            return (emit(f"{reference}:authorised", EventKind.AUTHORISED, int(intent["amount"])), released)
        return (released,)
    if status == "succeeded":
        if charge is not None:
            return charge_events(charge, reference, operator, at, request_key, fee=fee, intent=intent)
        received = (
            captured if captured is not None else int(intent.get("amount_received") or intent["amount"])
        )
        return (
            emit(f"{reference}:authorised", EventKind.AUTHORISED, int(intent["amount"])),
            emit(f"{reference}:captured", EventKind.CAPTURED, received),
        )
    return ()  # processing (SEPA on its way), requires_confirmation: nothing happened yet


def setup_of(item: Json, *, secret: bool = True) -> GatewayCardSetup:
    """A SetupIntent as the port says it: its status and, once succeeded, the PaymentMethod token."""
    method = item.get("payment_method")
    if isinstance(method, Mapping):
        method = method.get("id")
    client_secret = item.get("client_secret") if secret else None
    return GatewayCardSetup(
        str(item["id"]),
        str(item.get("status") or ""),
        str(client_secret) if client_secret else None,
        str(method) if method else None,
        _operator(item),
    )


def charge_events(
    charge: Json,
    reference: str,
    operator: str | None,
    at: datetime,
    request_key: str | None,
    *,
    fee: FeeReader = _no_fee,
    intent: Json | None = None,
) -> tuple[GatewayEvent, ...]:
    """A captured charge: authorised, captured, Stripe's fee, and the refunds made since."""
    if not charge.get("captured") or charge.get("status") != "succeeded":
        return ()
    currency = str(charge["currency"]).upper()

    def emit(event_id: str, kind: EventKind, amount: int, detail: str | None = None) -> GatewayEvent:
        return GatewayEvent(reference, event_id, kind, amount, currency, at, detail, request_key, operator)

    amount = int((intent or charge)["amount"])
    events = [
        emit(f"{reference}:authorised", EventKind.AUTHORISED, amount),
        emit(f"{reference}:captured", EventKind.CAPTURED, captured_amount(charge, intent)),
    ]
    found = fee(charge.get("balance_transaction"))
    if found is not None and found[1] > 0:
        events.append(emit(f"{found[0]}:fee", EventKind.FEE, found[1]))
    for refund in customer_refunds(charge):
        events.append(refund_event(refund, reference, at, request_key, operator))
    return tuple(events)


def captured_amount(charge: Json, intent: Json | None = None) -> int:
    """What was captured: the PaymentIntent's amount_received, the charge's amount_captured, or (on
    localstripe, which has neither) the charge's amount less the refund that stands for the release."""
    if intent is not None and intent.get("amount_received") is not None:
        return int(intent["amount_received"])
    if charge.get("amount_captured") is not None:
        return int(charge["amount_captured"])
    released = sum(int(refund["amount"]) for refund in _refunds(charge) if _is_release(refund, charge))
    return int(charge["amount"]) - released


def customer_refunds(charge: Json) -> list[Json]:
    return [refund for refund in _refunds(charge) if not _is_release(refund, charge)]


def _refunds(charge: Json) -> list[Json]:
    listing = charge.get("refunds")
    if not isinstance(listing, Mapping):
        return []
    return [refund for refund in listing.get("data") or () if isinstance(refund, Mapping)]


def _is_release(refund: Json, charge: Json) -> bool:
    # localstripe books a partial capture's released rest as a refund with no PaymentIntent and no
    # metadata; Stripe's own refunds (and evbill's) always name the PaymentIntent
    return (
        charge.get("amount_captured") is None
        and not refund.get("payment_intent")
        and not refund.get("metadata")
    )


def refund_event(
    refund: Json, reference: str, at: datetime, request_key: str | None, operator: str | None = None
) -> GatewayEvent:
    return GatewayEvent(
        reference,
        str(refund["id"]),
        EventKind.REFUNDED,
        int(refund["amount"]),
        str(refund["currency"]).upper(),
        at,
        None,
        request_key,
        operator or _operator(refund),
    )


def dispute_events(dispute: Json, at: datetime, request_key: str | None) -> tuple[GatewayEvent, ...]:
    """A dispute (a chargeback request): opened, then won or lost (lost: the money went back)."""
    reference, dispute_id = str(dispute["payment_intent"]), str(dispute["id"])
    currency, amount = str(dispute["currency"]).upper(), int(dispute["amount"])
    operator = _operator(dispute)

    def emit(suffix: str, kind: EventKind, detail: str | None = None) -> GatewayEvent:
        return GatewayEvent(
            reference, f"{dispute_id}:{suffix}", kind, amount, currency, at, detail, request_key, operator
        )

    events = [emit("opened", EventKind.DISPUTE_OPENED, str(dispute.get("reason") or "") or None)]
    for transaction in dispute.get("balance_transactions") or ():
        # Stripe's dispute fee comes with the dispute's balance transactions
        if isinstance(transaction, Mapping) and int(transaction.get("fee") or 0) > 0:
            events.append(
                GatewayEvent(
                    reference, f"{transaction['id']}:fee", EventKind.FEE, int(transaction["fee"]),
                    currency, at, "dispute fee", request_key, operator,
                )
            )  # fmt: skip
    status = dispute.get("status")
    if status == "lost":
        events.append(emit("lost", EventKind.DISPUTE_LOST))
    elif status == "won":
        events.append(emit("won", EventKind.DISPUTE_WON))
    return tuple(events)


# How far in the future a signature's time may be: the two clocks' skew, not a replay window.
FUTURE_SKEW_SECONDS = 300


def _not_an_event(reason: str) -> WebhookRefused:
    return WebhookRefused("webhook refused", (Problem("$", reason[:300]),))


def _check_not_future(signature: str) -> None:
    """Stripe's check refuses a signature older than its tolerance; one dated ahead of now is refused
    here (a replay prepared for later, or a badly wrong clock)."""
    stamps = [part[2:] for part in signature.split(",") if part.startswith("t=")]
    if stamps and stamps[0].isdigit() and int(stamps[0]) > time.time() + FUTURE_SKEW_SECONDS:
        raise WebhookRefused(
            "webhook refused",
            (
                Problem(
                    "header.Stripe-Signature", "its timestamp is in the future (more than 5 minutes ahead)"
                ),
            ),
        )


def _operator(item: Json) -> str | None:
    metadata = item.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get(OPERATOR):
        return str(metadata[OPERATOR])
    return None


def _operator_of(idempotency_key: str) -> str:
    # the application calls a gateway with "<operator id>:<key>" (application.payments.payments)
    return idempotency_key.partition(":")[0]


def _client_key(key: Any) -> str | None:
    """The key of the port call behind a Stripe request: ``<key>|create`` and ``<key>|confirm`` are
    the two requests of one authorisation."""
    if not isinstance(key, str) or not key:
        return None
    base, bar, step = key.rpartition("|")
    return base if bar and step in ("create", "confirm") else key


def _next_action_url(intent: Json) -> str | None:
    action = intent.get("next_action")
    if not isinstance(action, Mapping):
        return None
    redirect = action.get("redirect_to_url")
    return str(redirect["url"]) if isinstance(redirect, Mapping) and redirect.get("url") else None


def _intent_of_error(error: stripe.StripeError) -> str | None:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail = body.get("error") if isinstance(body.get("error"), dict) else {}
    intent = detail.get("payment_intent")
    if isinstance(intent, dict):
        return str(intent.get("id")) if intent.get("id") else None
    return str(intent) if intent else None


def _translated(error: stripe.StripeError) -> Exception:
    """Stripe's refusals as evbill's: a request Stripe will not do (409), or Stripe not reachable or
    failing (502; the same idempotency key may be sent again)."""
    if isinstance(error, stripe.CardError):
        return PaymentRefused(f"Stripe declined the card ({error.code or 'card_declined'})")
    if isinstance(error, stripe.InvalidRequestError | stripe.IdempotencyError):
        return PaymentRefused(f"Stripe refused the request: {error.user_message or 'invalid request'}")
    return GatewayUnavailable(f"Stripe could not be reached or failed ({type(error).__name__})")


def payload_text(item: Json) -> str:
    """A Stripe object as stable JSON text (tests and recorded payloads)."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"))
