"""Tables of sites: locations, charging stations, EVSEs and connectors, each within one operator."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import (
    COORDINATE,
    belongs_to_operator,
    child_of,
    id_column,
    metadata,
    operator_id_column,
    timestamps,
    version_column,
)
from evbill.adapters.db.types import JsonDocument

locations = Table(
    "locations",
    metadata,
    id_column(),
    operator_id_column(),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("postal_code", String(32)),
    Column("country", String(2), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("latitude", COORDINATE, nullable=False),
    Column("longitude", COORDINATE, nullable=False),
    Column("opening_hours", JsonDocument()),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    UniqueConstraint("operator_id", "id"),
)

charging_stations = Table(
    "charging_stations",
    metadata,
    id_column(),
    operator_id_column(),
    Column("location_id", String(36), nullable=False),
    Column("charge_point_id", String(64), nullable=False),
    Column("vendor", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("ocpp_version", String(8), nullable=False),
    Column("security_profile", Integer, nullable=False),
    Column("password_hash", Text),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("location_id", "locations"),
    UniqueConstraint("operator_id", "id"),
    # Global: it is the OCPP websocket path. A refusal says the id is taken, never whose it is.
    UniqueConstraint("charge_point_id", info={"platform_wide": True}),
    Index("ix_charging_stations_location", "operator_id", "location_id", "id"),
)

evses = Table(
    "evses",
    metadata,
    id_column(),
    operator_id_column(),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(48), nullable=False),
    Column("ocpp_evse_id", Integer, nullable=False),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("station_id", "charging_stations"),
    UniqueConstraint("operator_id", "id"),
    UniqueConstraint("station_id", "ocpp_evse_id"),
    UniqueConstraint("operator_id", "evse_id"),
)

connectors = Table(
    "connectors",
    metadata,
    id_column(),
    operator_id_column(),
    Column("evse_id", String(36), nullable=False),
    Column("connector_number", Integer, nullable=False),
    Column("standard", String(32), nullable=False),
    Column("format", String(16), nullable=False),
    Column("power_type", String(32), nullable=False),
    Column("max_voltage", Integer, nullable=False),
    Column("max_amperage", Integer, nullable=False),
    Column("max_electric_power", Integer),
    *timestamps(),
    version_column(),
    belongs_to_operator(),
    child_of("evse_id", "evses"),
    UniqueConstraint("evse_id", "connector_number"),
    Index("ix_connectors_operator_id_id", "operator_id", "id"),
)
