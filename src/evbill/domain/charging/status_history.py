"""Status history: every connector/EVSE status a station reported, as it reported it (append-only).

OCPP 1.6 StatusNotification names a connector (``connectorId``, 0 = the whole station), a status
(Available, Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing, Reserved, Unavailable,
Faulted), an ``errorCode`` and maybe a ``timestamp``; OCPP 2.0.1/2.1 names an EVSE and a connector
and a ``connectorStatus`` (Available, Occupied, Reserved, Unavailable, Faulted) with a required
timestamp. A ``StatusReport`` keeps both shapes in one: ``evse_number`` is 1.6's connector id (the
connector is the EVSE there) or 2.0.1's evse id, ``connector_number`` is 2.0.1's connector id (None
in 1.6). The charger's time (``reported_at``) is kept beside the time evbill received it
(``received_at``): clocks drift, and utilisation decides which one to trust.

When a station's websocket closes, evbill itself adds one report ``OFFLINE`` for the whole station
(``evse_number`` 0): what the station's connectors did until its next reports is unknown, not
"still available".
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

OFFLINE = "Offline"  # written by evbill when the station's connection ends; never sent by a charger
STATION = 0  # evse_number of a report about the whole station
NO_ERROR = "NoError"
STATUS_LENGTH = 32
ERROR_LENGTH = 255  # 1.6 errorCode is an enum; vendorErrorCode up to 255
INFO_LENGTH = 255


class StatusReport(NamedTuple):  # a NamedTuple, not a dataclass: reports read 100,000s at a time
    operator_id: str
    station_id: str
    evse_number: int  # 1.6 connectorId / 2.0.1 evseId; 0 = the station
    connector_number: int | None  # 2.0.1 connectorId; None in 1.6
    status: str
    received_at: datetime  # evbill's clock, aware UTC
    reported_at: datetime | None = None  # the charger's clock (1.6 may leave it out)
    error_code: str | None = None  # 1.6 errorCode (NoError when all is well), or a vendor code
    info: str | None = None  # 1.6 info / vendorErrorCode, as sent


def status_report_16(
    operator_id: str,
    station_id: str,
    *,
    connector_id: int,
    status: str,
    error_code: str,
    received_at: datetime,
    reported_at: datetime | None,
    info: str | None = None,
    vendor_error_code: str | None = None,
) -> StatusReport:
    """A 1.6 StatusNotification; a vendor error code is kept when the standard code says OtherError."""
    code = vendor_error_code if error_code == "OtherError" and vendor_error_code else error_code
    return StatusReport(
        operator_id, station_id, connector_id, None, status, received_at, reported_at, code, info
    )


def offline_report(operator_id: str, station_id: str, at: datetime) -> StatusReport:
    return StatusReport(operator_id, station_id, STATION, None, OFFLINE, at, None)
