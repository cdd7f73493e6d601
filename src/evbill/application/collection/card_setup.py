"""Cards the customers save themselves: a card setup at the gateway (a Stripe SetupIntent) that the
customer completes in their own browser, so the card data goes to the gateway and never to evbill.

    POST /customers/{id}/card-setup                      -> {"id": "seti_...", "client_secret": ...}
    (the customer's browser: Stripe.js ``confirmCardSetup(client_secret, ...)``)
    POST /customers/{id}/card-setup/{setup id}/confirm   -> the card on file (409 until succeeded)
    webhook ``setup_intent.succeeded``                   -> the same, without the call

evbill keeps whose each setup is (``CardSetup``), so the token is saved to that customer of that
operator: another operator's setup is not found (404, as a made-up one), and a webhook for a setup
evbill did not start, or whose gateway record names another operator, saves nothing. A setup saves
its card once: confirmed again (or its webhook after the call) it changes nothing, so a card put on
file later is not overwritten by an old setup. The gateway is called outside any transaction; a
start retried with its idempotency key gets the same setup from the gateway and records it then.
"""

from __future__ import annotations

from evbill.application.collection.setup import keep_card
from evbill.application.payments.webhooks import (
    DUPLICATE,
    NOTHING_TO_APPLY,
    OPERATOR_MISMATCH,
    GatewayWebhook,
    WebhookReceipt,
)
from evbill.application.ports import GatewayCardSetup, PaymentGateway, ReceivedWebhook, UnitOfWork
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.collection.dunning import CardOnFile, CardSetup
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.payments.model import looks_like_card_number

MAX_KEY = 150
CARD_SAVED = "card saved"
UNKNOWN_SETUP = "unknown card setup"


def start_card_setup(
    services: Services,
    gateway: PaymentGateway,
    actor: Actor,
    customer_id: str,
    *,
    charge_sessions: bool,
    idempotency_key: str | None,
) -> GatewayCardSetup:
    """Start a card setup for the customer: the gateway's setup with the client secret their browser
    needs. ``charge_sessions`` is what the card on file will say once the card is saved."""
    require(actor, Permission.BILL)
    key = idempotency_key or services.ids.new_id()
    if len(key) > MAX_KEY:
        raise InvalidInput("bad key", (Problem("header.Idempotency-Key", f"1 to {MAX_KEY} characters"),))
    with services.uow(read_only=True) as uow:
        if uow.customers.get(actor.operator_id, customer_id) is None:
            raise NotFound(f"customer {customer_id!r} not found")
    started = gateway.start_card_setup(
        operator_id=actor.operator_id, customer_id=customer_id, idempotency_key=f"{actor.operator_id}:{key}"
    )
    setup = CardSetup(actor.operator_id, customer_id, gateway.name, started.reference, charge_sessions,
                      services.clock.now())  # fmt: skip
    with services.uow() as uow:
        if not uow.collection.add_card_setup(setup):
            earlier = uow.collection.card_setup(gateway.name, started.reference)
            if earlier is None or (earlier.operator_id, earlier.customer_id) != (
                actor.operator_id,
                customer_id,
            ):
                raise Conflict(f"idempotency key {key!r} was used for another customer's card setup")
        uow.commit()
    return started


def confirm_card_setup(
    services: Services, gateway: PaymentGateway, actor: Actor, customer_id: str, reference: str
) -> CardOnFile:
    """Ask the gateway how the customer's card setup went; succeeded, its token is the card on file."""
    require(actor, Permission.BILL)
    with services.uow(read_only=True) as uow:
        setup = uow.collection.card_setup(gateway.name, reference)
    if setup is None or (setup.operator_id, setup.customer_id) != (actor.operator_id, customer_id):
        raise NotFound(f"no card setup {reference!r} for customer {customer_id!r}")
    found = gateway.card_setup(reference=reference)
    if found.operator_id not in (None, setup.operator_id):
        raise NotFound(f"no card setup {reference!r} for customer {customer_id!r}")
    if not found.succeeded:
        raise Conflict(f"the card setup is {found.status}: the customer has not finished it")
    with services.uow() as uow:
        _save(services, uow, setup, found)
        card = uow.collection.card_of(setup.operator_id, setup.customer_id)
        uow.commit()
    if card is None:
        raise Conflict("the card this setup saved was removed from file since")
    return card


def receive_card_setup_webhook(services: Services, webhook: GatewayWebhook) -> WebhookReceipt:
    """The gateway's event about a card setup: kept once per event id; a succeeded setup that evbill
    started saves its card (the operator and the customer are evbill's record's, never the body's)."""
    found = webhook.card_setup
    assert found is not None
    with services.uow() as uow:
        setup = uow.collection.card_setup(webhook.gateway, found.reference, lock=True)
        if setup is None:
            outcome = UNKNOWN_SETUP
        elif found.operator_id not in (None, setup.operator_id):
            outcome, setup = OPERATOR_MISMATCH, None
        elif found.succeeded and setup.saved_at is None:
            outcome = CARD_SAVED
        else:
            outcome = NOTHING_TO_APPLY
        received = ReceivedWebhook(
            gateway=webhook.gateway, event_id=webhook.event_id, event_type=webhook.event_type,
            operator_id=setup.operator_id if setup else None, payment_id=None, outcome=outcome,
            payload=webhook.payload, received_at=services.clock.now(),
        )  # fmt: skip
        if not uow.payments.record_webhook(received):
            return WebhookReceipt(DUPLICATE, 0)
        if setup is not None and outcome == CARD_SAVED:
            _save(services, uow, setup, found)
        uow.commit()
    return WebhookReceipt(outcome, 0)


def _save(services: Services, uow: UnitOfWork, setup: CardSetup, found: GatewayCardSetup) -> None:
    """Save the setup's token as the card on file, once per setup (under the setup's row lock)."""
    locked = uow.collection.card_setup(setup.gateway, setup.reference, lock=True)
    method = found.payment_method or ""
    if locked is None or locked.saved_at is not None or looks_like_card_number(method) or len(method) > 100:
        return
    now = services.clock.now()
    keep_card(uow, CardOnFile(setup.operator_id, setup.customer_id, setup.gateway, method, now,
                              setup.charge_sessions))  # fmt: skip
    uow.collection.mark_card_setup_saved(setup.gateway, setup.reference, now)
