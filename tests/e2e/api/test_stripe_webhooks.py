"""POST /webhooks/stripe with recorded Stripe payloads: what localstripe does not do.

localstripe sends no dispute, charge.refunded or setup_intent webhooks, puts no request (and so no
idempotency key) on its events, and charges no fee. These tests cover that with recorded payloads in
Stripe's API shape (``stripe_payloads/*.json``), signed here with the endpoint's secret as Stripe
signs them, and with a small loopback server that answers the SDK with recorded replies (a capture
whose balance transaction carries Stripe's fee). The app runs with EVBILL_PAYMENT_GATEWAY=stripe.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from evbill.application.payments.reconciliation import check_books
from evbill.domain.collection.dunning import CardSetup
from evbill.domain.money import SettledMoney
from tests.e2e.api.conftest import Api, Tenant, build_api
from tests.integration.stripe_support import LOOPBACK, SECRET_KEY, WEBHOOK_SECRET, sign
from tests.support import store_session

PAYLOADS = Path(__file__).parent / "stripe_payloads"
ANNA = {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"}
WEBHOOK = "/webhooks/stripe"


def stripe_fee(amount: int) -> int:
    """Stripe's standard EEA card price: 1.5 % + 0.25 EUR, in cents, rounded half up."""
    return int((Decimal(amount) * Decimal("0.015")).to_integral_value(ROUND_HALF_UP)) + 25


class RecordedStripe:
    """Answers the SDK's requests with recorded replies: PaymentIntents that authorise, capture (the
    charge's balance transaction expanded, with the fee), cancel; refunds; charges; balance
    transactions. It keeps the first answer per Idempotency-Key, as Stripe does."""

    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.replies: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()

    def answer(self, method: str, path: str, form: dict[str, str], key: str | None) -> tuple[int, Any]:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        if method == "GET" and parts[0] == "payment_methods":
            return 200, {"id": parts[1], "object": "payment_method", "type": "card", "customer": None,
                         "card": {"brand": "visa", "last4": "4242"}}  # fmt: skip
        if method == "POST" and parts == ["payment_intents"]:
            number = next(self.numbers)
            intent = {"id": f"pi_rec{number}x", "object": "payment_intent", "amount": int(form["amount"]),
                      "amount_capturable": 0, "amount_received": 0, "currency": form["currency"],
                      "capture_method": form.get("capture_method"), "status": "requires_confirmation",
                      "latest_charge": None, "last_payment_error": None, "next_action": None,
                      "metadata": {"evbill_operator": form.get("metadata[evbill_operator]")}}  # fmt: skip
            self.intents[intent["id"]] = intent
            return 200, intent
        if parts[0] == "payment_intents" and len(parts) == 3:
            intent = self.intents[parts[1]]
            charge_id = "ch_" + intent["id"][3:]
            if parts[2] == "confirm":
                intent.update(
                    status="requires_capture", amount_capturable=intent["amount"], latest_charge=charge_id
                )
            elif parts[2] == "capture":
                captured = int(form["amount_to_capture"])
                intent.update(status="succeeded", amount_capturable=0, amount_received=captured)
                return 200, {**intent, "latest_charge": self.charge(intent, expanded=True)}
            elif parts[2] == "cancel":
                intent.update(status="canceled", amount_capturable=0)
            return 200, intent
        if method == "GET" and parts[0] == "payment_intents":
            return 200, self.intents[parts[1]]
        if method == "GET" and parts[0] == "charges":
            intent = self.intents["pi_" + parts[1][3:]]
            return 200, self.charge(intent, expanded=True)
        if method == "GET" and parts[0] == "balance_transactions":
            intent = self.intents["pi_" + parts[1][len("txn_ch_") :]]
            return 200, self.transaction(intent)
        if method == "POST" and parts == ["refunds"]:
            number = next(self.numbers)
            return 200, {"id": f"re_rec{number}x", "object": "refund", "amount": int(form["amount"]),
                         "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded",
                         "metadata": {"evbill_operator": form.get("metadata[evbill_operator]")}}  # fmt: skip
        return 404, {"error": {"type": "invalid_request_error", "message": f"no recorded reply for {path}"}}

    def charge(self, intent: dict[str, Any], *, expanded: bool) -> dict[str, Any]:
        charge_id = "ch_" + intent["id"][3:]
        return {"id": charge_id, "object": "charge", "amount": intent["amount"], "currency": "eur",
                "amount_captured": intent["amount_received"], "captured": intent["status"] == "succeeded",
                "status": "succeeded", "payment_intent": intent["id"], "metadata": {},
                "balance_transaction": self.transaction(intent) if expanded else f"txn_{charge_id}",
                "refunds": {"object": "list", "data": []}}  # fmt: skip

    def transaction(self, intent: dict[str, Any]) -> dict[str, Any]:
        amount = intent["amount_received"]
        return {"id": "txn_ch_" + intent["id"][3:], "object": "balance_transaction", "amount": amount,
                "fee": stripe_fee(amount), "net": amount - stripe_fee(amount), "currency": "eur"}  # fmt: skip


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[RecordedStripe, str]]:
    stripe_side = RecordedStripe()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = {name: values[0] for name, values in parse_qs(body).items()}
            path, _, query = self.path.partition("?")
            key = self.headers.get("Idempotency-Key")
            with stripe_side.lock:
                stripe_side.requests.append((self.command, path, key))
                if key is not None and key in stripe_side.replies:
                    status, content = stripe_side.replies[key]
                else:
                    status, answer = stripe_side.answer(self.command, path, form, key)
                    content = json.dumps(answer).encode()
                    if key is not None:
                        stripe_side.replies[key] = (status, content)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _serve  # noqa: N815

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stripe_side, f"http://{LOOPBACK}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def api(module_database_url: str, recorded: tuple[RecordedStripe, str]) -> Iterator[Api]:
    yield from build_api(
        module_database_url,
        payment_gateway="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=recorded[1],
    )


