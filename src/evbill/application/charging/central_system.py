"""Use cases of the OCPP central system, independent of the protocol version.

The OCPP adapter translates OCPP 1.6 and 2.0.1 messages into these calls and their results back
into responses. Every call stores the frames it is given in the same transaction as what they carry,
so a charger is acknowledged only for what is durably on record (the busiest messages, meter values,
go through ``OcppJournal``'s group commit instead, with the same guarantee).

* ``connect_station``: who is on the other end of a websocket (HTTP Basic per station, security
  profiles 1 and 2); unknown or wrongly authenticated stations are refused.
* ``start_transaction``: authorise the token, resolve the price that applies and snapshot its tariff
  version onto the session (later edits never reprice it), open the session. A resent start (same
  transaction id, or for 1.6 the same content) returns the session it opened the first time.
* ``end_transaction``: clean the meter series, build periods, rate, store the priced session with
  its anomalies, signed meter values, explanation and OCPI CDR. Ending twice changes nothing.
* ``running_cost``: the same rating up to now, for the cost a charger shows during the session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.charging.pricing import Quote, price_now
from evbill.application.offers.customers import authorize
from evbill.application.rating.cdrs import MeteredPrice, price_metered_session
from evbill.application.records import Services, snapshot
from evbill.domain.access.operators import Actor, Role
from evbill.domain.billing.cycle import parts_of
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.country import alpha_3
from evbill.domain.errors import DomainError, NotFound
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.money import PreciseMoney, RoundingMode, SettledMoney, settle
from evbill.domain.offers.customers import AuthorizationStatus
from evbill.domain.rating import CompiledTariff, compile_tariff
from evbill.domain.rating.explanation import explain
from evbill.domain.sites.model import ChargingStation, Evse, Location, SecurityProfile, StationRequest
from evbill.domain.tariffs.text import describe_tariff

ZERO = Decimal(0)


class StationRefused(DomainError):
    code = "unauthenticated"


class UnknownStation(StationRefused):
    """No station has this charge point id (the ``pending`` policy lets it connect and wait)."""


@dataclass(frozen=True, slots=True)
class StationContext:
    """A connected, authenticated station: who it belongs to and what it has."""

    station: ChargingStation
    location: Location
    evses: dict[int, Evse]  # by the station's own EVSE number (1.6 connectorId, 2.0.1 evse.id)
    rounding: RoundingMode
    currency: str

    @property
    def actor(self) -> Actor:
        station = self.station
        return Actor(
            station.operator_id,
            Role.STATION,
            f"station:{station.charge_point_id}",
            f"station {station.charge_point_id}",
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.location.time_zone)


_VERIFIED: dict[tuple[str, str, str], bool] = {}  # (charge point, stored hash, presented digest) -> ok


def station_context(services: Services, operator_id: str, station_id: str) -> StationContext:
    """A station's context for work that does not come from the station itself (e.g. an API reading)."""
    with services.uow() as uow:
        station = uow.stations.get(operator_id, station_id)
        location = uow.locations.get(operator_id, station.location_id) if station else None
        evses = uow.evses.list(operator_id, filters={"station_id": station_id}, after=None, limit=200)
        operator = uow.operators.get(operator_id)
    if station is None or location is None or operator is None:
        raise NotFound(f"station {station_id!r} not found")
    return StationContext(
        station,
        location,
        {e.ocpp_evse_id: e for e in evses},
        operator.rounding_mode,
        operator.default_currency,
    )


def connect_station(
    services: Services, charge_point_id: str, password: str | None, *, secure: bool
) -> StationContext:
    """The station behind a websocket, or StationRefused (same words whatever was wrong)."""
    refused = StationRefused(f"charging station {charge_point_id!r} is unknown or its credentials are wrong")
    with services.uow() as uow:
        station = uow.station_directory.find_by_charge_point_id(charge_point_id)
        if station is None:
            raise UnknownStation(refused.message)
        if station.password_hash is None or password is None:
            raise refused
        key = (charge_point_id, station.password_hash, hashlib.sha256(password.encode()).hexdigest())
        if key not in _VERIFIED:  # argon2 is slow on purpose: verify a station's password once per process
            if not services.passwords.verify(station.password_hash, password):
                raise refused
            _VERIFIED[key] = True
        if station.security_profile is SecurityProfile.TLS_BASIC and not secure:
            raise StationRefused(
                f"charging station {charge_point_id!r} uses security profile 2: connect with TLS (wss)"
            )
        location = uow.locations.get(station.operator_id, station.location_id)
        evses = uow.evses.list(station.operator_id, filters={"station_id": station.id}, after=None, limit=200)
        operator = uow.operators.get(station.operator_id)
    if location is None or operator is None:
        raise refused
    return StationContext(
        station,
        location,
        {e.ocpp_evse_id: e for e in evses},
        operator.rounding_mode,
        operator.default_currency,
    )


