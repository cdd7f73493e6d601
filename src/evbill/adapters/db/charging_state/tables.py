"""Tables of charging state beyond the session rows (migration 0007).

* ``session_reviews``: append-only events of sessions sent to review and of operators' decisions
  (close, void, re-rate), each with who, when, why and the status before and after.
* ``connector_states``: the last OCPP 1.6 status of each connector, one row per station and connector.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from evbill.adapters.db.schema import (
    belongs_to_operator,
    child_of,
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