EVENTS = itertools.count(1)


def payload(name: str, **values: str) -> bytes:
    """A recorded payload with its placeholders (__PI__, __OPERATOR__, ...) filled in."""
    content = (PAYLOADS / f"{name}.json").read_text()
    values.setdefault("EVT", f"rec{next(EVENTS)}")
    values.setdefault("KEY", "")
    for name_, value in values.items():
        content = content.replace(f"__{name_}__", value)
    event = json.loads(content)
    if event.get("request", {}).get("idempotency_key") == "":
        event["request"]["idempotency_key"] = None
    return json.dumps(event).encode()


def deliver(api: Api, body: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature or sign(body)}
    return api.client.post(WEBHOOK, content=body, headers=headers)


def session_of(tenant: Tenant) -> str:
    """The tenant's session its card payments pay (session ids are unique across operators)."""
    return f"s-{tenant.operator_id[-12:]}"


def held_and_captured(alpha: Tenant, capture: str | None = "32.10") -> dict[str, Any]:
    session = store_session(alpha.api.container.services, alpha.operator_id, session_of(alpha))
    body = {
        "subject": f"session:{session}",
        "amount": "50.00",
        "currency": "EUR",
        "payment_method": "pm_card_visa",
    }
    held = alpha.post("/payments", json=body, headers={"Idempotency-Key": "a-1"})
    assert held.status_code == 201, held.text
    if capture is None:
        return held.json()  # type: ignore[no-any-return]
    captured = alpha.post(
        f"/payments/{held.json()['id']}/capture", json={"amount": capture}, headers={"Idempotency-Key": "c-1"}
    )
    assert captured.status_code == 200, captured.text
    return captured.json()  # type: ignore[no-any-return]


def trial_balance(tenant: Tenant) -> dict[str, str]:
    return {a["account"]: a["balance"] for a in tenant.get("/ledger/trial-balance").json()["accounts"]}


def ids(payment: dict[str, Any]) -> dict[str, str]:
    reference = payment["gateway_reference"]
    return {"PI": reference, "CH": "ch_" + reference[3:]}


def test_the_capture_records_stripes_fee_from_the_balance_transaction(api: Api) -> None:
    alpha = api.tenant("Alpha")

    captured = held_and_captured(alpha)

    # Stripe's fee on 32.10: 1.5 % x 3210 = 48.15 -> 48, + 25 = 73 cents
    assert stripe_fee(3210) == 73
    assert {k: captured[k] for k in ("status", "captured", "released", "fees")} == {
        "status": "captured", "captured": "32.10", "released": "17.90", "fees": "0.73",
    }  # fmt: skip
    assert trial_balance(alpha) == {
        "gateway_clearing:stripe": "31.37",  # 32.10 - 0.73
        "gateway_fees": "0.73",
        f"receivable:session:{session_of(alpha)}": "-32.10",  # no customer: the receivable is the session's
    }


