"""Demo data: two operators in two time zones, AC and DC stations, their tariffs, and priced sessions.

``seed_demo`` builds everything through the same use cases an operator would call, so the demo is
also a smoke test of them. Sessions go through the OCPP central system's own use cases
(``demo_charging``): the demo drivers' cards start and stop them, and each is stored with its frames,
meter values, price explanation and OCPI CDR, exactly as a real one is.

* Amsterdam Charging B.V. (NL, EUR, Europe/Amsterdam): two locations with AC (22 kW) and DC (150 kW)
  stations; a time-of-use tariff with an idle fee on AC, a flat-per-kWh tariff on DC.
* Bay Area Volts Inc. (US, USD, America/Los_Angeles): one location with AC and DC stations; a flat tariff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbill.application.access.keys import create_api_key, create_operator, list_api_keys, platform_actor
from evbill.application.demo_charging import DemoStation, charge_demo_sessions
from evbill.application.invoicing.runs import run_billing
from evbill.application.offers.customers import TOKENS, create_customer
from evbill.application.offers.plans import create_contract, create_plan
from evbill.application.records import Services, create
from evbill.application.sites import records as sites
from evbill.application.tariffs import catalog as catalog
from evbill.domain.access.keys import ApiKey
from evbill.domain.access.operators import Actor, Role
from evbill.domain.invoicing.documents import Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.tax import TaxMode
from evbill.domain.offers.contracts import PaymentMethodKind
from evbill.domain.offers.customers import CustomerKind, TokenStatus, TokenType
from evbill.domain.offers.plans import BillingCycle, PlanKind
from evbill.domain.sites.model import ConnectorFormat, ConnectorStandard, OcppVersion, PowerType
from evbill.domain.tariffs.catalog import AssignmentScope

AMSTERDAM_TIME_OF_USE: dict[str, Any] = {
    "country_code": "NL",
    "party_id": "AMS",
    "id": "AC-TIME-OF-USE",
    "currency": "EUR",
    "tariff_alt_text": [
        {
            "language": "en",
            "text": "EUR 0.35 start; 0.49/kWh weekdays 17-21h, 0.29/kWh 23-07h, 0.39/kWh otherwise; "
            "idle fee 6.00/h 07-23h after charging. Excl. 21% VAT.",
        }
    ],
    "elements": [
        {"price_components": [{"type": "FLAT", "price": "0.35", "vat": "21", "step_size": 1}]},
        {
            "price_components": [{"type": "ENERGY", "price": "0.49", "vat": "21", "step_size": 1}],
            "restrictions": {
                "start_time": "17:00",
                "end_time": "21:00",
                "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            },
        },
        {
            "price_components": [{"type": "ENERGY", "price": "0.29", "vat": "21", "step_size": 1}],
            "restrictions": {"start_time": "23:00", "end_time": "07:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "0.39", "vat": "21", "step_size": 1}]},
        {
            "price_components": [{"type": "PARKING_TIME", "price": "6.00", "vat": "21", "step_size": 60}],
            "restrictions": {"start_time": "07:00", "end_time": "23:00"},
        },
        {"price_components": [{"type": "PARKING_TIME", "price": "0.00", "vat": "21", "step_size": 60}]},
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


def _flat(
    country: str, party: str, ocpi_id: str, currency: str, price: str, vat: str | None
) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "ENERGY", "price": price, "step_size": 1}
    if vat is not None:
        component["vat"] = vat
    return {
        "country_code": country,
        "party_id": party,
        "id": ocpi_id,
        "currency": currency,
        "elements": [{"price_components": [component]}],
        "last_updated": "2026-01-01T00:00:00Z",
    }


DEMO_KEY_NAME = "demo admin"
# What the README's simulate command runs: the Amsterdam AC stations (22 kW AC, so `--chargers ac22`),
# charged with a driver's and a fleet's demo cards.
SIMULATED_STATIONS = ("AMS-ZUID-AC1", "HLM-STATION-AC1")
SIMULATED_CARDS = ("AMS00A1B2C3", "AMS10A1B2C3")


def simulate_command(program: str, address: str) -> str:
    """The ``evbill simulate`` command the README shows, for a server at ``address`` (host:port)."""
    return (
        f"{program} simulate --url ws://{address}/ocpp --ids {','.join(SIMULATED_STATIONS)} --ocpp 1.6 "
        f"--password-template 'demo-{{id}}-password' --tokens {','.join(SIMULATED_CARDS)} "
        "--chargers ac22 --speed 120 --duration 60"
    )


def demo_admin_keys(services: Services, operator_id: str) -> list[ApiKey]:
    """The demo's admin keys of an operator that are still valid (the one made at first start)."""
    keys = list_api_keys(services, platform_actor(operator_id))
    return [key for key in keys if key.name == DEMO_KEY_NAME and key.active]


@dataclass(frozen=True, slots=True)
class DemoOperator:
    name: str
    operator_id: str
    api_key: str
    tokens: tuple[str, ...] = ()
    billing_run_id: str | None = None  # last month's billing run: the demo's issued invoices


