"""The fast reports (sums in SQL) equal the reference reports (sums in Python) on a generated network.

Given 400 random sessions over 2026 in three zones (Amsterdam and New York, which change clocks on
different nights, and Kathmandu, UTC+05:45), with microseconds, price parts of every component and
VAT rate (none included), customers on contracts paying by card, wallet, bank transfer or direct
debit, ad hoc session payments with refunds and disputes, sessions still running or invalid (left
out), and sessions across both DST nights of Amsterdam and of New York;
when every report is asked of the database (``usage_report``, ``peak_heatmap``),
then each equals, field by field, the reference computed in Python from the same sessions
(``reference_report``, ``reference_heatmap``) — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbill.application.analytics import reports as reports_module
from evbill.application.analytics.reports import (
    peak_heatmap,
    reference_heatmap,
    reference_report,
    usage_report,
)
from evbill.application.ports import UnitOfWorkFactory
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor, Role
from evbill.domain.analytics.facts import GroupBy, PaymentMethod, SessionFilter
from evbill.domain.charging.sessions import ChargePart, ChargingSession, SessionStatus
from evbill.domain.offers.contracts import PaymentMethodKind
from evbill.domain.offers.customers import CustomerKind
from evbill.domain.offers.plans import ConnectorClass
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import Payment, PaymentPurpose
from evbill.domain.tariffs.model import TariffDimension
from tests.integration.db_billing_records import a_contract, a_customer, a_plan, contract_terms
from tests.integration.db_records import (
    Site,
    a_connector,
    a_location,
    a_session,
    a_station,
    an_evse,
    an_operator,
    new_id,
)

ZONES = ("Europe/Amsterdam", "America/New_York", "Asia/Kathmandu")
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
METHODS = (
    PaymentMethodKind.CARD_ON_FILE,
    PaymentMethodKind.PREPAID_WALLET,
    PaymentMethodKind.INVOICE_BANK_TRANSFER,
    PaymentMethodKind.DIRECT_DEBIT,
)
# Both DST nights of each zone that has them (UTC): a session across each, and one starting inside.
DST_NIGHTS = (
    (datetime(2026, 3, 29, 0, 20, tzinfo=UTC), "Europe/Amsterdam"),  # 01:20 CET, clocks go forward at 02:00
    (datetime(2026, 10, 24, 23, 40, tzinfo=UTC), "Europe/Amsterdam"),  # 01:40 CEST, back at 03:00
    (datetime(2026, 3, 8, 6, 10, tzinfo=UTC), "America/New_York"),  # 01:10 EST, forward at 02:00
    (datetime(2026, 11, 1, 5, 5, tzinfo=UTC), "America/New_York"),  # 01:05 EDT, back at 02:00
)


@dataclass
class Generated:
    operator_id: str
    sites: dict[str, list[Site]] = field(default_factory=dict)  # by zone
    customers: list[str] = field(default_factory=list)
    contracts: dict[str, str] = field(default_factory=dict)  # customer -> contract
    sessions: list[ChargingSession] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        return Actor(operator_id=self.operator_id, role=Role.ADMIN, key_id="tests", name="tests")


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(0, 30 * 10**10)).scaleb(-10)  # up to 30.00, ten decimals


def _parts(rng: random.Random) -> tuple[ChargePart, ...]:
    dimensions = rng.sample(list(TariffDimension), rng.randint(0, 3))
    vat = rng.choice((Decimal(21), Decimal("19"), Decimal("5.5"), Decimal("7.75"), None))
    return tuple(ChargePart(dimension, vat, _amount(rng)) for dimension in dimensions)


def _session(rng: random.Random, network: Generated, site: Site, started: datetime) -> ChargingSession:
    parts = _parts(rng)
    net = sum((part.excl_vat for part in parts), Decimal(0))
    gross = sum((part.excl_vat * (100 + (part.vat or 0)) / 100 for part in parts), Decimal(0))
    length = timedelta(seconds=rng.randint(60, 10 * 3600), microseconds=rng.randrange(10**6))
    customer = rng.choice([None, *network.customers])
    status = rng.choices((SessionStatus.COMPLETED, SessionStatus.ACTIVE, SessionStatus.INVALID), (18, 1, 1))[
        0
    ]
    charging = rng.choice((None, Decimal(rng.randrange(0, 12 * 3600 * 1000)).scaleb(-3)))
    return a_session(
        site,
        status=status,
        started_at=started,
        ended_at=None if status is SessionStatus.ACTIVE else started + length,
        energy_wh=Decimal(rng.randrange(0, 80_000_000)).scaleb(-3),
        total_excl_vat=net.quantize(Decimal("1e-10")),
        total_incl_vat=gross.quantize(Decimal("1e-10")),
        total_excl_vat_minor=int(net * 100),
        total_incl_vat_minor=int(gross * 100),
        customer_id=customer,
        contract_id=network.contracts.get(customer) if customer else None,
        connector_class=rng.choice((None, ConnectorClass.AC, ConnectorClass.DC)),
        tariff_id=rng.choice((None, "T-AC", "T-DC")),
        parts=parts,
        charging_s=charging,
    )


def _given_sites(uow: object, network: Generated) -> None:
    for zone in ZONES:
        location = a_location(network.operator_id, time_zone=zone, name=zone)
        uow.locations.add(location)  # type: ignore[attr-defined]
        station = a_station(network.operator_id, location.id, charge_point_id=f"CP-{new_id()[-8:]}")
        uow.stations.add(station)  # type: ignore[attr-defined]
        network.sites[zone] = []
        for number in (1, 2):
            evse = an_evse(
                network.operator_id, station.id, evse_id=f"X*E{new_id()[-8:]}", ocpp_evse_id=number
            )
            uow.evses.add(evse)  # type: ignore[attr-defined]
            connector = a_connector(network.operator_id, evse.id)
            uow.connectors.add(connector)  # type: ignore[attr-defined]
            network.sites[zone].append(Site(location, station, evse, connector))


def _given_customers(uow: object, network: Generated) -> None:
    plan = a_plan(network.operator_id)
    uow.plans.add(plan)  # type: ignore[attr-defined]
    for index in range(8):
        kind = CustomerKind.BUSINESS if index % 3 == 0 else CustomerKind.INDIVIDUAL
        customer = a_customer(network.operator_id, kind=kind, name=f"G{index}")
        uow.customers.add(customer)  # type: ignore[attr-defined]
        network.customers.append(customer.id)
        if index < len(METHODS):  # four on contracts, one per method; four without
            contract = a_contract(network.operator_id, customer.id, start=YEAR)
            uow.contracts.add(contract)  # type: ignore[attr-defined]
            terms = contract_terms(
                network.operator_id, contract.id, plan.id, effective_from=YEAR, payment_method=METHODS[index]
            )
            uow.contract_terms.add(terms)  # type: ignore[attr-defined]
            network.contracts[customer.id] = contract.id


def _given_payments(uow: object, network: Generated, rng: random.Random) -> None:
    """Ad hoc payments for sessions without a customer; some refunded, some disputed (won or lost)."""
    for session in network.sessions:
        if session.customer_id is not None or rng.random() < 0.3:
            continue
        payment = Payment(
            new_id(), network.operator_id, None, PaymentPurpose.SESSION,
            rng.choice((session.id, f"session:{session.id}")), "sandbox", new_id(), "EUR", 5000,
            session.started_at,
        )  # fmt: skip
        uow.payments.add(payment)  # type: ignore[attr-defined]
        events = [(EventKind.AUTHORISED, 5000), (EventKind.CAPTURED, 4000)]
        draw = rng.random()
        if draw < 0.3:
            events.append((EventKind.REFUNDED, rng.randint(1, 2000)))
        elif draw < 0.5:
            events += [
                (EventKind.DISPUTE_OPENED, 4000),
                (rng.choice((EventKind.DISPUTE_WON, EventKind.DISPUTE_LOST)), 4000),
            ]
        for number, (kind, amount) in enumerate(events):
            event = PaymentEvent(new_id(), kind, amount, session.started_at + timedelta(minutes=number))
            uow.payments.record_event(payment, event, idempotency_key=None, recorded_at=session.started_at)  # type: ignore[attr-defined]


def given_generated(uow_factory: UnitOfWorkFactory, *, sessions: int = 400, seed: int = 15) -> Generated:
    rng = random.Random(seed)
    operator = an_operator()
    network = Generated(operator.id)
    with uow_factory() as uow:
        uow.operators.add(operator)
        _given_sites(uow, network)
        _given_customers(uow, network)
        starts = [YEAR + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6))]
        starts += [YEAR + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(sessions - 1)]
        for started in starts:
            zone = rng.choice(ZONES)
            session = _session(rng, network, rng.choice(network.sites[zone]), started)
            uow.sessions.add(session)
            network.sessions.append(session)
        for started, zone in DST_NIGHTS:
            for length in (timedelta(hours=3, minutes=7), timedelta(minutes=50)):
                session = replace(
                    _session(rng, network, network.sites[zone][0], started),
                    status=SessionStatus.COMPLETED, ended_at=started + length,
                )  # fmt: skip
                uow.sessions.add(session)
                network.sessions.append(session)
        _given_payments(uow, network, rng)
        uow.commit()
    return network


WINDOWS = (
    SessionFilter(),
    SessionFilter(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 11, 15, tzinfo=UTC)),
)
# Windows the rollups answer in parts: open on one side (distinct customers from the per-customer
# rollup), cut inside UTC days and 28-day periods (edges from the facts), inside one day (no whole
# bucket), across Amsterdam's autumn night; filtered by connector class and tariff.
CUT_WINDOWS = (
    SessionFilter(start=datetime(2026, 6, 17, 13, 5, 7, 123456, tzinfo=UTC)),
    SessionFilter(end=datetime(2026, 8, 2, 22, 0, 0, 1, tzinfo=UTC)),
    SessionFilter(start=datetime(2026, 2, 3, 7, 30, tzinfo=UTC), end=datetime(2026, 9, 9, 9, 9, tzinfo=UTC)),
    SessionFilter(start=datetime(2026, 5, 1, 3, tzinfo=UTC), end=datetime(2026, 5, 1, 20, tzinfo=UTC)),
    SessionFilter(start=datetime(2026, 10, 24, 23, tzinfo=UTC), end=datetime(2026, 10, 25, 3, tzinfo=UTC)),
    SessionFilter(connector_class=ConnectorClass.DC),
    SessionFilter(start=datetime(2026, 4, 1, tzinfo=UTC), tariff_id="T-AC"),
    SessionFilter(end=datetime(2026, 7, 1, 12, tzinfo=UTC), connector_class=ConnectorClass.AC),
)


@pytest.mark.parametrize("group_by", list(GroupBy))
def test_every_report_from_the_database_equals_the_python_reference(
    database_url: str, uow_factory: UnitOfWorkFactory, group_by: GroupBy
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    for query in WINDOWS:
        fast = usage_report(services, network.actor, query=query, group_by=group_by)
        assert fast == reference_report(services, network.actor, query=query, group_by=group_by)
    assert fast.totals
    assert fast.totals[0].sessions > 100


@pytest.mark.parametrize("group_by", list(GroupBy))
def test_reports_from_the_rollups_equal_the_reference_in_windows_cut_anywhere(
    database_url: str, uow_factory: UnitOfWorkFactory, group_by: GroupBy
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    usage_report(services, network.actor, query=SessionFilter(), group_by=group_by)
    with uow_factory() as uow:  # the first report built the rollups: the next ones read them
        assert uow.analytics.build_report_rollups(network.operator_id, YEAR) is False
    for query in CUT_WINDOWS:
        fast = usage_report(services, network.actor, query=query, group_by=group_by)
        assert fast == reference_report(services, network.actor, query=query, group_by=group_by), query
        assert fast.totals, query


def test_the_heatmap_from_the_rollups_equals_the_reference_in_windows_cut_anywhere(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    for query in CUT_WINDOWS:
        fast = peak_heatmap(services, network.actor, query=query)
        assert fast == reference_heatmap(services, network.actor, query=query), query
    assert sum(map(sum, fast.starts)) > 10


def test_the_heatmap_from_the_database_equals_the_reference_across_both_dst_nights(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    for query in (*WINDOWS, SessionFilter(location_id=network.sites["Europe/Amsterdam"][0].location.id)):
        assert peak_heatmap(services, network.actor, query=query) == reference_heatmap(
            services, network.actor, query=query
        )
    # the night clocks went back in Amsterdam: 01:40 CEST + 3 h 7 min, local Sunday 02h lived twice
    autumn = SessionFilter(
        start=datetime(2026, 10, 24, 23, tzinfo=UTC), end=datetime(2026, 10, 25, tzinfo=UTC),
        location_id=network.sites["Europe/Amsterdam"][0].location.id,
    )  # fmt: skip
    heat = peak_heatmap(services, network.actor, query=autumn)
    assert heat == reference_heatmap(services, network.actor, query=autumn)
    assert heat.occupied_s[6][2] >= 7200


def test_payment_methods_group_the_sessions_with_refunds_and_disputes(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    report = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.PAYMENT_METHOD)
    keys = {row.key for row in report.rows}
    assert keys == {method.value for method in PaymentMethod}
    ad_hoc = next(row for row in report.rows if row.key == PaymentMethod.AD_HOC)
    assert ad_hoc.refunded_minor > 0
    assert ad_hoc.disputed_minor > 0
    assert ad_hoc.charged_back_minor > 0
    card = next(row for row in report.rows if row.key == PaymentMethod.CARD)
    assert (card.refunded_minor, card.customers) == (0, 1)
    assert sum(row.sessions for row in report.rows) == report.totals[0].sessions


def test_a_report_sees_what_was_written_since_the_last_one(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    # Given a report already made (the facts are built)
    network = given_generated(uow_factory, sessions=40)
    services = bootstrap(Settings(database_url=database_url)).services
    before = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.PAYMENT_METHOD)
    # When a new session is stored, one finished session is marked invalid, a customer becomes a
    # business and a refund lands on an ad hoc payment
    rng = random.Random(3)
    with uow_factory() as uow:
        site = network.sites["Asia/Kathmandu"][1]
        added = replace(
            _session(rng, network, site, YEAR + timedelta(days=200)), status=SessionStatus.COMPLETED
        )
        uow.sessions.add(added)
        finished = next(s for s in network.sessions if s.status is SessionStatus.COMPLETED)
        uow.live_sessions.close(replace(finished, status=SessionStatus.INVALID), details={})
        customer = uow.customers.get(network.operator_id, network.customers[5])
        assert customer is not None
        changed = replace(customer, kind=CustomerKind.BUSINESS, version=customer.version + 1)
        uow.customers.update(changed, expected_version=customer.version)
        paid = next(p for p in uow.payments.list(network.operator_id, after=None, limit=100))
        uow.payments.record_event(
            paid, PaymentEvent(new_id(), EventKind.REFUNDED, 7, YEAR), idempotency_key=None, recorded_at=YEAR
        )
        uow.commit()
    # Then the next report is again the reference (every grouping, window and the heatmap, from the
    # rollups kept by the refresh), and differs from the first
    for query in (*WINDOWS, *CUT_WINDOWS):
        for group_by in GroupBy:
            after = usage_report(services, network.actor, query=query, group_by=group_by)
            assert after == reference_report(services, network.actor, query=query, group_by=group_by)
        assert peak_heatmap(services, network.actor, query=query) == reference_heatmap(
            services, network.actor, query=query
        )
    after = usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.PAYMENT_METHOD)
    assert after != before


def test_a_long_catch_up_builds_the_rollups_whole_and_reports_stay_exact(
    database_url: str, uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rollups built, then more queued sessions than the catch-up threshold (lowered for the
    # test), some earlier than their customer's first session (which moves for the customer's others)
    network = given_generated(uow_factory, sessions=60)
    services = bootstrap(Settings(database_url=database_url)).services
    usage_report(services, network.actor, query=SessionFilter(), group_by=GroupBy.TOTAL)
    monkeypatch.setattr(reports_module, "CATCH_UP", 5)
    rng = random.Random(8)
    with uow_factory() as uow:
        for day in range(10):
            site = network.sites["America/New_York"][0]
            added = replace(
                _session(rng, network, site, YEAR + timedelta(days=30 + day)), status=SessionStatus.COMPLETED
            )
            uow.sessions.add(added)
        uow.commit()
    # When the next report folds them in (rollups let go, then built whole)
    for query in WINDOWS:
        for group_by in GroupBy:
            fast = usage_report(services, network.actor, query=query, group_by=group_by)
            # Then every report is the reference's
            assert fast == reference_report(services, network.actor, query=query, group_by=group_by)
    with uow_factory() as uow:
        assert uow.analytics.build_report_rollups(network.operator_id, YEAR) is False


def test_two_first_builds_at_once_one_builds_the_other_waits_and_finds_them_built(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time")
    # Given facts folded but no rollups yet (as after an upgrade)
    network = given_generated(uow_factory, sessions=60)
    services = bootstrap(Settings(database_url=database_url)).services
    reports_module.refresh_facts(services, network.operator_id)
    with uow_factory() as uow:
        uow.analytics.forget_report_rollups(network.operator_id)
        uow.commit()
    # When two first builds start together
    barrier = threading.Barrier(2)
    built: list[bool] = []
    failed: list[BaseException] = []

    def build() -> None:
        try:
            with uow_factory() as uow:
                barrier.wait()
                built.append(uow.analytics.build_report_rollups(network.operator_id, YEAR))
                uow.commit()
        except BaseException as error:  # noqa: BLE001 - the test reports it
            failed.append(error)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then one built them, the other waited and found them built; the reports are the reference's
    assert failed == []
    assert sorted(built) == [False, True]
    for group_by in (GroupBy.TOTAL, GroupBy.EVSE, GroupBy.CUSTOMER):
        fast = usage_report(services, network.actor, query=SessionFilter(), group_by=group_by)
        assert fast == reference_report(services, network.actor, query=SessionFilter(), group_by=group_by)


@pytest.mark.parametrize("group_by", [GroupBy.CUSTOMER, GroupBy.EVSE, GroupBy.DAY])
def test_a_report_of_its_top_rows_has_the_groups_of_highest_revenue_and_totals_of_every_session(
    database_url: str, uow_factory: UnitOfWorkFactory, group_by: GroupBy
) -> None:
    network = given_generated(uow_factory)
    services = bootstrap(Settings(database_url=database_url)).services
    for query in (SessionFilter(), CUT_WINDOWS[2], SessionFilter(connector_class=ConnectorClass.DC)):
        reference = reference_report(services, network.actor, query=query, group_by=group_by)
        limited = usage_report(services, network.actor, query=query, group_by=group_by, limit=5)
        by_revenue = sorted(reference.rows, key=lambda row: (-row.revenue.gross, row.key, row.currency))
        assert len(reference.rows) > 5
        assert limited.rows == tuple(by_revenue[:5])
        assert limited.rows[0].revenue.gross >= limited.rows[4].revenue.gross
        assert limited.left_out == len(reference.rows) - 5
        assert limited.totals == reference.totals
        everything = usage_report(services, network.actor, query=query, group_by=group_by, limit=10_000)
        assert everything == reference
