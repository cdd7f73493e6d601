"""Backtests on a real database: the tariff actually used gives back the billed revenue to the cent;
a candidate moves it by the hand-computed amounts.

Tariff used (Europe/Amsterdam): energy 0.30/kWh, idle 1.50/h (both 21 % VAT), start fee 0.50 (no VAT).
Candidate: energy 0.35/kWh, idle 3.00/h, the same fee. Half-up rounding, incl. VAT (cents):

    session  who  usage                          billed          candidate        difference
    S1       C1   90 min 11 kWh + 30 min idle    5.4005 -> 540   6.9735 -> 697    +157
    S2       C1   60 min 7.5 kWh                 3.2225 -> 322   3.67625 -> 368   +46
    S3       C2   30 min 3.333 kWh + 45 min idle 3.071129 -> 307 4.6340255 -> 463 +156
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.application.analytics.backtests import NO_PERIODS, run_backtest
from evbill.application.ports import UnitOfWorkFactory
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.sites.model import Location
from tests.integration.analytics_network import Network, given_network
from tests.integration.db_records import Site, a_session
from tests.support import charge, park, price, session

D = Decimal


def tariff_document(energy: str, idle: str) -> dict[str, Any]:
    return {
        "country_code": "NL", "party_id": "EVB", "id": "BT", "currency": "EUR",
        "last_updated": "2026-01-01T00:00:00Z",
        "elements": [{"price_components": [
            {"type": "FLAT", "price": D("0.50"), "step_size": 1},
            {"type": "ENERGY", "price": D(energy), "vat": D("21"), "step_size": 1},
            {"type": "PARKING_TIME", "price": D(idle), "vat": D("21"), "step_size": 1},
        ]}],
    }  # fmt: skip


USED = tariff_document("0.30", "1.50")
CANDIDATE = tariff_document("0.35", "3.00")
MAY = SessionFilter(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC))


def _billed(uow_factory: UnitOfWorkFactory, network: Network) -> dict[str, str]:
    """S1-S3 rated under USED as the OCPP path rates them, stored with their periods."""
    tariff = parse_tariff(USED).tariff
    usages = {
        "S1": ("C1", session("2026-05-04 09:00", charge(minutes=90, kwh="11"), park(minutes=30))),
        "S2": ("C1", session("2026-05-05 18:00", charge(minutes=60, kwh="7.5"))),
        "S3": ("C2", session("2026-05-06 12:00", charge(minutes=30, kwh="3.333"), park(minutes=45))),
    }
    ids = {}
    with uow_factory() as uow:
        site = _site(uow, network)
        for name, (customer, usage) in usages.items():
            total = price(tariff, usage).total_cost
            stored = a_session(
                site, started_at=usage.start, ended_at=usage.end, customer_id=network.ids[customer],
                total_excl_vat=total.excl_vat, total_incl_vat=total.incl_vat,
                total_excl_vat_minor=_cents(total.excl_vat), total_incl_vat_minor=_cents(total.incl_vat),
            )  # fmt: skip
            uow.sessions.add(stored)
            uow.analytics.add_usage(network.operator_id, stored.id, usage)
            ids[stored.id] = name
        uow.commit()
    return ids


def _cents(amount: Decimal) -> int:
    return settle(PreciseMoney(amount, "EUR"), RoundingMode.HALF_UP).minor_units


def _site(uow: Any, network: Network) -> Site:
    evse = uow.evses.get(network.operator_id, network.ids["E1"])
    station = uow.stations.get(network.operator_id, network.ids["S1"])
    location: Location = uow.locations.get(network.operator_id, network.ids["L1"])
    return Site(location, station, evse, None)  # type: ignore[arg-type]


@pytest.fixture
def billed(database_url: str, uow_factory: UnitOfWorkFactory) -> tuple[Any, Network, dict[str, str]]:
    network = given_network(uow_factory)
    names = _billed(uow_factory, network)
    return bootstrap(Settings(database_url=database_url)).services, network, names


def test_the_tariff_actually_used_reproduces_billed_revenue_to_the_cent(billed: Any) -> None:
    services, network, _ = billed
    result = run_backtest(services, network.actor, candidate=USED, query=MAY)
    assert (result.sessions, result.billed_incl_minor, result.billed_excl_minor) == (3, 1169, 992)
    assert (result.candidate_incl_minor, result.candidate_excl_minor) == (1169, 992)
    assert all(item.difference_minor == 0 for item in result.most_affected)
    # The network's March-April sessions have no stored periods: counted, not guessed
    assert result.left_out == {NO_PERIODS: 4}


def test_a_candidate_shows_the_difference_per_session_customer_and_location(billed: Any) -> None:
    services, network, names = billed
    result = run_backtest(services, network.actor, candidate=CANDIDATE, query=MAY)
    assert (result.billed_incl_minor, result.candidate_incl_minor, result.difference_incl_minor) == (
        1169,
        1528,
        359,
    )
    assert (result.candidate_excl_minor, result.difference_excl_minor) == (1290, 298)  # 585 + 313 + 392
    affected = [
        (names[r.session_id], r.billed_incl_minor, r.candidate_incl_minor) for r in result.most_affected
    ]
    assert affected == [
        ("S1", 540, 697), ("S3", 307, 463), ("S2", 322, 368),
    ]  # fmt: skip
    shifts = [
        (network.name_of(s.key), s.sessions, s.billed_minor, s.difference_minor) for s in result.by_customer
    ]
    assert shifts == [("C1", 2, 862, 203), ("C2", 1, 307, 156)]
    assert result.customers_paying() == (2, 0, 0)
    assert [(network.name_of(s.key), s.difference_minor) for s in result.by_location] == [("L1", 359)]
    assert "no demand response" in result.assumption
