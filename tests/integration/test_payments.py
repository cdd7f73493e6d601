"""Payments through the sandbox gateway on SQLite and PostgreSQL: state from events, exact ledger entries."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from evbill.application.ledger import queries
from evbill.application.payments import wallets
from evbill.application.payments.payments import (
    authorise_payment,
    capture_payment,
    confirm_payment,
    record_gateway_events,
    refund_payment,
    release_payment,
    session_taken,
)
from evbill.application.payments.reconciliation import check_books
from evbill.domain.errors import InvalidInput
from evbill.domain.money import SettledMoney
from evbill.domain.payments.events import PaymentRefused, PaymentStatus
from evbill.domain.payments.model import PaymentPurpose
from tests.integration.payments_support import Shop
from tests.support import store_session


def balances(shop: Shop) -> dict[str, int]:
    return {b.account: b.balance for b in queries.trial_balance(shop.services, shop.who).accounts}


def capture(shop: Shop, payment_id: str, amount: int, key: str = "cap-1"):
    return capture_payment(
        shop.services, shop.gateway, shop.who, payment_id, amount=amount, idempotency_key=key
    )


def refund(shop: Shop, payment_id: str, amount: int, key: str):
    return refund_payment(
        shop.services, shop.gateway, shop.who, payment_id, amount=amount, idempotency_key=key
    )


def test_a_partial_capture_releases_the_rest_and_posts_capture_and_fee(shop):
    # given a hold of 50.00 EUR
    held = shop.authorise(5000)
    assert (held.state.status, held.state.authorised) == (PaymentStatus.AUTHORISED, 5000)
    assert balances(shop) == {}  # a hold moves no money

    # when 32.10 is captured
    captured = capture(shop, held.payment.id, 3210)

    # then 17.90 is released, the sandbox's fee is 1.4 % + 0.25 = 0.70, and the ledger says so exactly
    state = captured.state
    assert (state.status, state.captured, state.released, state.fees) == (
        PaymentStatus.CAPTURED,
        3210,
        1790,
        70,
    )
    assert balances(shop) == {
        "gateway_clearing:sandbox": 3140,
        "gateway_fees": 70,
        f"receivable:{shop.customer_id}": -3210,
    }
    assert check_books(shop.services).ok


def test_a_capture_above_the_authorisation_is_refused_before_the_gateway_is_called(shop):
    held = shop.authorise(5000)

    with pytest.raises(PaymentRefused, match="capture of 50.01 EUR exceeds the authorisation of 50.00 EUR"):
        capture(shop, held.payment.id, 5001)

    assert [operation for operation, _ in shop.gateway.calls] == ["authorise"]
    assert balances(shop) == {}


def test_a_second_capture_of_one_authorisation_is_refused(shop):
    held = shop.authorise(5000)
    capture(shop, held.payment.id, 1000, key="cap-1")

    with pytest.raises(PaymentRefused, match="cannot capture a payment that is captured"):
        capture(shop, held.payment.id, 1000, key="cap-2")

    assert balances(shop)[f"receivable:{shop.customer_id}"] == -1000


def test_refunds_add_up_to_the_capture_and_never_beyond(shop):
    held = shop.authorise(5000)
    capture(shop, held.payment.id, 3210)

    refund(shop, held.payment.id, 1000, "ref-1")
    done = refund(shop, held.payment.id, 2210, "ref-2")
    with pytest.raises(
        PaymentRefused, match="refund of 0.01 EUR exceeds the 0.00 EUR captured and not refunded"
    ):
        refund(shop, held.payment.id, 1, "ref-3")

    assert (done.state.status, done.state.refunded) == (PaymentStatus.REFUNDED, 3210)
    assert balances(shop) == {
        "gateway_clearing:sandbox": -70,  # the fee is not given back by the gateway
        "gateway_fees": 70,
        f"receivable:{shop.customer_id}": -3210,
        "refunds": 3210,
    }
    assert check_books(shop.services).ok


def test_a_declined_card_is_recorded_with_its_reason_and_posts_nothing(shop):
    declined = shop.authorise(5000, method="tok_insufficient_funds")

    assert (declined.state.status, declined.state.decline_code) == (
        PaymentStatus.DECLINED,
        "insufficient_funds",
    )
    with pytest.raises(PaymentRefused):
        capture(shop, declined.payment.id, 100)
    assert balances(shop) == {}


def test_3d_secure_waits_for_the_customer_then_authorises_or_declines(shop):
    waiting = shop.authorise(2500, method="tok_3ds", key="a-1")
    failing = shop.authorise(2500, method="tok_3ds_fail", key="a-2")
    assert waiting.state.status is PaymentStatus.REQUIRES_ACTION
    assert (
        waiting.next_action_url == f"https://sandbox.evbill.invalid/3ds/{waiting.payment.gateway_reference}"
    )

    confirmed = confirm_payment(
        shop.services, shop.gateway, shop.who, waiting.payment.id, idempotency_key="c-1"
    )
    refused = confirm_payment(
        shop.services, shop.gateway, shop.who, failing.payment.id, idempotency_key="c-2"
    )

    assert (confirmed.state.status, confirmed.state.authorised) == (PaymentStatus.AUTHORISED, 2500)
    assert (refused.state.status, refused.state.decline_code) == (
        PaymentStatus.DECLINED,
        "authentication_failed",
    )


def test_a_released_hold_can_no_longer_be_captured(shop):
    held = shop.authorise(5000)

    released = release_payment(
        shop.services, shop.gateway, shop.who, held.payment.id, idempotency_key="rel-1"
    )

    assert (released.state.status, released.state.released) == (PaymentStatus.RELEASED, 5000)
    with pytest.raises(PaymentRefused):
        capture(shop, held.payment.id, 100)


def test_a_repeated_request_moves_money_once(shop):
    held = shop.authorise(5000)
    again = shop.authorise(5000)  # same key "auth-1"
    capture(shop, held.payment.id, 3000, key="cap-1")

    replay = capture(shop, held.payment.id, 3000, key="cap-1")

    assert again.payment.id == held.payment.id
    assert replay.state.captured == 3000
    assert [operation for operation, _ in shop.gateway.calls] == ["authorise", "capture"]
    assert balances(shop)[f"receivable:{shop.customer_id}"] == -3000


def test_a_crash_between_the_gateway_call_and_the_commit_is_reconciled_by_the_retry(shop):
    # given a capture the gateway made, whose reply never reached the database (the process died)
    held = shop.authorise(5000)
    shop.gateway.capture(
        reference=held.payment.gateway_reference,
        amount=SettledMoney(4000, "EUR"),
        idempotency_key=f"{shop.who.operator_id}:cap-1",
    )
    # when the client retries with the same key
    retried = capture(shop, held.payment.id, 4000, key="cap-1")

    # then the gateway's stored reply is used (nothing captured twice) and the ledger has it once
    assert retried.state.captured == 4000
    assert balances(shop)["gateway_clearing:sandbox"] == 4000 - 81
    assert check_books(shop.services).ok


def test_duplicate_and_reordered_webhooks_change_nothing_and_a_lost_dispute_is_a_chargeback(shop):
    held = shop.authorise(5000, method="tok_dispute")
    capture(shop, held.payment.id, 5000)
    reference = held.payment.gateway_reference
    opened = shop.gateway.raise_dispute(reference)
    lost = shop.gateway.close_dispute(reference, won=False)

    # the loss arrives before the opening, then everything again (resent webhooks, replies' twins too)
    stored = record_gateway_events(shop.services, "sandbox", [lost, opened, *shop.gateway.events(reference)])

    assert stored == 2
    assert balances(shop) == {
        "chargeback_losses": 5000,
        "gateway_clearing:sandbox": -95,
        "gateway_fees": 95,
        f"receivable:{shop.customer_id}": -5000,
    }
    assert check_books(shop.services).ok


def test_a_card_number_is_refused_without_being_echoed_or_stored(shop, database_engine, caplog):
    with pytest.raises(InvalidInput) as refused:
        shop.authorise(5000, method="4242 4242 4242 4242")

    assert "4242" not in str(refused.value)
    assert "4242" not in caplog.text
    with database_engine.connect() as connection:
        for table in ("payments", "payment_events", "ledger_entries", "audit_log"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert "4242" not in repr(rows)


def test_the_check_names_a_payment_the_ledger_disagrees_with(shop, database_engine):
    held = shop.authorise(5000)
    capture(shop, held.payment.id, 3210)
    # an entry posted by hand against the payment, balanced but not backed by any gateway event
    with database_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_entries (id, operator_id, posted_at, cause, reference, description) "
                "VALUES ('by-hand', :op, :at, 'adjustment', :ref, 'by hand')"
            ),
            {
                "op": shop.who.operator_id,
                "at": "2026-12-01T10:00:00.000000Z",
                "ref": f"payment:{held.payment.id}",
            },
        )
        connection.execute(
            text(
                "INSERT INTO ledger_postings (operator_id, entry_id, account, currency, amount) VALUES "
                "(:op, 'by-hand', 'gateway_clearing:sandbox', 'EUR', 100), "
                "(:op, 'by-hand', 'bank', 'EUR', -100)"
            ),
            {"op": shop.who.operator_id},
        )

    report = check_books(shop.services)

    assert [finding.message for finding in report.findings] == [
        "gateway events net 3140 EUR through clearing, the ledger 3240"
    ]


@pytest.mark.postgres
def test_concurrent_captures_of_one_authorisation_exactly_one_succeeds(shop, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks under real concurrency: PostgreSQL")
    held = shop.authorise(5000)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        start.wait()
        try:
            capture(shop, held.payment.id, 1000 + number, key=f"cap-{number}")
            outcomes.append("captured")
        except PaymentRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["captured"] + ["refused"] * 5
    assert [operation for operation, _ in shop.gateway.calls].count("capture") == 1
    assert (
        sum(1 for line in queries.journal(shop.services, shop.who, after=None, limit=50)) == 2
    )  # capture, fee
    assert check_books(shop.services).ok


@pytest.mark.postgres
def test_concurrent_payments_of_one_session_never_take_more_than_its_price(shop, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks under real concurrency: PostgreSQL")
    # Given a session of 10.00 EUR and six payments of 6.00 asked for it at once
    operator_id = shop.who.operator_id
    store_session(shop.services, operator_id, "s-10", customer_id=shop.customer_id, total_incl_vat_minor=1000)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        start.wait()
        try:
            authorise_payment(
                shop.services, shop.gateway, shop.who, customer_id=shop.customer_id,
                purpose=PaymentPurpose.SESSION, subject="session:s-10", amount=SettledMoney(600, "EUR"),
                payment_method="tok_visa", idempotency_key=f"pay-{number}",
            )  # fmt: skip
            outcomes.append("authorised")
        except InvalidInput as refused:
            outcomes.append("refused at " + " ".join(problem.path for problem in refused.problems))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one hold is placed, and the gateway asked once: the others saw it and were refused
    assert sorted(outcomes) == ["authorised"] + ["refused at $.amount"] * 5
    assert [operation for operation, _ in shop.gateway.calls].count("authorise") == 1
    with shop.services.uow(read_only=True) as uow:
        assert session_taken(uow, operator_id, "s-10") == 600


def test_a_retry_after_the_webhook_stored_the_capture_is_replayed_not_refused(shop):
    # given a capture the gateway made, whose reply never reached the database (the process died),
    # and the gateway's webhook for it, which got there first and stored the capture
    held = shop.authorise(5000)
    shop.gateway.capture(
        reference=held.payment.gateway_reference,
        amount=SettledMoney(4000, "EUR"),
        idempotency_key=f"{shop.who.operator_id}:cap-1",
    )
    assert (
        record_gateway_events(shop.services, "sandbox", shop.gateway.events(held.payment.gateway_reference))
        == 2
    )

    # when the client retries with the same key
    retried = capture(shop, held.payment.id, 4000, key="cap-1")

    # then it gets the capture as stored (no 409), nothing moves again: 40.00 captured, fee
    # 1.4 % x 40.00 + 0.25 = 0.56 + 0.25 = 0.81, once
    assert (retried.state.status, retried.state.captured, retried.state.fees) == (
        PaymentStatus.CAPTURED,
        4000,
        81,
    )
    assert [operation for operation, _ in shop.gateway.calls] == ["authorise", "capture"]
    assert balances(shop)["gateway_clearing:sandbox"] == 4000 - 81
    # and another request (another key) is still refused
    with pytest.raises(PaymentRefused, match="cannot capture a payment that is captured"):
        capture(shop, held.payment.id, 4000, key="cap-2")


def test_a_webhook_naming_another_operators_key_gives_no_replay(shop):
    # the key on a gateway event counts only under the payment's own operator prefix
    held = shop.authorise(5000)
    shop.gateway.capture(
        reference=held.payment.gateway_reference,
        amount=SettledMoney(4000, "EUR"),
        idempotency_key="other:cap-1",
    )
    record_gateway_events(shop.services, "sandbox", shop.gateway.events(held.payment.gateway_reference))

    with pytest.raises(PaymentRefused):
        capture(shop, held.payment.id, 4000, key="cap-1")


# --- a capture holds no transaction over the gateway call (intent, commit, call, record) ---------------


def in_flight(shop: Shop, payment_id: str):
    with shop.services.uow(read_only=True) as uow:
        return uow.payments.in_flight(shop.who.operator_id, payment_id)


def test_a_capture_is_noted_in_flight_and_committed_before_the_gateway_is_called(shop, monkeypatch):
    held = shop.authorise(5000)
    seen = []
    gateway_capture = shop.gateway.capture

    def watched(**call):
        # another unit of work, as another process would see the database while the gateway works
        seen.append(in_flight(shop, held.payment.id))
        return gateway_capture(**call)

    monkeypatch.setattr(shop.gateway, "capture", watched)

    captured = capture(shop, held.payment.id, 4000, key="cap-1")

    assert [(m.idempotency_key, m.operation) for m in seen] == [("cap-1", "capture")]
    assert (captured.state.status, captured.state.captured) == (PaymentStatus.CAPTURED, 4000)
    assert in_flight(shop, held.payment.id) is None  # recorded: nothing in flight any more
    assert check_books(shop.services).ok


def test_a_crash_after_the_intent_is_committed_blocks_other_requests_until_its_retry(shop, monkeypatch):
    # Given a capture whose process dies after the gateway captured, before the answer was recorded
    held = shop.authorise(5000)
    gateway_capture = shop.gateway.capture

    def captured_then_killed(**call):
        gateway_capture(**call)
        raise RuntimeError("killed")

    monkeypatch.setattr(shop.gateway, "capture", captured_then_killed)
    with pytest.raises(RuntimeError, match="killed"):
        capture(shop, held.payment.id, 4000, key="cap-1")
    monkeypatch.undo()
    assert in_flight(shop, held.payment.id).idempotency_key == "cap-1"

    # When another request tries to move the payment meanwhile: refused, the gateway not called
    with pytest.raises(PaymentRefused, match="a capture of this payment is with the gateway"):
        capture(shop, held.payment.id, 1000, key="cap-2")
    with pytest.raises(PaymentRefused, match="with the gateway"):
        release_payment(shop.services, shop.gateway, shop.who, held.payment.id, idempotency_key="rel-1")
    # And the first request is retried with its key: the gateway answers it as before
    retried = capture(shop, held.payment.id, 4000, key="cap-1")

    # Then 40.00 is captured once (fee 0.81 once) and nothing is in flight
    assert (retried.state.captured, retried.state.fees) == (4000, 81)
    assert [call for call in shop.gateway.calls if call[0] == "capture"] == [
        ("capture", f"{shop.who.operator_id}:cap-1"),
        ("capture", f"{shop.who.operator_id}:cap-1"),  # the retry: answered from the first reply
    ]
    assert balances(shop)["gateway_clearing:sandbox"] == 4000 - 81
    assert in_flight(shop, held.payment.id) is None
    assert check_books(shop.services).ok


def test_a_capture_the_gateway_refuses_leaves_nothing_in_flight(shop):
    held = shop.authorise(5000)
    shop.gateway.release(reference=held.payment.gateway_reference, idempotency_key="at-the-gateway")

    with pytest.raises(PaymentRefused, match="the sandbox refuses to capture"):
        capture(shop, held.payment.id, 4000, key="cap-1")

    # nothing moved: the payment is free for the next request, which the gateway answers itself
    assert in_flight(shop, held.payment.id) is None
    with pytest.raises(PaymentRefused, match="the sandbox refuses to capture"):
        capture(shop, held.payment.id, 4000, key="cap-2")


def _wallet_of(shop: Shop, minor_units: int) -> str:
    wallet = wallets.create_wallet(
        shop.services, shop.who, customer_id=shop.customer_id, currency="EUR"
    ).wallet
    wallets.top_up_wallet(
        shop.services, shop.gateway, shop.who, wallet.id, amount=minor_units, payment_method="tok_visa",
        idempotency_key="top-up",
    )  # fmt: skip
    return wallet.id


def _spend(shop: Shop, wallet_id: str, session_id: str, minor_units: int, key: str) -> wallets.WalletView:
    return wallets.pay_from_wallet(
        shop.services, shop.who, wallet_id, amount=minor_units, receivable=f"session:{session_id}",
        idempotency_key=key,
    )  # fmt: skip


def test_wallet_spends_count_with_card_payments_towards_a_sessions_price(shop):
    # Given a session of 10.00 EUR, a hold of 4.00 on a card and a wallet of 50.00 (tester: wallet
    # spends of one session were each checked alone, and 3.01 was taken for a 0.42 session)
    operator_id = shop.who.operator_id
    store_session(shop.services, operator_id, "s-w", customer_id=shop.customer_id, total_incl_vat_minor=1000)
    wallet_id = _wallet_of(shop, 5000)
    authorise_payment(
        shop.services, shop.gateway, shop.who, customer_id=shop.customer_id,
        purpose=PaymentPurpose.SESSION, subject="session:s-w", amount=SettledMoney(400, "EUR"),
        payment_method="tok_visa", idempotency_key="card",
    )  # fmt: skip

    # When 5.00 is spent from the wallet, the same spend is sent again, and 2.00 more is asked
    spent = _spend(shop, wallet_id, "s-w", 500, "spend-1")
    again = _spend(shop, wallet_id, "s-w", 500, "spend-1")
    with pytest.raises(InvalidInput) as more:
        _spend(shop, wallet_id, "s-w", 200, "spend-2")

    # Then the retry moved nothing, and 2.00 is refused with what is taken and what is left
    assert spent.balance == again.balance == 4500
    [problem] = more.value.problems
    assert (problem.path, problem.message) == (
        "$.amount",
        "2.00 EUR is more than is left to pay of session 's-w': 9.00 EUR of its price of 10.00 EUR is paid "
        "or held already, 1.00 EUR is left",
    )
    # and a card cannot take more than the 1.00 left either
    with pytest.raises(InvalidInput):
        authorise_payment(
            shop.services, shop.gateway, shop.who, customer_id=shop.customer_id,
            purpose=PaymentPurpose.SESSION, subject="session:s-w", amount=SettledMoney(101, "EUR"),
            payment_method="tok_visa", idempotency_key="card-2",
        )  # fmt: skip

    # When 3.00 of the spend goes back into the wallet, 4.00 fits (4.00 + 2.00 + 4.00 = 10.00)
    spend_id = next(t.id for t in wallets.get_wallet(shop.services, shop.who, wallet_id).transactions
                    if t.kind.value == "spend")  # fmt: skip
    wallets.refund_to_wallet(
        shop.services,
        shop.who,
        wallet_id,
        amount=300,
        spend_id=spend_id,
        reason="partly",
        idempotency_key="back",
    )
    after = _spend(shop, wallet_id, "s-w", 400, "spend-3")
    assert after.balance == 5000 - 500 + 300 - 400
    with shop.services.uow(read_only=True) as uow:
        assert session_taken(uow, operator_id, "s-w") == 1000


def test_concurrent_wallet_spends_and_card_payments_of_one_session_never_take_more_than_its_price(
    shop, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks under real concurrency: PostgreSQL")
    # Given a session of 10.00 EUR, a wallet of 50.00, and three spends and three card payments of
    # 6.00 asked for it at once
    operator_id = shop.who.operator_id
    store_session(
        shop.services, operator_id, "s-10w", customer_id=shop.customer_id, total_incl_vat_minor=1000
    )
    wallet_id = _wallet_of(shop, 5000)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        start.wait()
        try:
            if number % 2:
                _spend(shop, wallet_id, "s-10w", 600, f"spend-{number}")
            else:
                authorise_payment(
                    shop.services, shop.gateway, shop.who, customer_id=shop.customer_id,
                    purpose=PaymentPurpose.SESSION, subject="session:s-10w", amount=SettledMoney(600, "EUR"),
                    payment_method="tok_visa", idempotency_key=f"pay-{number}",
                )  # fmt: skip
            outcomes.append("taken")
        except InvalidInput as refused:
            outcomes.append("refused at " + " ".join(problem.path for problem in refused.problems))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one of them took 6.00; the others saw it and were refused
    assert outcomes.count("taken") == 1, outcomes
    assert sorted(set(outcomes) - {"taken"}) <= ["refused at $.amount", "refused at $.receivable"]
    with shop.services.uow(read_only=True) as uow:
        assert session_taken(uow, operator_id, "s-10w") == 600
