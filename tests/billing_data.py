"""Contracts and priced sessions for a billing run, made fast: the billing benchmark's and tests' data.

    built = build_contracts(database_url, contracts=10_000, sessions_per_contract=30, period="2026-10")

One operator (NL, EUR, Europe/Amsterdam) with one location and an AC station, made by the use cases;
one subscription plan (9.99 a month + 21 % VAT, no included kWh); then, inserted in bulk in one
transaction each through the repositories and the sessions' own row mapping: ``contracts`` customers,
each with an ACTIVE monthly contract since 1 January 2026 (cycles are calendar months in Amsterdam),
and ``sessions_per_contract`` completed sessions per customer inside ``period``, priced at
0.35 + 0.39 per kWh excl. 21 % VAT with ``10 + n % 20`` kWh for the n-th session of the run. The
operator's invoicing profile (``SELLER``: complete legal data) is saved, unless ``seller=False``.

So a contract's October invoice is, by hand, with ``k`` sessions of energies e_1..e_k kWh:
fee 9.99 + sum(0.35 + 0.39 e_i), plus 21 % VAT on the one category's net base.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.records import SESSIONS
from evbill.application.access.keys import create_api_key, create_operator
from evbill.application.demo import _place, _station
from evbill.application.offers.plans import create_plan
from evbill.application.records import Services
from evbill.application.sites import records as sites
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Actor, Role
from evbill.domain.charging.sessions import ChargePart, ChargingSession, SessionStatus
from evbill.domain.invoicing.documents import Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.runs import period_bounds
from evbill.domain.offers.contracts import Contract, ContractStatus, ContractTerms, PaymentMethodKind
from evbill.domain.offers.customers import Customer, CustomerKind
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, PlanKind
from evbill.domain.sites.model import PowerType
from evbill.domain.tariffs.model import TariffDimension

CONTRACT_START = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=1)  # 1 January, 00:00 in Amsterdam
FEE = Decimal("9.99")
FLAT = Decimal("0.35")
PER_KWH = Decimal("0.39")
VAT = Decimal("21")
BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Built:
    operator_id: str
    contract_ids: list[str]
    sessions: int


def session_kwh(index: int) -> int:
    return 10 + index % 20


SELLER = Party("Bench Charging B.V.", "NL", "Parnassusweg 10", "Amsterdam", "1077 DC", "NL123456782B90",
               registration="KvK 12345678", iban="NL91ABNA0417164300", bic="ABNANL2A")  # fmt: skip


def build_contracts(
    database_url: str,
    *,
    contracts: int,
    sessions_per_contract: int,
    period: str,
    name: str = "Bench",
    seller: bool = True,
) -> Built:
    container = bootstrap(Settings(database_url=database_url))
    try:
        services = container.services
        operator = create_operator(
            services,
            name=f"{name} Charging",
            legal_name=f"{name} Charging B.V.",
            country="NL",
            default_currency="EUR",
        )
        key, _ = create_api_key(services, operator_id=operator.id, role=Role.ADMIN, name="billing data")
        admin = Actor(operator.id, Role.ADMIN, key.id, key.name)
        if seller:
            save_seller(services, operator.id, f"{name} Charging B.V.")
        place = _place(
            "Bench P1",
            "Parnassusweg 10",
            "Amsterdam",
            "1077 DC",
            "NL",
            "Europe/Amsterdam",
            "52.338790,4.872180",
        )
        location = sites.create(services, admin, sites.LOCATIONS, place)
        evse = _station(
            services, admin, location.id, f"{name.upper()}-AC1", "Alfen Eve", PowerType.AC_3_PHASE, 22
        )
        plan, _ = create_plan(
            services,
            admin,
            name="Monthly",
            kind=PlanKind.SUBSCRIPTION,
            currency="EUR",
            version={"fee": FEE, "fee_vat": VAT, "effective_from": CONTRACT_START},
        )
        now = services.clock.now()
        ids = services.ids
        customers, contract_rows, terms_rows = [], [], []
        for number in range(contracts):
            customer = Customer(
                ids.new_id(),
                operator.id,
                CustomerKind.INDIVIDUAL,
                f"Driver {number}",
                None,
                "en",
                "EUR",
                "NL",
                None,
                None,
                None,
                None,
                None,
                now,
                now,
            )
            contract = Contract(
                ids.new_id(),
                operator.id,
                customer.id,
                ContractStatus.ACTIVE,
                CONTRACT_START,
                None,
                1,
                now,
                now,
            )
            terms = ContractTerms(
                ids.new_id(),
                operator.id,
                contract.id,
                1,
                CONTRACT_START,
                plan.id,
                BillingCycle.MONTHLY,
                PaymentMethodKind.INVOICE_BANK_TRANSFER,
                14,
                7,
                None,
                created_at=now,
            )
            customers.append(customer)
            contract_rows.append(contract)
            terms_rows.append(terms)
        with services.uow() as uow:
            for customer in customers:
                uow.customers.add(customer)
            for contract in contract_rows:
                uow.contracts.add(contract)
            for terms in terms_rows:
                uow.contract_terms.add(terms)
            uow.commit()
        first, _ = period_bounds(period)
        start = datetime.combine(first, datetime.min.time(), UTC) + timedelta(days=1)
        rows = []
        index = 0
        for customer, contract in zip(customers, contract_rows, strict=True):
            for n in range(sessions_per_contract):
                started = start + timedelta(hours=n * 20 % 600, minutes=index % 60)
                rows.append(
                    SESSIONS.to_row(
                        _session(
                            ids.new_id(),
                            operator.id,
                            location.id,
                            evse,
                            customer,
                            contract,
                            started,
                            session_kwh(index),
                            now,
                        )
                    )
                )
                index += 1
        with container.engine.begin() as connection:
            for offset in range(0, len(rows), BATCH):
                connection.execute(charging_sessions.insert(), rows[offset : offset + BATCH])
        return Built(operator.id, [c.id for c in contract_rows], len(rows))
    finally:
        container.dispose()


def _session(
    session_id: str,
    operator_id: str,
    location_id: str,
    evse: object,
    customer: Customer,
    contract: Contract,
    started: datetime,
    kwh: int,
    now: datetime,
) -> ChargingSession:
    energy = PER_KWH * kwh
    excl = FLAT + energy
    incl = excl * (1 + VAT / 100)
    return ChargingSession(
        id=session_id,
        operator_id=operator_id,
        location_id=location_id,
        station_id=evse.station_id,  # type: ignore[attr-defined]
        evse_id=evse.id,
        status=SessionStatus.COMPLETED,
        started_at=started,  # type: ignore[attr-defined]
        ended_at=started + timedelta(hours=1),
        energy_wh=Decimal(kwh * 1000),
        currency="EUR",
        tariff_version_id=None,
        total_excl_vat=excl,
        total_incl_vat=incl,
        total_excl_vat_minor=int(excl * 100),
        total_incl_vat_minor=int((incl * 100).quantize(Decimal(1), ROUND_HALF_UP)),
        created_at=now,
        customer_id=customer.id,
        contract_id=contract.id,
        connector_class=ConnectorClass.AC,
        tariff_id="BENCH",
        price_rule="OPERATOR_DEFAULT",
        price_reason="the operator's default tariff",
        parts=(ChargePart(TariffDimension.FLAT, VAT, FLAT), ChargePart(TariffDimension.ENERGY, VAT, energy)),
        charging_s=Decimal(3600),
    )


def save_seller(services: Services, operator_id: str, name: str = SELLER.name) -> None:
    """The operator's invoicing profile with complete legal data (``SELLER`` under ``name``): no
    document is issued without it."""
    profile = InvoicingProfile(operator_id, replace(SELLER, name=name), time_zone="Europe/Amsterdam")
    with services.uow() as uow:
        uow.invoices.save_profile(profile, services.clock.now())
        uow.commit()
