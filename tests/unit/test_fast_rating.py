"""The fast rating path (``rating.fast``) equals the scalar engine on every session, to the digit.

A seeded sample of 110,000 sessions under 500 random tariffs over every feature (see
``tests/rating_samples.py``), in five time zones; then Hypothesis. Every precise total, every volume
and the VAT flag must be equal, and the settled totals in every rounding mode.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evbill.domain.errors import CurrencyMismatch
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.rating import compile_tariff, rate
from evbill.domain.rating.fast import FastTariff, totals_of
from evbill.domain.tariffs.model import (
    Price,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)
from tests.rating_samples import ZONES, random_session, random_tariff

TARIFFS = 500
SESSIONS_PER_TARIFF = 220  # 110,000 sessions


def _settled(amount: Decimal, mode: RoundingMode) -> int:
    return settle(PreciseMoney(amount, "EUR"), mode).minor_units


def test_fast_path_equals_the_scalar_engine_on_110000_generated_sessions():
    rng = random.Random(15)
    compared = fallbacks = 0
    modes = tuple(RoundingMode)
    for number in range(TARIFFS):
        tariff = random_tariff(rng, number)
        compiled = compile_tariff(tariff, ZoneInfo(ZONES[number % len(ZONES)]))
        fast = FastTariff(compiled)
        for index in range(SESSIONS_PER_TARIFF):
            usage = random_session(rng, index)
            expected = totals_of(rate(usage, compiled))
            assert fast.totals(usage) == expected, (tariff, usage)
            mode = modes[index % len(modes)]
            assert fast.settled(usage, mode) == (
                _settled(expected.total_cost.excl_vat, mode),
                _settled(expected.total_cost.incl_vat, mode),
            ), (tariff, usage)
            compared += 1
        fallbacks += fast.fallbacks
    assert compared == 110_000
    # Only sessions with a reservation period (about 3 %) go to the scalar engine, twice each here.
    assert 0 < fallbacks < compared * 2 * 0.05


def test_fallbacks_are_counted_and_a_currency_mismatch_is_raised_as_by_the_engine():
    tariff = Tariff(
        "T", "EUR", (TariffElement((PriceComponent(TariffDimension.ENERGY, Decimal("0.3"), None),)),)
    )
    fast = FastTariff.of(tariff, ZoneInfo("UTC"))
    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    end = start + timedelta(hours=1)
    reservation = SessionUsage(start, end, "EUR", (ChargingPeriod(start, end, reservation_s=Decimal(3600)),))
    assert fast.totals(reservation).total_cost.excl_vat == Decimal(0)  # the reservation is free
    assert fast.fallbacks == 1
    session = SessionUsage(start, end, "EUR", (ChargingPeriod(start, end, energy_wh=Decimal(10000)),))
    assert fast.settled(session, RoundingMode.HALF_UP) == (300, 300)  # 10 kWh x 0.30 = 3.00, no VAT
    assert fast.fallbacks == 1
    with pytest.raises(CurrencyMismatch, match="CHF"):
        fast.totals(SessionUsage(start, end, "CHF", session.periods))


PRICE = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
VAT = st.one_of(st.none(), st.sampled_from([Decimal(0), Decimal("7.7"), Decimal(19), Decimal("20.5")]))
DIMENSION = st.sampled_from(list(TariffDimension))
COMPONENT = st.builds(PriceComponent, DIMENSION, PRICE, VAT, st.sampled_from([1, 60, 300, 900, 1000]))
MINUTE = st.one_of(st.none(), st.integers(min_value=0, max_value=1439))
RESTRICTIONS = st.one_of(
    st.none(),
    st.builds(
        Restrictions,
        start_minute=MINUTE,
        end_minute=MINUTE,
        min_kwh=st.one_of(st.none(), st.decimals(min_value=0, max_value=50, places=1)),
        max_kwh=st.one_of(st.none(), st.decimals(min_value=0, max_value=50, places=1)),
        min_duration=st.one_of(st.none(), st.integers(min_value=0, max_value=7200)),
        max_duration=st.one_of(st.none(), st.integers(min_value=0, max_value=7200)),
        min_power=st.one_of(st.none(), st.decimals(min_value=0, max_value=150, places=1)),
        max_power=st.one_of(st.none(), st.decimals(min_value=0, max_value=150, places=1)),
    ),
)
ELEMENT = st.builds(TariffElement, st.lists(COMPONENT, min_size=1, max_size=4).map(tuple), RESTRICTIONS)
BOUND = st.one_of(st.none(), st.builds(Price, PRICE, st.one_of(st.none(), PRICE)))
PERIOD = st.tuples(
    st.integers(min_value=1, max_value=4 * 3600),  # length in seconds
    st.one_of(st.none(), st.decimals(min_value=0, max_value=100000, places=3)),  # energy Wh
    st.one_of(st.none(), st.decimals(min_value=0, max_value=4 * 3600, places=6)),  # charging s
    st.one_of(st.none(), st.decimals(min_value=0, max_value=4 * 3600, places=6)),  # parking s
    st.one_of(st.none(), st.decimals(min_value=0, max_value=150, places=2)),  # power kW
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ELEMENT, min_size=1, max_size=5),
    BOUND,
    BOUND,
    st.lists(PERIOD, min_size=1, max_size=5),
    st.integers(min_value=0, max_value=365 * 24 * 60),
    st.sampled_from(ZONES),
)
def test_fast_path_equals_the_scalar_engine_hypothesis(elements, low, high, raw_periods, minute, zone):
    tariff = Tariff("H", "EUR", tuple(elements), min_price=low, max_price=high)
    compiled = compile_tariff(tariff, ZoneInfo(zone))
    moment = start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    periods = []
    for length, energy, charging, parking, power in raw_periods:
        end = moment + timedelta(seconds=length)
        periods.append(ChargingPeriod(moment, end, energy, charging, parking, None, None, None, power, power))
        moment = end
    usage = SessionUsage(start, moment, "EUR", tuple(periods))
    assert FastTariff(compiled).totals(usage) == totals_of(rate(usage, compiled))
