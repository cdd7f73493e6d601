"""The rollup's arithmetic: fact rows summed as a database would, then rebuilt, equal the reference.

Pure: no database. Random sessions in three zones (two DST zones and UTC+05:45) with microseconds,
parts of every component and VAT rates with 0-2 decimals (a rate with 3 is rounded at 1e-14), are
turned into fact rows, grouped and summed in Python exactly as the SQL does, and rebuilt with
``report_of`` / ``heatmap_of``: every report and the heatmap equal ``summarise`` / ``heatmap``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evbill.domain.analytics.facts import GroupBy, SessionFact
from evbill.domain.analytics.heatmap import heatmap
from evbill.domain.analytics.reports import summarise
from evbill.domain.analytics.rollup import (
    MEASURES,
    PRESENCE,
    QUARTER_S,
    GroupSums,
    QuarterSums,
    fact_row,
    heatmap_of,
    occupancy,
    report_of,
    units,
)
from evbill.domain.charging.sessions import ChargePart
from evbill.domain.tariffs.model import TariffDimension

ZONES = ("Europe/Amsterdam", "America/New_York", "Asia/Kathmandu")
START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = datetime(2026, 6, 1, tzinfo=UTC)
KEY_COLUMN = {
    GroupBy.LOCATION: "location_id", GroupBy.STATION: "station_id", GroupBy.EVSE: "evse_id",
    GroupBy.CONNECTOR_CLASS: "connector_class", GroupBy.PLAN: "plan_id", GroupBy.TARIFF: "tariff_id",
    GroupBy.SEGMENT: "segment", GroupBy.CUSTOMER: "customer_id", GroupBy.PAYMENT_METHOD: "payment_method",
    GroupBy.DAY: "local_day", GroupBy.WEEK: "local_week",
}  # fmt: skip


def _facts(count: int, seed: int, vat_rates: tuple[Decimal | None, ...] | None = None) -> list[SessionFact]:
    rng = random.Random(seed)
    customers = [f"C{n}" for n in range(12)]
    first = {c: START + timedelta(days=rng.randrange(300)) for c in customers}
    facts = []
    for index in range(count):
        started = START + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6))
        if index < 8:  # across the DST nights of Amsterdam and New York
            started = (
                datetime(2026, 3, 29, 0, 20, tzinfo=UTC), datetime(2026, 10, 25, 0, 10, tzinfo=UTC),
                datetime(2026, 3, 8, 6, 10, tzinfo=UTC), datetime(2026, 11, 1, 5, 5, tzinfo=UTC),
            )[index % 4]  # fmt: skip
        ended = started + timedelta(seconds=rng.randint(1, 12 * 3600), microseconds=rng.randrange(10**6))
        vat = rng.choice(vat_rates or (Decimal(21), Decimal("5.5"), Decimal("7.75"), None))
        parts = tuple(
            ChargePart(dimension, vat, Decimal(rng.randrange(10**12)).scaleb(-10))
            for dimension in rng.sample(list(TariffDimension), rng.randint(0, 3))
        )
        customer = rng.choice([None, *customers])
        facts.append(
            SessionFact(
                f"S{index}",
                rng.choice(("L1", "L2")),
                rng.choice(("S1", "S2")),
                rng.choice(("E1", "E2", "E3")),
                ZONES[index % 3] if index >= 8 else ZONES[(index % 4) // 2],
                started,
                ended,
                rng.choice(("EUR", "USD")),
                Decimal(rng.randrange(10**8)).scaleb(-3),
                rng.choice((None, Decimal(rng.randrange(10**7)).scaleb(-3))),
                sum((p.excl_vat for p in parts), Decimal(0)),
                Decimal(rng.randrange(10**12)).scaleb(-10),
                parts,
                rng.choice((None, "AC", "DC")),
                rng.choice((None, "T1")),
                rng.choice((None, "P1")),
                customer,
                rng.choice((None, "BUSINESS", "INDIVIDUAL")),
                first[customer] if customer else None,
                rng.choice(("card", "none", "ad_hoc")),
                rng.randrange(500),
                rng.randrange(300),
                rng.randrange(100),
            )  # fmt: skip
        )
    return facts


def _sums(rows: list[dict[str, object]], key: str | None, window_start: datetime | None) -> list[GroupSums]:
    """GROUP BY <key>, currency as the SQL does: integer sums, max of presence, distinct customers."""
    groups: dict[tuple[object, object], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        group_key = row["local_day"][:7] if key == "month" else row[key] if key else None  # type: ignore[index]
        groups[(group_key, row["currency"])].append(row)
    found = []
    for (group_key, currency), members in groups.items():
        customers = {row["customer_id"] for row in members if row["customer_id"] is not None}
        new = {
            row["customer_id"] for row in members
            if row["customer_id"] is not None
            and (window_start is None or row["customer_first_at"] >= window_start)  # type: ignore[operator]
        }  # fmt: skip
        found.append(
            GroupSums(
                group_key,
                str(currency),
                len(members),  # type: ignore[arg-type]
                tuple(sum(row[name] for row in members) for name in MEASURES),  # type: ignore[misc]
                tuple(any(row[name] for row in members) for name in PRESENCE),
                len(customers),
                len(new),
            )  # fmt: skip
        )
    return found


@pytest.mark.parametrize("group_by", list(GroupBy))
@pytest.mark.parametrize("window_start", [None, WINDOW])
def test_fact_rows_summed_and_rebuilt_equal_the_reference(
    group_by: GroupBy, window_start: datetime | None
) -> None:
    facts = [f for f in _facts(300, seed=7) if window_start is None or f.started_at >= window_start]
    rows = [fact_row(fact) for fact in facts]
    key = (
        None if group_by is GroupBy.TOTAL else "month" if group_by is GroupBy.MONTH else KEY_COLUMN[group_by]
    )
    report = report_of(group_by, _sums(rows, key, window_start), _sums(rows, None, window_start))
    expected = summarise(facts, group_by, window_start=window_start)
    if group_by is GroupBy.TOTAL:
        # the database's total is one group per currency (the reference's row and total agree)
        assert report.rows == expected.rows
    assert report == expected


def test_the_heatmap_from_quarter_sums_equals_the_walk_over_every_session() -> None:
    facts = _facts(300, seed=11)
    starts: dict[int, int] = defaultdict(int)
    quarters: dict[str, QuarterSums] = {}
    for row in map(fact_row, facts):
        starts[row["local_hour"]] += 1  # type: ignore[index]
        sums = quarters.setdefault(str(row["zone"]), QuarterSums())
        for column, into in (("start_s", sums.starts), ("end_s", sums.ends)):
            value = int(row[column])  # type: ignore[call-overload]
            count, total = into.get(value // QUARTER_S, (0, 0))
            into[value // QUARTER_S] = (count + 1, total + value)
    assert heatmap_of(starts, quarters) == heatmap(facts)


def test_the_heatmap_from_hour_sums_and_quarter_sums_equals_the_walk_over_every_session() -> None:
    # half the sessions as a rollup keeps them (starts and seconds per local hour, ``occupancy``),
    # the other half as the window's edges are read (quarter sums): together, the reference
    facts = _facts(300, seed=13)
    starts: dict[int, int] = defaultdict(int)
    occupied: dict[int, int] = defaultdict(int)
    quarters: dict[str, QuarterSums] = {}
    for index, row in enumerate(map(fact_row, facts)):
        starts[row["local_hour"]] += 1  # type: ignore[index]
        zone, start_s, end_s = str(row["zone"]), int(row["start_s"]), int(row["end_s"])  # type: ignore[call-overload]
        if index % 2:
            for hour, seconds in occupancy(zone, start_s, end_s):
                occupied[hour] += seconds
            continue
        sums = quarters.setdefault(zone, QuarterSums())
        for value, into in ((start_s, sums.starts), (end_s, sums.ends)):
            count, total = into.get(value // QUARTER_S, (0, 0))
            into[value // QUARTER_S] = (count + 1, total + value)
    assert heatmap_of(starts, quarters, occupied) == heatmap(facts)
    assert sum(occupied.values()) > 0


def test_occupancy_splits_a_session_at_local_hours_across_the_autumn_night() -> None:
    # Amsterdam, 2026-10-25: 00:40 UTC is 02:40 CEST; clocks go back at 01:00 UTC to 02:00 CET.
    # A session 00:40-01:50 UTC: 20 min in Sunday 02h (CEST), 50 min in Sunday 02h again (CET).
    start = int(datetime(2026, 10, 25, 0, 40, tzinfo=UTC).timestamp())
    found: dict[int, int] = defaultdict(int)
    for hour, seconds in occupancy("Europe/Amsterdam", start, start + 70 * 60):
        found[hour] += seconds
    assert dict(found) == {6 * 24 + 2: 70 * 60}
    # and Kathmandu (UTC+05:45): 00:00-00:30 UTC is 05:45-06:15 local, 15 min in 05h, 15 in 06h
    midnight = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday
    assert list(occupancy("Asia/Kathmandu", midnight, midnight + 1800)) == [(5, 900), (6, 900)]


def test_a_vat_rate_with_three_decimals_is_rounded_at_1e_14_per_session() -> None:
    # 2.625 % of 0.0000000001 is 0.000000000002625: 15 decimals, kept as 0.00000000000262 (half even)
    facts = _facts(40, seed=3, vat_rates=(Decimal("2.625"),))
    rows = [fact_row(fact) for fact in facts]
    (total,) = report_of(GroupBy.TOTAL, _sums(rows, None, None), _sums(rows, None, None)).rows[:1]
    (expected,) = summarise([f for f in facts if f.currency == total.currency], GroupBy.TOTAL).rows
    for component, revenue in expected.components.items():
        assert revenue.net == total.components[component].net
        assert abs(revenue.tax - total.components[component].tax) <= Decimal("1e-14") * len(facts)


def test_units_refuse_digits_they_cannot_hold() -> None:
    assert units(Decimal("1.5"), 3, "energy") == 1500
    with pytest.raises(ValueError, match="energy 0.0001 has more than 3 decimal places"):
        units(Decimal("0.0001"), 3, "energy")
