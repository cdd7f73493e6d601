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

Fast reports (0019):
``session_report_facts`` holds what reports group and sum (see ``domain.analytics.rollup``): the
session's keys (place, connector class, tariff, plan, customer, segment, payment method), its local
day, ISO week and hour of the week, and every measure as an exact integer in a fixed unit, so the
database sums them without a float and without reading JSON or converting time zones per row.

``report_refresh_queue`` is filled by database triggers (migration 0019) whenever something a fact
row depends on is written: a session inserted or updated, a payment event stored, a customer's kind
changed, contract terms added. Every report first folds the queue into the facts (a few rows since
the last report), so reports answer from the live data whatever path wrote it (OCPP, API, COPY).
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, Text

from evbill.adapters.db.schema import (
    belongs_to_operator,
    child_of,
    counter_column,
    metadata,
    operator_id_column,
)
from evbill.adapters.db.types import ExactDecimal, UtcDateTime
from evbill.domain.analytics.rollup import MEASURES, PRESENCE

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

session_report_facts = Table(
    "session_report_facts",
    metadata,
    Column("session_id", String(36), primary_key=True),
    operator_id_column(),
    Column("location_id", String(36), nullable=False),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(36), nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    Column("plan_id", String(36)),
    Column("customer_id", String(36)),
    Column("segment", String(16)),
    Column("payment_method", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("zone", String(64), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("customer_first_at", UtcDateTime()),
    Column("local_day", String(10), nullable=False),
    Column("local_week", String(8), nullable=False),
    Column("local_hour", SmallInteger, nullable=False),
    Column("start_s", BigInteger, nullable=False),
    Column("end_s", BigInteger, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in MEASURES),
    *(Column(name, SmallInteger, nullable=False) for name in PRESENCE),
    belongs_to_operator(),
    child_of("session_id", "charging_sessions", ondelete="CASCADE"),
    Index("ix_session_report_facts_started", "operator_id", "started_at"),
    Index("ix_session_report_facts_location", "operator_id", "location_id", "started_at"),
    Index("ix_session_report_facts_customer", "operator_id", "customer_id", "started_at"),
    Index("ix_session_report_facts_station", "operator_id", "station_id", "started_at"),
    Index("ix_session_report_facts_evse", "operator_id", "evse_id", "started_at"),
    Index("ix_session_report_facts_local_day", "operator_id", "local_day"),
    Index("ix_session_report_facts_local_week", "operator_id", "local_week"),
)

report_refresh_queue = Table(
    "report_refresh_queue",
    metadata,
    counter_column(),
    Column("operator_id", String(36), nullable=False),
    Column("session_id", String(36), nullable=False),
    Index("ix_report_refresh_queue_operator", "operator_id", "id"),
)


_KEYS: tuple[tuple[str, type], ...] = (
    ("session_id", str), ("operator_id", str), ("location_id", str), ("station_id", str),
    ("evse_id", str), ("connector_class", str | None), ("tariff_id", str | None), ("plan_id", str | None),
    ("customer_id", str | None), ("segment", str | None), ("payment_method", str), ("currency", str),
    ("zone", str), ("started_at", datetime), ("customer_first_at", datetime | None), ("local_day", str),
    ("local_week", str), ("local_hour", int), ("start_s", int), ("end_s", int),
)  # fmt: skip
# A row of session_report_facts (the keys above, then rollup's measures and presence flags, all int).
ReportFactRow = make_dataclass(
    "ReportFactRow",
    [*_KEYS, *((name, int) for name in (*MEASURES, *PRESENCE))],
    frozen=True,
    slots=True,
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


@dataclass(frozen=True, slots=True)
class RefreshQueueRow:
    """A session whose fact row must be rebuilt (written by triggers, read and deleted by reports)."""

    id: int
    operator_id: str
    session_id: str


# Rollups of the fact rows (migration 0021, see ``rollups``): each kept equal to a GROUP BY over
# session_report_facts by recomputing the keys a batch of facts touched. Presence columns count the
# sessions with a part of the component (a count adds and subtracts; a flag would not).
def _sums() -> list[Column[int]]:
    return [
        Column("sessions", Integer, nullable=False),
        *(Column(name, BigInteger, nullable=False) for name in MEASURES),
        *(Column(name, Integer, nullable=False) for name in PRESENCE),
    ]


# per UTC day of the start (epoch seconds // 86400) and every low-cardinality key
report_day_sums = Table(
    "report_day_sums",
    metadata,
    operator_id_column(),
    Column("day", Integer, nullable=False),
    Column("local_day", String(10), nullable=False),
    Column("local_week", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    Column("plan_id", String(36)),
    Column("segment", String(16)),
    Column("payment_method", String(32), nullable=False),
    *_sums(),
    belongs_to_operator(),
    Index("ix_report_day_sums_day", "operator_id", "day"),
)

# per 28-day UTC period of the start and EVSE (with its station, location, class and tariff)
report_place_sums = Table(
    "report_place_sums",
    metadata,
    operator_id_column(),
    Column("period", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(36), nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    *_sums(),
    belongs_to_operator(),
    Index("ix_report_place_sums_period", "operator_id", "period"),
    Index("ix_report_place_sums_evse", "operator_id", "evse_id", "period"),
)

# the same of all time (a report over the whole history reads 10,000 EVSE rows, not 250,000)
report_place_totals = Table(
    "report_place_totals",
    metadata,
    operator_id_column(),
    Column("currency", String(3), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("station_id", String(36), nullable=False),
    Column("evse_id", String(36), nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    *_sums(),
    belongs_to_operator(),
    Index("ix_report_place_totals_evse", "operator_id", "evse_id"),
)

# per customer and low-cardinality key, of all time: the first and last start, for windows open on a side
report_customer_sums = Table(
    "report_customer_sums",
    metadata,
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    Column("plan_id", String(36)),
    Column("segment", String(16)),
    Column("payment_method", String(32), nullable=False),
    Column("first_started_at", UtcDateTime(), nullable=False),
    Column("last_started_at", UtcDateTime(), nullable=False),
    Column("customer_first_at", UtcDateTime()),
    *_sums(),
    belongs_to_operator(),
    Index("ix_report_customer_sums_customer", "operator_id", "customer_id"),
)

# per customer of all time (migration 0032): report_customer_sums added up over its keys, one row per
# customer and currency, so a report by customer reads its rows (its top ones by the gross index) rather
# than a hash aggregate of every (customer, key) row
report_customer_totals = Table(
    "report_customer_totals",
    metadata,
    operator_id_column(),
    Column("customer_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("customer_first_at", UtcDateTime()),
    *_sums(),
    belongs_to_operator(),
    Index("ix_report_customer_totals_customer", "operator_id", "customer_id"),
    Index("ix_report_customer_totals_gross", "operator_id", "gross_u"),
)

# the heatmap's sums per UTC day of the start and local hour of the week: starts, and seconds occupied
report_heat_sums = Table(
    "report_heat_sums",
    metadata,
    operator_id_column(),
    Column("day", Integer, nullable=False),
    Column("hour", SmallInteger, nullable=False),
    Column("connector_class", String(8)),
    Column("tariff_id", String(36)),
    Column("starts", Integer, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    belongs_to_operator(),
    Index("ix_report_heat_sums_day", "operator_id", "day"),
)

# distinct customers of all time per key of a high-cardinality grouping (day, week, month, place)
report_key_customers = Table(
    "report_key_customers",
    metadata,
    operator_id_column(),
    Column("kind", String(16), nullable=False),
    Column("key", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("customers", Integer, nullable=False),
    Column("new_customers", Integer, nullable=False),
    belongs_to_operator(),
    Index("ix_report_key_customers_key", "operator_id", "kind", "key"),
)

# an operator's rollups are complete when its row is here (a catch-up removes it, a rebuild puts it back)
report_rollup_state = Table(
    "report_rollup_state",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("built_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)

_SUMS: tuple[tuple[str, type], ...] = tuple((name, int) for name in ("sessions", *MEASURES, *PRESENCE))
ReportDaySumsRow = make_dataclass(
    "ReportDaySumsRow",
    [("operator_id", str), ("day", int), ("local_day", str), ("local_week", str), ("currency", str),
     ("connector_class", str | None), ("tariff_id", str | None), ("plan_id", str | None),
     ("segment", str | None), ("payment_method", str), *_SUMS],
    frozen=True, slots=True,
)  # fmt: skip
ReportPlaceSumsRow = make_dataclass(
    "ReportPlaceSumsRow",
    [("operator_id", str), ("period", int), ("currency", str), ("location_id", str), ("station_id", str),
     ("evse_id", str), ("connector_class", str | None), ("tariff_id", str | None), *_SUMS],
    frozen=True, slots=True,
)  # fmt: skip
ReportPlaceTotalsRow = make_dataclass(
    "ReportPlaceTotalsRow",
    [("operator_id", str), ("currency", str), ("location_id", str), ("station_id", str), ("evse_id", str),
     ("connector_class", str | None), ("tariff_id", str | None), *_SUMS],
    frozen=True, slots=True,
)  # fmt: skip
ReportCustomerSumsRow = make_dataclass(
    "ReportCustomerSumsRow",
    [("operator_id", str), ("customer_id", str), ("currency", str), ("connector_class", str | None),
     ("tariff_id", str | None), ("plan_id", str | None), ("segment", str | None), ("payment_method", str),
     ("first_started_at", datetime), ("last_started_at", datetime), ("customer_first_at", datetime | None),
     *_SUMS],
    frozen=True, slots=True,
)  # fmt: skip
ReportCustomerTotalsRow = make_dataclass(
    "ReportCustomerTotalsRow",
    [("operator_id", str), ("customer_id", str), ("currency", str), ("customer_first_at", datetime | None),
     *_SUMS],
    frozen=True, slots=True,
)  # fmt: skip
ReportHeatSumsRow = make_dataclass(
    "ReportHeatSumsRow",
    [("operator_id", str), ("day", int), ("hour", int), ("connector_class", str | None),
     ("tariff_id", str | None), ("starts", int), ("seconds", int)],
    frozen=True, slots=True,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportKeyCustomersRow:
    operator_id: str
    kind: str
    key: str
    currency: str
    customers: int
    new_customers: int


@dataclass(frozen=True, slots=True)
class ReportRollupStateRow:
    operator_id: str
    built_at: datetime
