"""Physical quantities and their units, converted exactly.

Meters speak Wh, kWh, W, kW, A, with an OCPP ``multiplier`` (a power of ten); OCPI speaks kWh, kW and
hours. Inside evbill energy is held in Wh, power in W, current in A and time in seconds, all as exact
``Decimal``; conversions multiply by powers of ten or by 3600 and never go through float.

    >>> energy_to_wh(Decimal("20.45"), "kWh")
    Decimal('20450.00')
    >>> energy_to_wh(Decimal("1234"), "Wh", multiplier=3)
    Decimal('1.234E+6')
    >>> hours_to_seconds(Decimal("1.973"))
    Decimal('7102.800')

A stored duration is held to the millisecond, cut (never rounded up: no one is billed time not
spent), whatever finer digits the charger's timestamps gave:

    >>> held_seconds(Decimal("3.062834"))
    Decimal('3.062')
"""

from __future__ import annotations

import enum
from decimal import ROUND_DOWN, Decimal

from evbill.domain.errors import InvalidInput, Problem

SECONDS_PER_HOUR = Decimal(3600)
SECONDS_QUANTUM = Decimal("0.001")  # a stored duration's scale (charging_s: 3 decimal places)
WH_PER_KWH = Decimal(1000)


class EnergyUnit(enum.StrEnum):
    WH = "Wh"
    KWH = "kWh"


class PowerUnit(enum.StrEnum):
    W = "W"
    KW = "kW"


# Keyed by the units' text: a StrEnum member hashes and compares as its text, so "Wh" and
# EnergyUnit.WH find the same factor without building an enum member per reading.
_ENERGY_FACTORS: dict[str, Decimal] = {EnergyUnit.WH.value: Decimal(1), EnergyUnit.KWH.value: WH_PER_KWH}
_POWER_FACTORS: dict[str, Decimal] = {PowerUnit.W.value: Decimal(1), PowerUnit.KW.value: Decimal(1000)}


def _unit(enum_type: type[enum.StrEnum], unit: str, path: str) -> enum.StrEnum:
    try:
        return enum_type(unit)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidInput(
            "unknown unit", (Problem(path, f"unit {unit!r} is not one of {allowed}"),)
        ) from None


def energy_to_wh(value: Decimal, unit: str, *, multiplier: int = 0, path: str = "$.unit") -> Decimal:
    """Energy in Wh from a value in ``unit`` scaled by 10**multiplier (OCPP's multiplier)."""
    factor = _ENERGY_FACTORS.get(unit)
    if factor is None:
        factor = _ENERGY_FACTORS[_unit(EnergyUnit, unit, path)]
    # The product is already rounded to the context; scaling by 10**0 would change nothing.
    return value * factor if multiplier == 0 else (value * factor).scaleb(multiplier)


def power_to_w(value: Decimal, unit: str, *, multiplier: int = 0, path: str = "$.unit") -> Decimal:
    factor = _POWER_FACTORS.get(unit)
    if factor is None:
        factor = _POWER_FACTORS[_unit(PowerUnit, unit, path)]
    return value * factor if multiplier == 0 else (value * factor).scaleb(multiplier)


def hours_to_seconds(hours: Decimal) -> Decimal:
    return hours * SECONDS_PER_HOUR


def held_seconds(seconds: Decimal) -> Decimal:
    """``seconds`` as a duration is stored: truncated to the millisecond (SECONDS_QUANTUM). The one
    rule for every seconds value that reaches a fixed-scale column; timestamps are kept as sent."""
    return seconds.quantize(SECONDS_QUANTUM, rounding=ROUND_DOWN)


def wh_to_kwh(wh: Decimal) -> Decimal:
    return wh / WH_PER_KWH