def test_a_retry_after_the_webhook_stored_the_capture_replays_it_instead_of_409(api: Api) -> None:
    # given a hold, and a capture Stripe made whose reply never reached the database (a crash)
    alpha = api.tenant("Alpha")
    held = held_and_captured(alpha, capture=None)
    api.container.stripe_gateway.capture(
        reference=held["gateway_reference"],
        amount=SettledMoney(3210, "EUR"),
        idempotency_key=f"{alpha.operator_id}:c-1",
    )
    # and Stripe's webhook for it, naming the request's idempotency key, got there first
    webhook = deliver(api, payload("payment_intent.succeeded", KEY=f"{alpha.operator_id}:c-1", **ids(held),
                                   OPERATOR=alpha.operator_id))  # fmt: skip
    assert (webhook.status_code, webhook.json()["outcome"]) == (200, "applied"), webhook.text

    # when the client retries its capture with the same key
    retried = alpha.post(
        f"/payments/{held['id']}/capture", json={"amount": "32.10"}, headers={"Idempotency-Key": "c-1"}
    )

    # then it gets the stored capture (not 409), with Stripe's fee of 0.73, and nothing moved twice
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["captured"], retried.json()["fees"]) == (
        "captured", "32.10", "0.73",
    )  # fmt: skip
    assert trial_balance(alpha)["gateway_clearing:stripe"] == "31.37"
    # and a new request is still refused
    again = alpha.post(
        f"/payments/{held['id']}/capture", json={"amount": "32.10"}, headers={"Idempotency-Key": "c-2"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "payment_refused")


def test_charge_refunded_records_the_refund_once_whatever_the_order(api: Api) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    refunded = payload("charge.refunded", **ids(captured), OPERATOR=alpha.operator_id, REFUND="rec1a")

    answers = [deliver(api, refunded).json()["outcome"], deliver(api, refunded).json()["outcome"]]

    assert answers == ["applied", "duplicate"]
    payment = alpha.get(f"/payments/{captured['id']}").json()
    assert (payment["status"], payment["refunded"]) == ("partially_refunded", "10.00")
    # 32.10 - 0.73 fee - 10.00 refunded = 21.37 left with Stripe
    assert trial_balance(alpha)["gateway_clearing:stripe"] == "21.37"
    assert trial_balance(alpha)["refunds"] == "10.00"


def test_a_lost_dispute_is_a_chargeback_posted_as_a_loss_even_when_the_close_comes_first(api: Api) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    common = {**ids(captured), "OPERATOR": alpha.operator_id, "DISPUTE": f"rec{alpha.operator_id[-6:]}"}
    created = payload("charge.dispute.created", **common)
    closed = payload("charge.dispute.closed", **common, OUTCOME="lost")

    outcomes = [deliver(api, body).json()["outcome"] for body in (closed, created, closed)]

    assert outcomes == ["applied", "applied", "duplicate"]
    payment = alpha.get(f"/payments/{captured['id']}").json()
    assert (payment["status"], payment["charged_back"]) == ("charged_back", "32.10")
    # the 15.00 dispute fee and the 32.10 lost: 31.37 - 32.10 - 15.00 = -15.73 at Stripe
    assert trial_balance(alpha) == {
        "chargeback_losses": "32.10",
        "gateway_clearing:stripe": "-15.73",
        "gateway_fees": "15.73",  # 0.73 + 15.00
        f"receivable:session:{session_of(alpha)}": "-32.10",
    }
    assert check_books(api.container.services, operator_ids=[alpha.operator_id]).ok


def test_a_won_dispute_gives_the_payment_back_its_state(api: Api) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    common = {**ids(captured), "OPERATOR": alpha.operator_id, "DISPUTE": f"won{alpha.operator_id[-6:]}"}

    opened = deliver(api, payload("charge.dispute.created", **common))
    assert alpha.get(f"/payments/{captured['id']}").json()["status"] == "disputed"
    deliver(api, payload("charge.dispute.closed", **common, OUTCOME="won"))

    payment = alpha.get(f"/payments/{captured['id']}").json()
    assert opened.status_code == 200
    assert (payment["status"], payment["charged_back"]) == ("captured", "0.00")
    assert "chargeback_losses" not in trial_balance(alpha)


def test_a_signed_event_naming_another_operator_for_a_payment_does_nothing(api: Api) -> None:
    # given Alpha's captured payment, and an event for it whose metadata names Bravo
    alpha, bravo = api.tenant("Alpha"), api.tenant("Bravo")
    captured = held_and_captured(alpha)
    before = trial_balance(alpha)
    forged = payload("charge.refunded", **ids(captured), OPERATOR=bravo.operator_id, REFUND="forged1")

    answer = deliver(api, forged)

    # then it is acknowledged and does nothing to anyone
    assert (answer.status_code, answer.json()["outcome"], answer.json()["stored_events"]) == (
        200, "operator mismatch", 0,
    )  # fmt: skip
    assert alpha.get(f"/payments/{captured['id']}").json()["refunded"] == "0.00"
    assert trial_balance(alpha) == before
    assert trial_balance(bravo) == {}


def test_an_event_for_a_payment_evbill_does_not_know_is_kept_and_applied_to_nothing(api: Api) -> None:
    alpha = api.tenant("Alpha")
    unknown = payload(
        "payment_intent.succeeded", PI="pi_notours1", CH="ch_notours1", OPERATOR=alpha.operator_id
    )

    answer = deliver(api, unknown)

    assert (answer.status_code, answer.json()["outcome"]) == (200, "unknown payment")
    assert alpha.get("/payments").json()["items"] == []


def started_setup(api: Api, tenant: Tenant, customer_id: str, reference: str) -> None:
    """Given evbill started the SetupIntent ``reference`` for the customer (recorded here: the loopback
    Stripe of these tests has no SetupIntents; localstripe's are in test_stripe_gateway)."""
    now = api.container.services.clock.now()
    with api.container.services.uow() as uow:
        uow.collection.add_card_setup(
            CardSetup(tenant.operator_id, customer_id, "stripe", reference, True, now)
        )
        uow.commit()


def test_setup_intent_succeeded_saves_the_card_of_the_setup_evbill_started(api: Api) -> None:
    alpha, bravo = api.tenant("Alpha"), api.tenant("Bravo")
    anna = alpha.created("/customers", ANNA)["id"]
    started_setup(api, alpha, anna, "seti_recsetup1")
    body = payload("setup_intent.succeeded", EVT="recsetup1", OPERATOR=alpha.operator_id)

    answers = [deliver(api, body).json()["outcome"], deliver(api, body).json()["outcome"]]

    # Then the PaymentMethod token is Anna's card on file, once; the event is kept once
    assert answers == ["card saved", "duplicate"]
    card = alpha.get(f"/customers/{anna}/card-on-file").json()
    assert {k: card[k] for k in ("payment_method", "charge_sessions", "gateway")} == {
        "payment_method": "pm_1Qx1rV2eZvKYlo2C0aB7cD9e", "charge_sessions": True, "gateway": "stripe",
    }  # fmt: skip
    with api.container.engine.connect() as connection:
        kept = connection.execute(
            text("SELECT event_type, outcome, operator_id FROM gateway_webhooks WHERE event_id = :id"),
            {"id": json.loads(body)["id"]},
        ).all()
    assert [tuple(row) for row in kept] == [("setup_intent.succeeded", "card saved", alpha.operator_id)]
    # A setup evbill did not start saves nothing; nor does one of Alpha's whose event names Bravo
    unknown = payload("setup_intent.succeeded", EVT="recsetup2", OPERATOR=alpha.operator_id)
    ben = alpha.created("/customers", {**ANNA, "name": "Ben"})["id"]
    started_setup(api, alpha, ben, "seti_recsetup3")
    forged = payload("setup_intent.succeeded", EVT="recsetup3", OPERATOR=bravo.operator_id)
    assert deliver(api, unknown).json()["outcome"] == "unknown card setup"
    assert deliver(api, forged).json()["outcome"] == "operator mismatch"
    assert alpha.get(f"/customers/{ben}/card-on-file").status_code == 404
    assert bravo.get("/payments/cards-on-file").json()["items"] == []


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("t=1796200000,v1=" + "0" * 64, "does not match the payload and the endpoint's secret"),
        ("garbage", "does not match the payload and the endpoint's secret"),
    ],
)
def test_a_webhook_without_a_valid_signature_is_refused_and_nothing_is_kept(
    api: Api, signature: str | None, reason: str
) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    body = payload(
        "charge.refunded",
        **ids(captured),
        OPERATOR=alpha.operator_id,
        REFUND=f"nosig{alpha.operator_id[-6:]}",
    )
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature

    answer = api.client.post(WEBHOOK, content=body, headers=headers)

    assert (answer.status_code, answer.json()["code"]) == (400, "webhook_refused")
    assert answer.json()["errors"] == [
        {"path": "header.Stripe-Signature", "message": reason, "severity": "error"}
    ]
    assert alpha.get(f"/payments/{captured['id']}").json()["refunded"] == "0.00"


