"""Hypothesis: after any sequence of payment and wallet operations, the ledger balances and reconciles."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.ledger import queries
from evbill.application.payments import wallets
from evbill.application.payments.payments import (
    authorise_payment,
    capture_payment,
    record_gateway_events,
    refund_payment,
    release_payment,
)
from evbill.application.payments.reconciliation import check_books
from evbill.domain.errors import Conflict, DomainError
from evbill.domain.money import SettledMoney
from evbill.domain.payments.model import PaymentPurpose
from tests.support import store_session

AMOUNTS = st.integers(1, 10_000)
SLOT = st.integers(0, 3)
OPERATIONS = st.one_of(
    st.tuples(st.just("authorise"), AMOUNTS, st.sampled_from(["tok_visa", "tok_dispute", "tok_declined"])),
    st.tuples(st.just("capture"), SLOT, AMOUNTS),
    st.tuples(st.just("refund"), SLOT, AMOUNTS),
    st.tuples(st.just("release"), SLOT),
    st.tuples(st.just("dispute"), SLOT, st.booleans()),
    st.tuples(st.just("top_up"), AMOUNTS),
    st.tuples(st.just("spend"), AMOUNTS),
    st.tuples(st.just("wallet_refund"), AMOUNTS),
)
counter = itertools.count()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OPERATIONS, max_size=12))
def test_any_sequence_of_payment_operations_keeps_the_ledger_balanced_and_reconciled(shop, operations):
    services = shop.services
    operator = create_operator(services, name="Inv", legal_name="Inv", country="NL", default_currency="EUR")
    who = platform_actor(operator.id)
    gateway = SandboxGateway(services.clock.now)
    store_session(services, operator.id, operator.id)  # the session the card payments pay (no customer)
    wallet = wallets.create_wallet(services, who, customer_id=_customer(shop, who), currency="EUR").wallet
    payments: list[str] = []
    for operation in operations:
        key = f"k-{next(counter)}"
        try:
            _run(services, gateway, who, wallet.id, payments, operation, key)
        except (Conflict, DomainError):
            pass  # refused operations move nothing: that is part of what is checked

    report = check_books(services, operator_ids=[operator.id])
    assert report.ok, [str(finding) for finding in report.findings]
    assert set(queries.trial_balance(services, who).totals.values()) <= {0}


def _customer(shop, who) -> str:
    from evbill.application.offers.customers import create_customer

    fields = {"kind": "INDIVIDUAL", "name": "Hyp", "language": "nl", "currency": "EUR", "country": "NL"}
    return create_customer(shop.services, who, fields).id


def _run(services, gateway, who, wallet_id, payments, operation, key):
    name, *arguments = operation
    if name == "authorise":
        amount, method = arguments
        view = authorise_payment(
            services, gateway, who, customer_id=None, purpose=PaymentPurpose.SESSION,
            subject=f"session:{who.operator_id}", amount=SettledMoney(amount, "EUR"), payment_method=method,
            idempotency_key=key,
        )  # fmt: skip
        payments.append(view.payment.id)
        return
    if name in {"capture", "refund", "release", "dispute"}:
        if arguments[0] >= len(payments):
            return
        payment_id = payments[arguments[0]]
        if name == "capture":
            capture_payment(services, gateway, who, payment_id, amount=arguments[1], idempotency_key=key)
        elif name == "refund":
            refund_payment(services, gateway, who, payment_id, amount=arguments[1], idempotency_key=key)
        elif name == "release":
            release_payment(services, gateway, who, payment_id, idempotency_key=key)
        else:
            with services.uow(read_only=True) as uow:
                reference = uow.payments.get(who.operator_id, payment_id).gateway_reference
            events = [gateway.raise_dispute(reference), gateway.close_dispute(reference, won=arguments[1])]
            record_gateway_events(services, gateway.name, events)
        return
    amount = arguments[0]
    if name == "top_up":
        wallets.top_up_wallet(
            services, gateway, who, wallet_id, amount=amount, payment_method="tok_visa", idempotency_key=key
        )
    elif name == "spend":
        wallets.pay_from_wallet(
            services, who, wallet_id, amount=amount, receivable=f"session:{who.operator_id}",
            idempotency_key=key,
        )  # fmt: skip
    else:  # a refund of the latest spend (refused when there is none, or above what is left of it)
        spends = [
            t.id for t in wallets.get_wallet(services, who, wallet_id).transactions if t.kind.value == "spend"
        ]
        wallets.refund_to_wallet(
            services, who, wallet_id, amount=amount, spend_id=(spends or ["none"])[-1], reason="goodwill",
            idempotency_key=key,
        )  # fmt: skip
