"""From raw meter values to a price: cleaning, periods at price boundaries, rating, running cost."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from evbill.application.rating.cdrs import price_metered_session
from evbill.domain.metering.cleaning import ChargingState, MeterFlag, MeterSample
from evbill.domain.rating import compile_tariff
from evbill.domain.tariffs.model import PriceComponent, Restrictions, Tariff, TariffDimension, TariffElement

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EVENING_PRICE = Tariff(
    id="EVENING",
    currency="EUR",
    elements=(
        TariffElement((PriceComponent(TariffDimension.FLAT, Decimal("0.50"), None),)),
        TariffElement(
            (PriceComponent(TariffDimension.ENERGY, Decimal("0.30"), None),), Restrictions(end_minute=17 * 60)
        ),
        TariffElement((PriceComponent(TariffDimension.ENERGY, Decimal("0.40"), None),)),
    ),
)
CHARGING, FULL = ChargingState.CHARGING, ChargingState.SUSPENDED_EV


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 17, hour, minute, tzinfo=UTC)  # Amsterdam is UTC+1 in November


def sample(hour: int, minute: int, register_wh: int, state: ChargingState, seq_no: int) -> MeterSample:
    return MeterSample(at(hour, minute), energy=Decimal(register_wh), state=state, seq_no=seq_no)


# 16:30-18:00 local: 11 kWh charged evenly until 17:30, then the car is full and stays plugged in.
SAMPLES = [
    sample(15, 30, 1_000_000, CHARGING, 0),
    sample(15, 45, 1_002_750, CHARGING, 1),
    sample(16, 0, 1_005_500, CHARGING, 2),
    sample(16, 15, 1_008_250, CHARGING, 3),
    sample(16, 30, 1_011_000, FULL, 4),
    sample(16, 45, 1_011_000, FULL, 5),
    sample(17, 0, 1_011_000, FULL, 6),
]
COMPILED = compile_tariff(EVENING_PRICE, AMSTERDAM)


def test_a_metered_session_is_split_at_17h_local_and_priced_per_side():
    priced = price_metered_session(
        samples=SAMPLES, compiled=COMPILED, start=at(15, 30), until=at(17, 0), currency="EUR"
    )

    energies = [(p.start, p.energy_wh) for p in priced.usage.periods if p.energy_wh]
    assert energies == [(at(15, 30), Decimal(5500)), (at(16, 0), Decimal(5500))]
    assert priced.rated.total_cost.excl_vat == Decimal("4.35")  # 0.50 + 5.5 x 0.30 + 5.5 x 0.40
    assert priced.rated.total_parking_s == Decimal(1800)
    assert priced.anomalies == ()


def test_duplicated_and_shuffled_meter_values_give_the_same_price_and_are_flagged():
    received = SAMPLES + [SAMPLES[2], SAMPLES[4]]
    random.Random(7).shuffle(received)

    priced = price_metered_session(
        samples=received, compiled=COMPILED, start=at(15, 30), until=at(17, 0), currency="EUR"
    )

    assert priced.rated.total_cost.excl_vat == Decimal("4.35")
    assert [a.flag for a in priced.anomalies].count(MeterFlag.DUPLICATE) == 2


def test_running_cost_uses_the_values_received_so_far():
    """At 17:10 local the charger has reported up to 17:00: 5.5 kWh at the day price."""
    received_so_far = SAMPLES[:3]

    running = price_metered_session(
        samples=received_so_far, compiled=COMPILED, start=at(15, 30), until=at(16, 10), currency="EUR"
    )

    assert running.rated.total_cost.excl_vat == Decimal("2.15")  # 0.50 + 5.5 x 0.30


def test_a_register_that_goes_backwards_is_not_billed_and_is_flagged():
    """OCPP 1.6 style (no sequence numbers): at 17:05 the meter reads 1.5 kWh less than at 17:00."""
    ocpp16 = [replace(s, seq_no=None) for s in SAMPLES]
    glitch = [*ocpp16[:3], MeterSample(at(16, 5), energy=Decimal(1_004_000), state=CHARGING), *ocpp16[3:]]

    priced = price_metered_session(
        samples=glitch, compiled=COMPILED, start=at(15, 30), until=at(17, 0), currency="EUR"
    )

    assert priced.rated.total_energy_wh == Decimal(11000)
    assert MeterFlag.NEGATIVE_DELTA in [a.flag for a in priced.anomalies]
