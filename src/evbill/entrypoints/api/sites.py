"""/api/v1 locations, stations, evses, connectors: where charging happens.

The four kinds share one shape (``resources.resource_router``): POST creates (201 + ETag), GET reads (ETag),
GET lists with filters and a cursor, PATCH changes only the fields sent (If-Match required), DELETE
removes (If-Match required; 409 while something still depends on it). A station's HTTP Basic
password is write-only: responses say only whether one is set.
"""

# No `from __future__ import annotations` here: FastAPI reads the route signatures built in
# `build_router` at runtime, and those name models held in local variables.

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from evbill.application.records import Services
from evbill.application.sites import records as use_cases
from evbill.domain.sites.model import (
    ChargingStation,
    ConnectorFormat,
    ConnectorStandard,
    OcppVersion,
    PowerType,
    SecurityProfile,
)
from evbill.entrypoints.api.common import (
    Id,
    Strict,
)
from evbill.entrypoints.api.resources import record_resource, resource_router

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. NL")]
TimeZone = Annotated[
    str, Field(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/Amsterdam")
]
Latitude = Annotated[Decimal, Field(ge=-90, le=90, max_digits=10, decimal_places=7)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, max_digits=11, decimal_places=7)]


class RegularHours(Strict):
    weekday: int = Field(ge=1, le=7, description="1 = Monday ... 7 = Sunday (OCPI)")
    period_begin: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    period_end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class OpeningHours(Strict):
    twentyfourseven: bool
    regular_hours: list[RegularHours] = Field(default_factory=list, max_length=70)


# Locations


class LocationIn(Strict):
    name: str = Field(min_length=1, max_length=255)
    address: str = Field(min_length=1, max_length=255)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str | None = Field(default=None, max_length=16)
    country: Country
    time_zone: TimeZone
    latitude: Latitude
    longitude: Longitude
    opening_hours: OpeningHours | None = None


class LocationPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    address: str | None = Field(default=None, min_length=1, max_length=255)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    postal_code: str | None = Field(default=None, max_length=16)
    country: Country | None = None
    time_zone: TimeZone | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: OpeningHours | None = None


class Record(BaseModel):
    id: str
    version: int
    created_at: datetime
    updated_at: datetime


class LocationOut(Record):
    name: str
    address: str
    city: str
    postal_code: str | None
    country: str
    time_zone: str
    latitude: Decimal
    longitude: Decimal
    opening_hours: dict[str, Any] | None


def _location_fields(body: BaseModel) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    if "opening_hours" in fields and fields["opening_hours"] is not None:
        fields["opening_hours"] = body.opening_hours.model_dump()  # type: ignore[attr-defined]
    return fields


# Stations


class StationIn(Strict):
    location_id: Id
    charge_point_id: str = Field(min_length=1, max_length=48, description="The OCPP identity (URL path).")
    vendor: str = Field(min_length=1, max_length=50)
    model: str = Field(min_length=1, max_length=50)
    ocpp_version: OcppVersion
    security_profile: SecurityProfile = SecurityProfile.BASIC
    password: str | None = Field(
        default=None, min_length=16, max_length=40, description="HTTP Basic; write-only."
    )


class StationPatch(Strict):
    location_id: Id | None = None
    vendor: str | None = Field(default=None, min_length=1, max_length=50)
    model: str | None = Field(default=None, min_length=1, max_length=50)
    ocpp_version: OcppVersion | None = None
    security_profile: SecurityProfile | None = None
    password: str | None = Field(default=None, min_length=16, max_length=40)


class StationOut(Record):
    location_id: str
    charge_point_id: str
    vendor: str
    model: str
    ocpp_version: OcppVersion
    security_profile: SecurityProfile
    has_password: bool


# EVSEs and connectors


class EvseIn(Strict):
    station_id: Id
    evse_id: str = Field(min_length=1, max_length=48, description="eMI3 EVSE ID, e.g. NL*EVB*E0001*1")
    ocpp_evse_id: int = Field(ge=1, le=1000)


class EvsePatch(Strict):
    evse_id: str | None = Field(default=None, min_length=1, max_length=48)
    ocpp_evse_id: int | None = Field(default=None, ge=1, le=1000)


