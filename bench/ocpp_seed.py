"""Seeding an evbill database for the OCPP benchmark: one operator, 1,000 stations, their tokens.

Everything goes through evbill's own use cases (as an operator's admin would through the API), so
the stations the generator connects as are stored exactly like real ones: an argon2 hash of each
password, one EVSE with one connector, the operator's default tariff (EUR 0.35 start + 0.39/kWh,
21 % VAT), and an RFID token per station whose uid is the station id (the generator's idTag),
belonging to a driver on a pay-per-use contract. Password hashing runs on every core (argon2
releases the GIL); the rest is a few thousand small transactions.

    seed_evbill({"EVBILL_DATABASE_URL": "sqlite:////tmp/x/bench.db"}, [("BENCH-00001", "pw"), ...])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import sqlalchemy

from evbill.adapters.db.migrate import upgrade
from evbill.application.access.keys import create_api_key, create_operator
from evbill.application.demo import CONTRACT_START, card_terms
from evbill.application.offers.customers import TOKENS, create_customer
from evbill.application.offers.plans import create_contract, create_plan
from evbill.application.records import Services, create
from evbill.application.sites import records as sites
from evbill.application.tariffs import catalog as catalog
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor, Role
from evbill.domain.offers.customers import CustomerKind, TokenStatus, TokenType
from evbill.domain.offers.plans import PlanKind
from evbill.domain.sites.model import ConnectorFormat, ConnectorStandard, OcppVersion, PowerType
from evbill.domain.tariffs.catalog import AssignmentScope

POSTGRES_SERVER = os.environ.get("EVBILL_BENCH_OCPP_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
POSTGRES_DATABASE = "evbill_bench_ocpp"

TARIFF = {
    "country_code": "NL",
    "party_id": "BEN",
    "id": "BENCH-AC",
    "currency": "EUR",
    "elements": [
        {"price_components": [{"type": "FLAT", "price": "0.35", "vat": "21"}]},
        {"price_components": [{"type": "ENERGY", "price": "0.39", "vat": "21", "step_size": 1}]},
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}
LOCATION = {
    "name": "Benchmark car park",
    "address": "Stationsplein 1",
    "city": "Utrecht",
    "postal_code": "3511 ED",
    "country": "NL",
    "time_zone": "Europe/Amsterdam",
    "latitude": Decimal("52.089444"),
    "longitude": Decimal("5.110278"),
}


def fresh_postgres_database() -> str:
    """Drop and create the benchmark's own PostgreSQL database; returns its URL."""
    admin = sqlalchemy.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE} WITH (FORCE)"))
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {POSTGRES_DATABASE}"))
    admin.dispose()
    return f"{POSTGRES_SERVER}/{POSTGRES_DATABASE}"


def seed_evbill_postgres(
    environment: Mapping[str, str], credentials: Sequence[tuple[str, str]], version: str = "1.6"
) -> None:
    """A fresh PostgreSQL database (the one ``environment`` names), seeded."""
    fresh_postgres_database()
    seed_evbill(environment, credentials, version)


def seed_evbill(
    environment: Mapping[str, str], credentials: Sequence[tuple[str, str]], version: str = "1.6"
) -> None:
    """Stations registered for OCPP ``version`` (evbill holds each station to its registered version)."""
    settings = Settings.from_environment({**os.environ, **environment})
    upgrade(settings.database_url)
    container = bootstrap(settings)
    services = container.services
    operator = create_operator(
        services,
        name="Bench Charging B.V.",
        legal_name="Bench Charging B.V.",
        country="NL",
        default_currency="EUR",
    )
    key, _ = create_api_key(services, operator_id=operator.id, role=Role.ADMIN, name="bench admin")
    admin = Actor(operator.id, Role.ADMIN, key.id, key.name)
    tariff = catalog.create_tariff(services, admin, TARIFF)
    catalog.assign_tariff(
        services, admin, tariff_id=tariff.record.id, scope=AssignmentScope.OPERATOR, scope_id=None
    )
    location = sites.create(services, admin, sites.LOCATIONS, LOCATION)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        hashes = list(pool.map(services.passwords.hash, (password for _, password in credentials)))
    driver = create_customer(
        services,
        admin,
        {"kind": CustomerKind.INDIVIDUAL, "name": "Bench Driver", "language": "nl", "currency": "EUR",
         "country": "NL"},
    )  # fmt: skip
    plan, _ = create_plan(
        services,
        admin,
        name="Pay as you go",
        kind=PlanKind.PAY_PER_USE,
        currency="EUR",
        version={"effective_from": CONTRACT_START},  # from the contract's start
    )
    create_contract(
        services, admin, customer_id=driver.id, start=CONTRACT_START, end=None, terms=card_terms(plan.id),
        activate=True,
    )  # fmt: skip
    for number, ((charge_point_id, _), password_hash) in enumerate(zip(credentials, hashes, strict=True)):
        _station(services, admin, location.id, charge_point_id, password_hash, OcppVersion(version))
        token = {
            "customer_id": driver.id,
            "uid": charge_point_id,
            "type": TokenType.RFID,
            "contract_id": f"NL-BEN-C{number:08d}",
            "status": TokenStatus.ACTIVE,
        }
        create(services, admin, TOKENS, token)
    container.engine.dispose()


def _station(
    services: Services,
    admin: Actor,
    location_id: str,
    charge_point_id: str,
    password_hash: str,
    version: OcppVersion,
) -> None:
    station_fields = {
        "location_id": location_id,
        "charge_point_id": charge_point_id,
        "vendor": "Bench",
        "model": "Load 1",
        "ocpp_version": version,
        "security_profile": 1,
        "password_hash": password_hash,
    }
    station = sites.create(services, admin, sites.STATIONS, station_fields)
    evse_fields = {"station_id": station.id, "evse_id": f"NL*BEN*E{charge_point_id[6:]}*1", "ocpp_evse_id": 1}
    evse = sites.create(services, admin, sites.EVSES, evse_fields)
    connector = {
        "evse_id": evse.id,
        "connector_number": 1,
        "standard": ConnectorStandard.IEC_62196_T2,
        "format": ConnectorFormat.SOCKET,
        "power_type": PowerType.AC_3_PHASE,
        "max_voltage": 400,
        "max_amperage": 32,
        "max_electric_power": 22000,
    }
    sites.create(services, admin, sites.CONNECTORS, connector)
