"""The Stripe gateway, on the real SDK, against localstripe (a separate process on 127.0.0.1) behind a
proxy that keeps Stripe's idempotency promise: holds, partial captures, 3-D Secure, declines,
releases, refunds, cards on file, off-session charges, SEPA Direct Debit, and the webhooks
localstripe signs and sends, delivered twice, late, and while a capture is in flight.

localstripe charges no fee (its balance transactions say 0): fees are covered by the recorded
payloads in tests/e2e/api/test_stripe_webhooks.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from evbill.adapters.payments.stripe import StripeGateway
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.collection.card_setup import confirm_card_setup, start_card_setup
from evbill.application.ledger import queries
from evbill.application.offers.customers import create_customer
from evbill.application.payments.payments import (
    PaymentView,
    authorise_payment,
    capture_payment,
    confirm_payment,
    get_payment,
    list_payments,
    refund_payment,
    release_payment,
)
from evbill.application.payments.reconciliation import check_books
from evbill.application.payments.webhooks import receive_webhook
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import EventKind, GatewayUnavailable, PaymentRefused, PaymentStatus
from evbill.domain.payments.model import PaymentPurpose
from tests.integration.stripe_support import SECRET_KEY, WEBHOOK_SECRET, StandIn, local_stripe
from tests.support import store_session

VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
NEEDS_3DS = "4000002500003155"
IBAN = "DE89370400440532013000"
IBAN_FAILING = "DE62370400440532013001"  # localstripe: the debit fails


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    with local_stripe(tmp_path_factory.mktemp("localstripe")) as running:
        yield running


@dataclass
class StripeShop:
    services: Services
    gateway: StripeGateway
    who: Actor
    customer_id: str
    stand_in: StandIn

    def authorise(self, minor_units: int, method: str, key: str = "auth-1") -> PaymentView:
        return authorise_payment(
            self.services,
            self.gateway,
            self.who,
            customer_id=self.customer_id,
            purpose=PaymentPurpose.SESSION,
            subject="session:s-1",
            amount=SettledMoney(minor_units, "EUR"),
            payment_method=method,
            idempotency_key=key,
        )

    def capture(self, payment_id: str, amount: int, key: str = "cap-1") -> PaymentView:
        return capture_payment(
            self.services, self.gateway, self.who, payment_id, amount=amount, idempotency_key=key
        )

    def deliver(self, event_type: str, intent_id: str) -> str:
        """The webhook localstripe sent for it, checked and applied as POST /webhooks/stripe does."""
        delivery = self.stand_in.wait_for(event_type, intent_id)
        return receive_webhook(
            self.services, self.gateway.read_webhook(delivery.body, delivery.signature)
        ).outcome

    def balances(self) -> dict[str, int]:
        return {b.account: b.balance for b in queries.trial_balance(self.services, self.who).accounts}


@pytest.fixture
def shop(database_url: str, stand_in: StandIn) -> Iterator[StripeShop]:
    settings = Settings(
        database_url=database_url,
        payment_gateway="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stand_in.api_base,
    )
    container = bootstrap(settings)
    services = container.services
    operator = create_operator(
        services, name="Pay", legal_name="Pay B.V.", country="NL", default_currency="EUR"
    )
    who = platform_actor(operator.id)
    customer = create_customer(
        services,
        who,
        {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"},
    )
    gateway = container.payment_gateway
    assert isinstance(gateway, StripeGateway)
    store_session(services, operator.id, "s-1", customer_id=customer.id)  # what StripeShop.authorise pays
    yield StripeShop(services, gateway, who, customer.id, stand_in)
    container.dispose()


def test_a_card_is_held_captured_in_part_and_refunded(shop: StripeShop) -> None:
    # given a hold of 50.00 EUR on a card token (the card number went to Stripe only)
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    assert (held.state.status, held.state.authorised) == (PaymentStatus.AUTHORISED, 5000)
    assert held.payment.gateway_reference.startswith("pi_")

    # when 32.10 is captured and 10.00 refunded
    captured = shop.capture(held.payment.id, 3210)
    refunded = refund_payment(
        shop.services, shop.gateway, shop.who, held.payment.id, amount=1000, idempotency_key="ref-1"
    )

    # then 50.00 - 32.10 = 17.90 is released (localstripe's refund of the rest is not a refund), and
    # 32.10 - 10.00 = 22.10 stays with the operator (localstripe charges no fee)
    state = captured.state
    assert (state.status, state.captured, state.released, state.refunded) == (
        PaymentStatus.CAPTURED, 3210, 1790, 0,
    )  # fmt: skip
    assert (refunded.state.status, refunded.state.refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 1000)
    assert shop.balances() == {
        "gateway_clearing:stripe": 2210,
        f"receivable:{shop.customer_id}": -3210,
        "refunds": 1000,
    }
    assert check_books(shop.services).ok
    # and at Stripe: one PaymentIntent, manual capture, 32.10 captured
    intent = shop.stand_in.admin().payment_intents.retrieve(held.payment.gateway_reference)
    assert (intent.capture_method, intent.status, intent.metadata["evbill_operator"]) == (
        "manual", "succeeded", shop.who.operator_id,
    )  # fmt: skip


def test_every_post_to_stripe_carries_an_idempotency_key(shop: StripeShop) -> None:
    before = len(shop.stand_in.requests)
    held = shop.authorise(2000, shop.stand_in.card(VISA), key="auth-keys")
    shop.capture(held.payment.id, 2000, key="cap-keys")
    refund_payment(
        shop.services, shop.gateway, shop.who, held.payment.id, amount=500, idempotency_key="r-keys"
    )

    posts = [(path, key) for method, path, key in shop.stand_in.requests[before:] if method == "POST"]
    operator = shop.who.operator_id
    assert [key for _, key in posts] == [
        f"{operator}:auth-keys|create",
        f"{operator}:auth-keys|confirm",
        f"{operator}:cap-keys",
        f"{operator}:r-keys",
    ]


def test_a_capture_is_never_above_the_hold_and_a_second_capture_is_refused(shop: StripeShop) -> None:
    held = shop.authorise(1000, shop.stand_in.card(VISA))

    with pytest.raises(PaymentRefused, match="capture of 10.01 EUR exceeds the authorisation of 10.00 EUR"):
        shop.capture(held.payment.id, 1001, key="cap-over")
    shop.capture(held.payment.id, 1000, key="cap-1")
    with pytest.raises(PaymentRefused, match="cannot capture a payment that is captured"):
        shop.capture(held.payment.id, 10, key="cap-2")

    assert shop.balances()["gateway_clearing:stripe"] == 1000


def test_a_card_declined_at_the_charge_is_recorded_with_its_reason_and_posts_nothing(
    shop: StripeShop,
) -> None:
    declined = shop.authorise(5000, shop.stand_in.card(DECLINED_ON_CHARGE))

    assert (declined.state.status, declined.state.decline_code) == (PaymentStatus.DECLINED, "card_declined")
    assert shop.balances() == {}


def test_3d_secure_waits_for_the_customer_then_authorises(shop: StripeShop) -> None:
    waiting = shop.authorise(4000, shop.stand_in.card(NEEDS_3DS))
    assert waiting.state.status is PaymentStatus.REQUIRES_ACTION

    shop.stand_in.authenticate(waiting.payment.gateway_reference)  # the customer, at Stripe
    confirmed = confirm_payment(
        shop.services, shop.gateway, shop.who, waiting.payment.id, idempotency_key="c-1"
    )

    assert (confirmed.state.status, confirmed.state.authorised) == (PaymentStatus.AUTHORISED, 4000)


def test_a_failed_3d_secure_is_a_decline(shop: StripeShop) -> None:
    waiting = shop.authorise(4000, shop.stand_in.card(NEEDS_3DS))

    shop.stand_in.authenticate(waiting.payment.gateway_reference, success=False)
    confirmed = confirm_payment(
        shop.services, shop.gateway, shop.who, waiting.payment.id, idempotency_key="c-1"
    )

    assert confirmed.state.status is PaymentStatus.DECLINED
    assert confirmed.state.decline_code == "payment_intent_authentication_failure"


def test_a_released_hold_is_cancelled_at_stripe_and_can_no_longer_be_captured(shop: StripeShop) -> None:
    held = shop.authorise(3000, shop.stand_in.card(VISA))

    released = release_payment(
        shop.services, shop.gateway, shop.who, held.payment.id, idempotency_key="rel-1"
    )

    assert (released.state.status, released.state.released) == (PaymentStatus.RELEASED, 3000)
    assert shop.stand_in.admin().payment_intents.retrieve(held.payment.gateway_reference).status == "canceled"
    with pytest.raises(PaymentRefused):
        shop.capture(held.payment.id, 100)
    assert shop.balances() == {}


def test_an_unknown_token_is_refused_naming_the_field(shop: StripeShop) -> None:
    with pytest.raises(InvalidInput) as refused:
        shop.authorise(1000, "pm_nothing_here")

    assert [problem.path for problem in refused.value.problems] == ["$.payment_method"]


def test_a_crash_after_stripe_captured_is_reconciled_by_the_retry_with_the_same_key(shop: StripeShop) -> None:
    # given a capture Stripe made, whose reply never reached the database (the process died)
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    shop.gateway.capture(
        reference=held.payment.gateway_reference,
        amount=SettledMoney(4000, "EUR"),
        idempotency_key=f"{shop.who.operator_id}:cap-1",
    )

    # when the client retries with the same key
    retried = shop.capture(held.payment.id, 4000, key="cap-1")

    # then Stripe's kept answer is used (nothing captured twice) and the ledger has it once
    assert (retried.state.captured, retried.state.released) == (4000, 1000)
    assert shop.balances()["gateway_clearing:stripe"] == 4000
    captures = [p for m, p, _ in shop.stand_in.requests if m == "POST" and p.endswith("/capture")]
    assert (
        captures.count(f"/v1/payment_intents/{held.payment.gateway_reference}/capture") == 2
    )  # one replayed
    assert check_books(shop.services).ok


def test_a_crash_after_stripe_authorised_is_reconciled_by_the_retry(shop: StripeShop) -> None:
    card = shop.stand_in.card(VISA)
    operator = shop.who.operator_id
    lost = shop.gateway.authorise(
        amount=SettledMoney(2500, "EUR"),
        payment_method=card,
        idempotency_key=f"{operator}:a-9",
        description="session session:s-1",  # what authorise_payment asks: the same request
    )

    retried = shop.authorise(2500, card, key="a-9")

    assert retried.payment.gateway_reference == lost.reference  # the same PaymentIntent, not a second
    assert retried.state.status is PaymentStatus.AUTHORISED


def test_resent_and_late_webhooks_change_nothing(shop: StripeShop) -> None:
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    shop.capture(held.payment.id, 5000)
    reference = held.payment.gateway_reference

    first = shop.deliver("payment_intent.succeeded", reference)  # after the capture's reply: nothing new
    again = shop.deliver("payment_intent.succeeded", reference)  # resent

    assert (first, again) == ("applied", "duplicate")
    view = get_payment(shop.services, shop.who, held.payment.id)
    assert [e.kind for e in view.events] == [EventKind.AUTHORISED, EventKind.CAPTURED]
    assert shop.balances()["gateway_clearing:stripe"] == 5000


def test_a_webhook_arriving_while_the_capture_is_in_flight_counts_once(shop: StripeShop) -> None:
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    reference = held.payment.gateway_reference
    stripe_answered, go_on = threading.Event(), threading.Event()
    real_capture = shop.gateway.capture

    def slow_capture(**kwargs: object) -> object:
        result = real_capture(**kwargs)  # type: ignore[arg-type]
        stripe_answered.set()
        go_on.wait(10)  # the process is slow to store the reply: the webhook comes first
        return result

    shop.gateway.capture = slow_capture  # type: ignore[method-assign]
    outcome: list[PaymentView] = []
    capturing = threading.Thread(target=lambda: outcome.append(shop.capture(held.payment.id, 3000)))
    capturing.start()
    assert stripe_answered.wait(10)
    delivered: list[str] = []
    webhook = threading.Thread(
        target=lambda: delivered.append(shop.deliver("payment_intent.succeeded", reference))
    )
    # no transaction is held over the call to Stripe (the capture is only noted in flight): the
    # webhook is applied at once, and the capture's own reply then finds its events stored
    webhook.start()
    webhook.join(15)
    assert delivered == ["applied"]
    go_on.set()
    capturing.join(15)

    assert outcome[0].state.captured == 3000
    view = get_payment(shop.services, shop.who, held.payment.id)
    assert [e.kind for e in view.events] == [EventKind.AUTHORISED, EventKind.CAPTURED]
    assert shop.balances()["gateway_clearing:stripe"] == 3000
    assert check_books(shop.services).ok


def test_a_capture_stripe_reports_only_by_webhook_is_recorded(shop: StripeShop) -> None:
    # the capture's reply was lost and the client never retried: the webhook alone records it
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    shop.gateway.capture(
        reference=held.payment.gateway_reference,
        amount=SettledMoney(1234, "EUR"),
        idempotency_key=f"{shop.who.operator_id}:lost",
    )

    outcome = shop.deliver("payment_intent.succeeded", held.payment.gateway_reference)

    view = get_payment(shop.services, shop.who, held.payment.id)
    assert outcome == "applied"
    assert (view.state.status, view.state.captured, view.state.released) == (
        PaymentStatus.CAPTURED,
        1234,
        3766,
    )
    assert shop.balances() == {"gateway_clearing:stripe": 1234, f"receivable:{shop.customer_id}": -1234}


def test_sepa_direct_debit_is_recorded_when_stripe_says_it_succeeded(shop: StripeShop) -> None:
    # given an invoice paid by SEPA Direct Debit: no hold, the debit takes a while
    debit = shop.authorise(7890, shop.stand_in.sepa(IBAN), key="sepa-1")
    # (Stripe answers "processing" for days; localstripe answers "succeeded" at once and sends the
    # webhook after a second: either way the debit is counted once)
    assert debit.state.status in (PaymentStatus.PENDING, PaymentStatus.CAPTURED)
    intent = shop.stand_in.admin().payment_intents.retrieve(debit.payment.gateway_reference)
    assert intent.capture_method == "automatic"  # a debit cannot be held

    # when Stripe's webhook says it succeeded
    outcome = shop.deliver("payment_intent.succeeded", debit.payment.gateway_reference)

    # then it is captured, 78.90, and posted
    view = get_payment(shop.services, shop.who, debit.payment.id)
    assert outcome == "applied"
    assert (view.state.status, view.state.captured) == (PaymentStatus.CAPTURED, 7890)
    assert shop.balances() == {"gateway_clearing:stripe": 7890, f"receivable:{shop.customer_id}": -7890}


def test_a_failed_sepa_debit_is_a_decline(shop: StripeShop) -> None:
    debit = shop.authorise(7890, shop.stand_in.sepa(IBAN_FAILING), key="sepa-2")

    outcome = shop.deliver("payment_intent.payment_failed", debit.payment.gateway_reference)

    view = get_payment(shop.services, shop.who, debit.payment.id)
    assert (outcome, view.state.status, view.state.decline_code) == (
        "applied",
        PaymentStatus.DECLINED,
        "card_declined",
    )
    assert shop.balances() == {}


def test_a_card_on_file_is_saved_with_a_setup_intent_and_charged_off_session(shop: StripeShop) -> None:
    operator = shop.who.operator_id
    customer = shop.gateway.create_customer(
        operator_id=operator, customer_id=shop.customer_id, idempotency_key=f"{operator}:c-1"
    )

    saved = shop.gateway.save_payment_method(
        customer=customer,
        payment_method=shop.stand_in.card(VISA),
        operator_id=operator,
        idempotency_key=f"{operator}:s-1",
    )
    charged = shop.gateway.charge_off_session(
        customer=customer,
        payment_method=saved.payment_method or "",
        amount=SettledMoney(1999, "EUR"),
        idempotency_key=f"{operator}:inv-1",
        description="invoice:INV-1",
    )

    assert (saved.status, saved.setup_intent[:5]) == ("succeeded", "seti_")
    assert [(e.kind, e.amount) for e in charged.events] == [
        (EventKind.AUTHORISED, 1999),
        (EventKind.CAPTURED, 1999),
    ]


def test_a_card_setup_finished_in_the_customers_browser_is_saved_on_file_and_pays(shop: StripeShop) -> None:
    # Given a SetupIntent evbill started for Anna (her page gets its client secret)
    started = start_card_setup(shop.services, shop.gateway, shop.who, shop.customer_id,
                               charge_sessions=True, idempotency_key="setup-1")  # fmt: skip
    assert started.reference.startswith("seti_")
    assert started.client_secret
    assert started.status == "requires_payment_method"
    with pytest.raises(Conflict, match="requires_payment_method"):
        confirm_card_setup(shop.services, shop.gateway, shop.who, shop.customer_id, started.reference)

    # When her browser confirms it with her card (Stripe.js: the card number goes to Stripe only)
    shop.stand_in.admin().setup_intents.confirm(
        started.reference, params={"payment_method": shop.stand_in.card(VISA)}
    )
    card = confirm_card_setup(shop.services, shop.gateway, shop.who, shop.customer_id, started.reference)

    # Then the PaymentMethod token is her card on file (sessions charged, as asked), and it pays
    assert (card.customer_id, card.gateway, card.charge_sessions) == (shop.customer_id, "stripe", True)
    assert card.payment_method.startswith("pm_")
    held = shop.authorise(1999, card.payment_method, key="after-setup")
    assert (held.state.status, held.state.authorised) == (PaymentStatus.AUTHORISED, 1999)
    posts = [key for method, _, key in shop.stand_in.requests if method == "POST"]
    assert None not in posts  # every POST to Stripe carried an idempotency key


def test_a_card_on_file_that_needs_3d_secure_says_so(shop: StripeShop) -> None:
    operator = shop.who.operator_id
    customer = shop.gateway.create_customer(
        operator_id=operator, customer_id=shop.customer_id, idempotency_key=f"{operator}:c-2"
    )

    saved = shop.gateway.save_payment_method(
        customer=customer,
        payment_method=shop.stand_in.card(NEEDS_3DS),
        operator_id=operator,
        idempotency_key=f"{operator}:s-2",
    )

    assert saved.status == "requires_action"


def test_a_sepa_mandate_is_saved_for_later_debits(shop: StripeShop) -> None:
    operator = shop.who.operator_id
    customer = shop.gateway.create_customer(
        operator_id=operator, customer_id=shop.customer_id, idempotency_key=f"{operator}:c-3"
    )

    saved = shop.gateway.save_payment_method(
        customer=customer,
        payment_method=shop.stand_in.sepa(IBAN),
        operator_id=operator,
        idempotency_key=f"{operator}:s-3",
        sepa=True,
    )

    assert saved.status == "succeeded"


def test_a_webhook_with_a_wrong_signature_is_refused_and_nothing_is_read(shop: StripeShop) -> None:
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    shop.capture(held.payment.id, 5000)
    delivery = shop.stand_in.wait_for("payment_intent.succeeded", held.payment.gateway_reference)
    forged = delivery.signature.replace("v1=", "v1=0")

    with pytest.raises(InvalidInput) as refused:
        shop.gateway.read_webhook(delivery.body, forged)

    assert refused.value.code == "webhook_refused"
    assert [problem.path for problem in refused.value.problems] == ["header.Stripe-Signature"]
    with pytest.raises(InvalidInput):
        shop.gateway.read_webhook(delivery.body, None)


@pytest.mark.postgres
def test_concurrent_captures_of_one_stripe_hold_exactly_one_reaches_stripe(
    shop: StripeShop, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks under real concurrency: PostgreSQL")
    held = shop.authorise(5000, shop.stand_in.card(VISA))
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        start.wait()
        try:
            shop.capture(held.payment.id, 1000 + number, key=f"cap-{number}")
            outcomes.append("captured")
        except PaymentRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["captured"] + ["refused"] * 3
    capture_path = f"/v1/payment_intents/{held.payment.gateway_reference}/capture"
    assert [path for method, path, _ in shop.stand_in.requests if method == "POST"].count(capture_path) == 1
    assert check_books(shop.services).ok


def test_stripe_out_of_reach_is_a_gateway_error_and_nothing_is_recorded(database_url: str) -> None:
    # given the gateway pointed at a loopback port where nothing listens
    closed = f"http://127.0.0.1:{_closed_port()}"
    settings = Settings(
        database_url=database_url,
        payment_gateway="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=closed,
    )
    container = bootstrap(settings)
    operator = create_operator(
        container.services, name="Pay", legal_name="Pay B.V.", country="NL", default_currency="EUR"
    )
    who = platform_actor(operator.id)
    store_session(container.services, operator.id, "s-1")

    # when a hold is asked for, then it fails with a gateway error (502 at the API), and no payment is kept
    with pytest.raises(GatewayUnavailable, match="could not be reached"):
        authorise_payment(
            container.services,
            container.payment_gateway,
            who,
            customer_id=None,
            purpose=PaymentPurpose.SESSION,
            subject="session:s-1",
            amount=SettledMoney(1000, "EUR"),
            payment_method="pm_anything",
            idempotency_key="a-1",
        )
    assert list_payments(container.services, who, after=None, limit=10) == []
    container.dispose()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
