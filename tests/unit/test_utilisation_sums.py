"""Summed timelines (integer walk) against the definition (``timelines`` + ``with_charging``).

Generated histories of two stations (one in UTC with two EVSEs, one in Amsterdam over the night the
clocks go back) with everything the walk has rules for: 1.6 connectors and 2.0.1 EVSEs with two
connectors, connector 0 holds, Offline, unknown EVSEs and statuses, duplicates, late reports, clocks
ahead, behind and far off, reports before and after the window, charging sessions. Every grouping,
the faults, the cleaning counts and the occupancy heatmap must be the same, to the microsecond.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from evbill.domain.analytics.utilisation import (
    EvsePlace,
    Occupancy,
    Segment,
    Timelines,
    timelines,
    with_charging,
)
from evbill.domain.analytics.utilisation_report import (
    UtilisationGroup,
    faults,
    faults_of_sums,
    faults_text,
    occupancy_heatmap,
    occupancy_heatmap_of,
    row_text,
    state_sums_of,
    utilisation,
    utilisation_of_sums,
)
from evbill.domain.analytics.utilisation_sums import (
    Reading,
    micros,
    moment,
    summed_timelines,
    walked_stretches,
)
from evbill.domain.charging.status_history import StatusReport

OP = "op"
PLACES = [
    EvsePlace("evse-1", "st-1", 1, "loc-1", "UTC", "AC"),
    EvsePlace("evse-2", "st-1", 2, "loc-1", "UTC", "DC"),
    EvsePlace("evse-a", "st-a", 1, "loc-a", "Europe/Amsterdam", "AC"),
]
STATUSES = ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied",
            "Reserved", "Unavailable", "Faulted", "Offline", "Weird")  # fmt: skip
ERRORS = ("NoError", "NoError", "NoError", None, "GroundFailure", "OtherError")
# the night CEST ends: 25 October 2026 01:00 UTC
ORIGIN = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)


def _history(rng: random.Random) -> list[StatusReport]:
    reports: list[StatusReport] = []
    for _ in range(rng.randint(0, 60)):
        station = rng.choice(("st-1", "st-a"))
        evse = rng.choice((0, 1, 1, 1, 2, 2, 3))
        connector = rng.choice((None, None, 1, 2))
        status = rng.choice(STATUSES)
        received = ORIGIN + timedelta(
            minutes=rng.randint(-2 * 24 * 60, 3 * 24 * 60), microseconds=rng.randint(0, 3)
        )
        clock = rng.random()
        if clock < 0.3:
            reported = received
        elif clock < 0.4:
            reported = None
        elif clock < 0.8:  # late: queued for up to 30 hours (more than a day is a clock that is off)
            reported = received - timedelta(minutes=rng.randint(0, 30 * 60))
        elif clock < 0.9:  # ahead by up to 20 minutes (more than 10 is set aside)
            reported = received + timedelta(minutes=rng.randint(0, 20))
        else:
            reported = datetime(2020, 1, 1, tzinfo=UTC)
        report = StatusReport(OP, station, evse, connector, status, received, reported, rng.choice(ERRORS))
        reports.append(report)
        if reports and rng.random() < 0.15:  # the same report again, received later
            again = rng.choice(reports)
            reports.append(
                again._replace(received_at=again.received_at + timedelta(seconds=rng.randint(0, 90)))
            )
    return reports


def _charging(rng: random.Random) -> dict[str, list[tuple[datetime, datetime]]]:
    charging: dict[str, list[tuple[datetime, datetime]]] = {}
    for place in PLACES:
        moment = ORIGIN - timedelta(hours=rng.randint(0, 30))
        for _ in range(rng.randint(0, 4)):
            begin = moment + timedelta(minutes=rng.randint(0, 600))
            moment = begin + timedelta(minutes=rng.randint(1, 300))
            charging.setdefault(place.evse_id, []).append((begin, moment))
    return charging if rng.random() < 0.7 else {}


def _readings(reports: list[StatusReport]) -> dict[str, list[Reading]]:
    """As a repository gives them: per station in arrival order (received, then stored order)."""
    found: dict[str, list[Reading]] = {}
    for stored, r in enumerate(reports):
        reported = None if r.reported_at is None else micros(r.reported_at)
        found.setdefault(r.station_id, []).append(
            (
                r.station_id,
                r.evse_number,
                r.connector_number,
                r.status,
                micros(r.received_at),
                reported,
                r.error_code,
                stored,
            )  # fmt: skip
        )
    for readings in found.values():
        readings.sort(key=lambda reading: (reading[4], reading[7]))
    return found


def _shown(rows) -> list[dict[str, object]]:
    return [{**row_text(row), "micros": dict(row.micros)} for row in rows]


@pytest.mark.parametrize("seed", range(300))
def test_summing_gives_what_the_segments_give(seed: int) -> None:
    rng = random.Random(seed)
    reports, charging = _history(rng), _charging(rng)
    start = ORIGIN + timedelta(minutes=rng.randint(-24 * 60, 24 * 60), microseconds=rng.randint(0, 2))
    end = start + timedelta(minutes=rng.randint(1, 2 * 24 * 60))
    tolerance = timedelta(minutes=rng.choice((10, 10, 0, 30)))
    places = rng.sample(PLACES, rng.randint(1, 3))
    # The definition
    found = timelines(reports, places, start=start, end=end, tolerance=tolerance)
    segments = with_charging(found.segments, charging)
    # Summed, whole and per local day
    whole, daily = (
        summed_timelines(
            _readings(reports),
            places,
            start=start,
            end=end,
            tolerance=tolerance,
            charging=charging,
            by_local_day=by_day,
        )  # fmt: skip
        for by_day in (False, True)
    )
    for group_by in UtilisationGroup:
        summed = daily if group_by in (UtilisationGroup.DAY, UtilisationGroup.MONTH) else whole
        assert _shown(utilisation_of_sums(summed.times, places, group_by)) == _shown(
            utilisation(segments, group_by)
        ), group_by
    expected_faults = faults_text(faults(Timelines(segments, found.faults, found.cleaning)))
    assert faults_text(faults_of_sums(whole, places)) == expected_faults
    assert whole.faults == found.faults
    assert whole.cleaning == found.cleaning == daily.cleaning
    stretches, _ = walked_stretches(_readings(reports), places, start=start, end=end, tolerance=tolerance,
                                    charging=charging)  # fmt: skip
    zones = {place.evse_id: place.zone for place in places}
    assert occupancy_heatmap_of(stretches, zones) == occupancy_heatmap(segments)


def test_the_segments_summed_in_python_give_the_same_rows() -> None:
    # state_sums_of (what a caller with segments uses) agrees with utilisation() on the same segments
    rng = random.Random(7)
    reports = _history(rng)
    start, end = ORIGIN - timedelta(hours=6), ORIGIN + timedelta(days=1)
    found = timelines(reports, PLACES, start=start, end=end)
    for group_by in UtilisationGroup:
        by_day = group_by in (UtilisationGroup.DAY, UtilisationGroup.MONTH)
        sums = state_sums_of(found, by_local_day=by_day)
        assert _shown(utilisation_of_sums(sums.times, PLACES, group_by)) == _shown(
            utilisation(found.segments, group_by)
        )
    assert occupancy_heatmap(found.segments).known_s  # the heatmap still walks segments


def test_a_late_report_changes_the_sums_where_it_happened() -> None:
    # Given Available at 10:00 and 11:00, and Charging sent at 10:15 but received only at 11:05
    day = datetime(2026, 3, 2, tzinfo=UTC)
    place = PLACES[0]

    def reading(status: str, minute: int, received: int, stored: int) -> Reading:
        at = micros(day + timedelta(hours=10, minutes=minute))
        return (
            "st-1",
            1,
            None,
            status,
            micros(day + timedelta(hours=10, minutes=received)),
            at,
            "NoError",
            stored,
        )

    window = {
        "start": day + timedelta(hours=10),
        "end": day + timedelta(hours=12),
        "tolerance": timedelta(minutes=10),
    }
    before = [reading("Available", 0, 0, 1), reading("Available", 60, 60, 2)]
    late = [reading("Available", 0, 0, 1), reading("Available", 60, 60, 2), reading("Charging", 15, 65, 3)]
    sums = [
        summed_timelines({"st-1": readings}, [place], charging={}, by_local_day=False, **window)
        for readings in (before, late)
    ]
    # Then without it 2 h available; with it 45 min charging from 10:15, and it is counted as late
    assert {t.state: t.micros for t in sums[0].times} == {Occupancy.AVAILABLE: 7_200_000_000}
    assert {t.state: t.micros for t in sums[1].times} == {
        Occupancy.AVAILABLE: 4_500_000_000,
        Occupancy.CHARGING: 2_700_000_000,
    }
    assert (sums[1].cleaning.reports, sums[1].cleaning.out_of_order) == (3, 1)


HEATMAP_ZONES = ("UTC", "Europe/Amsterdam", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns")


@pytest.mark.parametrize("seed", range(40))
def test_the_heatmap_by_arithmetic_gives_what_the_quarter_hour_cut_gives(seed: int) -> None:
    # Stretches of minutes to weeks over both DST nights of 2026 (Lord Howe moves by 30 minutes, Kathmandu
    # is 5:45 ahead), each EVSE's in time order with gaps, unknown time and busy stretches back to back
    rng = random.Random(seed)
    zones = {f"evse-{number}": rng.choice(HEATMAP_ZONES) for number in range(4)}
    stretches: list[tuple[str, Occupancy, int, int]] = []
    for evse_id in zones:
        at = micros(rng.choice((datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC))))
        at += rng.randint(0, 10**10)
        for _ in range(rng.randint(0, 40)):
            at += rng.choice((0, 0, rng.randint(1, 10**9)))
            length = rng.choice((rng.randint(1, 10**8), rng.randint(1, 4 * 10**9), rng.randint(1, 10**12)))
            stretches.append((evse_id, rng.choice(list(Occupancy)), at, at + length))
            at += length
    segments = [
        Segment(EvsePlace(evse_id, "st", 1, "loc", zones[evse_id], "AC"), state, moment(since), moment(until))
        for evse_id, state, since, until in stretches
    ]
    rng.shuffle(segments)  # the definition sorts them itself
    assert occupancy_heatmap_of(stretches, zones) == occupancy_heatmap(segments)
