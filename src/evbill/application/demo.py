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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.access.keys import create_api_key, create_operator, list_api_keys, platform_actor
from evbill.application.billing.cycle import record_bill
from evbill.application.collection.at_issue import charge_issued, issued_invoices
from evbill.application.collection.charges import save_card
from evbill.application.demo_charging import DemoStation, charge_demo_sessions
from evbill.application.demo_payments import DEMO_CARD, DemoInvoice, DemoPayments, Payers, pay_demo_invoices
from evbill.application.invoicing.documents import issue_bill
from evbill.application.invoicing.runs import run_billing, run_items
from evbill.application.offers.customers import TOKENS, create_customer
from evbill.application.offers.plans import create_contract, create_plan
from evbill.application.records import Services, create
from evbill.application.sites import records as sites
from evbill.application.tariffs import catalog as catalog
from evbill.domain.access.keys import ApiKey
from evbill.domain.access.operators import Actor, Role
from evbill.domain.invoicing.documents import Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.runs import RunItem
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
    invoices: tuple[DemoInvoice, ...] = ()  # how each demo invoice was paid (with ``payments``)


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


@dataclass(frozen=True, slots=True)
class _FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def seed_demo(
    services: Services,
    *,
    now: datetime,
    sessions_per_evse: int = 40,
    payments: DemoPayments | None = None,
) -> list[DemoOperator]:
    """Create the demo operators and everything under them; returns one admin key per operator.

    With ``payments`` (the sandbox gateway, a mailer, a statement reader), the billing run charges
    the cards on file at issue and the other invoices are paid their ways (``demo_payments``)."""
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
        result.append(
            _seed_operator(services, spec, now=now, sessions_per_evse=sessions_per_evse, payments=payments)
        )
    return result


def _seed_operator(
    services: Services,
    spec: tuple[Any, ...],
    *,
    now: datetime,
    sessions_per_evse: int,
    payments: DemoPayments | None,
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
    tokens, customers = _drivers(services, admin, country, currency, party, now)
    charge_demo_sessions(services, operator.id, stations, tokens, now=now, per_evse=sessions_per_evse)
    zone = site_specs[0].location["time_zone"]
    _invoicing_profile(services, operator.id, name, country, site_specs[0].location)
    at_now = replace(services, clock=_FixedClock(now))  # the demo's billing and payments happen "now"
    overdue = None
    if country == "NL":  # the late payer's invoice of the month before last, issued a month ago
        overdue = _late_invoice(services, admin, customers[LATE], zone, now)
    for customer_id in (customers[DRIVER], customers[FLEET]):
        save_card(at_now, admin, customer_id, gateway=DEMO_GATEWAY, payment_method=DEMO_CARD)

    def collect(items: Sequence[RunItem]) -> None:  # each chunk's invoices, once its transaction committed
        if payments is not None:
            charge_issued(at_now, payments.gateway, admin, issued_invoices(items))

    # Last month's invoices, issued by the same billing run an operator runs (`evbill billing run`);
    # without payments nothing collects them (and the run does not wait for it)
    run = run_billing(at_now, admin, last_month(now), after_chunk=None if payments is None else collect)
    if payments is None:
        return DemoOperator(name, operator.id, presented, tokens, run.id)
    payers = _payers(at_now, admin, run.id, customers, overdue)
    invoices = pay_demo_invoices(at_now, payments, admin, payers)
    ordered = tuple(sorted(invoices, key=lambda invoice: invoice.number))
    return DemoOperator(name, operator.id, presented, tokens, run.id, ordered)


DEMO_GATEWAY = "sandbox"
DRIVER, FLEET, WALLET, OFFICE = "Demo Driver", "Demo Fleet", "Demo Wallet", "Demo Office"
LATE = "Demo Late Payer"


def _payers(services: Services, admin: Actor, run_id: str, customers: dict[str, str], overdue: Any) -> Payers:
    """The run's invoices by the role their customer plays in the demo."""
    by_customer = {}
    for invoice_id in issued_invoices(run_items(services, admin, run_id)):
        with services.uow(read_only=True) as uow:
            document = uow.invoices.get(admin.operator_id, invoice_id)
        if document is not None and document.customer_id is not None:
            by_customer[document.customer_id] = document
    card = [by_customer[customers[DRIVER]]] if customers[DRIVER] in by_customer else []
    fleet = by_customer.get(customers[FLEET])
    if WALLET not in customers:  # Bay Area: the fleet's card payment is the one partly refunded
        return Payers(card=card, refunded=fleet)
    return Payers(
        card=card + ([fleet] if fleet else []),
        wallet=by_customer.get(customers[WALLET]),
        transfer=by_customer.get(customers[OFFICE]),
        overdue=overdue,
    )


def _month_start(now: datetime, zone: str, back: int) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    months = local.year * 12 + local.month - 1 - back
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=ZoneInfo(zone))


def _late_invoice(services: Services, admin: Actor, customer_id: str, zone: str, now: datetime) -> Any:
    """The late payer's contract ended when last month began; its last cycle (the month before last)
    is invoiced as it was then, on the first of last month, due 14 days later and never paid."""
    then = replace(services, clock=_FixedClock(_month_start(now, zone, 1) + timedelta(hours=9)))
    with services.uow(read_only=True) as uow:
        contracts = uow.contracts.list(admin.operator_id, filters={"customer_id": customer_id},
                                       after=None, limit=1)  # fmt: skip
    cycle_start: date = _month_start(now, zone, 2).date()
    recorded = record_bill(then, admin, contracts[0].id, cycle_start)
    document, _ = issue_bill(then, admin, recorded.id)
    return document


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


def _drivers(
    services: Services, admin: Actor, country: str, currency: str, party: str, now: datetime
) -> tuple[tuple[str, ...], dict[str, str]]:
    """A driver with an RFID card on a pay-per-use contract, and a fleet with two cards on a subscription;
    in Amsterdam also three subscribers without cards who pay other ways (wallet, bank transfer, late).
    Returns the cards' uids and the customers' ids by name."""
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
    uids, customers = [], {}
    for number, (kind, name, plan) in enumerate(
        ((CustomerKind.INDIVIDUAL, DRIVER, payg), (CustomerKind.BUSINESS, FLEET, subscription))
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
        customers[name] = customer.id
    if country == "NL":
        customers.update(_subscribers(services, admin, country, currency, subscription.id, now))
    return tuple(uids), customers


def _subscribers(
    services: Services, admin: Actor, country: str, currency: str, plan_id: str, now: datetime
) -> dict[str, str]:
    """Commuter subscribers paying by prepaid wallet and by bank transfer, and one whose contract
    ended when last month began (billed by transfer, never paid)."""
    customers = {}
    for name, method, ended in (
        (WALLET, PaymentMethodKind.PREPAID_WALLET, False),
        (OFFICE, PaymentMethodKind.INVOICE_BANK_TRANSFER, False),
        (LATE, PaymentMethodKind.INVOICE_BANK_TRANSFER, True),
    ):
        email = f"{name.lower().replace(' ', '.')}@evbill.invalid"
        customer = create_customer(services, admin, {
            "kind": CustomerKind.INDIVIDUAL, "name": name, "language": "nl", "currency": currency,
            "country": country, "email": email,
        })  # fmt: skip
        end = _month_start(now, "Europe/Amsterdam", 1) if ended else None
        terms = {**card_terms(plan_id), "payment_method": method}
        create_contract(services, admin, customer_id=customer.id, start=CONTRACT_START, end=end,
                        terms=terms, activate=True)  # fmt: skip
        customers[name] = customer.id
    return customers


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
