"""Use cases around a charging session: the price before it starts, and recording it priced.

``price_now`` answers "what would I pay here, right now?" for a token (or ad hoc, without one) at an
EVSE: it authorises the token, takes the contract terms and plan version in force, resolves the
tariff (``domain.pricing.resolve_price``) and returns it with the rule that chose it.

``record_session`` stores a finished session priced exactly as it will be billed: the tariff that
applied at its start (the version in force then: later edits never reprice it), the rule, the
rating result by dimension and VAT rate, the exact and the settled totals. The OCPP central system
will call it when a transaction ends; tests and demos call it directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from evbill.application.offers.customers import Authorization, active_contract, authorize
from evbill.application.ports import UnitOfWork
from evbill.application.rating.cdrs import price_metered_session
from evbill.application.records import Services, get_or_404, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.billing.cycle import parts_of
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.errors import NotFound
from evbill.domain.metering.cleaning import Anomaly, MeterSample
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.offers.contracts import Contract, ContractTerms
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.offers.plans import ConnectorClass, PlanVersion, connector_class
from evbill.domain.offers.pricing import PriceChoice, resolve_price
from evbill.domain.rating import RatedSession, compile_tariff
from evbill.domain.sites.model import Evse
from evbill.domain.tariffs.catalog import TariffRecord, TariffVersion


@dataclass(frozen=True, slots=True)
class Quote:
    """The price that applies at an EVSE for a token (or ad hoc) at a moment."""

    authorization: Authorization | None
    connector_class: ConnectorClass
    choice: PriceChoice
    tariff: TariffRecord
    version: TariffVersion
    location_time_zone: str


def version_at(versions: Sequence[TariffVersion], moment: datetime) -> TariffVersion:
    """The tariff version in force at ``moment``: the newest published at or before it."""
    published = [v for v in versions if v.created_at <= moment]
    return max(published or versions[:1], key=lambda v: v.number)


def _in_force(versions: Sequence[PlanVersion] | Sequence[ContractTerms], moment: datetime) -> object | None:
    started = [v for v in versions if v.effective_from <= moment]
    return max(started, key=lambda v: v.effective_from) if started else None


def _class_of(uow: UnitOfWork, operator_id: str, evse: Evse) -> ConnectorClass:
    connectors = uow.connectors.list(operator_id, filters={"evse_id": evse.id}, after=None, limit=50)
    if not connectors:
        return ConnectorClass.AC
    fastest = max(connectors, key=lambda c: (c.power_type.is_dc, c.max_electric_power or 0))
    return connector_class(is_dc=fastest.power_type.is_dc, max_power_w=fastest.max_electric_power)


def _plan_and_overrides(
    uow: UnitOfWork, operator_id: str, contract: Contract | None, moment: datetime
) -> tuple[dict[ConnectorClass, str], dict[ConnectorClass, str]]:
    if contract is None:
        return {}, {}
    terms = _in_force(uow.contract_terms.of_contract(operator_id, contract.id), moment)
    if not isinstance(terms, ContractTerms):
        return {}, {}
    plan_version = _in_force(uow.plan_versions.of_plan(operator_id, terms.plan_id), moment)
    plan_tariffs = dict(plan_version.tariffs) if isinstance(plan_version, PlanVersion) else {}
    return dict(terms.overrides), plan_tariffs


def _evse(uow: UnitOfWork, operator_id: str, evse_id: str) -> Evse:
    """An EVSE by evbill's id or by its OCPI / eMI3 EVSE id (``AMS*ZUID*AC1*1``)."""
    evse = uow.evses.get(operator_id, evse_id)
    if evse is None:
        found = uow.evses.list(operator_id, filters={"evse_id": evse_id}, after=None, limit=1)
        evse = found[0] if found else None
    if evse is None:
        raise NotFound(f"EVSE {evse_id!r} not found")
    return evse


