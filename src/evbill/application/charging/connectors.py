"""Connector states: what a 1.6 station said its connector was doing, kept and applied to its session.

OCPP 1.6 meter values carry no charging state; a StatusNotification (Charging, SuspendedEV,
SuspendedEVSE, Finishing...) says it, once, when it changes. ``note_connector_status`` stores the
connector's state durably (so a reconnect or a server restart keeps it) and, when a session is live
on that connector, adds a sample carrying the new state at the reported time: periods are cut where
the state changed, not at the next meter value. ``connector_states`` reads them back for a station
that (re)connects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from evbill.application.charging.stations import StationContext
from evbill.application.records import Services
from evbill.domain.charging.connectors import ConnectorState
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.sessions import SessionStatus
from evbill.domain.metering.cleaning import ChargingState, MeterSample


def note_connector_status(
    services: Services,
    context: StationContext,
    *,
    connector_id: int,
    status: str,
    state: ChargingState | None,
    at: datetime | None,
    frames: Sequence[Frame],
) -> None:
    """Store the connector's status with its frames; a state change reaches the live session on it
    at the charger's own time (``at``). Without one it waits for the next meter value: the server's
    clock is not the charger's, and the two must not be mixed in one meter series."""
    station = context.station
    evse = context.evses.get(connector_id)
    with services.uow() as uow:
        moment = at or services.clock.now()
        uow.connector_states.put(
            ConnectorState(station.operator_id, station.id, connector_id, status[:32], moment)
        )
        if evse is not None and state is not None and at is not None:
            live = uow.sessions.list(
                station.operator_id,
                filters={"evse_id": evse.id, "status": SessionStatus.ACTIVE},
                after=None,
                limit=1,
            )
            if live and live[0].started_at <= at:
                uow.meter_samples.add_many(station.operator_id, live[0].id, [MeterSample(at, state=state)])
        uow.frames.add_many(frames)
        uow.commit()


def connector_states(services: Services, context: StationContext) -> dict[int, str]:
    """The last status of each of the station's connectors, as it sent it."""
    station = context.station
    with services.uow(read_only=True) as uow:
        states = uow.connector_states.of_station(station.operator_id, station.id)
    return {state.connector_id: state.status for state in states}