def test_a_payload_signed_with_another_secret_or_altered_after_signing_is_refused(api: Api) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    body = payload(
        "charge.refunded", **ids(captured), OPERATOR=alpha.operator_id, REFUND=f"alt{alpha.operator_id[-6:]}"
    )

    other_secret = deliver(api, body, sign(body, secret="whsec_someone_else"))
    altered = deliver(api, body.replace(b'"amount": 1000', b'"amount": 3210'), sign(body))
    too_old = deliver(api, body, sign(body, at=1_000_000_000))

    assert [a.status_code for a in (other_secret, altered, too_old)] == [400, 400, 400]
    assert alpha.get(f"/payments/{captured['id']}").json()["refunded"] == "0.00"


def test_a_signature_dated_in_the_future_is_refused(api: Api) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    body = payload(
        "charge.refunded", **ids(captured), OPERATOR=alpha.operator_id, REFUND=f"fut{alpha.operator_id[-6:]}"
    )

    ahead = deliver(api, body, sign(body, at=int(time.time()) + 3600))
    skewed = deliver(api, body, sign(body, at=int(time.time()) + 60))

    assert ahead.status_code == 400
    assert ahead.json()["errors"] == [
        {
            "path": "header.Stripe-Signature",
            "message": "its timestamp is in the future (more than 5 minutes ahead)",
            "severity": "error",
        }
    ]
    assert skewed.status_code == 200, skewed.text  # a minute of clock skew is not an attack
    assert alpha.get(f"/payments/{captured['id']}").json()["refunded"] == "10.00"


