"""Reports from the database's sums: one fact row per session, summed in SQL, rebuilt into a ``Report``.

The reference reports (``reports.summarise``, ``heatmap.heatmap``) walk every session in Python. Over a
million sessions that is far too slow, so each finished session also gets one *fact row* whose every
measure is an exact integer in a fixed unit, and whose local-time keys are computed once, here, with
the location's zone (DST included):

    duration_us, charged_us      microseconds          (durations have microseconds)
    energy_mwh                   milliwatt hours       (energy has 3 decimals of Wh)
    net_u, gross_u, <c>_net_u    1e-10 currency units  (precise amounts have 10 decimals)
    billed_net_minor, ..._gross  minor units           (the session's totals as its document settled them)
    <c>_tax_u                    1e-14 currency units  (net x VAT % / 100: exact for VAT rates with up
                                                        to 2 decimals; a rate with 3 or 4 is rounded
                                                        half-even at 1e-14 per session, far below a cent)
    local_day, local_week        "2026-04-01", "2026-W14" of the local start; the month is local_day[:7]
    local_hour                   weekday x 24 + hour of the local start (0 = Monday 00h)
    start_s, end_s               whole UTC epoch seconds (the heatmap's occupancy)

The database sums integers (never a float; PostgreSQL's sum of bigint is an exact numeric) and
``report_of`` turns the sums back into the same ``ReportRow`` the reference makes, equal field by field.

The heatmap's occupancy is summed per UTC quarter hour without walking sessions: for the quarter
boundaries B, G(B) = sum over sessions of the seconds occupied before B
     = sum(ends < B) + B x (count(starts < B) - count(ends < B)) - sum(starts < B),
so four sums per (zone, quarter) give every quarter's occupied seconds, G(B + 900) - G(B); each quarter
then counts for the local weekday and hour at its start (every zone's offset is whole quarter hours).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from evbill.domain.analytics.facts import GroupBy, SessionFact
from evbill.domain.analytics.heatmap import Heatmap
from evbill.domain.analytics.reports import (
    COMPONENT_OF,
    HUNDRED,
    TOTAL_KEY,
    UNKNOWN,
    Component,
    Report,
    ReportRow,
    Revenue,
    zone_of,
)

MICRO, MILLI, PRECISE, TAX = 6, 3, 10, 14  # decimal places of each unit
QUARTER_S = 900
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


def units(value: Decimal, places: int, name: str) -> int:
    """``value`` as an exact integer of 10**-places; refuses a value with more decimals."""
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{name} {value} has more than {places} decimal places")
    return int(scaled)


def epoch_seconds(moment: datetime) -> int:
    delta = moment - EPOCH
    return delta.days * 86400 + delta.seconds


def fact_row(fact: SessionFact) -> dict[str, object]:
    """The fact row of one finished session: keys, local-time buckets and integer measures."""
    local = fact.started_at.astimezone(zone_of(fact.zone))
    iso = local.isocalendar()
    row: dict[str, object] = {
        "session_id": fact.id, "location_id": fact.location_id, "station_id": fact.station_id,
        "evse_id": fact.evse_id, "connector_class": fact.connector_class, "tariff_id": fact.tariff_id,
        "plan_id": fact.plan_id, "customer_id": fact.customer_id, "segment": fact.segment,
        "payment_method": fact.payment_method, "currency": fact.currency, "zone": fact.zone,
        "started_at": fact.started_at, "customer_first_at": fact.customer_first_started_at,
        "local_day": local.strftime("%Y-%m-%d"), "local_week": f"{iso.year:04d}-W{iso.week:02d}",
        "local_hour": local.weekday() * 24 + local.hour,
        "start_s": epoch_seconds(fact.started_at), "end_s": epoch_seconds(fact.ended_at),
        "duration_us": units(fact.duration_s, MICRO, "duration"),
        "charged_us": units(fact.charged_s, MICRO, "charging time"),
        "energy_mwh": units(fact.energy_wh, MILLI, "energy"),
        "net_u": units(fact.total_excl_vat, PRECISE, "total excl. VAT"),
        "gross_u": units(fact.total_incl_vat, PRECISE, "total incl. VAT"),
        "refunded_minor": fact.refunded_minor, "disputed_minor": fact.disputed_minor,
        "charged_back_minor": fact.charged_back_minor, "billed_net_minor": fact.billed_excl_minor,
        "billed_gross_minor": fact.billed_incl_minor,
    }  # fmt: skip
    for component in Component:
        row[f"{component}_parts"] = 0
        row[f"{component}_net_u"] = row[f"{component}_tax_u"] = 0
    for part in fact.parts:
        component = COMPONENT_OF[part.dimension]
        tax = part.excl_vat * part.vat / HUNDRED if part.vat is not None else Decimal(0)
        row[f"{component}_parts"] = 1
        row[f"{component}_net_u"] += units(part.excl_vat, PRECISE, "part excl. VAT")  # type: ignore[operator]
        row[f"{component}_tax_u"] += int(tax.scaleb(TAX).to_integral_value(ROUND_HALF_EVEN))  # type: ignore[operator]
    return row


MEASURES = (
    "duration_us", "charged_us", "energy_mwh", "net_u", "gross_u",
    *(f"{component}_{unit}" for component in Component for unit in ("net_u", "tax_u")),
    "refunded_minor", "disputed_minor", "charged_back_minor", "billed_net_minor", "billed_gross_minor",
)  # fmt: skip
PRESENCE = tuple(f"{component}_parts" for component in Component)


@dataclass(frozen=True, slots=True)
class GroupSums:
    """What the database summed for one group: ``sums`` in MEASURES order, ``present`` in PRESENCE order
    (tuples of the SQL row's values: no dict per group). A sum is an integer of its unit: an ``int``, or
    PostgreSQL's exact ``numeric`` sum as the driver gives it, an integral ``Decimal`` (exponent 0), kept
    as it is rather than converted twice (``row_of`` makes the same Decimal of either)."""

    key: str | None
    currency: str
    sessions: int
    sums: tuple[int | Decimal, ...]
    present: tuple[bool, ...]
    customers: int
    new_customers: int


# Where each measure sits in ``GroupSums.sums`` (a row is built by position, not by name).
_DURATION, _CHARGED, _ENERGY, _NET, _GROSS = (MEASURES.index(name) for name in MEASURES[:5])
_REFUNDED, _DISPUTED, _CHARGED_BACK, _BILLED_NET, _BILLED_GROSS = (
    MEASURES.index(name)
    for name in (
        "refunded_minor",
        "disputed_minor",
        "charged_back_minor",
        "billed_net_minor",
        "billed_gross_minor",
    )
)
_COMPONENTS = tuple(
    (component, PRESENCE.index(f"{component}_parts"), MEASURES.index(f"{component}_net_u"),
     MEASURES.index(f"{component}_tax_u"))
    for component in Component
)  # fmt: skip


# 10**-places as a Decimal: ``Decimal(n) * _SCALE[p]`` is ``Decimal(n).scaleb(-p)`` (the same digits and
# exponent, for an int or an integral Decimal; both round only past the context's 28 digits), a third
# faster, and a by-customer report makes 40,000 rows of seven such amounts.
_SCALE = {places: Decimal(1).scaleb(-places) for places in (MICRO, MILLI, PRECISE, TAX)}
_MICRO_SCALE, _MILLI_SCALE, _PRECISE_SCALE, _TAX_SCALE = (_SCALE[p] for p in (MICRO, MILLI, PRECISE, TAX))


def row_of(group: GroupSums, key: str) -> ReportRow:
    """One report row from the integer sums: Decimal only here, at the edge. ``Decimal(n) * 10**-p`` is
    the same Decimal (digits and exponent) whether ``n`` is an int or an integral Decimal; the minor
    units are ints either way."""
    sums, present = group.sums, group.present
    duration = Decimal(sums[_DURATION]) * _MICRO_SCALE
    charged = Decimal(sums[_CHARGED]) * _MICRO_SCALE
    net = Decimal(sums[_NET]) * _PRECISE_SCALE
    components = {}
    for component, present_at, net_at, tax_at in _COMPONENTS:
        if present[present_at]:
            components[component] = Revenue(
                Decimal(sums[net_at]) * _PRECISE_SCALE, Decimal(sums[tax_at]) * _TAX_SCALE
            )
    return ReportRow(
        key, group.currency, group.sessions, duration, charged, duration - charged,
        Decimal(sums[_ENERGY]) * _MILLI_SCALE, Revenue(net, Decimal(sums[_GROSS]) * _PRECISE_SCALE - net),
        components, group.customers, group.new_customers, group.customers - group.new_customers,
        int(sums[_REFUNDED]), int(sums[_DISPUTED]), int(sums[_CHARGED_BACK]), int(sums[_BILLED_NET]),
        int(sums[_BILLED_GROSS]),
    )  # fmt: skip


def top_order(gross: Any, key: str | None, currency: str) -> tuple[Any, str, str]:
    """The order of a report's top rows: gross revenue highest first, then key and currency."""
    return (-gross, key or UNKNOWN, currency)


def report_of(
    group_by: GroupBy,
    groups: Iterable[GroupSums],
    totals: Iterable[GroupSums],
    *,
    limit: int | None = None,
    found: int | None = None,
) -> Report:
    """The report from the database's group sums: every row sorted by key then currency, as the
    reference; or with ``limit``, the ``limit`` rows of highest gross revenue in that order (``found``:
    how many groups there were, if the database already left some out)."""
    groups = list(groups)
    found = len(groups) if found is None else found
    if limit is not None and found > limit:
        chosen = heapq.nsmallest(
            limit, groups, key=lambda group: top_order(group.sums[_GROSS], group.key, group.currency)
        )
        rows = tuple(row_of(group, group.key or UNKNOWN) for group in chosen)
        left_out = found - len(rows)
    else:
        if group_by is GroupBy.TOTAL:
            keyed = [(TOTAL_KEY, group) for group in groups]
        else:
            keyed = [(group.key or UNKNOWN, group) for group in groups]
        keyed.sort(key=lambda pair: (pair[0], pair[1].currency))
        rows = tuple(row_of(group, key) for key, group in keyed)
        left_out = 0
    return Report(
        group_by,
        rows,
        tuple(row_of(total, TOTAL_KEY) for total in sorted(totals, key=lambda total: total.currency)),
        left_out,
    )


@dataclass(slots=True)
class QuarterSums:
    """Per UTC quarter index (epoch seconds // 900) of one zone: sessions starting / ending in it."""

    starts: dict[int, tuple[int, int]] = field(default_factory=dict)  # quarter -> (count, sum of start_s)
    ends: dict[int, tuple[int, int]] = field(default_factory=dict)  # quarter -> (count, sum of end_s)


def heatmap_of(
    starts_by_hour: Mapping[int, int],
    quarters: Mapping[str, QuarterSums],
    occupied_by_hour: Mapping[int, int] | None = None,
) -> Heatmap:
    """The heatmap from start counts per local hour of the week and per-zone quarter sums, plus
    seconds occupied per local hour of the week already summed (``occupancy``, from a rollup)."""
    starts = [[0] * 24 for _ in range(7)]
    for hour_of_week, count in starts_by_hour.items():
        starts[hour_of_week // 24][hour_of_week % 24] += count
    occupied = [[0] * 24 for _ in range(7)]
    for hour_of_week, seconds in (occupied_by_hour or {}).items():
        occupied[hour_of_week // 24][hour_of_week % 24] += seconds
    for zone, sums in quarters.items():
        for quarter, seconds in _occupied_quarters(sums):
            local = quarter * QUARTER_S + _offset(zone, quarter)
            weekday = (local // 86400 + EPOCH_WEEKDAY) % 7
            occupied[weekday][local % 86400 // 3600] += seconds
    return Heatmap(tuple(map(tuple, starts)), tuple(map(tuple, occupied)))


def _occupied_quarters(sums: QuarterSums) -> Iterable[tuple[int, int]]:
    if not sums.starts:
        return
    first, last = min(sums.starts), max(sums.ends)
    started = started_sum = ended = ended_sum = 0
    before = 0  # G at the start of the quarter
    for quarter in range(first, last + 1):
        count, total = sums.starts.get(quarter, (0, 0))
        started, started_sum = started + count, started_sum + total
        count, total = sums.ends.get(quarter, (0, 0))
        ended, ended_sum = ended + count, ended_sum + total
        boundary = (quarter + 1) * QUARTER_S
        after = ended_sum + boundary * (started - ended) - started_sum
        if after != before:
            yield quarter, after - before
        before = after


def occupancy(zone: str, start_s: int, end_s: int) -> Iterable[tuple[int, int]]:
    """(local hour of the week, seconds) a session occupied, quarter hour by quarter hour: the very
    split ``heatmap_of`` makes from quarter sums (offsets change only at whole quarter hours)."""
    quarter = start_s // QUARTER_S
    while quarter * QUARTER_S < end_s:
        seconds = min(end_s, (quarter + 1) * QUARTER_S) - max(start_s, quarter * QUARTER_S)
        if seconds > 0:
            yield hour_of_week(zone, quarter), seconds
        quarter += 1


def hour_of_week(zone: str, quarter: int) -> int:
    """The local weekday x 24 + hour of a UTC quarter hour's start (0 = Monday 00h): that of every
    moment in the quarter, as offsets change only at whole quarter hours."""
    local = quarter * QUARTER_S + _offset(zone, quarter)
    return (local // 86400 + EPOCH_WEEKDAY) % 7 * 24 + local % 86400 // 3600


_OFFSETS: dict[tuple[str, int], int] = {}


def _offset(zone: str, quarter: int) -> int:
    """The zone's UTC offset in seconds at the quarter's start (cached: the past does not change)."""
    known = _OFFSETS.get((zone, quarter))
    if known is None:
        moment = EPOCH + timedelta(seconds=quarter * QUARTER_S)
        offset = moment.astimezone(zone_of(zone)).utcoffset()
        known = _OFFSETS[(zone, quarter)] = 0 if offset is None else int(offset.total_seconds())
    return known
