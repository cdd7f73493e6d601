"""Use cases for where charging happens: locations, charging stations, EVSEs and connectors.

Each kind is created, read, listed, changed and deleted the same way (``records.RecordKind``); what differs is
validation and the parent that must exist in the same operator (a station's location, an EVSE's
station, a connector's EVSE). Stations keep an HTTP Basic password for OCPP security profiles 1/2,
stored only as an argon2 hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from evbill.application.records import (  # the generic verbs, re-exported for the sites' kinds
    RecordKind,
    Services,
    create,
    delete,
    get,
    list_records,
    update,
)
from evbill.domain.access.operators import Permission
from evbill.domain.country import is_country
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.sites.model import ChargingStation, Connector, Evse, Location, SecurityProfile

__all__ = [
    "CONNECTORS",
    "EVSES",
    "LOCATIONS",
    "STATIONS",
    "create",
    "delete",
    "get",
    "list_records",
    "update",
]

CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._\-*+@]{1,48}")  # OCPP identity: safe in a URL path
MIN_PASSWORD_LENGTH = 16  # OCPP 2.0.1 BasicAuthPassword: 16 to 40 characters


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


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


LOCATIONS = RecordKind(
    "location",
    Location,
    Permission.MANAGE_SITES,
    lambda uow: uow.locations,
    None,
    _location_problems,
    {"postal_code": None, "opening_hours": None},
)
STATIONS = RecordKind(
    "station",
    ChargingStation,
    Permission.MANAGE_SITES,
    lambda uow: uow.stations,
    ("location_id", "location", lambda uow: uow.locations),
    _station_problems,
    {"password_hash": None, "security_profile": SecurityProfile.BASIC},
)
EVSES = RecordKind(
    "evse",
    Evse,
    Permission.MANAGE_SITES,
    lambda uow: uow.evses,
    ("station_id", "station", lambda uow: uow.stations),
    _evse_problems,
    {},
)
CONNECTORS = RecordKind(
    "connector",
    Connector,
    Permission.MANAGE_SITES,
    lambda uow: uow.connectors,
    ("evse_id", "EVSE", lambda uow: uow.evses),
    _connector_problems,
    {"max_electric_power": None},
)


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
