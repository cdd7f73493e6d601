"""Charging periods: a cleaned meter series in, periods cut at every price-relevant boundary out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbill.domain.errors import InvalidInput
from evbill.domain.metering.cleaning import ChargingState, CleanSeries, MeterPoint
from evbill.domain.metering.periods import build_periods
from evbill.domain.metering.usage import ChargingPeriod
from evbill.domain.tariffs.model import (
    DayOfWeek,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ENERGY = PriceComponent(TariffDimension.ENERGY, Decimal("0.30"), Decimal("21"))
CHARGING = ChargingState.CHARGING


def tariff(*restrictions: Restrictions, **fields: object) -> Tariff:
    """One restricted element per restriction, then an unrestricted fallback."""
    elements = tuple(TariffElement((ENERGY,), restriction) for restriction in restrictions)
    return Tariff("T1", "EUR", (*elements, TariffElement((ENERGY,))), **fields)  # type: ignore[arg-type]


def local(text: str) -> datetime:
    """An Amsterdam wall-clock time as a UTC instant (the first one if it occurs twice)."""
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def point(
    moment: datetime,
    energy_wh: str | int,
    state: ChargingState | None = CHARGING,
    *,
    kw: str | None = None,
    amps: str | None = None,
) -> MeterPoint:
    power = None if kw is None else Decimal(kw) * 1000
    return MeterPoint(moment, Decimal(energy_wh), power, None if amps is None else Decimal(amps), state)


def periods_of(
    tariff: Tariff, *points: MeterPoint, start: datetime, end: datetime
) -> tuple[ChargingPeriod, ...]:
    return build_periods(CleanSeries(points), tariff, zone=AMSTERDAM, start=start, end=end)


def starts(periods: tuple[ChargingPeriod, ...]) -> list[datetime]:
    return [period.start for period in periods]


def energies(periods: tuple[ChargingPeriod, ...]) -> list[Decimal]:
    return [period.energy_wh or Decimal(0) for period in periods]


# --- time of day -------------------------------------------------------------------------------------


def test_energy_is_split_at_17_00_local_time() -> None:
    # given 11 kWh charged evenly from 16:30 to 17:30 in Amsterdam, price changes at 17:00
    start, end = local("2026-01-05 16:30"), local("2026-01-05 17:30")
    until_five = Restrictions(end_minute=17 * 60)
    # when
    periods = periods_of(tariff(until_five), point(start, 0), point(end, 11000), start=start, end=end)
    # then two periods, the energy until 17:00 in the first
    eleven_kw = Decimal("11.000000")
    assert periods == (
        ChargingPeriod(
            start,
            local("2026-01-05 17:00"),
            energy_wh=Decimal("5500.000"),
            charging_s=Decimal(1800),
            parking_s=Decimal(0),
            min_power=eleven_kw,
            max_power=eleven_kw,
            tariff_id="T1",
        ),
        ChargingPeriod(
            local("2026-01-05 17:00"),
            end,
            energy_wh=Decimal("5500.000"),
            charging_s=Decimal(1800),
            parking_s=Decimal(0),
            min_power=eleven_kw,
            max_power=eleven_kw,
            tariff_id="T1",
        ),
    )
    assert starts(periods)[1] == utc("2026-01-05 16:00")


def test_a_night_window_that_wraps_past_midnight_cuts_at_both_ends() -> None:
    # given a 22:00-06:00 night price and a session from 21:00 to 07:00 (10 hours, 10 kWh)
    start, end = local("2026-01-05 21:00"), local("2026-01-06 07:00")
    night = Restrictions(start_minute=22 * 60, end_minute=6 * 60)
    # when
    periods = periods_of(tariff(night), point(start, 0), point(end, 10000), start=start, end=end)
    # then no cut at midnight (nothing depends on the date), cuts at 22:00 and 06:00
    assert starts(periods) == [start, local("2026-01-05 22:00"), local("2026-01-06 06:00")]
    assert energies(periods) == [Decimal("1000.000"), Decimal("8000.000"), Decimal("1000.000")]


def test_a_window_open_on_one_side_ends_at_midnight() -> None:
    # given an evening price "from 18:00" (no end time) and a session from 23:00 to 01:00
    start, end = local("2026-01-05 23:00"), local("2026-01-06 01:00")
    evening = Restrictions(start_minute=18 * 60)
    # when
    periods = periods_of(tariff(evening), point(start, 0), point(end, 4000), start=start, end=end)
    # then the evening price stops at midnight
    assert starts(periods) == [start, local("2026-01-06 00:00")]


def test_weekdays_cut_at_local_midnight() -> None:
    # given a weekend price and a session from Friday 23:00 to Saturday 01:00
    start, end = local("2026-01-09 23:00"), local("2026-01-10 01:00")
    weekend = Restrictions(days_of_week=frozenset({DayOfWeek.SATURDAY, DayOfWeek.SUNDAY}))
    # when
    periods = periods_of(tariff(weekend), point(start, 0), point(end, 4000), start=start, end=end)
    # then
    assert starts(periods) == [start, utc("2026-01-09 23:00")]
    assert energies(periods) == [Decimal("2000.000"), Decimal("2000.000")]


def test_spring_forward_a_skipped_boundary_cuts_where_the_clock_jumps() -> None:
    # given 2026-03-29 in Amsterdam: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens;
    # a price from 02:30, and a session from 01:00 to 04:00 local: two real hours
    start, end = local("2026-03-29 01:00"), local("2026-03-29 04:00")
    from_half_past_two = Restrictions(start_minute=150, end_minute=300)
    # when
    periods = periods_of(tariff(from_half_past_two), point(start, 0), point(end, 7200), start=start, end=end)
    # then the cut is at the jump, 01:00 UTC, when the clock first shows a time after 02:30
    assert starts(periods) == [utc("2026-03-29 00:00"), utc("2026-03-29 01:00")]
    assert [period.charging_s for period in periods] == [Decimal(3600), Decimal(3600)]
    assert energies(periods) == [Decimal("3600.000"), Decimal("3600.000")]


def test_fall_back_a_boundary_that_happens_twice_cuts_twice() -> None:
    # given 2026-10-25 in Amsterdam: 03:00 CEST goes back to 02:00 CET, so 02:15-02:45 happens twice;
    # a session from 01:30 CEST to 03:30 CET: three real hours
    start, end = utc("2026-10-24 23:30"), utc("2026-10-25 02:30")
    quarter_past_two = Restrictions(start_minute=135, end_minute=165)
    # when
    periods = periods_of(tariff(quarter_past_two), point(start, 0), point(end, 9000), start=start, end=end)
    # then cuts at each 02:15 and 02:45, and at 01:00 UTC where the clock is turned back over them
    assert starts(periods) == [
        start,
        utc("2026-10-25 00:15"),  # 02:15 CEST
        utc("2026-10-25 00:45"),  # 02:45 CEST
        utc("2026-10-25 01:00"),  # 03:00 CEST becomes 02:00 CET
        utc("2026-10-25 01:15"),  # 02:15 CET
        utc("2026-10-25 01:45"),  # 02:45 CET
    ]
    assert sum(energies(periods)) == Decimal(9000)
    assert periods[1].charging_s == Decimal(1800)


# --- energy and duration -----------------------------------------------------------------------------


def test_an_energy_threshold_is_cut_where_the_energy_reaches_it() -> None:
    # given a cheaper first 10 kWh; 7 kWh by 09:30, 21 kWh by 10:00
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 10:00")
    first_ten = Restrictions(max_kwh=Decimal(10))
    points = point(start, 0), point(utc("2026-01-05 09:30"), 7000), point(end, 21000)
    # when
    periods = periods_of(tariff(first_ten), *points, start=start, end=end)
    # then 10 kWh is reached 3000/14000 of the way through the second interval, rounded up to the
    # microsecond, and the first period carries exactly 10 kWh
    threshold = utc("2026-01-05 09:36:25.714286")
    assert starts(periods) == [start, threshold]
    assert energies(periods) == [Decimal(10000), Decimal(11000)]
    assert [period.charging_s for period in periods] == [Decimal("2185.714286"), Decimal("1414.285714")]
    assert (periods[0].min_power, periods[0].max_power) == (Decimal("14.000000"), Decimal("28.000000"))


def test_an_energy_threshold_counts_from_session_start() -> None:
    # given a min_kwh of 1 reached exactly at a meter point
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:20")
    points = (
        point(start, 0),
        point(utc("2026-01-05 09:10"), 1000),
        point(end, 1000, ChargingState.EV_CONNECTED),
    )
    # when
    periods = periods_of(tariff(Restrictions(min_kwh=Decimal(1))), *points, start=start, end=end)
    # then the cut is the point itself (it is also where parking starts)
    assert starts(periods) == [start, utc("2026-01-05 09:10")]
    assert energies(periods) == [Decimal(1000), Decimal(0)]


def test_a_duration_threshold_cuts_at_start_plus_duration() -> None:
    # given a price for the first 20 minutes, 9 kWh over one hour
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 10:00")
    first_twenty_minutes = Restrictions(max_duration=1200)
    # when
    periods = periods_of(
        tariff(first_twenty_minutes), point(start, 0), point(end, 9000), start=start, end=end
    )
    # then
    assert starts(periods) == [start, utc("2026-01-05 09:20")]
    assert energies(periods) == [Decimal("3000.000"), Decimal("6000.000")]


def test_the_tariff_ending_inside_the_session_is_a_boundary() -> None:
    # given
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 10:00")
    ending = tariff(end_date_time=utc("2026-01-05 09:45"))
    # when
    periods = periods_of(ending, point(start, 0), point(end, 4000), start=start, end=end)
    # then
    assert starts(periods) == [start, utc("2026-01-05 09:45")]


# --- charging, parking, power and current ------------------------------------------------------------


def test_charging_then_parking_are_separate_periods() -> None:
    # given the car is full at 09:40 and stays connected until 10:00
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 10:00")
    points = (
        point(start, 0),
        point(utc("2026-01-05 09:40"), 20000, ChargingState.SUSPENDED_EV),
        point(end, 20000),
    )
    # when
    periods = periods_of(tariff(), *points, start=start, end=end)
    # then
    assert [(p.energy_wh, p.charging_s, p.parking_s) for p in periods] == [
        (Decimal(20000), Decimal(2400), Decimal(0)),
        (Decimal(0), Decimal(0), Decimal(1200)),
    ]


def test_a_suspended_evse_is_still_charging_and_unknown_state_without_energy_is_parking() -> None:
    # given the EVSE pauses at 09:10; from 09:20 no state is known and no energy flows
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:30")
    points = (
        point(start, 0),
        point(utc("2026-01-05 09:10"), 2000, ChargingState.SUSPENDED_EVSE),
        point(utc("2026-01-05 09:20"), 2000, None),
        point(end, 2000, None),
    )
    # when
    periods = periods_of(tariff(), *points, start=start, end=end)
    # then
    assert [(p.charging_s, p.parking_s) for p in periods] == [
        (Decimal(1200), Decimal(0)),
        (Decimal(0), Decimal(600)),
    ]


def test_a_change_of_power_class_starts_a_period_and_the_same_class_does_not() -> None:
    # given a price below 16 kW: 11 kW, then 22 kW, then 7.4 and 7 kW
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:40")
    points = (
        point(start, 0, kw="11"),
        point(utc("2026-01-05 09:10"), 1833, kw="22"),
        point(utc("2026-01-05 09:20"), 5500, kw="7.4"),
        point(utc("2026-01-05 09:30"), 6733, kw="7"),
        point(end, 7900),
    )
    # when
    periods = periods_of(tariff(Restrictions(max_power=Decimal(16))), *points, start=start, end=end)
    # then
    assert starts(periods) == [start, utc("2026-01-05 09:10"), utc("2026-01-05 09:20")]
    assert [(p.min_power, p.max_power) for p in periods] == [
        (Decimal("11"), Decimal("11")),
        (Decimal("22"), Decimal("22")),
        (Decimal("7"), Decimal("7.4")),
    ]
    assert energies(periods) == [Decimal(1833), Decimal(3667), Decimal(2400)]


def test_a_change_of_current_class_starts_a_period() -> None:
    # given a price from 32 A
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:20")
    points = point(start, 0, amps="16"), point(utc("2026-01-05 09:10"), 1800, amps="48"), point(end, 5000)
    # when
    periods = periods_of(tariff(Restrictions(min_current=Decimal(32))), *points, start=start, end=end)
    # then
    assert [(p.start, p.min_current, p.max_current) for p in periods] == [
        (start, Decimal(16), Decimal(16)),
        (utc("2026-01-05 09:10"), Decimal(48), Decimal(48)),
    ]


def test_without_power_restrictions_power_changes_do_not_cut() -> None:
    # given
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:20")
    points = point(start, 0, kw="11"), point(utc("2026-01-05 09:10"), 1833, kw="50"), point(end, 5000)
    # when
    periods = periods_of(tariff(), *points, start=start, end=end)
    # then
    assert len(periods) == 1
    assert (periods[0].min_power, periods[0].max_power) == (Decimal(11), Decimal(50))


# --- running sessions and sparse data ----------------------------------------------------------------


def test_a_running_session_is_cut_at_now_and_later_points_are_ignored() -> None:
    # given "now" is 09:15; a point stamped 09:20 is already stored
    start, now = utc("2026-01-05 09:00"), utc("2026-01-05 09:15")
    points = point(start, 0), point(utc("2026-01-05 09:10"), 2000), point(utc("2026-01-05 09:20"), 4000)
    # when
    periods = periods_of(tariff(), *points, start=start, end=now)
    # then
    assert [(p.start, p.end, p.energy_wh, p.charging_s) for p in periods] == [
        (start, now, Decimal(2000), Decimal(900)),
    ]


def test_without_points_the_session_is_one_period_without_energy() -> None:
    # given
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:30")
    # when
    periods = periods_of(tariff(), start=start, end=end)
    # then
    assert periods == (ChargingPeriod(start, end, Decimal(0), Decimal(0), Decimal(1800), tariff_id="T1"),)


def test_before_the_first_point_energy_starts_at_zero_with_the_first_state() -> None:
    # given the first sample arrives 5 minutes after the session started
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:30")
    # when
    periods = periods_of(tariff(), point(utc("2026-01-05 09:05"), 500), start=start, end=end)
    # then
    assert [(p.energy_wh, p.charging_s) for p in periods] == [(Decimal(500), Decimal(1800))]


def test_a_point_before_start_gives_the_energy_at_start() -> None:
    # given the Transaction.Begin was stamped one minute before the session start
    start, end = utc("2026-01-05 09:00"), utc("2026-01-05 09:09")
    # when
    periods = periods_of(tariff(), point(utc("2026-01-05 08:59"), 0), point(end, 1000), start=start, end=end)
    # then only the energy from start on counts: 1000 - 100
    assert energies(periods) == [Decimal("900.000")]


def test_an_empty_window_has_no_periods_and_a_reversed_one_is_invalid() -> None:
    moment = utc("2026-01-05 09:00")
    assert periods_of(tariff(), start=moment, end=moment) == ()
    with pytest.raises(InvalidInput):
        periods_of(tariff(), start=moment, end=moment - timedelta(seconds=1))


# --- invariants --------------------------------------------------------------------------------------


def test_energies_of_periods_add_up_to_the_series_exactly() -> None:
    # given awkward energies, many cuts and thresholds inside intervals
    start, end = local("2026-01-05 16:47:13.5"), local("2026-01-05 19:02:01")
    points = (
        point(start, 0),
        point(local("2026-01-05 17:03:07"), "1234.567"),
        point(local("2026-01-05 17:40:00"), "7777.777"),
        point(local("2026-01-05 18:31:59.999999"), "9999.999"),
        point(end, "12345.678"),
    )
    restrictions = (
        Restrictions(start_minute=17 * 60, end_minute=17 * 60 + 15),
        Restrictions(start_minute=18 * 60 + 7, end_minute=18 * 60 + 45),
        Restrictions(min_kwh=Decimal("3.333333"), max_kwh=Decimal("9.5")),
    )
    # when
    periods = periods_of(tariff(*restrictions), *points, start=start, end=end)
    # then
    assert [f"{period.start.astimezone(AMSTERDAM):%H:%M:%S.%f}" for period in periods] == [
        "16:47:13.500000",
        "17:00:00.000000",
        "17:14:56.830368",  # 3.333333 kWh
        "17:15:00.000000",
        "18:07:00.000000",
        "18:20:18.001334",  # 9.5 kWh
        "18:45:00.000000",
    ]
    assert energies(periods)[:3] == [Decimal("992.444"), Decimal("2340.889"), Decimal("9.372")]
    assert sum(energies(periods)) == Decimal("12345.678")
    assert all(period.energy_wh is not None and period.energy_wh >= 0 for period in periods)


@given(
    steps=st.lists(
        st.tuples(st.integers(1, 7200_000_000), st.integers(0, 50_000_000)), min_size=1, max_size=8
    ),
    thresholds=st.lists(st.integers(1, 400), max_size=3),
    minutes=st.lists(st.integers(0, 1439), max_size=3),
)
def test_periods_cover_the_session_and_add_up(
    steps: list[tuple[int, int]], thresholds: list[int], minutes: list[int]
) -> None:
    # given points every few microseconds to two hours, energies in mWh, kWh thresholds, times of day
    moment, energy = local("2026-10-24 23:00"), Decimal(0)
    points = [point(moment, 0)]
    for microseconds, milliwatt_hours in steps:
        moment, energy = (
            moment + timedelta(microseconds=microseconds),
            energy + Decimal(milliwatt_hours).scaleb(-3),
        )
        points.append(point(moment, str(energy)))
    restrictions = [Restrictions(min_kwh=Decimal(kwh)) for kwh in thresholds]
    restrictions += [Restrictions(start_minute=minute) for minute in minutes]
    # when
    periods = periods_of(tariff(*restrictions), *points, start=points[0].timestamp, end=moment)
    # then
    assert periods[0].start == points[0].timestamp
    assert periods[-1].end == moment
    assert all(earlier.end == later.start for earlier, later in zip(periods, periods[1:], strict=False))
    assert all(period.end > period.start for period in periods)
    assert sum(energies(periods)) == energy
    assert all(period.energy_wh is not None and period.energy_wh >= 0 for period in periods)