class EvseOut(Record):
    station_id: str
    evse_id: str
    ocpp_evse_id: int


class ConnectorIn(Strict):
    evse_id: Id
    connector_number: int = Field(ge=1, le=100)
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int = Field(ge=1, le=2000)
    max_amperage: int = Field(ge=1, le=2000)
    max_electric_power: int | None = Field(default=None, ge=1, le=5_000_000, description="W")


class ConnectorPatch(Strict):
    standard: ConnectorStandard | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    max_voltage: int | None = Field(default=None, ge=1, le=2000)
    max_amperage: int | None = Field(default=None, ge=1, le=2000)
    max_electric_power: int | None = Field(default=None, ge=1, le=5_000_000)


class ConnectorOut(Record):
    evse_id: str
    connector_number: int
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None


def _station_out(station: ChargingStation) -> StationOut:
    return StationOut(
        **{name: getattr(station, name) for name in StationOut.model_fields if name != "has_password"},
        has_password=station.password_hash is not None,
    )


def _fields_written(model_out: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    """A record as ``model_out`` holds it (its fields, in order; a station's password only as
    ``has_password``), for ``page_response``: the list answers without building a model per item."""
    names = tuple(name for name in model_out.model_fields if name != "has_password")
    if "has_password" not in model_out.model_fields:
        return lambda record: {name: getattr(record, name) for name in names}
    return lambda record: {
        **{name: getattr(record, name) for name in names},
        "has_password": record.password_hash is not None,
    }


async def _location_filters(
    country: Annotated[str | None, Query(max_length=2)] = None,
    city: Annotated[str | None, Query(max_length=100)] = None,
    name: Annotated[
        str | None, Query(max_length=255, description="Case-insensitive part of the name.")
    ] = None,
) -> dict[str, object]:
    return {k: v for k, v in {"country": country, "city": city, "name": name}.items() if v is not None}


async def _station_filters(
    location_id: Annotated[str | None, Query(max_length=36)] = None,
    charge_point_id: Annotated[str | None, Query(max_length=48)] = None,
    ocpp_version: OcppVersion | None = None,
) -> dict[str, object]:
    values = {"location_id": location_id, "charge_point_id": charge_point_id, "ocpp_version": ocpp_version}
    return {k: v for k, v in values.items() if v is not None}


async def _evse_filters(station_id: Annotated[str | None, Query(max_length=36)] = None) -> dict[str, object]:
    return {} if station_id is None else {"station_id": station_id}


async def _connector_filters(
    evse_id: Annotated[str | None, Query(max_length=36)] = None, power_type: PowerType | None = None
) -> dict[str, object]:
    return {k: v for k, v in {"evse_id": evse_id, "power_type": power_type}.items() if v is not None}


def _station_fields(body: BaseModel, svc: Services) -> dict[str, Any]:
    return use_cases.station_fields(body.model_dump(exclude_unset=True), svc)


def build_router() -> APIRouter:
    router = APIRouter()
    for resource in (
        record_resource(
            use_cases.LOCATIONS, path="/locations", tag="locations", model_in=LocationIn,
            model_patch=LocationPatch, model_out=LocationOut, filters=_location_filters,
            fields=lambda body, svc: _location_fields(body),
            nullable=frozenset({"postal_code", "opening_hours"}),
        ),
        record_resource(
            use_cases.STATIONS, path="/stations", tag="stations", model_in=StationIn,
            model_patch=StationPatch, model_out=StationOut, filters=_station_filters, fields=_station_fields,
            to_out=_station_out,
            written=_fields_written(StationOut), nullable=frozenset({"password"}),
        ),
        record_resource(
            use_cases.EVSES, path="/evses", tag="evses", model_in=EvseIn, model_patch=EvsePatch,
            model_out=EvseOut, filters=_evse_filters,
        ),
        record_resource(
            use_cases.CONNECTORS, path="/connectors", tag="connectors", model_in=ConnectorIn,
            model_patch=ConnectorPatch, model_out=ConnectorOut, filters=_connector_filters,
            nullable=frozenset({"max_electric_power"}),
        ),
    ):  # fmt: skip
        router.include_router(resource_router(resource))
    return router
