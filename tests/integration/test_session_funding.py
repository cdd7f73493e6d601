"""Paying a finished session by card on file or from a prepaid wallet, on SQLite and PostgreSQL.

The world is the OCPP e2e seed (conftest ``seed``): EUR 0.35 start + 0.39/kWh, 21 % VAT; token
``04A1B2C3D4``'s customer pays by CARD_ON_FILE. A second driver (token ``WALLET-1``) pays from a
prepaid wallet. Sessions of 10 kWh cost 0.35 + 3.90 = 4.25, x 1.21 = 5.1425 -> 5.14 incl. VAT.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbill.adapters.mail.smtp import MemoryMailer
from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import platform_actor
from evbill.application.charging.pricing import record_session
from evbill.application.collection.session_receipts import ReceiptsPerSession
from evbill.application.collection.setup import save_customer_card
from evbill.application.offers.customers import TOKENS, authorize, create_customer
from evbill.application.offers.plans import create_contract
from evbill.application.payments.adhoc import PayAtCharger
from evbill.application.payments.reconciliation import check_books
from evbill.application.payments.session_funding import (
    set_wallet_reload,
    settle_session,
    spending_limit,
)
from evbill.application.payments.wallets import create_wallet, get_wallet, top_up_wallet
from evbill.application.records import create
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.errors import InvalidInput, NotFound
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.payments.adhoc import CommandAnswer
from tests.billing_data import save_seller
from tests.e2e.ocpp.conftest import TOKEN, seed
from tests.integration.payments_support import paid_at

WALLET_TOKEN = "WALLET-1"


class NoStations:
    def remote_start(self, *, charge_point_id: str, evse_number: int, id_tag: str) -> CommandAnswer:
        return CommandAnswer.NOT_CONNECTED

    def remote_stop(self, *, charge_point_id: str, transaction_id: str) -> CommandAnswer:
        return CommandAnswer.NOT_CONNECTED


@dataclass
class World:
    pay: PayAtCharger
    gateway: SandboxGateway
    admin: Actor
    evse_id: str
    card_customer: str
    wallet_customer: str
    container: Container
    mailer: MemoryMailer

    def session(self, token: str, kwh: int = 10) -> ChargingSession:
        started = self.pay.services.clock.now() + timedelta(minutes=1)  # under the contracts begun now
        samples = [
            MeterSample(started, energy=Decimal(1_000_000)),
            MeterSample(started + timedelta(hours=1), energy=Decimal(1_000_000 + kwh * 1000)),
        ]
        return record_session(
            self.pay.services, self.admin, evse_id=self.evse_id, token_uid=token, started_at=started,
            ended_at=started + timedelta(hours=1), samples=samples,
        ).session  # fmt: skip


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    yield from make_world(database_url)


def make_world(database_url: str) -> Iterator[World]:
    """The world of these tests (also ``test_session_receipts``'): built, yielded, disposed."""
    container = bootstrap(Settings(database_url=database_url))
    services = container.services
    operator_id, station_id = seed(container, f"CP-FUND-{secrets.token_hex(2)}")
    admin = platform_actor(operator_id)
    save_seller(services, operator_id)  # receipts are issued at each paid session's end
    with services.uow() as uow:
        evse = uow.evses.list(operator_id, filters={"station_id": station_id}, after=None, limit=1)[0]
        card_customer = uow.tokens.find_by_uid(operator_id, TOKEN).customer_id  # type: ignore[union-attr]
        plan_id = uow.plans.list(operator_id, filters={}, after=None, limit=1)[0].id
    wallet_customer = create_customer(
        services, admin,
        {"kind": "INDIVIDUAL", "name": "Wallet", "language": "nl", "currency": "EUR", "country": "NL"},
    )  # fmt: skip
    create(services, admin, TOKENS, {"customer_id": wallet_customer.id, "uid": WALLET_TOKEN, "type": "RFID",
                                     "contract_id": "NL-EVB-C0002", "status": "ACTIVE"})  # fmt: skip
    create_contract(
        services, admin, customer_id=wallet_customer.id, start=services.clock.now(), end=None,
        activate=True,
        terms={"plan_id": plan_id, "billing_cycle": "MONTHLY", "payment_method": "PREPAID_WALLET",
               "payment_due_days": 14, "grace_days": 7, "credit_limit_minor": None},
    )  # fmt: skip
    gateway = SandboxGateway(services.clock.now)
    mailer = MemoryMailer()
    receipts = ReceiptsPerSession(services, mailer, container.documents)  # as bootstrap wires it
    yield World(
        PayAtCharger(services, gateway, NoStations(), receipts=receipts),
        gateway,
        admin,
        evse.id,
        card_customer,
        wallet_customer.id,
        container,
        mailer,
    )
    container.dispose()


def session_payments(world: World, session_id: str) -> list[tuple[str, int]]:
    with world.pay.services.uow(read_only=True) as uow:
        payments = uow.payments.list(world.admin.operator_id, after=None, limit=200)
    return [(p.subject, p.amount) for p in payments if p.subject == f"session:{session_id}"]


def test_a_card_on_file_is_charged_each_session_once(world: World) -> None:
    # Given the card customer's token on file, with "charge each session"
    save_customer_card(
        world.pay.services,
        world.admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=True,
    )
    session = world.session(TOKEN)

    # When the session is settled, and settled again (a retry, a second stop message)
    first = settle_session(world.pay, world.admin.operator_id, session.id)
    again = settle_session(world.pay, world.admin.operator_id, session.id)

    # Then 5.14 is charged once: one hold and one capture at the gateway
    assert session.total_incl_vat_minor == 514
    assert first == "card on file: captured 514"
    assert again == "card on file: captured 514"
    assert session_payments(world, session.id) == [(f"session:{session.id}", 514)]
    assert [operation for operation, _ in world.gateway.calls] == ["authorise", "capture"]
    assert check_books(world.pay.services, operator_ids=[world.admin.operator_id]).findings == ()


def test_a_card_on_file_without_charge_sessions_is_left_to_the_invoice(world: World) -> None:
    save_customer_card(
        world.pay.services,
        world.admin,
        world.card_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=False,
    )
    session = world.session(TOKEN)

    assert settle_session(world.pay, world.admin.operator_id, session.id) is None
    assert session_payments(world, session.id) == []


def test_a_card_number_is_never_stored_as_a_card_on_file(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        save_customer_card(
            world.pay.services,
            world.admin,
            world.card_customer,
            gateway="sandbox",
            payment_method="4242 4242 4242 4242",
            charge_sessions=True,
        )
    assert "4242" not in str(refused.value)
    with pytest.raises(NotFound):
        save_customer_card(
            world.pay.services,
            world.admin,
            "nobody",
            gateway="sandbox",
            payment_method="tok_visa",
            charge_sessions=True,
        )


def test_a_wallet_pays_the_session_reloads_under_its_threshold_and_reconciles(world: World) -> None:
    services, admin = world.pay.services, world.admin
    # Given an empty wallet: the driver's token is refused (nothing above the minimum balance)
    wallet = create_wallet(services, admin, customer_id=world.wallet_customer, currency="EUR").wallet
    refused = authorize(services, admin, WALLET_TOKEN).status
    # And topped up by 10.00, with a rule: below 5.00, reload 20.00 from the card on file
    top_up_wallet(services, world.gateway, admin, wallet.id, amount=1000, payment_method="tok_visa",
                  idempotency_key="top-up-1")  # fmt: skip
    save_customer_card(
        services,
        admin,
        world.wallet_customer,
        gateway="sandbox",
        payment_method="tok_visa",
        charge_sessions=False,
    )
    set_wallet_reload(services, admin, wallet.id, threshold=500, amount=2000)
    accepted = authorize(services, admin, WALLET_TOKEN).status
    session = world.session(WALLET_TOKEN)

    # When the 5.14 session is settled (twice)
    limit = spending_limit(services, session)
    paid = settle_session(world.pay, admin.operator_id, session.id)
    settle_session(world.pay, admin.operator_id, session.id)

    # Then 10.00 - 5.14 = 4.86 is below 5.00: 20.00 reloaded, 24.86 in the wallet
    assert (refused, accepted) == (AuthorizationStatus.BLOCKED, AuthorizationStatus.ACCEPTED)
    assert limit == 1000
    assert paid == "wallet: paid 514 of 514; reloaded 2000: captured, balance 2486"
    view = get_wallet(services, admin, wallet.id)
    assert view.balance == 2486
    assert [(t.kind.value, t.amount) for t in view.transactions] == [
        ("top_up", 1000), ("spend", -514), ("top_up", 2000),
    ]  # fmt: skip
    assert check_books(services, operator_ids=[admin.operator_id]).findings == ()


def test_a_wallet_short_of_the_price_pays_what_it_holds_above_its_minimum(world: World) -> None:
    services, admin = world.pay.services, world.admin
    wallet = create_wallet(
        services, admin, customer_id=world.wallet_customer, currency="EUR", minimum_balance=100
    ).wallet
    top_up_wallet(services, world.gateway, admin, wallet.id, amount=400, payment_method="tok_visa",
                  idempotency_key="top-up-2")  # fmt: skip
    session = world.session(WALLET_TOKEN)

    paid = settle_session(world.pay, admin.operator_id, session.id)

    # 4.00 held, 1.00 must stay: 3.00 paid of 5.14 (2.14 stays owed on the receivable)
    assert paid == "wallet: paid 300 of 514"
    assert get_wallet(services, admin, wallet.id).balance == 100


class AcceptingStations(NoStations):
    def remote_start(self, *, charge_point_id: str, evse_number: int, id_tag: str) -> CommandAnswer:
        return CommandAnswer.ACCEPTED


class Later:
    """A clock ``offset`` ahead of the real one."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_payments_left_unfinished_by_a_crash_are_finished_by_settle_due(world: World) -> None:
    from dataclasses import replace

    from evbill.application.charging import central_system
    from evbill.application.payments.adhoc import get_adhoc, settle_due, start_adhoc
    from evbill.domain.payments.adhoc import AdhocStatus

    services = world.pay.services
    pay = replace(world.pay, commands=AcceptingStations())
    with services.uow(read_only=True) as uow:
        station_id = uow.evses.get(world.admin.operator_id, world.evse_id).station_id  # type: ignore[union-attr]
    context = central_system.station_context(services, world.admin.operator_id, station_id)
    # Given a start the station accepted and began, and another it accepted and never began
    begun = start_adhoc(pay, world.evse_id, payment_method="tok_visa", idempotency_key="crash-1").start
    begin = services.clock.now() - timedelta(hours=1)
    paid_at(services, begun, begin)
    central_system.start_transaction(
        services, context, evse_number=1, id_token=begun.id_tag, started_at=begin, transaction_id="CRASH-1",
        start_key=None, samples=[MeterSample(begin, energy=Decimal(0))], frames=[],
    )  # fmt: skip
    # And the session stopped (10 kWh: 5.14), but the process died before it settled the payment
    central_system.end_transaction(
        services, context, transaction_id="CRASH-1", ended_at=begin + timedelta(hours=1), reason="Local",
        samples=[MeterSample(begin + timedelta(hours=1), energy=Decimal(10_000))], frames=[],
    )  # fmt: skip
    assert get_adhoc(services, world.evse_id, begun.id).start.status is AdhocStatus.CHARGING
    _, other_evse = _second_evse(world, "CP-SECOND")
    never = start_adhoc(pay, other_evse, payment_method="tok_visa", idempotency_key="crash-2").start
    # And a driver who left 3-D Secure undone at a third EVSE
    _, third_evse = _second_evse(world, "CP-THIRD")
    left = start_adhoc(pay, third_evse, payment_method="tok_3ds", idempotency_key="crash-3").start

    # When settle_due runs now (the never-begun start is not due yet), then past its deadline
    now = settle_due(pay)
    later = settle_due(replace(pay, services=replace(services, clock=Later(timedelta(minutes=3)))))
    again = settle_due(pay)
    much_later = settle_due(replace(pay, services=replace(services, clock=Later(timedelta(minutes=11)))))
    next_driver = start_adhoc(pay, third_evse, payment_method="tok_visa", idempotency_key="crash-4").start

    # Then the stopped session is captured (5.14) once, the other hold released, and nothing is left
    assert [(v.start.id, v.start.status, v.start.captured) for v in now] == [
        (begun.id, AdhocStatus.FINISHED, 514)
    ]
    assert [(v.start.id, v.start.status, v.payment.state.status.value) for v in later] == [  # type: ignore[union-attr]
        (never.id, AdhocStatus.FAILED, "released")
    ]
    assert again == []
    # the abandoned 3-D Secure frees the EVSE after 10 minutes: its hold released, the next driver starts
    assert [(v.start.id, v.start.failure, v.payment.state.status.value) for v in much_later] == [  # type: ignore[union-attr]
        (left.id, "3-D Secure was not completed in time", "released")
    ]
    assert next_driver.status is AdhocStatus.STARTING
    operations = [operation for operation, _ in world.gateway.calls]
    assert operations == ["authorise", "authorise", "authorise", "capture", "release", "release", "authorise"]
    assert check_books(services, operator_ids=[world.admin.operator_id]).findings == ()


def _second_evse(world: World, charge_point_id: str) -> tuple[str, str]:
    from tests.e2e.ocpp.conftest import add_station

    services = world.pay.services
    with services.uow(read_only=True) as uow:
        location_id = uow.locations.list(world.admin.operator_id, filters={}, after=None, limit=1)[0].id
    station_id = add_station(
        world.container, world.admin.operator_id, location_id, charge_point_id, "ocpp1.6"
    )
    with services.uow(read_only=True) as uow:
        evse = uow.evses.list(
            world.admin.operator_id, filters={"station_id": station_id}, after=None, limit=1
        )[0]
    return station_id, evse.id
