"""Where charging happens: locations, charging stations, EVSEs and connectors (OCPI/OCPP vocabulary).

A location (a car park, a street) has an address, a country and an IANA time zone; its stations are
the OCPP charge points (identified by ``charge_point_id`` on the websocket path); each station has
EVSEs (one vehicle at a time) with connectors (plugs). Connector power type decides the speed class
used by plans and tariffs: AC or DC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


class OcppVersion(enum.StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"


class PowerType(enum.StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"

    @property
    def is_dc(self) -> bool:
        return self is PowerType.DC


class ConnectorFormat(enum.StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class ConnectorStandard(enum.StrEnum):
    """OCPI 2.2.1 ConnectorType (the common subset; more can be added as needed)."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_F = "DOMESTIC_F"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_14_50 = "NEMA_14_50"
    TESLA_S = "TESLA_S"
    SAE_J3400 = "SAE_J3400"


class UnknownStationPolicy(enum.StrEnum):
    """What happens when a charge point id no station has connects: refused, or told to wait."""

    REJECT = "reject"
    PENDING = "pending"


class SecurityProfile(enum.IntEnum):
    """OCPP security profiles evbill accepts: 1 = HTTP Basic, 2 = TLS + HTTP Basic."""

    BASIC = 1
    TLS_BASIC = 2


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    operator_id: str
    name: str
    address: str
    city: str
    postal_code: str | None
    country: str  # ISO 3166-1 alpha-2
    time_zone: str  # IANA
    latitude: Decimal
    longitude: Decimal
    opening_hours: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class ChargingStation:
    id: str
    operator_id: str
    location_id: str
    charge_point_id: str
    vendor: str
    model: str
    ocpp_version: OcppVersion
    security_profile: SecurityProfile
    password_hash: str | None  # HTTP Basic password (argon2); never returned
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Evse:
    id: str
    operator_id: str
    station_id: str
    evse_id: str  # eMI3 EVSE ID, e.g. NL*EVB*E0001*1
    ocpp_evse_id: int  # the EVSE number on the station (OCPP 2.0.1 evse.id; 1.6 connectorId)
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Connector:
    id: str
    operator_id: str
    evse_id: str
    connector_number: int
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int  # V
    max_amperage: int  # A
    max_electric_power: int | None  # W
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class StationRequest:
    """An unknown charging station that asked to connect (the ``pending`` policy): what it said of
    itself, kept for the platform until an operator registers it as a station."""

    charge_point_id: str
    first_seen: datetime
    last_seen: datetime
    attempts: int
    subprotocol: str
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