def price_now(
    services: Services, actor: Actor, *, evse_id: str, token_uid: str | None, at: datetime | None = None
) -> Quote:
    """The tariff that applies (and why) if a session started at ``at`` (default now)."""
    require(actor, Permission.READ)
    moment = at or services.clock.now()
    authorization = authorize(services, actor, token_uid) if token_uid is not None else None
    with services.uow() as uow:
        evse = _evse(uow, actor.operator_id, evse_id)
        station = get_or_404(uow.stations, actor.operator_id, evse.station_id, "station")
        location = get_or_404(uow.locations, actor.operator_id, station.location_id, "location")
        cls = _class_of(uow, actor.operator_id, evse)
        accepted = authorization is not None and authorization.status is AuthorizationStatus.ACCEPTED
        customer = authorization.customer if authorization is not None and accepted else None
        contract = active_contract(uow, actor.operator_id, customer)
        overrides, plan_tariffs = _plan_and_overrides(uow, actor.operator_id, contract, moment)
        choice = resolve_price(
            overrides=overrides,
            plan_tariffs=plan_tariffs,
            has_contract=contract is not None,
            connector_class=cls,
            assignments=uow.assignments.list(actor.operator_id),
            location_id=location.id,
            station_id=station.id,
            evse_id=evse.id,
        )
        if choice is None:
            raise NotFound(
                f"no tariff applies at EVSE {evse_id!r}: assign one to it, its station, location or operator"
            )
        tariff = get_or_404(uow.tariffs, actor.operator_id, choice.tariff_id, "tariff")
        version = version_at(uow.tariff_versions.of_tariff(actor.operator_id, tariff.id), moment)
    return Quote(authorization, cls, choice, tariff, version, location.time_zone)


@dataclass(frozen=True, slots=True)
class Recorded:
    session: ChargingSession
    rated: RatedSession
    anomalies: tuple[Anomaly, ...]


def record_session(
    services: Services,
    actor: Actor,
    *,
    evse_id: str,
    token_uid: str | None,
    started_at: datetime,
    ended_at: datetime,
    samples: Sequence[MeterSample],
) -> Recorded:
    """Price a finished session under the tariff in force at its start and store it."""
    require(actor, Permission.MANAGE_SESSIONS)
    quote = price_now(services, actor, evse_id=evse_id, token_uid=token_uid, at=started_at)
    parsed = services.ocpi.read_tariff(quote.version.document).tariff
    compiled = compile_tariff(parsed, ZoneInfo(quote.location_time_zone))
    priced = price_metered_session(
        samples=samples, compiled=compiled, start=started_at, until=ended_at, currency=quote.tariff.currency
    )
    rated = priced.rated
    authorization = quote.authorization
    with services.uow() as uow:
        operator = uow.operators.get(actor.operator_id)
        evse = _evse(uow, actor.operator_id, evse_id)
        station = get_or_404(uow.stations, actor.operator_id, evse.station_id, "station")
        rounding = operator.rounding_mode if operator else RoundingMode.HALF_UP
        total = rated.total_cost
        session = ChargingSession(
            id=services.ids.new_id(), operator_id=actor.operator_id, location_id=station.location_id,
            station_id=station.id, evse_id=evse.id, status=SessionStatus.COMPLETED, started_at=started_at,
            ended_at=ended_at, energy_wh=rated.total_energy_wh, currency=rated.currency,
            tariff_version_id=quote.version.id, total_excl_vat=total.excl_vat, total_incl_vat=total.incl_vat,
            total_excl_vat_minor=settle(PreciseMoney(total.excl_vat, rated.currency), rounding).minor_units,
            total_incl_vat_minor=settle(PreciseMoney(total.incl_vat, rated.currency), rounding).minor_units,
            created_at=services.clock.now(),
            customer_id=authorization.customer.id if authorization and authorization.customer else None,
            contract_id=authorization.contract_id if authorization else None,
            token_uid=token_uid, connector_class=quote.connector_class, tariff_id=quote.tariff.id,
            price_rule=quote.choice.rule.value, price_reason=quote.choice.reason, parts=parts_of(rated),
        )  # fmt: skip
        uow.sessions.add(session)
        uow.commit()
    return Recorded(session, rated, priced.anomalies)


def most_common_zone(zones: Sequence[str]) -> str:
    """The time zone an operator's billing calendar follows: that of most of its locations (UTC if none)."""
    return Counter(zones).most_common(1)[0][0] if zones else "UTC"
