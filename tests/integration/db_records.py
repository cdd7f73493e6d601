"""Domain records for database tests, complete and valid, with every field overridable.

    site = given_site(uow, operator_id)      # location -> station -> EVSE -> connector, stored

Ids are real UUIDv7 (they sort by creation, as the repositories' keyset pagination expects); times
are fixed, aware UTC, with microseconds so the tests see them kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbill.adapters.system import Uuid7Generator
from evbill.application.ports import UnitOfWork
from evbill.domain.access.keys import ApiKey, AuditAction, AuditEntry
from evbill.domain.access.operators import Operator, Role
from evbill.domain.charging.sessions import ChargingSession, SessionStatus
from evbill.domain.money import RoundingMode
from evbill.domain.sites.model import (
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
from evbill.domain.tariffs.catalog import AssignmentScope, TariffAssignment, TariffRecord, TariffVersion

IDS = Uuid7Generator()
CREATED = datetime(2026, 5, 4, 9, 30, 15, 123456, tzinfo=UTC)

TARIFF_DOCUMENT: dict[str, Any] = {
    "id": "12",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.25"), "vat": Decimal("10.0"), "step_size": 1}
            ]
        }
    ],
}


def new_id() -> str:
    return IDS.new_id()


def an_operator(**changes: Any) -> Operator:
    operator = Operator(
        id=new_id(),
        name="Evbill Charging",
        legal_name="Evbill Charging B.V.",
        country="NL",
        default_currency="EUR",
        rounding_mode=RoundingMode.HALF_UP,
        tax_country="NL",
        vat_id="NL123456789B01",
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(operator, **changes)


def a_location(operator_id: str, **changes: Any) -> Location:
    location = Location(
        id=new_id(),
        operator_id=operator_id,
        name="Stationsplein Garage",
        address="Stationsplein 1",
        city="Utrecht",
        postal_code="3511 ED",
        country="NL",
        time_zone="Europe/Amsterdam",
        latitude=Decimal("52.0894440"),
        longitude=Decimal("5.1101650"),
        opening_hours={"twentyfourseven": True},
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(location, **changes)


def a_station(operator_id: str, location_id: str, **changes: Any) -> ChargingStation:
    station = ChargingStation(
        id=new_id(),
        operator_id=operator_id,
        location_id=location_id,
        charge_point_id=f"CP-{new_id()[-12:]}",
        vendor="Alfen",
        model="Eve Double Pro",
        ocpp_version=OcppVersion.V201,
        security_profile=SecurityProfile.TLS_BASIC,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(station, **changes)


def an_evse(operator_id: str, station_id: str, **changes: Any) -> Evse:
    evse = Evse(
        id=new_id(),
        operator_id=operator_id,
        station_id=station_id,
        evse_id=f"NL*EVB*E{new_id()[-8:]}*1",
        ocpp_evse_id=1,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(evse, **changes)


def a_connector(operator_id: str, evse_id: str, **changes: Any) -> Connector:
    connector = Connector(
        id=new_id(),
        operator_id=operator_id,
        evse_id=evse_id,
        connector_number=1,
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_voltage=400,
        max_amperage=32,
        max_electric_power=22000,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(connector, **changes)


def a_tariff(operator_id: str, **changes: Any) -> TariffRecord:
    tariff = TariffRecord(
        id=new_id(),
        operator_id=operator_id,
        ocpi_id="12",
        name="Standard AC",
        current_version=1,
        currency="EUR",
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(tariff, **changes)


def a_tariff_version(operator_id: str, tariff_id: str, **changes: Any) -> TariffVersion:
    version = TariffVersion(
        id=new_id(),
        operator_id=operator_id,
        tariff_id=tariff_id,
        number=1,
        document=TARIFF_DOCUMENT,
        created_at=CREATED,
        created_by="Ops key (admin)",
    )
    return replace(version, **changes)


def an_assignment(operator_id: str, tariff_id: str, **changes: Any) -> TariffAssignment:
    assignment = TariffAssignment(
        id=new_id(),
        operator_id=operator_id,
        scope=AssignmentScope.OPERATOR,
        scope_id=None,
        tariff_id=tariff_id,
    )
    return replace(assignment, **changes)


def an_api_key(operator_id: str, **changes: Any) -> ApiKey:
    key = ApiKey(
        id=new_id(),
        operator_id=operator_id,
        name="Ops key",
        role=Role.ADMIN,
        prefix=f"evb_{new_id()[-8:]}",
        secret_hash="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        created_at=CREATED,
    )
    return replace(key, **changes)


def an_audit_entry(operator_id: str, **changes: Any) -> AuditEntry:
    entry = AuditEntry(
        id=None,
        operator_id=operator_id,
        at=CREATED,
        actor="Ops key (admin, key k1)",
        action=AuditAction.UPDATE,
        entity_type="location",
        entity_id="loc-1",
        before={"name": "Old", "latitude": "52.0894440"},
        after={"name": "New", "latitude": "52.0894440"},
    )
    return replace(entry, **changes)


@dataclass(frozen=True)
class Site:
    location: Location
    station: ChargingStation
    evse: Evse
    connector: Connector


def given_site(uow: UnitOfWork, operator_id: str) -> Site:
    """A location with one station, one EVSE and one connector, stored (not committed)."""
    location = a_location(operator_id)
    station = a_station(operator_id, location.id)
    evse = an_evse(operator_id, station.id)
    connector = a_connector(operator_id, evse.id)
    uow.locations.add(location)
    uow.stations.add(station)
    uow.evses.add(evse)
    uow.connectors.add(connector)
    return Site(location, station, evse, connector)


def a_session(site: Site, **changes: Any) -> ChargingSession:
    session = ChargingSession(
        id=new_id(),
        operator_id=site.location.operator_id,
        location_id=site.location.id,
        station_id=site.station.id,
        evse_id=site.evse.id,
        status=SessionStatus.COMPLETED,
        started_at=datetime(2026, 5, 4, 17, 0, 0, 250000, tzinfo=UTC),
        ended_at=datetime(2026, 5, 4, 19, 45, 30, 999999, tzinfo=UTC),
        energy_wh=Decimal("20450.125"),
        currency="EUR",
        tariff_version_id=None,
        total_excl_vat=Decimal("16.3299540000"),
        total_incl_vat=Decimal("19.7592443400"),
        total_excl_vat_minor=1633,
        total_incl_vat_minor=1976,
        created_at=CREATED,
    )
    return replace(session, **changes)
