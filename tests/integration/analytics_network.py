"""The hand-computed network of tests/unit/analytics_data.py, stored in a real database.

Locations L1 and L2 (Europe/Amsterdam), stations S1, S2, EVSEs E1-E3, customers C1 (INDIVIDUAL, on
plan P1 since 1 January 2026) and C2 (BUSINESS), the four sessions A-D, and C1's first session of
10 January 2026 (outside the March-April window). ``Network.ids`` maps the test's names to the ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from evbill.application.ports import UnitOfWork, UnitOfWorkFactory
from evbill.domain.access.operators import Actor, Role
from evbill.domain.analytics.facts import SessionFact
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.offers.customers import CustomerKind
from evbill.domain.offers.plans import ConnectorClass
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
from tests.unit.analytics_data import C1_FIRST, FACTS, ZONE

JANUARY = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Network:
    operator_id: str
    ids: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, ChargingSession] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return Actor(operator_id=self.operator_id, role=Role.ADMIN, key_id="tests", name="tests")

    def name_of(self, record_id: str) -> str:
        return next(name for name, known in self.ids.items() if known == record_id)


def given_network(uow_factory: UnitOfWorkFactory) -> Network:
    """The network stored for a new operator (rounding half up), committed."""
    operator = an_operator()
    network = Network(operator.id)
    with uow_factory() as uow:
        uow.operators.add(operator)
        sites = _sites(uow, network)
        _customers(uow, network)
        for fact in FACTS:
            _store(uow, network, sites[fact.evse_id], fact)
        first = _fact_like(FACTS[0], C1_FIRST)
        _store(uow, network, sites["E1"], replace(first, id="C1-first"))
        uow.commit()
    return network


def _sites(uow: UnitOfWork, network: Network) -> dict[str, Site]:
    sites: dict[str, Site] = {}
    layout = {"L1": {"S1": ("E1", "E2")}, "L2": {"S2": ("E3",)}}
    for location_name, stations in layout.items():
        location = a_location(network.operator_id, time_zone=ZONE, name=location_name)
        uow.locations.add(location)
        network.ids[location_name] = location.id
        for station_name, evses in stations.items():
            station = a_station(network.operator_id, location.id, charge_point_id=f"CP-{new_id()[-8:]}")
            uow.stations.add(station)
            network.ids[station_name] = station.id
            for number, evse_name in enumerate(evses, start=1):
                evse = an_evse(
                    network.operator_id, station.id, evse_id=f"NL*EVB*E{new_id()[-8:]}", ocpp_evse_id=number
                )
                uow.evses.add(evse)
                connector = a_connector(network.operator_id, evse.id)
                uow.connectors.add(connector)
                network.ids[evse_name] = evse.id
                sites[evse_name] = Site(location, station, evse, connector)
    return sites


def _customers(uow: UnitOfWork, network: Network) -> None:
    plan = a_plan(network.operator_id)
    uow.plans.add(plan)
    network.ids["P1"] = plan.id
    for name, kind in (("C1", CustomerKind.INDIVIDUAL), ("C2", CustomerKind.BUSINESS)):
        customer = a_customer(network.operator_id, kind=kind, name=name)
        uow.customers.add(customer)
        network.ids[name] = customer.id
    contract = a_contract(network.operator_id, network.ids["C1"], start=JANUARY)
    uow.contracts.add(contract)
    uow.contract_terms.add(contract_terms(network.operator_id, contract.id, plan.id, effective_from=JANUARY))
    network.ids["K1"] = contract.id


def _fact_like(fact: SessionFact, started_at: datetime) -> SessionFact:
    return replace(fact, started_at=started_at, ended_at=started_at + (fact.ended_at - fact.started_at))


def _store(uow: UnitOfWork, network: Network, site: Site, fact: SessionFact) -> None:
    ids = network.ids
    customer_id = ids.get(fact.customer_id) if fact.customer_id else None
    session = a_session(
        site,
        started_at=fact.started_at,
        ended_at=fact.ended_at,
        energy_wh=fact.energy_wh,
        total_excl_vat=fact.total_excl_vat,
        total_incl_vat=fact.total_incl_vat,
        total_excl_vat_minor=int((fact.total_excl_vat * 100).to_integral_value()),
        total_incl_vat_minor=int((fact.total_incl_vat * 100).to_integral_value()),
        customer_id=customer_id,
        contract_id=ids["K1"] if fact.plan_id else None,
        connector_class=ConnectorClass(fact.connector_class) if fact.connector_class else None,
        tariff_id=fact.tariff_id,
        parts=fact.parts,
        charging_s=fact.charging_s,
    )
    uow.sessions.add(session)
    ids[fact.id] = session.id
    network.sessions[fact.id] = session
