"""Customers, tokens, plans, contracts and promotions on a real database (SQLite and PostgreSQL): every
record comes back exactly as stored (decimals digit for digit, enums, mappings, service fees), each
operator sees only its own, stale writes and duplicates are plain Conflicts, and charging sessions
keep who charged and the price parts billing needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbill.domain.charging.sessions import ChargePart
from evbill.domain.errors import Conflict, InvalidInput, NotFound, StaleVersion
from evbill.domain.offers.contracts import ContractStatus, ServiceFee
from evbill.domain.offers.customers import CustomerKind, TokenStatus
from evbill.domain.offers.plans import ConnectorClass, PlanKind
from evbill.domain.offers.promotions import PromotionKind
from evbill.domain.tariffs.model import TariffDimension
from tests.integration.db_billing_records import (
    NOVEMBER,
    SERVICES,
    a_contract,
    a_customer,
    a_plan,
    a_plan_version,
    a_promotion,
    a_token,
    contract_terms,
)
from tests.integration.db_records import a_session, an_operator, given_site

LATER = datetime(2026, 11, 20, 8, 0, 0, 1, tzinfo=UTC)


def _stored_operator(uow_factory, **changes) -> str:
    operator = an_operator(**changes)
    with uow_factory() as uow:
        uow.operators.add(operator)
        uow.commit()
    return operator.id


@pytest.fixture
def operator_id(uow_factory) -> str:
    return _stored_operator(uow_factory)


@pytest.fixture
def other_operator_id(uow_factory) -> str:
    return _stored_operator(uow_factory, name="Other CPO")


def _store(uow_factory, *pairs):
    """Add each (repository name, record) in one unit of work and commit."""
    with uow_factory() as uow:
        for repository, record in pairs:
            getattr(uow, repository).add(record)
        uow.commit()


def _ids(records):
    return [record.id for record in records]


class TestRoundTrips:
    def test_customers_and_tokens_come_back_exactly(self, uow_factory, operator_id):
        fleet = a_customer(
            operator_id, kind=CustomerKind.BUSINESS, name="Acme Fleet", vat_id="NL004495445B01"
        )
        driver = a_customer(operator_id, parent_id=fleet.id, email=None, address=None, city=None)
        card = a_token(operator_id, driver.id)
        app = a_token(operator_id, driver.id, valid_until=None, status=TokenStatus.BLOCKED)
        _store(uow_factory, ("customers", fleet), ("customers", driver), ("tokens", card), ("tokens", app))

        with uow_factory() as uow:
            assert uow.customers.get(operator_id, fleet.id) == fleet
            assert uow.customers.get(operator_id, driver.id) == driver
            assert uow.tokens.get(operator_id, card.id) == card
            assert uow.tokens.find_by_uid(operator_id, app.uid) == app
            assert uow.tokens.find_by_uid(operator_id, "no-such-uid") is None

    def test_a_plan_version_keeps_its_decimals_and_tariff_per_class(self, uow_factory, operator_id):
        plan = a_plan(operator_id)
        first = a_plan_version(operator_id, plan.id)
        second = a_plan_version(
            operator_id,
            plan.id,
            number=2,
            fee=Decimal("0"),
            fee_vat=None,
            included_kwh=None,
            included_minutes=None,
            fair_use_kwh=Decimal("1500.125"),
            tariffs={},
            created_at=None,
        )
        _store(uow_factory, ("plans", plan), ("plan_versions", second), ("plan_versions", first))

        with uow_factory() as uow:
            assert uow.plans.get(operator_id, plan.id) == plan
            stored = uow.plan_versions.of_plan(operator_id, plan.id)

        assert stored == [first, second]
        assert (repr(stored[0].fee), repr(stored[0].included_kwh)) == (
            "Decimal('9.99')",
            "Decimal('100.000')",
        )
        assert repr(stored[1].fair_use_kwh) == "Decimal('1500.125')"
        assert list(stored[0].tariffs.items()) == [
            (ConnectorClass.AC, "tariff-ac"),
            (ConnectorClass.HPC, "tariff-hpc"),
        ]
        assert all(type(key) is ConnectorClass for key in stored[0].tariffs)

    def test_contract_terms_keep_overrides_and_service_fees(self, uow_factory, operator_id):
        customer, plan = a_customer(operator_id), a_plan(operator_id)
        contract = a_contract(operator_id, customer.id, end=datetime(2027, 10, 31, 23, 0, tzinfo=UTC))
        first = contract_terms(operator_id, contract.id, plan.id)
        second = contract_terms(
            operator_id, contract.id, plan.id, number=2, overrides={}, services=(), credit_limit_minor=None
        )
        _store(
            uow_factory,
            ("customers", customer),
            ("plans", plan),
            ("contracts", contract),
            ("contract_terms", first),
            ("contract_terms", second),
        )

        with uow_factory() as uow:
            assert uow.contracts.get(operator_id, contract.id) == contract
            stored = uow.contract_terms.of_contract(operator_id, contract.id)

        assert stored == [first, second]
        assert stored[0].services == SERVICES
        assert all(type(fee) is ServiceFee for fee in stored[0].services)
        assert repr(stored[0].services[1].amount) == "Decimal('-63.75')"
        assert repr(stored[0].services[0].vat) == "Decimal('21')"
        assert list(stored[0].overrides.items()) == [(ConnectorClass.DC, "tariff-fleet-dc")]

    def test_promotions_of_every_shape_come_back_exactly(self, uow_factory, operator_id):
        coupon = a_promotion(operator_id)
        loyalty = a_promotion(
            operator_id,
            kind=PromotionKind.NTH_SESSION_FREE,
            code=None,
            discount_kind=None,
            value=None,
            cycles=None,
            nth=10,
            cap=Decimal("15.0000000000"),
            max_redemptions=None,
            per_customer_limit=None,
            exclusive=False,
            created_at=None,
            updated_at=None,
        )
        volume = a_promotion(
            operator_id,
            kind=PromotionKind.VOLUME_PRICE,
            code=None,
            threshold_kwh=Decimal("250.5"),
            price_per_kwh=Decimal("0.2150"),
            free_kwh=Decimal("25.000001"),
        )
        _store(uow_factory, ("promotions", coupon), ("promotions", loyalty), ("promotions", volume))

        with uow_factory() as uow:
            assert [uow.promotions.get(operator_id, p.id) for p in (coupon, loyalty, volume)] == [
                coupon,
                loyalty,
                volume,
            ]
            assert uow.promotions.find_by_code(operator_id, coupon.code) == coupon
            assert uow.promotions.find_by_code(operator_id, "NOPE") is None
            assert uow.promotions.get(operator_id, coupon.id).exclusive is True

        with uow_factory() as uow:
            assert repr(uow.promotions.get(operator_id, loyalty.id).cap) == "Decimal('15.0000000000')"

    @pytest.mark.parametrize("kind", ["customers", "tokens", "plans", "contracts", "promotions"])
    def test_an_update_stores_the_next_version_and_a_stale_one_is_refused(
        self, uow_factory, operator_id, kind
    ):
        customer = a_customer(operator_id)
        record = {
            "customers": customer,
            "tokens": a_token(operator_id, customer.id),
            "plans": a_plan(operator_id),
            "contracts": a_contract(operator_id, customer.id),
            "promotions": a_promotion(operator_id),
        }[kind]
        change = {
            "customers": {"name": "Anna Jansen", "email": None},
            "tokens": {"status": TokenStatus.BLOCKED, "valid_until": None},
            "plans": {"name": "Renamed", "current_version": 2},
            "contracts": {"status": ContractStatus.ENDED, "end": LATER},
            "promotions": {"value": Decimal("20"), "code": None},
        }[kind]
        pairs = [("customers", customer)] + ([] if kind == "customers" else [(kind, record)])
        _store(uow_factory, *pairs)
        updated = replace(record, **change, updated_at=LATER, version=2)

        with uow_factory() as uow:
            getattr(uow, kind).update(updated, expected_version=1)
            uow.commit()
        with uow_factory() as uow, pytest.raises(StaleVersion, match=r"\(version 2\); reload and retry"):
            getattr(uow, kind).update(replace(record, version=2), expected_version=1)

        with uow_factory() as uow:
            assert getattr(uow, kind).get(operator_id, record.id) == updated


class TestFiltersAndPages:
    def test_customers(self, uow_factory, operator_id):
        fleet = a_customer(
            operator_id, kind=CustomerKind.BUSINESS, name="Acme 100% Fleet", email="Fleet@Acme.nl"
        )
        anna = a_customer(operator_id, parent_id=fleet.id, name="Anna de Vries")
        bram = a_customer(operator_id, parent_id=fleet.id, name="Bram Acme", email=None)
        _store(uow_factory, *(("customers", c) for c in (fleet, anna, bram)))

        def ids(filters, after=None, limit=10):
            with uow_factory() as uow:
                return _ids(uow.customers.list(operator_id, filters=filters, after=after, limit=limit))

        assert ids({}) == [fleet.id, anna.id, bram.id]
        assert ids({}, after=fleet.id, limit=1) == [anna.id]
        assert ids({"kind": "BUSINESS"}) == [fleet.id]
        assert ids({"kind": CustomerKind.INDIVIDUAL}) == [anna.id, bram.id]
        assert ids({"parent_id": fleet.id}) == [anna.id, bram.id]
        assert ids({"email": "fleet@acme.NL"}) == [fleet.id]
        assert ids({"name": "acme"}) == [fleet.id, bram.id]
        assert ids({"name": "100%"}) == [fleet.id]
        assert ids({"name": None, "parent_id": None}) == [fleet.id, anna.id, bram.id]

    def test_tokens_plans_contracts_promotions(self, uow_factory, operator_id):
        anna, bram = a_customer(operator_id), a_customer(operator_id)
        card, blocked = (
            a_token(operator_id, anna.id),
            a_token(operator_id, bram.id, status=TokenStatus.BLOCKED),
        )
        basic = a_plan(operator_id, name="Basic", kind=PlanKind.PAY_PER_USE)
        flat = a_plan(operator_id, name="Flat Out", kind=PlanKind.FLAT_RATE)
        active, draft = (
            a_contract(operator_id, anna.id),
            a_contract(operator_id, bram.id, status=ContractStatus.DRAFT),
        )
        coupon = a_promotion(operator_id)
        free = a_promotion(operator_id, kind=PromotionKind.FREE_KWH, code=None, free_kwh=Decimal("50"))
        _store(
            uow_factory,
            *(("customers", c) for c in (anna, bram)),
            *(("tokens", t) for t in (card, blocked)),
            *(("plans", p) for p in (basic, flat)),
            *(("contracts", c) for c in (active, draft)),
            *(("promotions", p) for p in (coupon, free)),
        )

        def ids(kind, filters):
            with uow_factory() as uow:
                return _ids(getattr(uow, kind).list(operator_id, filters=filters, after=None, limit=10))

        assert ids("tokens", {"customer_id": bram.id}) == [blocked.id]
        assert ids("tokens", {"status": "ACTIVE"}) == [card.id]
        assert ids("tokens", {"uid": card.uid}) == [card.id]
        assert ids("plans", {"kind": PlanKind.FLAT_RATE}) == [flat.id]
        assert ids("plans", {"name": "BAS"}) == [basic.id]
        assert ids("contracts", {"customer_id": anna.id}) == [active.id]
        assert ids("contracts", {"status": "DRAFT"}) == [draft.id]
        assert ids("promotions", {"kind": "FREE_KWH"}) == [free.id]
        assert ids("promotions", {"code": coupon.code}) == [coupon.id]

    @pytest.mark.parametrize(
        ("kind", "known"),
        [
            ("customers", "email, kind, name, parent_id"),
            ("tokens", "customer_id, status, uid"),
            ("plans", "kind, name"),
            ("contracts", "customer_id, status"),
            ("promotions", "code, kind"),
        ],
    )
    def test_an_unknown_filter_is_a_programming_error(self, uow_factory, operator_id, kind, known):
        with (
            uow_factory() as uow,
            pytest.raises(ValueError, match=f"unknown filter colour for {kind}; known: {known}$"),
        ):
            getattr(uow, kind).list(operator_id, filters={"colour": "red"}, after=None, limit=10)

    def test_a_bad_enum_value_is_invalid_input(self, uow_factory, operator_id):
        with uow_factory() as uow, pytest.raises(InvalidInput) as raised:
            uow.contracts.list(operator_id, filters={"status": "PAUSED"}, after=None, limit=10)

        assert str(raised.value.problems[0]) == (
            "error: $.status: 'PAUSED' is not one of 'DRAFT', 'ACTIVE', 'SUSPENDED', 'ENDED'"
        )


class TestTenantsAndConflicts:
    def test_another_operator_sees_none_of_it(self, uow_factory, operator_id, other_operator_id):
        customer, plan = a_customer(operator_id), a_plan(operator_id)
        token, contract, promotion = (
            a_token(operator_id, customer.id),
            a_contract(operator_id, customer.id),
            a_promotion(operator_id),
        )
        _store(
            uow_factory,
            ("customers", customer),
            ("tokens", token),
            ("plans", plan),
            ("plan_versions", a_plan_version(operator_id, plan.id)),
            ("contracts", contract),
            ("contract_terms", contract_terms(operator_id, contract.id, plan.id)),
            ("promotions", promotion),
        )
        other = other_operator_id

        with uow_factory() as uow:
            for kind, record in [
                ("customers", customer),
                ("tokens", token),
                ("plans", plan),
                ("contracts", contract),
                ("promotions", promotion),
            ]:
                repository = getattr(uow, kind)
                assert repository.get(other, record.id) is None
                assert repository.list(other, filters={}, after=None, limit=10) == []
                with pytest.raises(NotFound):
                    repository.update(replace(record, operator_id=other, version=2), expected_version=1)
                with pytest.raises(NotFound):
                    repository.delete(other, record.id, expected_version=None)
            assert uow.tokens.find_by_uid(other, token.uid) is None
            assert uow.promotions.find_by_code(other, promotion.code) is None
            assert uow.plan_versions.of_plan(other, plan.id) == []
            assert uow.contract_terms.of_contract(other, contract.id) == []

    def test_records_cannot_point_at_another_operators_customer(
        self, uow_factory, operator_id, other_operator_id
    ):
        customer = a_customer(operator_id)
        _store(uow_factory, ("customers", customer))

        for kind, record in [
            ("tokens", a_token(other_operator_id, customer.id)),
            ("contracts", a_contract(other_operator_id, customer.id)),
            ("customers", a_customer(other_operator_id, parent_id=customer.id)),
        ]:
            with uow_factory() as uow, pytest.raises(Conflict) as raised:
                getattr(uow, kind).add(record)
            reference = "parent_id" if kind == "customers" else "customer_id"
            assert raised.value.message == (
                f"{reference} {customer.id!r} does not refer to a customer of this operator"
            )

    def test_duplicate_uid_name_code_and_version_number_are_conflicts(
        self, uow_factory, operator_id, other_operator_id
    ):
        customer, plan, promotion = (
            a_customer(operator_id),
            a_plan(operator_id, name="Basic"),
            a_promotion(operator_id, code="WINTER26"),
        )
        token = a_token(operator_id, customer.id, uid="04A2B3C4D5E6F7")
        other_customer = a_customer(other_operator_id)
        _store(
            uow_factory,
            ("customers", customer),
            ("tokens", token),
            ("plans", plan),
            ("plan_versions", a_plan_version(operator_id, plan.id)),
            ("promotions", promotion),
            # the same uid, name and code at another operator are fine, and so are promotions without a code
            ("customers", other_customer),
            ("tokens", a_token(other_operator_id, other_customer.id, uid="04A2B3C4D5E6F7")),
            ("plans", a_plan(other_operator_id, name="Basic")),
            ("promotions", a_promotion(other_operator_id, code="WINTER26")),
            ("promotions", a_promotion(operator_id, code=None)),
            ("promotions", a_promotion(operator_id, code=None)),
        )

        for kind, record, message in [
            (
                "tokens",
                a_token(operator_id, customer.id, uid="04A2B3C4D5E6F7"),
                "a token with uid '04A2B3C4D5E6F7' already exists",
            ),
            ("plans", a_plan(operator_id, name="Basic"), "a plan with name 'Basic' already exists"),
            (
                "promotions",
                a_promotion(operator_id, code="WINTER26"),
                "a promotion with code 'WINTER26' already exists",
            ),
            (
                "plan_versions",
                a_plan_version(operator_id, plan.id),
                f"a plan version with plan_id {plan.id!r} and number 1 already exists",
            ),
        ]:
            with uow_factory() as uow, pytest.raises(Conflict) as raised:
                getattr(uow, kind).add(record)
            assert raised.value.message == message

    def test_renaming_a_plan_to_a_taken_name_is_a_conflict(self, uow_factory, operator_id):
        basic, flat = a_plan(operator_id, name="Basic"), a_plan(operator_id, name="Flat")
        _store(uow_factory, ("plans", basic), ("plans", flat))

        with uow_factory() as uow, pytest.raises(Conflict, match="a plan with name 'Basic' already exists"):
            uow.plans.update(replace(flat, name="Basic", version=2), expected_version=1)

    def test_a_referenced_customer_or_plan_stays(self, uow_factory, operator_id):
        # given a customer with a token, another with a contract, and a plan those contract terms name
        carded, contracted, plan = a_customer(operator_id), a_customer(operator_id), a_plan(operator_id)
        contract = a_contract(operator_id, contracted.id)
        _store(
            uow_factory,
            ("customers", carded),
            ("customers", contracted),
            ("tokens", a_token(operator_id, carded.id)),
            ("plans", plan),
            ("contracts", contract),
            ("contract_terms", contract_terms(operator_id, contract.id, plan.id)),
        )

        # when each is deleted, then the database refuses and the message names what is in the way
        messages = []
        for kind, record in [("customers", carded), ("customers", contracted), ("plans", plan)]:
            with uow_factory() as uow, pytest.raises(Conflict) as raised:
                getattr(uow, kind).delete(operator_id, record.id, expected_version=1)
            messages.append(raised.value.message)

        assert messages == [
            f"customer {carded.id!r} is still referenced by tokens; remove those first",
            f"customer {contracted.id!r} is still referenced by contracts; remove those first",
            f"plan {plan.id!r} is still referenced by contract terms versions; remove those first",
        ]
        with uow_factory() as uow:
            assert uow.customers.get(operator_id, carded.id) == carded

    def test_a_contract_goes_with_its_terms_and_a_plan_with_its_versions(self, uow_factory, operator_id):
        customer, plan = a_customer(operator_id), a_plan(operator_id)
        contract = a_contract(operator_id, customer.id)
        _store(
            uow_factory,
            ("customers", customer),
            ("plans", plan),
            ("plan_versions", a_plan_version(operator_id, plan.id)),
            ("contracts", contract),
            ("contract_terms", contract_terms(operator_id, contract.id, plan.id)),
        )

        with uow_factory() as uow:
            uow.contracts.delete(operator_id, contract.id, expected_version=1)
            uow.plans.delete(operator_id, plan.id, expected_version=1)
            uow.customers.delete(operator_id, customer.id, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.contract_terms.of_contract(operator_id, contract.id) == []
            assert uow.plan_versions.of_plan(operator_id, plan.id) == []


PARTS = (
    ChargePart(TariffDimension.ENERGY, Decimal("21"), Decimal("4.8148144200")),
    ChargePart(TariffDimension.PARKING_TIME, Decimal("9.5"), Decimal("1.25")),
    ChargePart(TariffDimension.FLAT, None, Decimal("-0.5000000000")),
)


class TestSessions:
    @pytest.fixture
    def fleet(self, uow_factory, operator_id):
        """A business with two drivers, one contract, and another customer; one site."""
        business = a_customer(operator_id, kind=CustomerKind.BUSINESS, name="Acme")
        drivers = [a_customer(operator_id, parent_id=business.id) for _ in range(2)]
        outsider = a_customer(operator_id)
        contract = a_contract(operator_id, business.id)
        with uow_factory() as uow:
            site = given_site(uow, operator_id)
            for customer in (business, *drivers, outsider):
                uow.customers.add(customer)
            uow.contracts.add(contract)
            uow.commit()
        return site, business, drivers, outsider, contract

    def test_a_priced_session_keeps_who_charged_and_its_parts(self, uow_factory, fleet):
        site, _, drivers, _, contract = fleet
        session = a_session(
            site,
            customer_id=drivers[0].id,
            contract_id=contract.id,
            token_uid="04A2B3C4D5E6F7",
            connector_class=ConnectorClass.HPC,
            tariff_id="tariff-hpc",
            price_rule="CONTRACT_OVERRIDE",
            price_reason="Your contract's fleet price for high-power charging",
            parts=PARTS,
        )
        legacy = a_session(site)
        with uow_factory() as uow:
            uow.sessions.add(session)
            uow.sessions.add(legacy)
            uow.commit()

        with uow_factory() as uow:
            stored = uow.sessions.get(site.location.operator_id, session.id)
            assert uow.sessions.get(site.location.operator_id, legacy.id) == legacy
            listed = uow.sessions.list(
                site.location.operator_id, filters={"location_id": site.location.id}, after=None, limit=10
            )

        assert stored == session
        # The list reads rows by position, the get by name: both give back the very same records
        assert sorted(listed, key=lambda each: each.id) == sorted([session, legacy], key=lambda each: each.id)
        [listed_session] = [each for each in listed if each.id == session.id]
        assert listed_session.status is session.status
        assert listed_session.connector_class is ConnectorClass.HPC
        assert listed_session.parts == PARTS
        assert stored.connector_class is ConnectorClass.HPC
        assert all(type(part) is ChargePart for part in stored.parts)
        assert [repr(part.excl_vat) for part in stored.parts] == [
            "Decimal('4.8148144200')",
            "Decimal('1.25')",
            "Decimal('-0.5000000000')",
        ]
        assert stored.parts[0].dimension is TariffDimension.ENERGY

    def test_of_customers_is_oldest_first_within_the_window_and_count_before_counts_earlier_ones(
        self, uow_factory, fleet
    ):
        site, business, drivers, outsider, _ = fleet
        operator = site.location.operator_id
        moments = [
            NOVEMBER - timedelta(days=3),
            NOVEMBER,
            NOVEMBER + timedelta(days=2),
            NOVEMBER + timedelta(days=30),
        ]
        sessions = {
            "before": a_session(site, customer_id=drivers[0].id, started_at=moments[0]),
            "first": a_session(site, customer_id=drivers[1].id, started_at=moments[1]),
            "tie": a_session(site, customer_id=business.id, started_at=moments[1]),
            "third": a_session(site, customer_id=drivers[0].id, started_at=moments[2]),
            "december": a_session(site, customer_id=drivers[0].id, started_at=moments[3]),
            "outsider": a_session(site, customer_id=outsider.id, started_at=moments[2]),
            "anonymous": a_session(site, started_at=moments[2]),
        }
        with uow_factory() as uow:
            for session in sessions.values():
                uow.sessions.add(session)
            uow.commit()
        fleet_ids = [business.id, *(driver.id for driver in drivers)]

        with uow_factory() as uow:
            november = uow.sessions.of_customers(
                operator, fleet_ids, started_from=NOVEMBER, started_to=moments[3]
            )
            counted = [uow.sessions.count_before(operator, fleet_ids, moment) for moment in moments]
            nobody = uow.sessions.of_customers(operator, [], started_from=NOVEMBER, started_to=moments[3])
            # a payer named twice, receipted sessions left out (none here): the same sessions, once each
            twice = uow.sessions.of_customers(
                operator, [*fleet_ids, drivers[0].id], started_from=NOVEMBER, started_to=moments[3],
                without_receipt=True,
            )  # fmt: skip
            listed = uow.sessions.list(operator, filters={"customer_id": drivers[0].id}, after=None, limit=10)

        tied = sorted([sessions["first"], sessions["tie"]], key=lambda session: session.id)
        assert _ids(november) == [*_ids(tied), sessions["third"].id]
        assert _ids(twice) == _ids(november)
        assert counted == [0, 1, 3, 4]
        assert nobody == []
        assert _ids(listed) == [sessions[name].id for name in ("december", "third", "before")]

    def test_the_window_and_ids_are_scoped_to_the_operator(self, uow_factory, fleet, other_operator_id):
        site, business, _, _, _ = fleet
        with uow_factory() as uow:
            uow.sessions.add(a_session(site, customer_id=business.id, started_at=NOVEMBER))
            uow.commit()

        with uow_factory() as uow:
            window = {"started_from": NOVEMBER, "started_to": NOVEMBER + timedelta(days=1)}
            assert uow.sessions.of_customers(other_operator_id, [business.id], **window) == []
            assert uow.sessions.count_before(other_operator_id, [business.id], LATER) == 0
            assert uow.sessions.count_before(site.location.operator_id, [business.id], LATER) == 1

    def test_a_session_cannot_name_another_operators_customer(self, uow_factory, fleet, other_operator_id):
        _, business, _, _, _ = fleet
        with uow_factory() as uow:
            other_site = given_site(uow, other_operator_id)
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.sessions.add(a_session(other_site, customer_id=business.id))

        assert (
            raised.value.message
            == f"customer_id {business.id!r} does not refer to a customer of this operator"
        )
