"""Use cases for where charging happens: locations, charging stations, EVSEs and connectors.

Each kind is created, read, listed, changed and deleted the same way (``_Kind``); what differs is
validation and the parent that must exist in the same operator (a station's location, an EVSE's
station, a connector's EVSE). Stations keep an HTTP Basic password for OCPP security profiles 1/2,
stored only as an argon2 hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from evbill.application.ports import Filters, Repository, UnitOfWork
from evbill.application.records import (
    Page,
    Services,
    audit,
    changed,
    check_version,
    checked_limit,
    get_or_404,
    page_of,
    require,
)
from evbill.domain.access import AuditAction
from evbill.domain.country import is_country
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.operators import Actor, Permission
from evbill.domain.sites import ChargingStation, Connector, Evse, Location, SecurityProfile

CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._\-*+@]{1,48}")  # OCPP identity: safe in a URL path
MIN_PASSWORD_LENGTH = 16  # OCPP 2.0.1 BasicAuthPassword: 16 to 40 characters


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    repository: Callable[[UnitOfWork], Repository[Any]]
    parent: tuple[str, str, Callable[[UnitOfWork], Repository[Any]]] | None  # (field, name, repository)
    validate: Callable[[Any], list[Problem]]
    defaults: Mapping[str, Any]  # optional fields a caller may leave out


def _location_problems(location: Location) -> list[Problem]:
    problems = []
    if not location.name.strip():
        problems.append(Problem("$.name", "must not be blank"))
    if not is_country(location.country):
        problems.append(
            Problem("$.country", f"{location.country!r} is not an ISO 3166-1 alpha-2 country code")
        )
    if location.time_zone not in _time_zones():
        problems.append(
            Problem("$.time_zone", f"{location.time_zone!r} is not an IANA time zone (e.g. Europe/Amsterdam)")
        )
    if not Decimal(-90) <= location.latitude <= Decimal(90):
        problems.append(Problem("$.latitude", "must be between -90 and 90"))
    if not Decimal(-180) <= location.longitude <= Decimal(180):
        problems.append(Problem("$.longitude", "must be between -180 and 180"))
    return problems


def _station_problems(station: ChargingStation) -> list[Problem]:
    if CHARGE_POINT_ID.fullmatch(station.charge_point_id) is None:
        return [
            Problem(
                "$.charge_point_id",
                "must be 1 to 48 characters of letters, digits and . _ - * + @ (it is the OCPP URL path)",
            )
        ]
    return []


def _evse_problems(evse: Evse) -> list[Problem]:
    return [] if evse.ocpp_evse_id >= 1 else [Problem("$.ocpp_evse_id", "must be 1 or more")]


def _connector_problems(connector: Connector) -> list[Problem]:
    problems = []
    if connector.connector_number < 1:
        problems.append(Problem("$.connector_number", "must be 1 or more"))
    for name in ("max_voltage", "max_amperage"):
        if getattr(connector, name) <= 0:
            problems.append(Problem(f"$.{name}", "must be positive"))
    if connector.max_electric_power is not None and connector.max_electric_power <= 0:
        problems.append(Problem("$.max_electric_power", "must be positive"))
    return problems


LOCATIONS = _Kind(
    "location",
    lambda uow: uow.locations,
    None,
    _location_problems,
    {"postal_code": None, "opening_hours": None},
)
STATIONS = _Kind(
    "station",
    lambda uow: uow.stations,
    ("location_id", "location", lambda uow: uow.locations),
    _station_problems,
    {"password_hash": None, "security_profile": SecurityProfile.BASIC},
)
EVSES = _Kind(
    "evse", lambda uow: uow.evses, ("station_id", "station", lambda uow: uow.stations), _evse_problems, {}
)
CONNECTORS = _Kind(
    "connector",
    lambda uow: uow.connectors,
    ("evse_id", "EVSE", lambda uow: uow.evses),
    _connector_problems,
    {"max_electric_power": None},
)


def _validated(kind: _Kind, record: Any) -> None:
    problems = kind.validate(record)
    if problems:
        raise InvalidInput(f"{kind.name} is invalid", tuple(problems))


def _check_parent(kind: _Kind, uow: UnitOfWork, record: Any) -> None:
    if kind.parent is None:
        return
    field, name, repository = kind.parent
    parent_id = getattr(record, field)
    if repository(uow).get(record.operator_id, parent_id) is None:
        raise InvalidInput(f"{kind.name} is invalid", (Problem(f"$.{field}", f"no {name} {parent_id!r}"),))


def create(services: Services, actor: Actor, kind: _Kind, fields: Mapping[str, Any]) -> Any:
    """Create a record of ``kind`` for the actor's operator from validated API/CLI fields."""
    require(actor, Permission.MANAGE_SITES)
    now = services.clock.now()
    record_type = _RECORD_TYPES[kind.name]
    record = record_type(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        created_at=now,
        updated_at=now,
        **{**kind.defaults, **fields},
    )
    _validated(kind, record)
    with services.uow() as uow:
        _check_parent(kind, uow, record)
        kind.repository(uow).add(record)
        audit(uow, actor, now, AuditAction.CREATE, kind.name, record.id, None, record)
        uow.commit()
    return record


def get(services: Services, actor: Actor, kind: _Kind, record_id: str) -> Any:
    require(actor, Permission.READ)
    with services.uow() as uow:
        return get_or_404(kind.repository(uow), actor.operator_id, record_id, kind.name)


def list_records(
    services: Services, actor: Actor, kind: _Kind, *, filters: Filters, cursor: str | None, limit: int
) -> Page[Any]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow() as uow:
        items = kind.repository(uow).list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
    return page_of(items, limit, lambda record: record.id)


def update(
    services: Services,
    actor: Actor,
    kind: _Kind,
    record_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
) -> Any:
    """Apply ``changes`` if the stored record is still at ``expected_version`` (else Conflict)."""
    require(actor, Permission.MANAGE_SITES)
    now = services.clock.now()
    with services.uow() as uow:
        repository = kind.repository(uow)
        before = get_or_404(repository, actor.operator_id, record_id, kind.name)
        check_version(before, expected_version, f"{kind.name} {record_id!r}")
        after = changed(before, changes, now)
        _validated(kind, after)
        _check_parent(kind, uow, after)
        repository.update(after, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, kind.name, record_id, before, after)
        uow.commit()
    return after


def delete(services: Services, actor: Actor, kind: _Kind, record_id: str, *, expected_version: int) -> None:
    require(actor, Permission.MANAGE_SITES)
    now = services.clock.now()
    with services.uow() as uow:
        repository = kind.repository(uow)
        before = get_or_404(repository, actor.operator_id, record_id, kind.name)
        check_version(before, expected_version, f"{kind.name} {record_id!r}")
        repository.delete(actor.operator_id, record_id, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.DELETE, kind.name, record_id, before, None)
        uow.commit()


def station_fields(fields: Mapping[str, Any], services: Services) -> dict[str, Any]:
    """Station fields with the plain ``password`` replaced by its hash (never stored in clear)."""
    result = dict(fields)
    password = result.pop("password", None)
    if password is not None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                "station is invalid",
                (Problem("$.password", f"must have at least {MIN_PASSWORD_LENGTH} characters"),),
            )
        result["password_hash"] = services.passwords.hash(password)
    elif "password" in fields:
        result["password_hash"] = None
    return result


_RECORD_TYPES: dict[str, Callable[..., Any]] = {
    "location": Location,
    "station": ChargingStation,
    "evse": Evse,
    "connector": Connector,
}
