"""A full card flow through the API on the Stripe gateway (the real SDK against localstripe, a separate
process on 127.0.0.1): hold, capture, refund, Stripe's webhook; then neither the card number nor the
CVC is anywhere in the database or the logs. The card data went to Stripe only (the test plays
Stripe.js, before the flow starts); evbill saw a token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text

from evbill.application.payments.reconciliation import check_books
from tests.e2e.api.conftest import Api, build_api
from tests.integration.stripe_support import SECRET_KEY, WEBHOOK_SECRET, StandIn, local_stripe
from tests.support import store_session

PAN = "4242424242424242"
CVC = "737"  # what stripe_support.StandIn.card sends to Stripe with the number


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    with local_stripe(tmp_path_factory.mktemp("localstripe")) as running:
        yield running


@pytest.fixture(scope="module")
def api(module_database_url: str, stand_in: StandIn) -> Iterator[Api]:
    yield from build_api(
        module_database_url,
        payment_gateway="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stand_in.api_base,
    )


@pytest.fixture
def card_token(stand_in: StandIn) -> str:
    """The customer's browser gives the card to Stripe (Stripe.js) and evbill only the token."""
    return stand_in.card(PAN)


def test_no_card_number_or_cvc_is_stored_or_logged_after_a_full_card_flow(
    api: Api, stand_in: StandIn, card_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alpha = api.tenant("Alpha")
    store_session(api.container.services, alpha.operator_id, "s-9")
    body = {"subject": "session:s-9", "amount": "20.00", "currency": "EUR", "payment_method": card_token}

    # a card number where a token belongs is refused without being echoed
    refused = alpha.post(
        "/payments", json={**body, "payment_method": PAN}, headers={"Idempotency-Key": "a-0"}
    )
    held = alpha.post("/payments", json=body, headers={"Idempotency-Key": "a-1"}).json()
    captured = alpha.post(
        f"/payments/{held['id']}/capture", json={"amount": "20.00"}, headers={"Idempotency-Key": "c-1"}
    )
    refunded = alpha.post(
        "/refunds", json={"payment_id": held["id"], "amount": "5.00"}, headers={"Idempotency-Key": "r-1"}
    )
    delivery = stand_in.wait_for("payment_intent.succeeded", held["gateway_reference"])
    webhook = api.client.post(
        "/webhooks/stripe",
        content=delivery.body,
        headers={"Content-Type": "application/json", "Stripe-Signature": delivery.signature},
    )

    # the flow went through: 20.00 held and captured, 5.00 refunded (localstripe charges no fee)
    assert refused.status_code == 422
    assert PAN not in refused.text
    assert (held["status"], captured.json()["status"]) == ("authorised", "captured")
    assert (refunded.status_code, refunded.json()["refunded"]) == (201, "5.00")
    assert (webhook.status_code, webhook.json()["outcome"]) == (200, "applied"), webhook.text
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok
    # and neither the number nor the CVC is in any table or any log line (the CVC is three digits,
    # so it is looked for as a CVC: a "cvc" field, or those digits after "cvc")
    with api.container.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = repr(connection.execute(text(f'SELECT * FROM "{table}"')).all())  # noqa: S608
            assert PAN not in rows, table
            assert "cvc" not in rows.lower(), table
    assert PAN not in caplog.text
    assert re.search(rf"cvc\W{{0,6}}{CVC}", caplog.text, re.IGNORECASE) is None
    assert "stripe webhook" in caplog.text  # the logs were captured (not an empty pass)
