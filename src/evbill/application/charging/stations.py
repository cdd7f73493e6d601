"""Stations of the OCPP central system: who is on the other end of a websocket, and what it has.

* ``connect_station``: HTTP Basic per station (security profiles 1 and 2); unknown or wrongly
  authenticated stations are refused with the same words, after the same work, whatever was wrong.
* ``station_context``: a station's context for work that does not come from the station itself.
* ``note_station_request``: an unknown station that asked to connect, kept for the operator to register.
* ``record_frames``: frames of messages that change nothing else, stored before the reply.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.records import Services
from evbill.domain.access.operators import Actor, Role
from evbill.domain.charging.frames import Frame
from evbill.domain.errors import DomainError, NotFound
from evbill.domain.money import RoundingMode
from evbill.domain.sites.model import ChargingStation, Evse, Location, SecurityProfile, StationRequest


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
_DECOY: list[tuple[object, str]] = []  # (hasher, the hash of a password nobody knows)


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


def _decoy_hash(services: Services) -> str:
    """A hash to check a password against when there is no station's hash to check it against."""
    for hasher, decoy in _DECOY:
        if hasher is services.passwords:
            return decoy
    decoy = services.passwords.hash(secrets.token_urlsafe(24))
    _DECOY.append((services.passwords, decoy))
    return decoy


def connect_station(
    services: Services, charge_point_id: str, password: str | None, *, secure: bool
) -> StationContext:
    """The station behind a websocket, or StationRefused: the same words, after the same work, whether
    the id is unknown, the password wrong, or a profile-2 station came without TLS. A presented password
    is always checked against an argon2 hash (a decoy's when the station has none to check it against,
    or may not use this connection), so the time taken tells nothing either. Only a password already
    found right for this station answers faster: whoever presents it knows it."""
    why = "is unknown or its credentials are wrong"
    if not secure:
        why += " (a station of security profile 2 connects over TLS only: wss)"
    refused = StationRefused(f"charging station {charge_point_id!r} {why}")
    with services.uow() as uow:
        station = uow.station_directory.find_by_charge_point_id(charge_point_id)
        may_connect = (
            station is not None
            and station.password_hash is not None
            and (secure or station.security_profile is not SecurityProfile.TLS_BASIC)
        )
        if password is None or station is None or not may_connect:
            if password is not None:
                services.passwords.verify(_decoy_hash(services), password)  # as long as a wrong password
            raise UnknownStation(refused.message) if station is None else refused
        assert station.password_hash is not None
        key = (charge_point_id, station.password_hash, hashlib.sha256(password.encode()).hexdigest())
        if key not in _VERIFIED:  # argon2 is slow on purpose: verify a station's password once per process
            if not services.passwords.verify(station.password_hash, password):
                raise refused
            _VERIFIED[key] = True
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
