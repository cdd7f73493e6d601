"""A batch's CDRs in integers: a well-formed CDR read to scaled volumes, its priced line written.

The batch (``evbill rate --cdrs``) prices most CDRs with ``rating.fixed_point``, which takes each
period's volumes as integers (energy in µWh, times in µs) and gives the amounts in units of 10^-10.
``read_cdr_periods`` reads a CDR to those integers with the same checks and the same conversions as
``cdrs.read_cdr_usage`` (kWh x 1000, hours x 3600 held to the microsecond), and gives None for any
CDR it is not sure of, or in another currency than the tariff's: the caller then takes the Decimal
path (``read_cdr_usage``, ``rating.fast``, ``priced_cdr_line``), which names every problem.

``PricedLineWriter.line`` writes what ``cdrs.priced_cdr_line`` writes, byte for byte: each amount
rounded once to the currency's minor unit in the operator's mode, the quantities (kWh and hours) to
OCPI's 4 decimals half-up without trailing zeros; a price object as one JSON fragment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from evbill.adapters.ocpi.cdrs import _INFORMATIVE, MAX_VOLUME_NUMBER, _no_default, _seconds
from evbill.domain import currency as currencies
from evbill.domain.money import RoundingMode
from evbill.domain.rating.fixed_point import VOLUME_SCALE, FixedTotals, Period

_MICROSECOND = timedelta(microseconds=1)
# Each dimension a bit (a dimension given twice is seen at once): priced (energy, time, parking),
# checked only (a current or power, for restrictions the fixed-point tariff has none of; the minimums
# and averages may be negative), or not read at all (informative). A reservation (RESERVATION_TIME)
# is not here: such a CDR takes the Decimal path.
_ENERGY, _TIME, _PARKING = 1, 2, 4
_MAY_BE_NEGATIVE = 8 | 16 | 32 | 64
_INFORMATIVE_FROM = 512
_KINDS: dict[str, int] = {
    "ENERGY": _ENERGY,
    "TIME": _TIME,
    "PARKING_TIME": _PARKING,
    "MIN_CURRENT": 8,
    "MIN_POWER": 16,
    "CURRENT": 32,
    "POWER": 64,
    "MAX_CURRENT": 128,
    "MAX_POWER": 256,
    **{kind: _INFORMATIVE_FROM << shift for shift, kind in enumerate(sorted(_INFORMATIVE))},
}
_ENERGY_SCALE = 1000 * VOLUME_SCALE  # µWh per kWh
_MICROSECONDS_PER_HOUR = 3600 * VOLUME_SCALE
# A float volume's integer by float, as in cdrs._FLOAT_VOLUMES (None: too many decimals). CDRs
# measure kWh to a few decimals and hours to the second, so the same volumes come back often.
_ENERGY_VOLUMES: dict[float, int | None] = {}
_TIME_VOLUMES: dict[float, int] = {}
_VOLUMES_KEPT = 262_144  # per table (a few tens of MB at most); a table starts over past it


def _energy(value: float) -> int | None:
    """kWh (a JSON float) in µWh: ``Decimal(repr(value)) x 1000`` scaled; None past 9 decimals."""
    known = _ENERGY_VOLUMES.get(value, 0)
    if known == 0 and value:  # not yet known (0.0 and -0.0 are 0 µWh)
        text = repr(value)
        whole, _, fraction = text.partition(".")
        if "e" in text or len(fraction) > 9:
            scaled = Decimal(text).scaleb(9)
            known = int(scaled) if scaled == scaled.to_integral_value() else None
        else:  # the digits as written, shifted by 9 places: exact
            known = int(whole + fraction.ljust(9, "0"))
        if len(_ENERGY_VOLUMES) >= _VOLUMES_KEPT:
            _ENERGY_VOLUMES.clear()
        _ENERGY_VOLUMES[value] = known
    return known


def _time(value: float) -> int:
    """Hours (a JSON float) in µs: ``cdrs._seconds(Decimal(repr(value)))`` scaled."""
    known = _TIME_VOLUMES.get(value)
    if known is None:
        text = repr(value)
        whole, _, fraction = text.partition(".")
        if "e" in text or len(fraction) > 8:  # more than 8 decimals: rounded to the µs, as _seconds
            known = int(_seconds(Decimal(text)).scaleb(6))
        else:  # hours x 3,600,000,000 µs: the digits as written, exact
            known = int(whole + fraction) * 36 * 10 ** (8 - len(fraction))
        if len(_TIME_VOLUMES) >= _VOLUMES_KEPT:
            _TIME_VOLUMES.clear()
        _TIME_VOLUMES[value] = known
    return known


def read_cdr_periods(document: object, currency: str) -> tuple[list[Period], datetime] | None:
    """(the periods as ``fixed_point.Period``, the session's end) of a well-formed CDR in
    ``currency``; None for anything else (the Decimal path reads it and names its problems)."""
    try:
        return _read(document, currency)
    except KeyError:  # a required member is missing
        return None


def _read(document: object, currency: str) -> tuple[list[Period], datetime] | None:
    """The checks of ``cdrs._read_well_formed``, written out (this runs for every CDR). Timestamps
    must carry their offset: a naive one is left to the Decimal path, which reads it as UTC."""
    if type(document) is not dict:
        return None
    start = document["start_date_time"]
    end = document["end_date_time"]
    raw_periods = document["charging_periods"]
    if type(start) is not str or type(end) is not str or document["currency"] != currency:
        return None
    try:
        start = datetime.fromisoformat(start)
        end = datetime.fromisoformat(end)
    except ValueError:
        return None
    if start.tzinfo is None or end.tzinfo is None or end < start:
        return None
    if type(raw_periods) is not list or not raw_periods:
        return None
    periods: list[Period] = []
    previous = start  # the first period may start with the session, each next one after the last
    for raw in raw_periods:
        if type(raw) is not dict:
            return None
        period_start = raw["start_date_time"]
        dimensions = raw["dimensions"]
        if type(period_start) is not str or type(dimensions) is not list or not dimensions:
            return None
        try:
            period_start = datetime.fromisoformat(period_start)
        except ValueError:
            return None
        if period_start.tzinfo is None or period_start < previous or (periods and period_start == previous):
            return None
        energy = charging = parking = None
        seen = 0
        for dimension in dimensions:
            if type(dimension) is not dict:
                return None
            kind = dimension["type"]
            bit = _KINDS.get(kind) if type(kind) is str else None
            if bit is None or seen & bit:
                return None  # unknown, a reservation, or given twice
            seen |= bit
            if bit >= _INFORMATIVE_FROM:
                continue
            value = dimension["volume"]
            kind_of_value = type(value)
            if kind_of_value is not float and kind_of_value is not int:
                return None
            if not -MAX_VOLUME_NUMBER <= value <= MAX_VOLUME_NUMBER or (
                value < 0 and not bit & _MAY_BE_NEGATIVE
            ):
                return None  # also NaN and infinities
            if bit == _ENERGY:
                energy = _energy(value) if kind_of_value is float else value * _ENERGY_SCALE
                if energy is None:
                    return None
            elif bit == _TIME:
                charging = _time(value) if kind_of_value is float else value * _MICROSECONDS_PER_HOUR
            elif bit == _PARKING:
                parking = _time(value) if kind_of_value is float else value * _MICROSECONDS_PER_HOUR
        periods.append((energy, charging, parking, period_start))
        previous = period_start
    if previous > end:
        return None
    return periods, end


class PricedLineWriter:
    """Writes priced CDRs for one tariff (its JSON), currency and rounding mode."""

    def __init__(self, *, currency: str, tariff_json: bytes, rounding: RoundingMode) -> None:
        self._places = currencies.exponent(currency)
        divisor = 10 ** (10 - self._places)  # units of 10^-10 per minor unit
        self._settle = _SETTLE[rounding](divisor)
        self._tariffs = [orjson.Fragment(tariff_json)]
        self._zero = format(Decimal(0).scaleb(-self._places), "f")
        # price objects by their settled amounts (far fewer than the precise ones), without and
        # with VAT apart
        self._prices: tuple[_Prices, _Prices] = ({}, {})
        self._hours: dict[int, orjson.Fragment] = {}

    def line(self, document: Mapping[str, Any], totals: FixedTotals) -> bytes:
        """The priced CDR as one JSON line (without its newline), as ``priced_cdr_line`` writes it."""
        (
            total_excl, total_incl, fixed_excl, fixed_incl, energy_excl, energy_incl, time_excl,
            time_incl, parking_excl, parking_incl, energy_uwh, parking_us, session_us, with_vat,
        ) = totals  # fmt: skip
        settle = self._settle
        hours = self._hours.get
        priced = dict(document)
        priced["tariffs"] = self._tariffs
        if with_vat:
            known = self._prices[True].get
            price = self._price_with_vat
            priced["total_cost"] = price(known, settle(total_excl), settle(total_incl))
            priced["total_fixed_cost"] = price(known, settle(fixed_excl), settle(fixed_incl))
            priced["total_energy"] = _kilowatt_hours(energy_uwh)
            priced["total_energy_cost"] = price(known, settle(energy_excl), settle(energy_incl))
            priced["total_time"] = hours(session_us) or self._hours_of(session_us)
            priced["total_time_cost"] = price(known, settle(time_excl), settle(time_incl))
            priced["total_parking_time"] = hours(parking_us) or self._hours_of(parking_us)
            priced["total_parking_cost"] = price(known, settle(parking_excl), settle(parking_incl))
            priced["total_reservation_cost"] = price(known, 0, 0)
        else:
            known = self._prices[False].get
            price = self._price_without_vat
            priced["total_cost"] = price(known, settle(total_excl))
            priced["total_fixed_cost"] = price(known, settle(fixed_excl))
            priced["total_energy"] = _kilowatt_hours(energy_uwh)
            priced["total_energy_cost"] = price(known, settle(energy_excl))
            priced["total_time"] = hours(session_us) or self._hours_of(session_us)
            priced["total_time_cost"] = price(known, settle(time_excl))
            priced["total_parking_time"] = hours(parking_us) or self._hours_of(parking_us)
            priced["total_parking_cost"] = price(known, settle(parking_excl))
            priced["total_reservation_cost"] = price(known, 0)
        return orjson.dumps(priced, default=_no_default)

    def _price_with_vat(self, known: _Lookup, excl: int, incl: int) -> orjson.Fragment:
        """``{"excl_vat": ..., "incl_vat": ...}`` of settled amounts."""
        key = (excl, incl)
        fragment = known(key)
        if fragment is None:
            text = f'{{"excl_vat":{self._amount(excl)},"incl_vat":{self._amount(incl)}}}'
            fragment = self._keep(self._prices[True], key, orjson.Fragment(text))
        return fragment

    def _price_without_vat(self, known: _Lookup, excl: int) -> orjson.Fragment:
        """``{"excl_vat": ...}`` of a settled amount."""
        key = (excl, 0)
        fragment = known(key)
        if fragment is None:
            fragment = self._keep(
                self._prices[False], key, orjson.Fragment(f'{{"excl_vat":{self._amount(excl)}}}')
            )
        return fragment

    @staticmethod
    def _keep(prices: _Prices, key: tuple[int, int], fragment: orjson.Fragment) -> orjson.Fragment:
        if len(prices) >= _VOLUMES_KEPT:
            prices.clear()
        prices[key] = fragment
        return fragment

    def _amount(self, minor: int) -> str:
        """Minor units as the settled Decimal's digits (``str`` of a Decimal with the currency's
        exponent; zero, also a negative zero, as the currency's zero)."""
        if not minor:
            return self._zero
        places = self._places
        sign = "-" if minor < 0 else ""
        whole, fraction = divmod(abs(minor), 10**places)
        if not places:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:0{places}d}"

    def _hours_of(self, microseconds: int) -> orjson.Fragment:
        """``cdrs._hours`` of the same seconds, kept by the microseconds."""
        if len(self._hours) >= _VOLUMES_KEPT:
            self._hours.clear()
        known = self._hours[microseconds] = _quantity_of(microseconds, _MICROSECONDS_PER_HOUR)
        return known


