"""Tables of charging state beyond the session rows (migration 0007).

* ``session_reviews``: append-only events of sessions sent to review and of operators' decisions
  (close, void, re-rate), each with who, when, why and the status before and after.
* ``connector_states``: the last OCPP 1.6 status of each connector, one row per station and connector.
* ``connector_status_history`` (migration 0020): every status a station reported (1.6 and 2.0.1/2.1),
  append-only, with the charger's time and the time it was received, plus evbill's own ``Offline``
  when a station's connection ends (``domain.charging.status_history``). Written by the OCPP journal's
  group commit with the frames of the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from evbill.adapters.db.schema import (
    belongs_to_operator,
    child_of,
    counter_column,
    id_column,
    metadata,
    operator_id_column,
)
from evbill.adapters.db.types import UtcDateTime

session_reviews = Table(
    "session_reviews",
    metadata,
    id_column(),
    operator_id_column(),
    Column("session_id", String(36), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status_before", String(16), nullable=False),
    Column("status_after", String(16), nullable=False),
    belongs_to_operator(),
    child_of("session_id", "charging_sessions"),
    Index("ix_session_reviews_session", "operator_id", "session_id", "at"),
)

connector_states = Table(
    "connector_states",
    metadata,
    operator_id_column(),
    Column("station_id", String(36), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("station_id", "connector_id"),
    belongs_to_operator(),
    child_of("station_id", "charging_stations"),
)

APPEND_ONLY = ("connector_status_history",)

connector_status_history = Table(
    "connector_status_history",
    metadata,
    counter_column(),
    operator_id_column(),
    Column("station_id", String(36), nullable=False),
    Column("evse_number", Integer, nullable=False),  # 1.6 connectorId, 2.0.1 evseId; 0 = the station
    Column("connector_number", Integer),  # 2.0.1 connectorId
    Column("status", String(32), nullable=False),
    Column("error_code", String(255)),
    Column("info", String(255)),
    Column("reported_at", UtcDateTime()),  # the charger's clock
    Column("received_at", UtcDateTime(), nullable=False),  # evbill's clock
    # No foreign keys: checking two per row cost the journal a third of its StatusNotification
    # throughput (bench/status.py). Only the journal writes here, for a station it authenticated, with
    # the frames of the same message, and those frames hold the station (RESTRICT) for ever.
    Index("ix_connector_status_history_station", "operator_id", "station_id", "received_at"),
)


@dataclass(frozen=True, slots=True)
class StatusHistoryRow:
    """A row of connector_status_history: a domain StatusReport with its place in the log."""

    id: int | None
    operator_id: str
    station_id: str
    evse_number: int
    connector_number: int | None
    status: str
    error_code: str | None
    info: str | None
    reported_at: datetime | None
    received_at: datetime
