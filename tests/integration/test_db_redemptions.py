"""Promotions given to customers and redeemed by contracts, on SQLite and PostgreSQL: a redemption is
recorded once per (promotion, contract, cycle start), and the limits hold when billing runs race: of
ten contracts redeeming a promotion with three redemptions left, exactly three get it, the others a
Conflict, and exactly three rows are stored. Also: a database holding sessions migrates to 0002 and
back without losing them."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from evbill.adapters.db import migrate
from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.offers import tables as offer_tables
from evbill.adapters.db.records import SESSIONS
from evbill.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from evbill.application.ports import RedemptionCounts
from evbill.domain.errors import Conflict
from tests.integration.db_billing_records import (
    DECEMBER,
    NOVEMBER,
    a_contract,
    a_customer,
    a_promotion,
    a_redemption,
)
from tests.integration.db_records import CREATED, a_session, an_operator, given_site

RACERS = 10


@pytest.fixture
def operator_id(uow_factory) -> str:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        uow.commit()
    return operator.id


def _given(uow_factory, operator_id, *, contracts=1, **promotion_fields):
    """A promotion and ``contracts`` contracts, each of its own customer, stored."""
    promotion = a_promotion(operator_id, **promotion_fields)
    customers = [a_customer(operator_id) for _ in range(contracts)]
    agreements = [a_contract(operator_id, customer.id) for customer in customers]
    with uow_factory() as uow:
        uow.promotions.add(promotion)
        for customer, contract in zip(customers, agreements, strict=True):
            uow.customers.add(customer)
            uow.contracts.add(contract)
        uow.commit()
    return promotion, agreements


def _record(uow_factory, redemption, *, max_redemptions=None, per_customer_limit=None) -> bool:
    with uow_factory() as uow:
        recorded = uow.redemptions.record(
            redemption, max_redemptions=max_redemptions, per_customer_limit=per_customer_limit
        )
        uow.commit()
    return recorded


def _stored_redemptions(database_engine, promotion_id) -> int:
    with database_engine.connect() as connection:
        query = select(func.count()).where(offer_tables.redemptions.c.promotion_id == promotion_id)
        return int(connection.scalar(query))


class TestCustomerPromotions:
    def test_a_promotion_is_given_once_and_listed_in_the_order_given(self, uow_factory, operator_id):
        customer = a_customer(operator_id)
        later, earlier = a_promotion(operator_id), a_promotion(operator_id, code=None)
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.promotions.add(later)
            uow.promotions.add(earlier)
            given = [
                uow.customer_promotions.add(operator_id, customer.id, later.id, DECEMBER),
                uow.customer_promotions.add(operator_id, customer.id, earlier.id, NOVEMBER),
                uow.customer_promotions.add(operator_id, customer.id, later.id, NOVEMBER),  # again
            ]
            uow.commit()

        with uow_factory() as uow:
            assert uow.customer_promotions.of_customer(operator_id, customer.id) == [earlier.id, later.id]
            assert uow.customer_promotions.of_customer("another-operator", customer.id) == []
            # the unit of work is still usable after a repeated gift (nothing was aborted)
            assert uow.customer_promotions.add(operator_id, customer.id, later.id, DECEMBER) is False

        assert given == [True, True, False]

    def test_an_unknown_customer_or_promotion_is_a_conflict(self, uow_factory, operator_id):
        customer, promotion = a_customer(operator_id), a_promotion(operator_id)
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.promotions.add(promotion)
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.customer_promotions.add(operator_id, customer.id, "no-such-promotion", NOVEMBER)

        assert raised.value.message == (
            "promotion_id 'no-such-promotion' does not refer to a promotion of this operator"
        )


class TestRedemptions:
    def test_a_cycle_is_recorded_once_and_counted(self, uow_factory, operator_id):
        # given a promotion redeemed by one contract for November
        promotion, (contract, other) = _given(uow_factory, operator_id, contracts=2)
        november = a_redemption(promotion, contract, free_kwh_used=Decimal("12.5"))

        # when the cycle is billed twice, and December once
        first = _record(uow_factory, november)
        again = _record(uow_factory, replace(november, id=a_redemption(promotion, contract).id))
        december = a_redemption(promotion, contract, cycle_start=DECEMBER, free_kwh_used=Decimal("7.250"))
        _record(uow_factory, december)
        _record(uow_factory, a_redemption(promotion, other, free_kwh_used=Decimal("99")))

        # then November was stored once, and the counts say so
        assert (first, again) == (True, False)
        with uow_factory() as uow:
            assert uow.redemptions.of_contract_cycle(operator_id, contract.id, NOVEMBER) == [november]
            counts = uow.redemptions.counts(operator_id, promotion.id, contract.customer_id, contract.id)
            unused = uow.redemptions.counts(operator_id, promotion.id, "nobody", "no-contract")
            elsewhere = uow.redemptions.counts(
                "another-operator", promotion.id, contract.customer_id, contract.id
            )
        assert counts == RedemptionCounts(
            total=3, customer=2, contract_cycles=2, free_kwh_used=Decimal("19.750")
        )
        assert repr(counts.free_kwh_used) == "Decimal('19.750')"
        assert unused == RedemptionCounts(total=3, customer=0, contract_cycles=0, free_kwh_used=Decimal(0))
        assert elsewhere == RedemptionCounts(total=0, customer=0, contract_cycles=0, free_kwh_used=Decimal(0))

    def test_a_redemption_keeps_its_exact_amounts(self, uow_factory, operator_id):
        promotion, (contract,) = _given(uow_factory, operator_id)
        redemption = a_redemption(
            promotion, contract, discount_excl_vat=Decimal("4.8148144200"), free_kwh_used=Decimal("100.000")
        )
        _record(uow_factory, redemption)

        with uow_factory() as uow:
            (stored,) = uow.redemptions.of_contract_cycle(operator_id, contract.id, NOVEMBER)

        assert stored == redemption
        assert (repr(stored.discount_excl_vat), repr(stored.free_kwh_used)) == (
            "Decimal('4.8148144200')",
            "Decimal('100.000')",
        )

    def test_the_limits_refuse_one_more_and_store_nothing(self, uow_factory, database_engine, operator_id):
        # given a promotion redeemed twice, once per customer
        promotion, contracts = _given(uow_factory, operator_id, contracts=3)
        for contract in contracts[:2]:
            assert _record(uow_factory, a_redemption(promotion, contract), max_redemptions=2)

        # when a third contract redeems it, or the first one again in December
        with pytest.raises(Conflict) as total:
            _record(uow_factory, a_redemption(promotion, contracts[2]), max_redemptions=2)
        with pytest.raises(Conflict) as per_customer:
            _record(
                uow_factory,
                a_redemption(promotion, contracts[0], cycle_start=DECEMBER),
                per_customer_limit=1,
            )

        # then each is refused, saying which limit, and nothing more was stored
        assert total.value.message == f"promotion {promotion.id!r} has reached its 2 redemptions"
        assert per_customer.value.message == (
            f"promotion {promotion.id!r} has reached its 1 redemptions per customer "
            f"for customer {contracts[0].customer_id!r}"
        )
        assert _stored_redemptions(database_engine, promotion.id) == 2
        # and a cycle already recorded is still just "already there", whatever the limits
        assert _record(uow_factory, a_redemption(promotion, contracts[0]), max_redemptions=2) is False

    def test_another_operators_promotion_cannot_be_redeemed(self, uow_factory, operator_id):
        promotion, (contract,) = _given(uow_factory, operator_id)
        stranger = replace(a_redemption(promotion, contract), operator_id="another-operator")

        with pytest.raises(Conflict) as raised:
            _record(uow_factory, stranger)

        assert raised.value.message == (
            f"promotion_id {promotion.id!r} does not refer to a promotion of this operator"
        )


def _race(uow_factory, redemptions, **limits):
    """Record each redemption from its own thread and unit of work, all released at once."""
    start = threading.Barrier(len(redemptions))
    outcomes: list[object] = [None] * len(redemptions)

    def redeem(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = _record(uow_factory, redemptions[index], **limits)
        except Conflict as conflict:
            outcomes[index] = conflict
        except Exception as error:  # anything else is a failure the test reports
            outcomes[index] = error

    threads = [threading.Thread(target=redeem, args=(index,)) for index in range(len(redemptions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a redemption never finished"
    return outcomes


class TestConcurrentRedemptions:
    def test_ten_contracts_racing_for_three_redemptions(self, uow_factory, database_engine, operator_id):
        # given a promotion with 3 redemptions and 10 contracts about to be billed at the same moment
        promotion, contracts = _given(uow_factory, operator_id, contracts=RACERS, max_redemptions=3)
        redemptions = [a_redemption(promotion, contract) for contract in contracts]

        # when each billing run records its redemption concurrently
        outcomes = _race(uow_factory, redemptions, max_redemptions=3)

        # then exactly three succeed, the other seven are refused with a Conflict, and three rows exist
        assert [outcome for outcome in outcomes if outcome is True] == [True] * 3
        refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
        assert [conflict.message for conflict in refused] == [
            f"promotion {promotion.id!r} has reached its 3 redemptions"
        ] * (RACERS - 3)
        assert _stored_redemptions(database_engine, promotion.id) == 3
        with uow_factory() as uow:
            counts = uow.redemptions.counts(operator_id, promotion.id, "nobody", "no-contract")
        assert counts.total == 3

    def test_the_same_cycle_billed_by_racing_runs_is_recorded_once(
        self, uow_factory, database_engine, operator_id
    ):
        # given one contract's November, billed by several runs at once (each with its own redemption id)
        promotion, (contract,) = _given(uow_factory, operator_id, max_redemptions=1)
        redemptions = [a_redemption(promotion, contract) for _ in range(RACERS)]

        outcomes = _race(uow_factory, redemptions, max_redemptions=1, per_customer_limit=1)

        # then one stores it, the others learn it is already there: no error, no second row
        assert sorted(outcomes, key=str) == [False] * (RACERS - 1) + [True]
        assert _stored_redemptions(database_engine, promotion.id) == 1


class TestMigratingStoredSessions:
    def test_sessions_stored_before_0002_survive_the_upgrade_and_the_downgrade(self, empty_database_url):
        # given a database at 0001 with one session, written with the columns 0001 had
        migrate.upgrade(empty_database_url, "0001")
        engine = create_database_engine(empty_database_url)
        try:
            session = self._store_a_session_at_0001(engine)

            # when it is upgraded, then the session reads back with no customer and no price parts
            migrate.upgrade(empty_database_url)
            with SqlAlchemyUnitOfWorkFactory(engine)() as uow:
                assert uow.sessions.get(session.operator_id, session.id) == session
                assert uow.sessions.get(session.operator_id, session.id).parts == ()

            # and when it is downgraded again, the session is still there
            migrate.downgrade(empty_database_url, "0001")
            with engine.connect() as connection:
                ids = connection.execute(select(charging_tables.charging_sessions.c.id)).scalars().all()
            assert ids == [session.id]
        finally:
            engine.dispose()

    @staticmethod
    def _store_a_session_at_0001(engine):
        operator = an_operator()
        with SqlAlchemyUnitOfWorkFactory(engine)() as uow:  # operators and sites did not change in 0002
            uow.operators.add(operator)
            site = given_site(uow, operator.id)
            uow.commit()
        session = a_session(site, created_at=CREATED)
        row = SESSIONS.to_row(session)
        old_columns = {
            column.name for column in charging_tables.charging_sessions.columns if column.name in row
        }
        old_columns -= {"customer_id", "contract_id", "token_uid", "connector_class"}
        old_columns -= {"tariff_id", "price_rule", "price_reason", "parts"}
        old_columns -= {"transaction_id", "charging_s"}  # migration 0003
        with engine.begin() as connection:
            connection.execute(
                charging_tables.charging_sessions.insert(), {name: row[name] for name in old_columns}
            )
        return session