_Prices = dict[tuple[int, int], orjson.Fragment]
_Lookup = Callable[[tuple[int, int]], orjson.Fragment | None]


def _half_up(divisor: int) -> Callable[[int], int]:
    half = divisor // 2  # divisor is a power of ten: even

    def settle(amount: int) -> int:
        return (amount + half) // divisor if amount >= 0 else -((half - amount) // divisor)

    return settle


def _half_even(divisor: int) -> Callable[[int], int]:
    def settle(amount: int) -> int:
        magnitude, remainder = divmod(abs(amount), divisor)
        twice = 2 * remainder
        if twice > divisor or (twice == divisor and magnitude & 1):
            magnitude += 1
        return magnitude if amount >= 0 else -magnitude

    return settle


def _down(divisor: int) -> Callable[[int], int]:
    def settle(amount: int) -> int:
        return amount // divisor if amount >= 0 else -(-amount // divisor)

    return settle


def _up(divisor: int) -> Callable[[int], int]:
    def settle(amount: int) -> int:
        return -(-amount // divisor) if amount >= 0 else amount // divisor  # away from zero

    return settle


# ``amount / divisor`` rounded to an integer in the operator's mode, as Decimal's quantize rounds.
_SETTLE: dict[RoundingMode, Callable[[int], Callable[[int], int]]] = {
    RoundingMode.HALF_UP: _half_up,
    RoundingMode.HALF_EVEN: _half_even,
    RoundingMode.DOWN: _down,
    RoundingMode.UP: _up,
}


def _kilowatt_hours(microwatt_hours: int) -> orjson.Fragment:
    """``cdrs._quantity(Wh / 1000)``: kWh to 4 decimals half-up, without trailing zeros."""
    return _quantity_of(microwatt_hours, _ENERGY_SCALE)


def _quantity_of(millionths: int, per_unit: int) -> orjson.Fragment:
    """``cdrs._quantity`` of ``millionths / per_unit`` units (µWh in kWh, µs in hours): 4 decimals
    half-up, without trailing zeros. Decimal divides to 28 digits before it rounds to 4 decimals;
    that cannot move a quotient of whole µs or µWh across a half at the 5th decimal (it is either
    exactly there or at least 1 / per_unit of a unit away), so the integers round the same."""
    units, remainder = divmod(millionths * 10_000, per_unit)  # 10^-4 kWh or h (never negative)
    if 2 * remainder >= per_unit:
        units += 1
    whole, fraction = divmod(units, 10_000)
    if not fraction:
        return orjson.Fragment(str(whole))
    return orjson.Fragment(f"{whole}.{fraction:04d}".rstrip("0"))
