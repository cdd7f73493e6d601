"""Repositories of sites: locations, charging stations, EVSEs and connectors, each a ``VersionedRepository``.

List filters (None means "no filter"; an unknown name is a ValueError, a bad value InvalidInput):

    locations   country, city (both exact; city ignoring case), name (substring, ignoring case)
    stations    location_id, charge_point_id, ocpp_version
    evses       station_id, evse_id
    connectors  evse_id, power_type
"""

from __future__ import annotations

from evbill.adapters.db.records import CONNECTORS, EVSES, LOCATIONS, STATIONS
from evbill.adapters.db.repositories import (
    ConnectionSource,
    VersionedRepository,
    contains_ignoring_case,
    equals,
    equals_enum,
    equals_ignoring_case,
)
from evbill.adapters.db.sites import tables as site_tables
from evbill.domain.sites.model import ChargingStation, Connector, Evse, Location, OcppVersion, PowerType


def location_repository(connection: ConnectionSource) -> VersionedRepository[Location]:
    columns = site_tables.locations.c
    filters = {
        "country": equals(columns.country),
        "city": equals_ignoring_case(columns.city),
        "name": contains_ignoring_case(columns.name),
    }
    return VersionedRepository(connection, site_tables.locations, LOCATIONS, filters)


def station_repository(connection: ConnectionSource) -> VersionedRepository[ChargingStation]:
    columns = site_tables.charging_stations.c
    filters = {
        "location_id": equals(columns.location_id),
        "charge_point_id": equals(columns.charge_point_id),
        "ocpp_version": equals_enum(columns.ocpp_version, OcppVersion),
    }
    return VersionedRepository(connection, site_tables.charging_stations, STATIONS, filters)


def evse_repository(connection: ConnectionSource) -> VersionedRepository[Evse]:
    filters = {
        "station_id": equals(site_tables.evses.c.station_id),
        "evse_id": equals(site_tables.evses.c.evse_id),  # the eMI3 / OCPI EVSE id (NL*EVB*E0001*1)
    }
    return VersionedRepository(connection, site_tables.evses, EVSES, filters)


def connector_repository(connection: ConnectionSource) -> VersionedRepository[Connector]:
    columns = site_tables.connectors.c
    filters = {
        "evse_id": equals(columns.evse_id),
        "power_type": equals_enum(columns.power_type, PowerType),
    }
    return VersionedRepository(connection, site_tables.connectors, CONNECTORS, filters)