def note_station_request(
    services: Services, charge_point_id: str, subprotocol: str, boot: Mapping[str, Any] | None = None
) -> None:
    """Remember an unknown station that connected (and what its BootNotification said of it)."""
    now = services.clock.now()
    boot = boot or {}
    request = StationRequest(
        charge_point_id=charge_point_id[:48],
        first_seen=now,
        last_seen=now,
        attempts=1,
        subprotocol=subprotocol,
        vendor=_text(boot.get("vendor")),
        model=_text(boot.get("model")),
        serial_number=_text(boot.get("serial_number")),
        firmware_version=_text(boot.get("firmware_version")),
    )
    with services.uow() as uow:
        uow.station_requests.note(request)
        uow.commit()


def _text(value: object) -> str | None:
    return None if value is None else str(value)[:100]


def station_requests(services: Services) -> Sequence[StationRequest]:
    """Unknown stations waiting to be registered (a platform view: they belong to no operator)."""
    with services.uow() as uow:
        return uow.station_requests.all()


def record_frames(services: Services, frames: Sequence[Frame]) -> None:
    """Frames of messages that change nothing else (boot, heartbeat, status), stored before the reply."""
    with services.uow() as uow:
        uow.frames.add_many(frames)
        uow.commit()


@dataclass(frozen=True, slots=True)
class Started:
    session: ChargingSession
    transaction_number: int | None  # the 1.6 transactionId
    authorization: AuthorizationStatus
    price_text: str | None
    duplicate: bool


def _evse(context: StationContext, number: int) -> Evse:
    evse = context.evses.get(number) or (
        next(iter(context.evses.values())) if len(context.evses) == 1 else None
    )
    if evse is None:
        raise NotFound(f"station {context.station.charge_point_id} has no EVSE {number}")
    return evse


def _quote(
    services: Services, context: StationContext, evse: Evse, token: str | None, at: datetime
) -> Quote | None:
    try:
        return price_now(services, context.actor, evse_id=evse.id, token_uid=token, at=at)
    except NotFound:
        return None  # no tariff applies: the session is kept, flagged, and priced at nothing


def start_transaction(
    services: Services,
    context: StationContext,
    *,
    evse_number: int,
    id_token: str | None,
    started_at: datetime,
    transaction_id: str | None,
    start_key: str | None,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
) -> Started:
    station = context.station
    operator_id = station.operator_id
    with services.uow() as uow:
        existing = (
            uow.live_sessions.find_by_transaction(operator_id, station.id, transaction_id)
            if transaction_id is not None
            else uow.live_sessions.find_by_start_key(operator_id, station.id, start_key or "")
        )
        if existing is not None:
            uow.frames.add_many(frames)
            uow.commit()
            number = (
                int(existing.transaction_id)
                if existing.transaction_id and existing.transaction_id.isdigit()
                else None
            )
            return Started(existing, number, AuthorizationStatus.ACCEPTED, None, True)
        concurrent = bool(id_token) and bool(uow.live_sessions.active_of_token(operator_id, id_token or ""))
    authorization = authorize(services, context.actor, id_token) if id_token else None
    status = AuthorizationStatus.ACCEPTED if authorization is None else authorization.status
    evse = _evse(context, evse_number)
    quote = _quote(services, context, evse, id_token, started_at)
    with services.uow() as uow:
        number = uow.live_sessions.next_transaction_number() if transaction_id is None else None
        session = ChargingSession(
            id=services.ids.new_id(),
            operator_id=operator_id,
            location_id=station.location_id,
            station_id=station.id,
            evse_id=evse.id,
            status=SessionStatus.ACTIVE,
            started_at=started_at,
            ended_at=None,
            energy_wh=ZERO,
            currency=quote.tariff.currency if quote else context.currency,
            tariff_version_id=quote.version.id if quote else None,
            total_excl_vat=None,
            total_incl_vat=None,
            total_excl_vat_minor=None,
            total_incl_vat_minor=None,
            created_at=services.clock.now(),
            customer_id=authorization.customer.id if authorization and authorization.customer else None,
            contract_id=authorization.contract_id if authorization else None,
            token_uid=id_token,
            connector_class=quote.connector_class if quote else None,
            tariff_id=quote.tariff.id if quote else None,
            price_rule=quote.choice.rule.value if quote else None,
            price_reason=quote.choice.reason if quote else None,
            transaction_id=transaction_id or str(number),
        )
        uow.live_sessions.open(session, transaction_id=session.transaction_id or "", start_key=start_key)
        uow.meter_samples.add_many(operator_id, session.id, samples)
        uow.frames.add_many(frames)
        uow.commit()
    if concurrent and status is AuthorizationStatus.ACCEPTED:
        status = AuthorizationStatus.CONCURRENT_TX
    text = describe_tariff(services.ocpi.read_tariff(quote.version.document).tariff) if quote else None
    return Started(session, number, status, text, False)