def _reshaped(body: bytes, change: str) -> bytes:
    event = json.loads(body)
    if change == "list":
        return b"[]"
    if change == "no data":
        del event["data"]
    elif change == "object null":
        event["data"]["object"] = None
    elif change == "object text":
        event["data"]["object"] = "ch_1"
    elif change == "amount text":
        event["data"]["object"]["amount_refunded"] = "abc"
        for refund in event["data"]["object"].get("refunds", {}).get("data", []):
            refund["amount"] = "abc"
    return json.dumps(event).encode()


@pytest.mark.parametrize("change", ["list", "no data", "object null", "object text", "amount text"])
def test_a_signed_payload_that_is_not_a_stripe_event_is_refused_with_400_not_500(
    api: Api, change: str
) -> None:
    alpha = api.tenant("Alpha")
    captured = held_and_captured(alpha)
    body = _reshaped(
        payload("charge.refunded", **ids(captured), OPERATOR=alpha.operator_id, REFUND=f"bad{change[:4]}"),
        change,
    )

    answer = deliver(api, body, sign(body))

    assert (answer.status_code, answer.json()["code"]) == (400, "webhook_refused"), answer.text
    assert alpha.get(f"/payments/{captured['id']}").json()["refunded"] == "0.00"


def test_every_post_the_gateway_made_carried_an_idempotency_key(
    api: Api, recorded: tuple[RecordedStripe, str]
) -> None:
    alpha = api.tenant("Alpha")
    held_and_captured(alpha)

    posts = [key for method, _, key in recorded[0].requests if method == "POST"]
    assert posts
    assert all(key for key in posts)


@pytest.mark.parametrize(
    "statement", ["UPDATE gateway_webhooks SET outcome = 'x'", "DELETE FROM gateway_webhooks"]
)
def test_the_kept_webhooks_cannot_be_changed(api: Api, statement: str) -> None:
    deliver(api, payload("setup_intent.succeeded", OPERATOR="nobody"))

    with api.container.engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement))