@dataclass(frozen=True, slots=True)
class _Site:
    location: dict[str, Any]
    stations: tuple[tuple[str, str, PowerType, int], ...]  # (charge point id, model, power type, kW)


def _place(
    name: str, address: str, city: str, postal_code: str, country: str, zone: str, at: str
) -> dict[str, Any]:
    latitude, longitude = (Decimal(part) for part in at.split(","))
    return {
        "name": name,
        "address": address,
        "city": city,
        "postal_code": postal_code,
        "country": country,
        "time_zone": zone,
        "latitude": latitude,
        "longitude": longitude,
    }


AC, AC_1, DC = PowerType.AC_3_PHASE, PowerType.AC_1_PHASE, PowerType.DC
_AMSTERDAM_SITES = (
    _Site(
        _place(
            "Amsterdam Zuid P1",
            "Parnassusweg 10",
            "Amsterdam",
            "1077 DC",
            "NL",
            "Europe/Amsterdam",
            "52.338790,4.872180",
        ),
        (("AMS-ZUID-AC1", "Alfen Eve Double", AC, 22), ("AMS-ZUID-DC1", "Kempower S-Series", DC, 150)),
    ),
    _Site(
        _place(
            "Haarlem Station",
            "Stationsplein 1",
            "Haarlem",
            "2011 LR",
            "NL",
            "Europe/Amsterdam",
            "52.387640,4.638440",
        ),
        (("HLM-STATION-AC1", "Alfen Eve Double", AC, 22),),
    ),
)
_BAY_AREA_SITES = (
    _Site(
        _place(
            "Palo Alto Downtown",
            "250 Hamilton Ave",
            "Palo Alto",
            "94301",
            "US",
            "America/Los_Angeles",
            "37.444570,-122.161240",
        ),
        (("PA-DOWNTOWN-AC1", "ChargePoint CT4000", AC_1, 7), ("PA-DOWNTOWN-DC1", "Tritium PKM150", DC, 150)),
    ),
)


def seed_demo(services: Services, *, now: datetime, sessions_per_evse: int = 40) -> list[DemoOperator]:
    """Create the demo operators and everything under them; returns one admin key per operator."""
    result = []
    for spec in (
        (
            "Amsterdam Charging B.V.",
            "NL",
            "EUR",
            "AMS",
            _AMSTERDAM_SITES,
            AMSTERDAM_TIME_OF_USE,
            "0.59",
            "21",
        ),
        ("Bay Area Volts Inc.", "US", "USD", "BAV", _BAY_AREA_SITES, None, "0.45", None),
    ):
        result.append(_seed_operator(services, spec, now=now, sessions_per_evse=sessions_per_evse))
    return result


def _seed_operator(
    services: Services, spec: tuple[Any, ...], *, now: datetime, sessions_per_evse: int
) -> DemoOperator:
    name, country, currency, party, site_specs, ac_tariff, dc_price, vat = spec
    operator = create_operator(
        services, name=name, legal_name=name, country=country, default_currency=currency
    )
    key, presented = create_api_key(services, operator_id=operator.id, role=Role.ADMIN, name=DEMO_KEY_NAME)
    admin = Actor(operator.id, Role.ADMIN, key.id, key.name)
    flat = catalog.create_tariff(services, admin, _flat(country, party, "DC-FLAT", currency, dc_price, vat))
    ac = catalog.create_tariff(services, admin, ac_tariff) if ac_tariff else flat
    catalog.assign_tariff(
        services, admin, tariff_id=ac.record.id, scope=AssignmentScope.OPERATOR, scope_id=None
    )
    stations = []
    for site in site_specs:
        location = sites.create(services, admin, sites.LOCATIONS, site.location)
        for charge_point_id, model, power_type, kilowatts in site.stations:
            evse = _station(services, admin, location.id, charge_point_id, model, power_type, kilowatts)
            if power_type.is_dc:
                catalog.assign_tariff(
                    services,
                    admin,
                    tariff_id=flat.record.id,
                    scope=AssignmentScope.STATION,
                    scope_id=evse.station_id,
                )
            stations.append(DemoStation(evse.station_id, evse, kilowatts, speaks_201=power_type.is_dc))
    tokens = _drivers(services, admin, country, currency, party)
    charge_demo_sessions(services, operator.id, stations, tokens, now=now, per_evse=sessions_per_evse)
    _invoicing_profile(services, operator.id, name, country, site_specs[0].location)
    # Last month's invoices, issued by the same billing run an operator runs (`evbill billing run`)
    run = run_billing(services, admin, last_month(now))
    return DemoOperator(name, operator.id, presented, tokens, run.id)


# The demo sellers' legal data as EN 16931 wants it (published test values: the VAT number and IBAN
# are the well-known valid examples, not a real company's).
_SELLERS: dict[str, dict[str, Any]] = {
    "NL": {"vat_id": "NL123456782B90", "registration": "KvK 12345678", "iban": "NL91ABNA0417164300",
           "bic": "ABNANL2A", "series": "AMS", "tax_mode": TaxMode.VAT},
    "US": {"vat_id": None, "registration": "EIN 12-3456789", "iban": None, "bic": None, "series": "BAV",
           "tax_mode": TaxMode.SALES_TAX},  # no VAT id: identified by its EIN (BR-CO-26), prices untaxed
}  # fmt: skip


