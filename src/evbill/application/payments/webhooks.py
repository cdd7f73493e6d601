"""A gateway's webhook: kept once per gateway event id, then applied to the payment it concerns.

The entry point checks the signature (always) and the gateway adapter turns the event into a
``GatewayWebhook``: the payment reference it concerns and the payment events it implies. Here, in one
transaction under the payment's lock:

* the webhook is stored once per (gateway, event id); a resent one is answered ``duplicate`` and
  changes nothing;
* the operator is the one of the payment evbill has under that gateway reference, never one the body
  names: a payment evbill does not know is left alone ("unknown payment"), and an event whose gateway
  record names another operator than the payment's does nothing ("operator mismatch");
* the events are stored once per gateway event id (``apply_gateway_events``), so the reply of a call
  and its webhook, in either order, count once; the payment's state is recomputed from them.

A webhook that arrives while a capture is in flight waits for the capture's lock, then finds its
events stored already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from evbill.application.payments.payments import apply_gateway_events, names_another_operator, request_key
from evbill.application.ports import GatewayCardSetup, GatewayEvent, ReceivedWebhook
from evbill.application.records import Services

logger = logging.getLogger("evbill.payments.webhooks")

APPLIED = "applied"
DUPLICATE = "duplicate"
UNKNOWN_PAYMENT = "unknown payment"
OPERATOR_MISMATCH = "operator mismatch"
NOTHING_TO_APPLY = "nothing to apply"


@dataclass(frozen=True, slots=True)
class GatewayWebhook:
    gateway: str
    event_id: str
    event_type: str
    reference: str | None  # the gateway payment it concerns (a PaymentIntent id), if any
    events: tuple[GatewayEvent, ...]
    payload: str
    card_setup: GatewayCardSetup | None = None  # a card setup's event (setup_intent.*): collection's


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    outcome: str
    stored_events: int


def receive_webhook(svc: Services, webhook: GatewayWebhook) -> WebhookReceipt:
    with svc.uow() as uow:
        payment = None
        if webhook.reference is not None:
            payment = uow.payments.find_by_reference(webhook.gateway, webhook.reference, lock=True)
        if webhook.reference is None:
            outcome = NOTHING_TO_APPLY
        elif payment is None:
            outcome = UNKNOWN_PAYMENT
        elif names_another_operator(payment, webhook.events):
            outcome, payment = OPERATOR_MISMATCH, None
        else:
            outcome = APPLIED
        received = ReceivedWebhook(
            gateway=webhook.gateway,
            event_id=webhook.event_id,
            event_type=webhook.event_type,
            operator_id=payment.operator_id if payment else None,
            payment_id=payment.id if payment else None,
            outcome=outcome,
            payload=webhook.payload,
            received_at=svc.clock.now(),
        )
        if not uow.payments.record_webhook(received):
            return WebhookReceipt(DUPLICATE, 0)
        stored = 0
        if payment is not None:
            key = request_key(payment, webhook.events)
            stored = apply_gateway_events(svc, uow, payment, webhook.events, key)
        uow.commit()
    logger.info("%s webhook %s (%s): %s", webhook.gateway, webhook.event_id, webhook.event_type, outcome)
    return WebhookReceipt(outcome, stored)
