"""The last state a station reported for each of its connectors (OCPP 1.6 StatusNotification).

OCPP 1.6 meter values carry no charging state: whether energy flows or the car is parked comes
from the StatusNotification before them. That state is kept durably, per station and connector,
so a reconnect or a server restart does not turn a charging interval into parking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ConnectorState:
    operator_id: str
    station_id: str
    connector_id: int
    status: str  # the OCPP 1.6 ChargePointStatus, as sent
    at: datetime  # the notification's timestamp (the server's clock when it had none)
