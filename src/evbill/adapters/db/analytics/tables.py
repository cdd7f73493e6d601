"""Tables of analytics (migrations 0009 and 0013).

``session_usage``: the charging periods a finished session was rated on, one JSON document per
session, so a backtest re-rates exactly what was billed: ``[[start, end, energy_wh, charging_s,
parking_s, reservation_s, min_current, max_current, min_power, max_power], ...]`` (times RFC 3339 UTC,
numbers as exact decimal text, null when not measured).

``energy_purchases`` (0013): how each location buys energy: ``kind`` fixed, time_of_use or series, the
fixed price, or the time-of-use windows as JSON ``[["23:00", "07:00", "0.12", [0, ..., 6]], ...]``
(local times, price per kWh as exact text, weekdays 0 = Monday). ``energy_prices`` (0013): an imported
price series, one exact price per kWh per location and UTC quarter hour.

``location_fees`` (0020): a location's grid fee per kWh and demand fee per kW of monthly peak.
``operator_fees`` (0020): the operator's gateway fee (percent + fixed per payment) and roaming rules as
JSON ``[["DE*ABC", "10", "0.10"], ...]`` (contract id prefix, percent of net, fixed; exact text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, String, Table, Text

from evbill.adapters.db.schema import belongs_to_operator, child_of, metadata, operator_id_column
from evbill.adapters.db.types import ExactDecimal, UtcDateTime

PRICE_PER_KWH = ExactDecimal(24, 10)  # a purchase price per kWh; spot prices per MWh / 1000 stay exact

session_usage = Table(
    "session_usage",
    metadata,
    Column("session_id", String(36), primary_key=True),
    operator_id_column(),
    Column("periods", Text, nullable=False),
    belongs_to_operator(),
    child_of("session_id", "charging_sessions", ondelete="CASCADE"),
)

energy_purchases = Table(
    "energy_purchases",
    metadata,
    Column("location_id", String(36), primary_key=True),
    operator_id_column(),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("fixed_price", PRICE_PER_KWH),
    Column("windows", Text),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("location_id", "locations", ondelete="CASCADE"),
)

energy_prices = Table(
    "energy_prices",
    metadata,
    Column("location_id", String(36), primary_key=True),
    Column("starts_at", UtcDateTime(), primary_key=True),
    operator_id_column(),
    Column("price", PRICE_PER_KWH, nullable=False),
    belongs_to_operator(),
    child_of("location_id", "locations", ondelete="CASCADE"),
)

PERCENT = ExactDecimal(12, 6)

location_fees = Table(
    "location_fees",
    metadata,
    Column("location_id", String(36), primary_key=True),
    operator_id_column(),
    Column("currency", String(3), nullable=False),
    Column("grid_per_kwh", PRICE_PER_KWH, nullable=False),
    Column("demand_per_kw", PRICE_PER_KWH, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("location_id", "locations", ondelete="CASCADE"),
)

operator_fees = Table(
    "operator_fees",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("gateway_percent", PERCENT, nullable=False),
    Column("gateway_fixed", PRICE_PER_KWH, nullable=False),
    Column("roaming", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)


@dataclass(frozen=True, slots=True)
class LocationFeesRow:
    location_id: str
    operator_id: str
    currency: str
    grid_per_kwh: Decimal
    demand_per_kw: Decimal
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorFeesRow:
    operator_id: str
    currency: str
    gateway_percent: Decimal
    gateway_fixed: Decimal
    roaming: str
    updated_at: datetime
