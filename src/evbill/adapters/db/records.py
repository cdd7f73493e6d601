"""Rows to domain records and back, by hand: each column is named after its record's field.

A record becomes a row field by field, enums as their values (``OcppVersion.V201`` -> ``"2.0.1"``,
``SecurityProfile.TLS_BASIC`` -> ``2``); a row becomes the frozen record again with its enums rebuilt.
Decimals, aware datetimes and documents pass through as they are: the column types keep them exact.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

from sqlalchemy import RowMapping, Table

from evbill.adapters.db import tables
from evbill.domain.access import ApiKey, AuditAction, AuditEntry
from evbill.domain.catalog import AssignmentScope, TariffAssignment, TariffRecord, TariffVersion
from evbill.domain.money import RoundingMode
from evbill.domain.operators import Operator, Role
from evbill.domain.sessions import ChargingSession, SessionStatus
from evbill.domain.sites import (
    ChargingStation,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    Location,
    OcppVersion,
    PowerType,
    SecurityProfile,
)

R = TypeVar("R")


class RecordMapping(Generic[R]):
    """How one kind of record maps to its table: the record class and its enum-typed fields."""

    def __init__(self, record_type: type[R], *, enums: Mapping[str, type[enum.Enum]]) -> None:
        self.record_type = record_type
        self.field_names = tuple(field.name for field in fields(record_type))  # type: ignore[arg-type]
        self.enums = dict(enums)

    def to_row(self, record: R) -> dict[str, Any]:
        return {name: _plain(getattr(record, name)) for name in self.field_names}

    def from_row(self, row: RowMapping) -> R:
        values = {name: row[name] for name in self.field_names}
        for name, enum_type in self.enums.items():
            if values[name] is not None:
                values[name] = enum_type(values[name])
        return self.record_type(**values)


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


OPERATORS = RecordMapping(Operator, enums={"rounding_mode": RoundingMode})
LOCATIONS = RecordMapping(Location, enums={})
STATIONS = RecordMapping(
    ChargingStation, enums={"ocpp_version": OcppVersion, "security_profile": SecurityProfile}
)
EVSES = RecordMapping(Evse, enums={})
CONNECTORS = RecordMapping(
    Connector, enums={"standard": ConnectorStandard, "format": ConnectorFormat, "power_type": PowerType}
)
TARIFFS = RecordMapping(TariffRecord, enums={})
TARIFF_VERSIONS = RecordMapping(TariffVersion, enums={})
ASSIGNMENTS = RecordMapping(TariffAssignment, enums={"scope": AssignmentScope})
SESSIONS = RecordMapping(ChargingSession, enums={"status": SessionStatus})
API_KEYS = RecordMapping(ApiKey, enums={"role": Role})
AUDIT_ENTRIES = RecordMapping(AuditEntry, enums={"action": AuditAction})

# Which table holds which records; a test checks every table's columns are its record's fields.
TABLE_OF: dict[str, tuple[Table, RecordMapping[Any]]] = {
    "operators": (tables.operators, OPERATORS),
    "locations": (tables.locations, LOCATIONS),
    "charging_stations": (tables.charging_stations, STATIONS),
    "evses": (tables.evses, EVSES),
    "connectors": (tables.connectors, CONNECTORS),
    "tariffs": (tables.tariffs, TARIFFS),
    "tariff_versions": (tables.tariff_versions, TARIFF_VERSIONS),
    "tariff_assignments": (tables.tariff_assignments, ASSIGNMENTS),
    "charging_sessions": (tables.charging_sessions, SESSIONS),
    "api_keys": (tables.api_keys, API_KEYS),
    "audit_log": (tables.audit_log, AUDIT_ENTRIES),
}