def price_text(
    services: Services, context: StationContext, *, evse_number: int, id_token: str | None
) -> str | None:
    """The tariff in words for a driver about to charge at one of the station's EVSEs (None: no tariff)."""
    quote = _quote(services, context, _evse(context, evse_number), id_token, services.clock.now())
    if quote is None:
        return None
    return describe_tariff(services.ocpi.read_tariff(quote.version.document).tariff)


def find_session(services: Services, context: StationContext, transaction_id: str) -> ChargingSession | None:
    with services.uow(read_only=True) as uow:
        return uow.live_sessions.find_by_transaction(
            context.station.operator_id, context.station.id, transaction_id
        )


@dataclass(frozen=True, slots=True)
class Cost:
    """A session's cost so far (or final), exact and as the charger shows it."""

    session: ChargingSession
    excl_vat: Decimal
    incl_vat: Decimal
    shown: SettledMoney  # incl. VAT, rounded once
    energy_wh: Decimal


@dataclass(frozen=True, slots=True)
class _Priced:
    metered: MeteredPrice
    compiled: CompiledTariff


def _compiled(services: Services, context: StationContext, session: ChargingSession) -> CompiledTariff | None:
    """The tariff version snapshotted at the session's start, compiled (None: the session is free)."""
    if session.tariff_version_id is None:
        return None
    with services.uow(read_only=True) as uow:
        version = uow.tariff_versions.get(session.operator_id, session.tariff_version_id)
    if version is None:
        return None
    return compile_tariff(services.ocpi.read_tariff(version.document).tariff, context.zone)


def _price(
    services: Services,
    context: StationContext,
    session: ChargingSession,
    samples: Sequence[MeterSample],
    until: datetime,
) -> _Priced | None:
    """Rate the samples under the tariff version snapshotted at the session's start."""
    compiled = _compiled(services, context, session)
    if compiled is None:
        return None
    metered = price_metered_session(
        samples=samples, compiled=compiled, start=session.started_at, until=until, currency=session.currency
    )
    return _Priced(metered, compiled)


@dataclass(slots=True)
class RunningMeter:
    """What a live session's running costs keep from one to the next: the samples read so far with
    the mark to read on from, and the compiled tariff version (versions never change). Each push then
    reads only the samples stored since the last one. One thread at a time uses a meter."""

    samples: list[MeterSample] = field(default_factory=list)
    mark: int = 0
    compiled: CompiledTariff | None = None
    tariff_read: bool = False


def running_cost(
    services: Services,
    context: StationContext,
    session: ChargingSession,
    now: datetime,
    meter: RunningMeter | None = None,
) -> Cost:
    """What the session costs if it ended now: the final price's own function, up to now. Pass the
    session's ``RunningMeter`` to carry what this push read over to the next one."""
    meter = RunningMeter() if meter is None else meter
    with services.uow(read_only=True) as uow:
        new, meter.mark = uow.meter_samples.of_session_after(session.operator_id, session.id, meter.mark)
    meter.samples.extend(new)
    if not meter.tariff_read:
        meter.compiled, meter.tariff_read = _compiled(services, context, session), True
    if meter.compiled is None:
        return Cost(session, ZERO, ZERO, SettledMoney(0, session.currency), ZERO)
    rated = price_metered_session(
        samples=meter.samples,
        compiled=meter.compiled,
        start=session.started_at,
        until=max(now, session.started_at),
        currency=session.currency,
    ).rated
    shown = settle(PreciseMoney(rated.total_cost.incl_vat, session.currency), context.rounding)
    return Cost(session, rated.total_cost.excl_vat, rated.total_cost.incl_vat, shown, rated.total_energy_wh)


@dataclass(frozen=True, slots=True)
class Ended:
    cost: Cost | None  # None for a stop of a transaction evbill never saw
    duplicate: bool


