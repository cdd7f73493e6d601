"""POST /webhooks/stripe: Stripe's events about payments, refunds, disputes and saved cards.

No API key: the ``Stripe-Signature`` header is the authentication, and it is always checked against
EVBILL_STRIPE_WEBHOOK_SECRET (there is no mode that skips it; a missing or wrong signature is refused
with 400 and nothing is read). A checked event is kept once per event id (a resent one answers
``duplicate``), and applied to the payment evbill has under its PaymentIntent: the operator is that
payment's, never one the body names. A ``setup_intent.succeeded`` saves the card of a setup evbill
started (``POST /customers/{id}/card-setup``) on file, the setup's customer's. Any 2xx tells Stripe
to stop resending.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from evbill.application.collection.card_setup import receive_card_setup_webhook
from evbill.application.payments.webhooks import receive_webhook
from evbill.domain.errors import NotFound

router = APIRouter(tags=["webhooks"])


class WebhookOut(BaseModel):
    received: bool
    outcome: str
    stored_events: int


@router.post(
    "/webhooks/stripe",
    response_model=WebhookOut,
    summary="Stripe's events (signed; no API key)",
    openapi_extra={
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "t=<time>,v1=<HMAC-SHA256 of the payload with the endpoint's secret>",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "A Stripe event"}}},
        },
    },
)
async def stripe_webhook(request: Request) -> WebhookOut:
    container = request.app.state.container
    if container.settings.payment_gateway != "stripe":
        raise NotFound("no Stripe webhooks here: the payment gateway is not stripe (EVBILL_PAYMENT_GATEWAY)")
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    # in a worker thread: reading a charge's fee may ask Stripe for its balance transaction
    webhook = await run_in_threadpool(container.stripe_gateway.read_webhook, payload, signature)
    # a card setup's event saves the card it gave (collection's); the others move payments
    receive = receive_card_setup_webhook if webhook.card_setup is not None else receive_webhook
    receipt = await run_in_threadpool(receive, container.services, webhook)
    return WebhookOut(received=True, outcome=receipt.outcome, stored_events=receipt.stored_events)