def _invoicing_profile(
    services: Services, operator_id: str, name: str, country: str, place: dict[str, Any]
) -> None:
    """The demo seller's invoicing profile (stored as given: these test values are known valid)."""
    data = _SELLERS[country]
    seller = Party(name, country, place["address"], place["city"], place["postal_code"], data["vat_id"],
                   registration=data["registration"], email="billing@evbill.invalid", iban=data["iban"],
                   bic=data["bic"])  # fmt: skip
    profile = InvoicingProfile(operator_id, seller, series=data["series"], time_zone=place["time_zone"],
                               tax_mode=data["tax_mode"])  # fmt: skip
    with services.uow() as uow:
        uow.invoices.save_profile(profile, services.clock.now())
        uow.commit()


def last_month(now: datetime) -> str:
    """The period before ``now``'s month: "2026-11" on 3 December 2026."""
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year}-{month:02d}"


CONTRACT_START = datetime(2026, 1, 1, tzinfo=UTC)


def card_terms(plan_id: str) -> dict[str, object]:
    """The demo's contract terms: billed monthly to a card on file, due in 14 days, 7 days' grace."""
    return {
        "plan_id": plan_id,
        "billing_cycle": BillingCycle.MONTHLY,
        "payment_method": PaymentMethodKind.CARD_ON_FILE,
        "payment_due_days": 14,
        "grace_days": 7,
        "credit_limit_minor": None,
    }


def _drivers(services: Services, admin: Actor, country: str, currency: str, party: str) -> tuple[str, ...]:
    """A driver with an RFID card on a pay-per-use contract, and a fleet with two cards on a subscription."""
    language = "nl" if country == "NL" else "en"
    payg, _ = create_plan(
        services,
        admin,
        name="Pay as you go",
        kind=PlanKind.PAY_PER_USE,
        currency=currency,
        version={"effective_from": CONTRACT_START},  # the plans start with the contracts
    )
    subscription, _ = create_plan(
        services,
        admin,
        name="Commuter",
        kind=PlanKind.SUBSCRIPTION,
        currency=currency,
        version={
            "fee": Decimal("9.99"),
            "fee_vat": Decimal("21") if country == "NL" else None,
            "included_kwh": Decimal(100),
            "effective_from": CONTRACT_START,
        },
    )
    uids = []
    for number, (kind, name, plan) in enumerate(
        ((CustomerKind.INDIVIDUAL, "Demo Driver", payg), (CustomerKind.BUSINESS, "Demo Fleet", subscription))
    ):
        customer = create_customer(
            services,
            admin,
            {"kind": kind, "name": name, "language": language, "currency": currency, "country": country},
        )
        for card in range(1 + number):
            uid = f"{party}{number}{card}A1B2C3"
            create(
                services,
                admin,
                TOKENS,
                {
                    "customer_id": customer.id,
                    "uid": uid,
                    "type": TokenType.RFID,
                    "contract_id": f"{country}-{party}-C{number}{card:07d}",
                    "status": TokenStatus.ACTIVE,
                },
            )
            uids.append(uid)
        create_contract(
            services, admin, customer_id=customer.id, start=CONTRACT_START, end=None,
            terms=card_terms(plan.id), activate=True,
        )  # fmt: skip
    return tuple(uids)


def _station(
    services: Services,
    admin: Actor,
    location_id: str,
    charge_point_id: str,
    model: str,
    power_type: PowerType,
    kilowatts: int,
) -> Any:
    """A station with one EVSE and one connector; DC stations speak OCPP 2.0.1, AC ones 1.6."""
    dc = power_type.is_dc
    station = sites.create(
        services,
        admin,
        sites.STATIONS,
        {
            "location_id": location_id,
            "charge_point_id": charge_point_id,
            "vendor": model.split()[0],
            "model": model,
            "ocpp_version": OcppVersion.V201 if dc else OcppVersion.V16,
            "security_profile": 1,
            "password_hash": services.passwords.hash(f"demo-{charge_point_id}-password"),
        },
    )
    evse_fields = {
        "station_id": station.id,
        "evse_id": f"{charge_point_id.replace('-', '*')}*1",
        "ocpp_evse_id": 1,
    }
    evse = sites.create(services, admin, sites.EVSES, evse_fields)
    connector = {
        "evse_id": evse.id,
        "connector_number": 1,
        "standard": ConnectorStandard.IEC_62196_T2_COMBO if dc else ConnectorStandard.IEC_62196_T2,
        "format": ConnectorFormat.CABLE if dc else ConnectorFormat.SOCKET,
        "power_type": power_type,
        "max_voltage": 920 if dc else 400,
        "max_amperage": 300 if dc else 32,
        "max_electric_power": kilowatts * 1000,
    }
    sites.create(services, admin, sites.CONNECTORS, connector)
    return evse
