"""Tables of analytics (migration 0009).

``session_usage``: the charging periods a finished session was rated on, one JSON document per
session, so a backtest re-rates exactly what was billed: ``[[start, end, energy_wh, charging_s,
parking_s, reservation_s, min_current, max_current, min_power, max_power], ...]`` (times RFC 3339 UTC,
numbers as exact decimal text, null when not measured).
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from evbill.adapters.db.schema import belongs_to_operator, child_of, metadata, operator_id_column

session_usage = Table(
    "session_usage",
    metadata,
    Column("session_id", String(36), primary_key=True),
    operator_id_column(),
    Column("periods", Text, nullable=False),
    belongs_to_operator(),
    child_of("session_id", "charging_sessions", ondelete="CASCADE"),
)