def end_transaction(
    services: Services,
    context: StationContext,
    *,
    transaction_id: str,
    ended_at: datetime,
    reason: str | None,
    samples: Sequence[MeterSample],
    frames: Sequence[Frame],
) -> Ended:
    """Close a session priced, once. A stop for an unknown transaction is recorded and answered."""
    station = context.station
    with services.uow() as uow:
        session = uow.live_sessions.find_by_transaction(station.operator_id, station.id, transaction_id)
        if session is None or session.status is not SessionStatus.ACTIVE:
            uow.frames.add_many(frames)
            uow.commit()
            if session is None:
                return Ended(None, False)
            return Ended(_stored_cost(session, context), True)
        # The stop's own samples come last, as they will be stored (in the closing transaction below).
        every_sample = [*uow.meter_samples.of_session(station.operator_id, session.id), *samples]
    priced = _price(services, context, session, every_sample, max(ended_at, session.started_at))
    closed, details = _closed(session, priced, context, ended_at, reason, every_sample)
    if priced is not None:
        details["cdr"] = _cdr(services, context, closed, priced)
    with services.uow() as uow:
        uow.meter_samples.add_many(station.operator_id, session.id, samples)
        uow.live_sessions.close(closed, details=details)
        if priced is not None:  # the periods it was rated on, for tariff backtests
            uow.analytics.add_usage(station.operator_id, closed.id, priced.metered.usage)
        uow.frames.add_many(frames)
        uow.commit()
    return Ended(_stored_cost(closed, context), False)


def _closed(
    session: ChargingSession,
    priced: _Priced | None,
    context: StationContext,
    ended_at: datetime,
    reason: str | None,
    samples: Sequence[MeterSample],
) -> tuple[ChargingSession, dict[str, Any]]:
    """The finished session and its evidence: anomalies, signed meter values, explanation, CDR."""
    signed = [sample.signed_data for sample in samples if sample.signed_data]
    details: dict[str, Any] = {"stop_reason": reason, "signed_meter_values": signed}
    if priced is None:
        details["anomalies"] = [{"flag": "NO_TARIFF", "detail": "no tariff applied at the session's start"}]
        closed = replace(
            session,
            status=SessionStatus.COMPLETED,
            ended_at=ended_at,
            total_excl_vat=ZERO,
            total_incl_vat=ZERO,
            total_excl_vat_minor=0,
            total_incl_vat_minor=0,
        )
        return closed, details
    rated = priced.metered.rated
    total = rated.total_cost
    details["anomalies"] = [snapshot(anomaly) for anomaly in priced.metered.anomalies]
    details["explanation"] = explain(priced.metered.usage, priced.compiled, rated).as_dict()
    closed = replace(
        session,
        status=SessionStatus.COMPLETED,
        ended_at=ended_at,
        energy_wh=rated.total_energy_wh,
        total_excl_vat=total.excl_vat,
        total_incl_vat=total.incl_vat,
        total_excl_vat_minor=settle(
            PreciseMoney(total.excl_vat, rated.currency), context.rounding
        ).minor_units,
        total_incl_vat_minor=settle(
            PreciseMoney(total.incl_vat, rated.currency), context.rounding
        ).minor_units,
        parts=parts_of(rated),
        charging_s=rated.total_charging_s,
    )
    return closed, details


def _cdr(
    services: Services, context: StationContext, session: ChargingSession, priced: _Priced
) -> dict[str, Any]:
    """The session's OCPI CDR: where (location, EVSE, connector), who (token), what it cost."""
    location, station = context.location, context.station
    evse = next(e for e in context.evses.values() if e.id == session.evse_id)
    with services.uow() as uow:
        connectors = uow.connectors.list(
            session.operator_id, filters={"evse_id": evse.id}, after=None, limit=10
        )
        operator = uow.operators.get(session.operator_id)
    connector = connectors[0] if connectors else None
    tariff = priced.compiled.tariff
    place = {
        "location_id": location.id,
        "name": location.name,
        "address": location.address,
        "city": location.city,
        "postal_code": location.postal_code,
        "country_alpha_3": alpha_3(location.country),
        "latitude": location.latitude,
        "longitude": location.longitude,
        "evse_uid": evse.id,
        "evse_id": evse.evse_id,
        "connector_id": str(connector.connector_number if connector else 1),
        "connector_standard": connector.standard.value if connector else "IEC_62196_T2",
        "connector_format": connector.format.value if connector else "SOCKET",
        "connector_power_type": connector.power_type.value if connector else "AC_3_PHASE",
    }
    return services.ocpi.write_session_cdr(
        cdr_id=session.id,
        country_code=tariff.country_code or (operator.country if operator else "ZZ"),
        party_id=tariff.party_id or station.charge_point_id[:3].upper(),
        token_uid=session.token_uid,
        contract_id=session.contract_id,
        place=place,
        usage=priced.metered.usage,
        rated=priced.metered.rated,
        tariff_document=services.ocpi.write_tariff(tariff),
        rounding=context.rounding,
        last_updated=services.clock.now(),
    )


def _stored_cost(session: ChargingSession, context: StationContext) -> Cost:
    minor = session.total_incl_vat_minor or 0
    return Cost(
        session,
        session.total_excl_vat or ZERO,
        session.total_incl_vat or ZERO,
        SettledMoney(minor, session.currency),
        session.energy_wh,
    )
