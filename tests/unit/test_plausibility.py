"""Plausibility rules (domain.metering.plausibility): what is left out of pricing, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.domain.metering.cleaning import MeterFlag, MeterSample, ReadingContext
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
    assert kept_and_flags(samples) == ([Decimal(0), Decimal(5_000)], [MeterFlag.IMPLAUSIBLE_ENERGY])


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
