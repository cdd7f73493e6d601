"""Integer fixed-point rating (``rating.fixed_point``) equals the scalar engine, to the digit.

For tariffs whose session components apply to every period, a seeded sample of 110,000 sessions
(see ``tests/rating_samples.py``): every precise total, scaled to units of 10^-10, every volume and
the VAT flag equal ``rate``'s. Tariffs it does not take (restrictions, min/max price) are refused,
and a line whose exact amount lies within 10^-9 of a half at the 11th decimal is left to Decimal.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.rating import compile_tariff, rate
from evbill.domain.rating.fixed_point import FixedPointTariff, FixedTotals, Period
from evbill.domain.tariffs.model import (
    Price,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)
from tests.rating_samples import ZONES, random_session, random_tariff, random_unrestricted_tariff

TARIFFS = 500
SESSIONS_PER_TARIFF = 220  # 110,000 sessions
UTC_ZONE = ZoneInfo("UTC")
START = datetime(2026, 5, 4, 9, tzinfo=UTC)


def scaled(value: Decimal | None, places: int = 6) -> int | None:
    if value is None:
        return None
    result = value.scaleb(places)
    assert result == result.to_integral_value()
    return int(result)


def periods_of(usage: SessionUsage) -> list[Period]:
    return [(scaled(p.energy_wh), scaled(p.charging_s), scaled(p.parking_s), p.start) for p in usage.periods]


def as_read_from_a_cdr(usage: SessionUsage) -> SessionUsage:
    """The session as a CDR gives it: each period ends where the next starts, the last one with the
    session (a generated session may end two minutes after its last period)."""
    periods = list(usage.periods)
    periods[-1] = periods[-1]._replace(end=usage.end)
    return SessionUsage(usage.start, usage.end, usage.currency, tuple(periods), usage.id)


def expected_totals(usage: SessionUsage, tariff: Tariff) -> FixedTotals:
    rated = rate(usage, compile_tariff(tariff, UTC_ZONE))
    amounts = []
    for cost in (
        rated.total_cost, rated.total_fixed_cost, rated.total_energy_cost, rated.total_time_cost,
        rated.total_parking_cost,
    ):  # fmt: skip
        amounts += [scaled(cost.excl_vat, 10), scaled(cost.incl_vat, 10)]
    assert rated.total_reservation_cost.excl_vat == 0
    return FixedTotals(
        *amounts,  # type: ignore[arg-type]
        scaled(rated.total_energy_wh),  # type: ignore[arg-type]
        scaled(rated.total_parking_s),  # type: ignore[arg-type]
        scaled(rated.total_time_s),  # type: ignore[arg-type]
        any(line.vat is not None for line in rated.lines),
    )


def test_fixed_point_equals_the_scalar_engine_on_110000_generated_sessions():
    rng = random.Random(16)
    compared = left_to_decimal = 0
    for number in range(TARIFFS):
        tariff = random_unrestricted_tariff(rng, number)
        fixed = FixedPointTariff.of(compile_tariff(tariff, ZoneInfo(ZONES[number % len(ZONES)])))
        assert fixed is not None, tariff
        for index in range(SESSIONS_PER_TARIFF):
            usage = as_read_from_a_cdr(random_session(rng, index))
            if any(period.reservation_s is not None for period in usage.periods):
                continue  # the batch reader leaves reservations to the Decimal path
            totals = fixed.totals(periods_of(usage), usage.end)
            if totals is None:
                left_to_decimal += 1
                continue
            assert totals == expected_totals(usage, tariff), (tariff, usage)
            compared += 1
    assert compared > 100_000
    assert left_to_decimal < compared / 1000  # only lines within 10^-9 of a half


def test_tariffs_with_restrictions_or_bounds_are_left_to_the_decimal_path():
    rng = random.Random(17)
    energy = PriceComponent(TariffDimension.ENERGY, Decimal("0.30"), None)
    night = TariffElement((energy,), Restrictions(start_minute=22 * 60, end_minute=6 * 60))
    for tariff in (
        Tariff("N", "EUR", (night, TariffElement((energy,)))),
        Tariff("K", "EUR", (TariffElement((energy,), Restrictions(max_kwh=Decimal(20))),)),
        Tariff("M", "EUR", (TariffElement((energy,)),), min_price=Price(Decimal(1), None)),
        Tariff("X", "EUR", (TariffElement((energy,)),), max_price=Price(Decimal(50), None)),
        Tariff(
            "P",
            "EUR",
            (TariffElement((PriceComponent(TariffDimension.ENERGY, Decimal("0.1234567"), None),)),),
        ),
    ):
        assert FixedPointTariff.of(compile_tariff(tariff, UTC_ZONE)) is None, tariff.id
    restricted = [random_tariff(rng, number) for number in range(200)]
    taken = [t for t in restricted if FixedPointTariff.of(compile_tariff(t, UTC_ZONE)) is not None]
    for tariff in taken:  # the random tariffs it takes have no restriction on a session component
        assert tariff.min_price is None
        assert tariff.max_price is None
    assert len(taken) < len(restricted) / 2


def session(*periods: ChargingPeriod, end: datetime) -> SessionUsage:
    return SessionUsage(periods[0].start, end, "EUR", periods)


def one_component(dimension: TariffDimension, price: str) -> Tariff:
    return Tariff("C", "EUR", (TariffElement((PriceComponent(dimension, Decimal(price), None),)),))


def test_an_exact_half_at_the_11th_decimal_is_rounded_half_even_as_the_engine_does():
    tariff = one_component(TariffDimension.ENERGY, "0.00000005")  # per kWh: 5 x 10^-11 per Wh
    fixed = FixedPointTariff.of(compile_tariff(tariff, UTC_ZONE))
    assert fixed is not None
    end = START + timedelta(minutes=1)
    for wh, units in (("1", 0), ("3", 2), ("5", 2), ("7", 4)):  # 0.5, 1.5, 2.5, 3.5 units of 10^-10
        usage = session(ChargingPeriod(START, end, energy_wh=Decimal(wh)), end=end)
        totals = fixed.totals(periods_of(usage), end)
        assert totals is not None
        assert totals.energy_excl == totals.total_excl == units
        assert totals == expected_totals(usage, tariff)


def test_a_line_within_a_billionth_of_a_half_is_left_to_decimal():
    # 0.0000012347 per hour: one µs costs 12347 / 3.6e9 units of 10^-10. A duration whose amount is
    # a half unit +- 1/3.6e9 could be rounded either way by Decimal's 28 digits: not priced here.
    tariff = one_component(TariffDimension.TIME, "0.0000012347")
    fixed = FixedPointTariff.of(compile_tariff(tariff, UTC_ZONE))
    assert fixed is not None
    denominator = 3_600_000_000
    inverse = pow(12347, -1, denominator)
    for remainder in (denominator // 2 - 1, denominator // 2 + 1):
        microseconds = remainder * inverse % denominator
        end = START + timedelta(microseconds=microseconds)
        assert fixed.totals([(None, microseconds, None, START)], end) is None
    end = START + timedelta(hours=1)
    totals = fixed.totals([(None, 3_600_000_000, None, START)], end)  # far from a half: priced
    usage = session(ChargingPeriod(START, end, charging_s=Decimal(3600)), end=end)
    assert totals == expected_totals(usage, tariff)
    assert totals is not None
    assert totals.time_excl == 12347


def test_times_derived_from_timestamps_and_steps_as_the_engine():
    tariff = Tariff(
        "S", "EUR",
        (TariffElement((
            PriceComponent(TariffDimension.FLAT, Decimal("0.50"), Decimal(19)),
            PriceComponent(TariffDimension.ENERGY, Decimal("0.39"), Decimal(19), 500),
            PriceComponent(TariffDimension.TIME, Decimal("1.20"), Decimal(19), 60),
            PriceComponent(TariffDimension.PARKING_TIME, Decimal("4.80"), Decimal(19), 900),
        )),),
    )  # fmt: skip
    fixed = FixedPointTariff.of(compile_tariff(tariff, UTC_ZONE))
    assert fixed is not None
    middle, last, end = (START + timedelta(seconds=s) for s in (1234, 4000, 4500))
    usage = session(
        ChargingPeriod(START, middle, energy_wh=Decimal("12345.678")),  # time derived: charging
        ChargingPeriod(middle, last, energy_wh=Decimal(0)),  # derived: parking
        ChargingPeriod(last, end, energy_wh=Decimal("0.5"), charging_s=Decimal("30.25")),
        end=end,
    )
    totals = fixed.totals(periods_of(usage), end)
    assert totals == expected_totals(usage, tariff)
    assert totals is not None
    # 12,346.178 Wh billed as 12,500 (step 500); 1264.25 s of charging as 1,320 s (step 60, on the
    # last time line); 2,766 s of parking, whose step the charging after it took
    assert (totals.energy_excl, totals.time_excl, totals.parking_excl) == (
        48_750_000_000,
        4_400_000_000,
        36_880_000_000,
    )
