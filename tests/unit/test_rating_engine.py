"""The rating engine beyond the spec's examples: boundaries, time zones, DST, VAT mixes, invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbill.domain.errors import CurrencyMismatch
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.rating import AdjustmentKind, compile_tariff, rate
from evbill.domain.tariffs.model import (
    DayOfWeek,
    Price,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)
from tests.support import charge, park, price, session

ENERGY, TIME, PARKING, FLAT = (
    TariffDimension.ENERGY,
    TariffDimension.TIME,
    TariffDimension.PARKING_TIME,
    TariffDimension.FLAT,
)


def component(dimension, price, vat=None, step_size=1):
    return PriceComponent(dimension, Decimal(price), None if vat is None else Decimal(vat), step_size)


def element(*components, **restrictions):
    return TariffElement(tuple(components), Restrictions(**restrictions) if restrictions else None)


def tariff(*elements, currency="EUR", **fields):
    return Tariff(id="T", currency=currency, elements=tuple(elements), **fields)


def energy_tariff_with_evening_price(step_size=1):
    return tariff(
        element(component(ENERGY, "0.20", step_size=step_size), start_minute=0, end_minute=17 * 60),
        element(component(ENERGY, "0.27", step_size=step_size), start_minute=17 * 60, end_minute=0),
    )


def time_tariff_with_evening_price(step_size=1):
    return tariff(
        element(component(TIME, "5", step_size=step_size), end_minute=17 * 60),
        element(component(TIME, "7", step_size=step_size)),
    )


def charging_and_parking_tariff(step_size=1):
    return tariff(
        element(component(TIME, "1", step_size=step_size), component(PARKING, "2", step_size=step_size))
    )


# Time of day, midnight, day of week, time zones


def test_end_time_before_start_time_wraps_past_midnight():
    night = tariff(
        element(component(ENERGY, "0.10"), start_minute=22 * 60, end_minute=6 * 60),
        element(component(ENERGY, "0.30")),
    )
    usage = session(
        "2026-05-04 21:00",
        charge(minutes=60, kwh=1),  # 21:00 day rate
        charge(minutes=180, kwh=2),  # 22:00-01:00 night rate
        charge(minutes=300, kwh=3),  # 01:00-06:00 night rate (after midnight)
        charge(minutes=60, kwh=4),  # 06:00 day rate again: max is exclusive
    )

    rated = price(night, usage)

    assert [line.price for line in rated.lines] == [Decimal(p) for p in ("0.30", "0.10", "0.10", "0.30")]
    assert rated.total_energy_cost.excl_vat == Decimal("2.00")  # 0.30 + 0.20 + 0.30 + 1.20


def test_start_time_is_inclusive_and_end_time_exclusive_to_the_minute():
    peak = tariff(
        element(component(ENERGY, "0.50"), start_minute=17 * 60, end_minute=20 * 60),
        element(component(ENERGY, "0.25")),
    )
    usage = session(
        "2026-05-04 16:59",
        charge(seconds=59, kwh=1),  # 16:59:00 -> off-peak
        charge(seconds=1, kwh=1),  # 16:59:59 -> off-peak (same minute)
        charge(minutes=179, kwh=1),  # 17:00:00 -> peak (inclusive)
        charge(minutes=1, kwh=1),  # 19:59 -> peak
        charge(minutes=1, kwh=1),  # 20:00 -> off-peak (exclusive)
    )

    rated = price(peak, usage)

    assert [line.price for line in rated.lines] == [
        Decimal(p) for p in ("0.25", "0.25", "0.50", "0.50", "0.25")
    ]


def test_restrictions_are_evaluated_in_the_location_time_zone():
    """17:00 in Amsterdam is 15:00 UTC in summer: the same instant is peak there, off-peak in UTC."""
    peak = tariff(
        element(component(ENERGY, "0.50"), start_minute=17 * 60, end_minute=20 * 60),
        element(component(ENERGY, "0.25")),
    )
    moment = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
    usage = SessionUsage(
        moment, moment + timedelta(hours=1), "EUR",
        (ChargingPeriod(moment, moment + timedelta(hours=1), energy_wh=Decimal(10000)),),
    )  # fmt: skip

    assert price(peak, usage, zone="Europe/Amsterdam").total_cost.excl_vat == Decimal("5.00")
    assert price(peak, usage, zone="UTC").total_cost.excl_vat == Decimal("2.50")
    assert price(peak, usage, zone="America/New_York").total_cost.excl_vat == Decimal("2.50")


def test_dst_spring_forward_local_time_jumps_from_02_00_to_03_00():
    """2026-03-29 in Amsterdam: 01:30 local (CET) plus one hour is 03:30 local (CEST)."""
    early = tariff(
        element(component(ENERGY, "0.10"), start_minute=0, end_minute=3 * 60),
        element(component(ENERGY, "0.40")),
    )
    usage = session("2026-03-29 01:30", charge(minutes=60, kwh=1), charge(minutes=60, kwh=1))

    rated = price(early, usage)

    assert [line.price for line in rated.lines] == [Decimal("0.10"), Decimal("0.40")]


def test_dst_fall_back_the_repeated_hour_is_priced_by_its_local_time_both_times():
    """2026-10-25 in Amsterdam: 02:00-03:00 local happens twice (CEST, then CET)."""
    repeated_hour = tariff(
        element(component(ENERGY, "0.10"), start_minute=2 * 60, end_minute=3 * 60),
        element(component(ENERGY, "0.40")),
    )
    first = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    periods = tuple(
        ChargingPeriod(first + timedelta(hours=h), first + timedelta(hours=h + 1), energy_wh=Decimal(1000))
        for h in range(3)  # 02:00 CEST, 02:00 CET, 03:00 CET
    )
    usage = SessionUsage(first, first + timedelta(hours=3), "EUR", periods)

    rated = price(repeated_hour, usage)

    assert [line.price for line in rated.lines] == [Decimal("0.10"), Decimal("0.10"), Decimal("0.40")]


def test_day_of_week_changes_at_local_midnight():
    weekend = tariff(
        element(component(ENERGY, "0.15"), days_of_week=frozenset({DayOfWeek.SATURDAY, DayOfWeek.SUNDAY})),
        element(component(ENERGY, "0.35")),
    )
    usage = session("2026-05-08 23:00", charge(minutes=60, kwh=1), charge(minutes=60, kwh=1))  # Fri 23:00

    rated = price(weekend, usage, zone="Europe/Amsterdam")

    assert [line.price for line in rated.lines] == [Decimal("0.35"), Decimal("0.15")]


def test_start_date_inclusive_end_date_exclusive_in_local_time():
    promotion = tariff(
        element(component(ENERGY, "0.10"), start_date=date(2026, 12, 24), end_date=date(2026, 12, 27)),
        element(component(ENERGY, "0.30")),
    )
    on_first_day = session("2026-12-24 00:00", charge(minutes=60, kwh=1))
    on_end_date = session("2026-12-27 00:00", charge(minutes=60, kwh=1))
    before = session("2026-12-23 23:59", charge(minutes=1, kwh=1))

    assert price(promotion, on_first_day).lines[0].price == Decimal("0.10")
    assert price(promotion, on_end_date).lines[0].price == Decimal("0.30")
    assert price(promotion, before).lines[0].price == Decimal("0.30")


# Energy, duration, current and power restrictions


def test_min_kwh_inclusive_max_kwh_exclusive_on_energy_charged_before_the_period():
    tiers = tariff(
        element(component(ENERGY, "0.40"), max_kwh=Decimal(10)),
        element(component(ENERGY, "0.30"), min_kwh=Decimal(10), max_kwh=Decimal(20)),
        element(component(ENERGY, "0.20"), min_kwh=Decimal(20)),
    )
    usage = session(
        "2026-05-04 10:00",
        charge(minutes=30, kwh=10),  # 0 kWh before -> first tier
        charge(minutes=30, kwh=10),  # exactly 10 before -> second tier (min inclusive)
        charge(minutes=30, kwh=5),  # exactly 20 before -> third tier (max exclusive)
    )

    rated = price(tiers, usage)

    assert [line.price for line in rated.lines] == [Decimal("0.40"), Decimal("0.30"), Decimal("0.20")]
    assert rated.total_cost.excl_vat == Decimal("8.00")


def test_duration_restrictions_use_time_since_session_start():
    idle_fee_after_2h = tariff(
        element(component(PARKING, "0"), max_duration=7200),
        element(component(PARKING, "12")),
    )
    usage = session("2026-05-04 10:00", charge(minutes=90, kwh=20), park(minutes=30), park(minutes=15))

    rated = price(idle_fee_after_2h, usage)

    assert rated.total_parking_cost.excl_vat == Decimal("3.00")  # 15 min at 12/h


def test_current_restrictions_compare_min_with_minimum_and_max_with_maximum():
    amps = tariff(
        element(component(TIME, "1"), max_current=Decimal(32)),
        element(component(TIME, "2"), min_current=Decimal(32)),
    )
    below = session("2026-05-04 10:00", charge(minutes=60, amps="31.99"))
    at = session("2026-05-04 10:00", charge(minutes=60, amps=32))
    unreported = session("2026-05-04 10:00", charge(minutes=60))

    assert price(amps, below).total_cost.excl_vat == Decimal("1")
    assert price(amps, at).total_cost.excl_vat == Decimal("2")
    assert price(amps, unreported).lines == ()  # neither can be proven: no charge for time


def test_power_range_straddling_a_threshold_matches_neither_tier():
    power = tariff(
        element(component(ENERGY, "0.30"), max_power=Decimal(50)),
        element(component(ENERGY, "0.50"), min_power=Decimal(50)),
        element(component(ENERGY, "0.60")),
    )
    start = datetime(2026, 5, 4, 10, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    straddling = ChargingPeriod(
        start, end, energy_wh=Decimal(10000), min_power=Decimal(40), max_power=Decimal(60)
    )
    usage = SessionUsage(start, end, "EUR", (straddling,))

    assert price(power, usage).lines[0].price == Decimal("0.60")


# VAT


def test_omitted_vat_is_no_vat_and_zero_vat_is_zero_percent():
    mixed = tariff(element(component(FLAT, "1.00"), component(ENERGY, "0.20", vat="0")))
    usage = session("2026-05-04 10:00", charge(minutes=60, kwh=10))

    rated = price(mixed, usage)

    assert [(line.dimension, line.vat) for line in rated.lines] == [(FLAT, None), (ENERGY, Decimal(0))]
    assert rated.total_cost == (Decimal("3.00"), Decimal("3.00"))


def test_vat_is_per_component_and_never_rounded_per_line():
    mixed = tariff(element(component(ENERGY, "0.333", vat="21"), component(TIME, "1.111", vat="9")))
    usage = session("2026-05-04 10:00", charge(minutes=7, kwh="1.234"))

    rated = price(mixed, usage)

    energy, time = rated.lines
    assert energy.excl_vat == Decimal("0.410922")
    assert energy.incl_vat == Decimal("0.49721562")
    assert time.excl_vat == Decimal("0.1296166667")
    assert time.incl_vat == Decimal("0.1412821667")


def test_max_price_without_incl_vat_infers_the_vat_from_the_session():
    capped = tariff(
        element(component(ENERGY, "0.50", vat="20")),
        max_price=Price(Decimal("10.00")),
    )
    usage = session("2026-05-04 10:00", charge(minutes=60, kwh=30))

    rated = price(capped, usage)

    assert rated.total_cost == (Decimal("10.00"), Decimal("12.00"))
    assert rated.adjustments[0].kind is AdjustmentKind.MAX_PRICE


def test_a_session_in_another_currency_is_refused():
    usage = session("2026-05-04 10:00", charge(minutes=60, kwh=30), currency="CHF")

    with pytest.raises(CurrencyMismatch, match="CHF.*EUR"):
        price(charging_and_parking_tariff(), usage)


def test_flat_fee_is_charged_once_however_many_periods():
    fee = tariff(element(component(FLAT, "0.75"), component(ENERGY, "0.25")))
    usage = session("2026-05-04 10:00", *[charge(minutes=10, kwh=1) for _ in range(6)])

    rated = price(fee, usage)

    assert [line.dimension for line in rated.lines].count(FLAT) == 1
    assert rated.total_cost.excl_vat == Decimal("2.25")


def test_time_volumes_are_derived_from_timestamps_when_not_reported_and_noted():
    hourly = tariff(element(component(TIME, "2"), component(PARKING, "6")))
    start = datetime(2026, 5, 4, 10, tzinfo=UTC)
    periods = (
        ChargingPeriod(start, start + timedelta(minutes=90), energy_wh=Decimal(20000)),
        ChargingPeriod(start + timedelta(minutes=90), start + timedelta(minutes=100), energy_wh=Decimal(0)),
    )
    usage = SessionUsage(start, start + timedelta(minutes=100), "EUR", periods)

    rated = price(hourly, usage)

    assert rated.total_time_cost.excl_vat == Decimal("3")
    assert rated.total_parking_cost.excl_vat == Decimal("1")
    assert rated.notes == ("charging/parking time derived from period timestamps where not reported",)


def test_a_running_session_is_priced_by_the_same_function_up_to_now():
    evening = energy_tariff_with_evening_price()
    so_far = session("2026-05-04 16:30", charge(minutes=30, kwh=5), charge(minutes=10, kwh=2))
    finished = session(
        "2026-05-04 16:30", charge(minutes=30, kwh=5), charge(minutes=10, kwh=2), charge(minutes=50, kwh=8)
    )

    assert price(evening, so_far).total_cost.excl_vat == Decimal("1.54")
    assert price(evening, finished).total_cost.excl_vat == Decimal("3.70")


# Invariants


def _energy_session(energies: list[Decimal]) -> SessionUsage:
    start = datetime(2026, 5, 4, 8, tzinfo=UTC)
    periods = tuple(
        ChargingPeriod(
            start + timedelta(minutes=30 * i), start + timedelta(minutes=30 * (i + 1)), energy_wh=e
        )
        for i, e in enumerate(energies)
    )
    return SessionUsage(start, start + timedelta(minutes=30 * len(energies)), "EUR", periods)


WH = st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False, allow_infinity=False)
TIERED = tariff(
    element(component(FLAT, "0.50", vat="20")),
    element(component(ENERGY, "0.39", vat="19", step_size=250), start_minute=9 * 60, end_minute=11 * 60),
    element(component(ENERGY, "0.29", vat="19", step_size=100)),
    min_price=Price(Decimal("1.00"), Decimal("1.19")),
    max_price=Price(Decimal("40.00"), Decimal("47.60")),
)
COMPILED_TIERED = compile_tariff(TIERED, ZoneInfo("Europe/Berlin"))


@settings(max_examples=200, deadline=None)
@given(st.lists(WH, min_size=1, max_size=6), st.integers(min_value=0, max_value=5), WH)
def test_more_energy_never_costs_less(energies, index, extra):
    index = min(index, len(energies) - 1)
    more = list(energies)
    more[index] += extra

    cheaper = rate(_energy_session(energies), COMPILED_TIERED).total_cost
    dearer = rate(_energy_session(more), COMPILED_TIERED).total_cost

    assert dearer.excl_vat >= cheaper.excl_vat
    assert dearer.incl_vat >= cheaper.incl_vat


@settings(max_examples=200, deadline=None)
@given(st.lists(WH, min_size=1, max_size=6))
def test_lines_and_adjustments_sum_to_the_total(energies):
    rated = rate(_energy_session(energies), COMPILED_TIERED)

    lines_excl = sum((line.excl_vat for line in rated.lines), Decimal(0))
    lines_incl = sum((line.incl_vat for line in rated.lines), Decimal(0))
    adjust_excl = sum((a.excl_vat for a in rated.adjustments), Decimal(0))
    adjust_incl = sum((a.incl_vat for a in rated.adjustments), Decimal(0))
    assert lines_excl + adjust_excl == rated.total_cost.excl_vat
    assert lines_incl + adjust_incl == rated.total_cost.incl_vat
    assert Decimal("1.00") <= rated.total_cost.excl_vat <= Decimal("40.00")


@settings(max_examples=200, deadline=None)
@given(st.lists(WH, min_size=1, max_size=6))
def test_billed_energy_is_the_total_rounded_up_to_the_last_step(energies):
    rated = rate(_energy_session(energies), COMPILED_TIERED)

    energy_lines = [line for line in rated.lines if line.dimension is ENERGY]
    if energy_lines:
        billed = sum((line.billed_volume for line in energy_lines), Decimal(0))
        measured = sum((line.volume for line in energy_lines), Decimal(0))
        step = energy_lines[-1].step_size
        assert billed % step == 0
        assert measured <= billed < measured + step


def test_end_time_00_00_without_start_time_means_until_the_end_of_the_day():
    all_day = tariff(element(component(ENERGY, "0.20"), end_minute=0), element(component(ENERGY, "0.90")))
    usage = session("2026-05-04 23:30", charge(minutes=29, kwh=1))

    assert price(all_day, usage).lines[0].price == Decimal("0.20")
