"""Plausibility rules (domain.metering.plausibility): what is left out of pricing, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.domain.metering.cleaning import (
    ChargingState,
    MeterFlag,
    MeterSample,
    ReadingContext,
    clean_series,
)
from evbill.domain.metering.plausibility import (
    PlausibilityRules,
    plausible_samples,
    plausible_start,
    plausible_window,
)

RULES = PlausibilityRules()
T0 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
KW22 = Decimal(22_000)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def kept_and_flags(samples, *, end=None, power=KW22):
    kept, anomalies = plausible_samples(samples, start=T0, end=end or at(60), max_power_w=power, rules=RULES)
    return [s.energy for s in kept], [a.flag for a in anomalies]


def test_energy_a_22_kw_evse_can_deliver_is_kept_with_its_margin():
    # 30 min at 22 kW = 11,000 Wh; +10 % and 100 Wh: up to 12,200 Wh
    samples = [MeterSample(at(0), Decimal(0)), MeterSample(at(30), Decimal(12_200))]
    assert kept_and_flags(samples) == ([Decimal(0), Decimal(12_200)], [])


def test_a_jump_is_left_out_and_later_readings_are_judged_against_the_last_plausible_one():
    samples = [
        MeterSample(at(0), Decimal(0)),
        MeterSample(at(30), Decimal(12_201)),
        MeterSample(at(40), Decimal(5_000)),
    ]
    # the jump's register is left out; the sample stays, without energy, as charging time
    assert kept_and_flags(samples) == ([Decimal(0), None, Decimal(5_000)], [MeterFlag.IMPLAUSIBLE_ENERGY])


def test_a_falling_register_and_an_offline_zero_begin_are_left_to_cleaning():
    samples = [
        MeterSample(at(0), Decimal(0), context=ReadingContext.TRANSACTION_BEGIN, offline=True),
        MeterSample(at(1), Decimal(5_000_000)),
        MeterSample(at(2), Decimal(100)),  # a reset: cleaning's business
    ]
    assert kept_and_flags(samples)[1] == []


def test_without_a_rated_power_the_platform_cap_applies():
    samples = [MeterSample(at(0), Decimal(0)), MeterSample(at(60), Decimal(4_000_000))]
    assert kept_and_flags(samples, power=None)[1] == []


def test_power_above_the_rating_is_dropped_from_the_sample_not_the_energy():
    sample = MeterSample(at(10), Decimal(1000), power=Decimal(50), power_unit="kW")
    kept, anomalies = plausible_samples([sample], start=T0, end=at(60), max_power_w=KW22, rules=RULES)
    assert (kept[0].energy, kept[0].power) == (Decimal(1000), None)
    assert [a.flag for a in anomalies] == [MeterFlag.IMPLAUSIBLE_POWER]


def test_samples_outside_the_session_give_or_take_the_skew_are_left_out():
    samples = [
        MeterSample(at(-4), Decimal(0)),
        MeterSample(at(-6), Decimal(0)),
        MeterSample(at(66), Decimal(1)),
    ]
    assert kept_and_flags(samples)[1] == [MeterFlag.IMPLAUSIBLE_TIMESTAMP, MeterFlag.IMPLAUSIBLE_TIMESTAMP]


def test_a_start_ahead_of_the_server_clock_beyond_the_skew_is_replaced():
    sample = MeterSample(at(1), Decimal(0))
    assert plausible_start(at(4), opened_at=T0, samples=[sample], rules=RULES) == (at(4), ())
    start, anomalies = plausible_start(at(6), opened_at=T0, samples=[sample], rules=RULES)
    assert (start, [a.flag for a in anomalies]) == (at(1), [MeterFlag.IMPLAUSIBLE_START])


def test_a_stop_after_the_server_clock_ends_at_the_last_plausible_sample():
    samples = [MeterSample(at(20), Decimal(0)), MeterSample(at(500), Decimal(0))]
    window = plausible_window(start=T0, reported_end=at(400), closed_at=at(30), samples=samples, rules=RULES)
    assert (window.end, [a.flag for a in window.anomalies]) == (at(20), [MeterFlag.IMPLAUSIBLE_STOP])


def cleaned(samples, *, end, power=KW22):
    """Energy (Wh) priced from the samples, and every flag: plausibility's then cleaning's."""
    kept, anomalies = plausible_samples(samples, start=T0, end=end, max_power_w=power, rules=RULES)
    series = clean_series(kept)
    return series.energy_wh, [a.flag.value for a in anomalies] + [a.flag.value for a in series.anomalies]


def s(minutes: float, wh, unit="Wh", multiplier=0) -> MeterSample:
    return MeterSample(at(minutes), Decimal(wh), unit, multiplier)


def test_a_dip_followed_by_the_old_register_is_a_glitch_and_the_stop_counts():
    # 100,000 -> 104,500 Wh, a reading of 50,000 Wh, then 107.5 kWh, 2e12 and a stop at 111,000 Wh:
    # 11,000 Wh (not 54,500: the dip is no restart, and the later readings go on from 104,500)
    samples = [
        s(0, 100_000),
        s(10, 101_500),
        s(30, 104_500),
        s(20, 103_000),
        s(40, 50_000),
        s(50, "107.5", "kWh"),
        s(60, "2e12"),
        s(63, 110_000),
        s(90, 111_000),
    ]
    assert cleaned(samples, end=at(90)) == (
        Decimal(11_000),
        ["implausible_energy", "out_of_order", "negative_delta"],
    )


def test_a_rejected_dip_never_becomes_the_baseline():
    # 100,000, 102,000, 104,000, 60,000, 106,000, 108,000, stop 110,000: 10,000 Wh (not 4,000)
    registers = [100_000, 102_000, 104_000, 60_000, 106_000, 108_000, 110_000]
    samples = [s(10 * n, wh) for n, wh in enumerate(registers)]
    assert cleaned(samples, end=at(60)) == (Decimal(10_000), ["negative_delta"])


def test_a_multiplier_sample_read_as_81_wh_is_a_glitch_before_the_final_reading():
    # 2.0.1 on 150 kW: 1,000 .. 61,000 Wh, one sample 81000 x 10^-3 = 81 Wh, Ended 81,000 Wh: 80,000 Wh
    samples = [s(0, 1_000), s(10, 21_000), s(20, 41, multiplier=3), s(30, 61, "kWh")]
    samples += [s(41, 81_000, multiplier=-3), s(50, 81_000)]
    assert cleaned(samples, end=at(50), power=Decimal(150_000)) == (Decimal(80_000), ["negative_delta"])


def test_a_restart_from_zero_the_evse_can_have_delivered_is_a_reset():
    samples = [s(0, 100_000), s(10, 104_000), s(20, 300), s(30, 2_300)]
    assert cleaned(samples, end=at(30)) == (Decimal(6_300), ["register_reset"])


def test_a_restart_claiming_more_than_the_evse_can_deliver_is_left_out_not_a_reset():
    # 50,000 Wh in 10 minutes on 22 kW (at most 4,133 Wh): neither a glitch nor a restart
    samples = [s(0, 100_000), s(10, 104_000), s(20, 50_000), s(30, 52_000)]
    energy, flags = cleaned(samples, end=at(30))
    assert (energy, flags) == (Decimal(4_000), ["implausible_energy", "implausible_energy"])


def test_readings_left_out_as_too_fast_still_count_as_charging_time_not_parking():
    # 22 kW AC: 5,000 Wh per 10 minutes is 30 kW, above 22 kW + 10 % + 100 Wh (4,133 Wh)
    kept, anomalies = plausible_samples(
        [s(0, 0), s(10, 5_000), s(20, 10_000)], start=T0, end=at(20), max_power_w=KW22, rules=RULES
    )
    assert [(k.energy, k.state) for k in kept] == [
        (Decimal(0), ChargingState.CHARGING),
        (None, ChargingState.CHARGING),
        (None, ChargingState.CHARGING),
    ]
    assert [a.flag for a in anomalies] == [MeterFlag.IMPLAUSIBLE_ENERGY, MeterFlag.IMPLAUSIBLE_ENERGY]


def test_a_session_whose_readings_were_left_out_has_no_parking_time_to_bill():
    from zoneinfo import ZoneInfo

    from evbill.domain.metering.periods import build_periods
    from evbill.domain.tariffs.model import PriceComponent, Tariff, TariffDimension, TariffElement

    parking = PriceComponent(TariffDimension.PARKING_TIME, Decimal(6), None)
    tariff = Tariff("T1", "EUR", (TariffElement((parking,)),))
    kept, _ = plausible_samples(
        [s(0, 0), s(10, 5_000), s(20, 10_000)], start=T0, end=at(20), max_power_w=KW22, rules=RULES
    )
    zone = ZoneInfo("Europe/Amsterdam")
    periods = build_periods(clean_series(kept), tariff, zone=zone, start=T0, end=at(20))
    assert sum(p.parking_s or 0 for p in periods) == 0
    assert sum(p.charging_s or 0 for p in periods) == 1200
