"""Benchmark data: two OCPI 2.2.1 tariffs and seeded generators of CDRs that fit them.

Everything is deterministic: the same seed gives the same documents, byte for byte, so figures from
different machines or commits price the same sessions. The documents are decoded JSON, as a CSMS
would receive them: volumes are JSON floats (kWh with 3 decimals, hours with 4), times are UTC
strings. Prices are written from integer cents (``_price``), never computed with floats.

* ``simple_tariff`` — a start fee, one energy price and a parking fee billed per 15 minutes, VAT.
  ``simple_cdr`` — 1 to 3 periods: charging, then maybe a slower charge, then maybe parking.
* ``hourly_tariff`` — 48 elements: every hour of the day, weekdays and weekend apart, each with an
  ENERGY and a TIME component. ``hourly_cdr`` — 24 periods, one per local hour, that always cross
  local midnight in Europe/Berlin (and so, some nights, a weekday/weekend boundary).

    >>> rng = random.Random(7)
    >>> len(hourly_cdr(rng, 1)["charging_periods"])
    24
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Document = dict[str, Any]
CdrMaker = Callable[[random.Random, int], Document]

BERLIN = ZoneInfo("Europe/Berlin")
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS_PER_YEAR = 365 * 24 * 3600
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
WEEKEND = ["SATURDAY", "SUNDAY"]
VAT = 19.0
LAST_UPDATED = "2026-01-01T00:00:00Z"


def _price(cents: int) -> float:
    """A price given in integer cents, as the JSON number a tariff document carries."""
    return float(Decimal(cents).scaleb(-2))


def _component(kind: str, cents: int, step_size: int = 1) -> Document:
    return {"type": kind, "price": _price(cents), "vat": VAT, "step_size": step_size}


def _tariff(tariff_id: str, elements: list[Document]) -> Document:
    return {
        "country_code": "DE",
        "party_id": "EVB",
        "id": tariff_id,
        "currency": "EUR",
        "type": "REGULAR",
        "elements": elements,
        "last_updated": LAST_UPDATED,
    }


def simple_tariff() -> Document:
    """€0.50 start fee, €0.39/kWh, €4.80/h parking billed per 15 minutes; 19% VAT."""
    return _tariff(
        "BENCH-SIMPLE",
        [
            {"price_components": [_component("FLAT", 50)]},
            {"price_components": [_component("ENERGY", 39)]},
            {"price_components": [_component("PARKING_TIME", 480, step_size=900)]},
        ],
    )


def _hour_element(hour: int, days: list[str], base_cents: int) -> Document:
    peak = 12 if 17 <= hour < 21 else 0
    night = -8 if hour < 6 or hour >= 22 else 0
    return {
        "price_components": [
            _component("ENERGY", base_cents + peak + night),
            _component("TIME", 60 + hour * 5, step_size=60),
        ],
        "restrictions": {
            "start_time": f"{hour:02d}:00",
            "end_time": f"{(hour + 1) % 24:02d}:00",
            "day_of_week": days,
        },
    }


def hourly_tariff() -> Document:
    """48 elements: an energy and a time price for every hour, weekdays and weekend apart."""
    elements = [_hour_element(hour, WEEKDAYS, 42) for hour in range(24)]
    elements += [_hour_element(hour, WEEKEND, 36) for hour in range(24)]
    return _tariff("BENCH-HOURLY", elements)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 4)


def _charging(start: datetime, seconds: int, kw: float) -> Document:
    return {
        "start_date_time": _timestamp(start),
        "dimensions": [
            {"type": "ENERGY", "volume": round(kw * seconds / 3600, 3)},
            {"type": "TIME", "volume": _hours(seconds)},
        ],
    }


def _parking(start: datetime, seconds: int) -> Document:
    return {
        "start_date_time": _timestamp(start),
        "dimensions": [
            {"type": "ENERGY", "volume": 0},
            {"type": "PARKING_TIME", "volume": _hours(seconds)},
        ],
    }


def _cdr(number: int, tariff_id: str, start: datetime, end: datetime, periods: list[Document]) -> Document:
    """A CDR as an operator's CSMS sends it, totals still empty (rating fills them)."""
    for period in periods:
        period["tariff_id"] = tariff_id
    return {
        "country_code": "DE",
        "party_id": "EVB",
        "id": f"{tariff_id}-{number:07d}",
        "start_date_time": _timestamp(start),
        "end_date_time": _timestamp(end),
        "cdr_token": {
            "country_code": "DE",
            "party_id": "EVB",
            "uid": f"04{number:010X}",
            "type": "RFID",
            "contract_id": f"DE-EVB-C{number:08d}-X",
        },
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "BER-MITTE",
            "name": "Berlin Mitte P2",
            "address": "Invalidenstraße 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DEU",
            "coordinates": {"latitude": "52.531700", "longitude": "13.384800"},
            "evse_uid": f"E{number % 40:04d}-1",
            "evse_id": f"DE*EVB*E{number % 40:04d}*1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "charging_periods": periods,
        "total_cost": {"excl_vat": 0},
        "total_energy": 0,
        "total_time": 0,
        "last_updated": _timestamp(end),
    }


def simple_cdr(rng: random.Random, number: int) -> Document:
    """1–3 periods: a charge at 3.7–22 kW, maybe a slower tail, maybe parking afterwards."""
    start = YEAR_START + timedelta(seconds=rng.randrange(SECONDS_PER_YEAR))
    kw = rng.uniform(3.7, 22.0)
    count = rng.randint(1, 3)
    moment = start
    periods = []
    for position in range(count):
        seconds = rng.randint(5 * 60, 3 * 3600)
        if position == 0:
            periods.append(_charging(moment, seconds, kw))
        elif position == 1 and count == 3:
            periods.append(_charging(moment, seconds, kw * rng.uniform(0.2, 0.6)))
        else:
            periods.append(_parking(moment, seconds))
        moment += timedelta(seconds=seconds)
    return _cdr(number, "BENCH-SIMPLE", start, moment, periods)


def hourly_cdr(rng: random.Random, number: int) -> Document:
    """24 periods cut at local hours, starting 08:01–20:59 Berlin time: always past midnight."""
    day = datetime(2026, 1, 1, tzinfo=BERLIN) + timedelta(days=rng.randrange(365))
    start = day.replace(hour=rng.randint(8, 20), minute=rng.randint(1, 59)).astimezone(UTC)
    kw = rng.uniform(2.0, 11.0)
    boundary = start.replace(minute=0, second=0) + timedelta(hours=1)
    periods = [_charging(start, int((boundary - start).total_seconds()), kw)]
    for _ in range(22):
        periods.append(_charging(boundary, 3600, kw * rng.uniform(0.5, 1.0)))
        boundary += timedelta(hours=1)
    last = rng.randint(60, 3600)
    periods.append(_charging(boundary, last, kw * rng.uniform(0.1, 0.5)))
    return _cdr(number, "BENCH-HOURLY", start, boundary + timedelta(seconds=last), periods)


def generate(make: CdrMaker, count: int, seed: int) -> list[Document]:
    """``count`` distinct CDRs from one seeded generator."""
    return list(iter_cdrs(make, count, seed))


def iter_cdrs(make: CdrMaker, count: int, seed: int) -> Iterator[Document]:
    rng = random.Random(seed)
    for number in range(1, count + 1):
        yield make(rng, number)
