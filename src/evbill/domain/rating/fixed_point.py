"""Rating in integer fixed point: the engine's amounts as scaled integers, for a batch of CDRs.

``rate`` and ``rating.fast`` compute with ``Decimal``. For a tariff whose every component applies
whatever the period (no time of day, day of week, date, energy, duration, power or current restriction
on the session's components) and that has no ``min_price``/``max_price``, the same amounts can be
computed with Python integers at a fixed scale, several times faster:

* volumes in millionths of the base unit: energy in µWh, times in µs (OCPI volumes in kWh and hours
  with up to 9 decimals; times are held to the microsecond by the reader, as ``parse_cdr`` does);
* amounts in units of 10^-10 (the engine's ``PRECISE_PLACES``): a line is ``price x billed / unit``
  rounded half-even to 10 places, its VAT ``excl x (1 + vat/100)`` rounded half-even to 10 places,
  the group's step re-prices the group's last line, category sums are exact.

Each integer is the engine's Decimal scaled by a power of ten: the same operations, the same rounding,
the same order. The one place the engine could round differently is a division that does not end
(``price x Wh / 1000`` does, ``price x s / 3600`` may not): Decimal rounds the quotient to the
context's 28 digits before holding it to 10 places. Below 10 million in the currency that first
rounding moves the quotient by less than 10^-21, so it changes the result only when the exact quotient
lies that close to a half at the 11th decimal without being one. ``FixedPointTariff`` returns None for
any line within 5 x 10^-20 of such a half (and for amounts or volumes too large for that argument),
and the caller prices the CDR with ``rating.fast`` instead. ``tests/unit/test_fixed_point_rating.py``
compares it with ``rate`` on generated sessions, every total to the digit.

    >>> from datetime import UTC, datetime
    >>> from decimal import Decimal
    >>> from zoneinfo import ZoneInfo
    >>> from evbill.domain.rating import compile_tariff
    >>> from evbill.domain.tariffs.model import PriceComponent, Tariff, TariffDimension, TariffElement
    >>> energy = PriceComponent(TariffDimension.ENERGY, Decimal("0.39"), Decimal(19), 1)
    >>> tariff = Tariff("T", "EUR", (TariffElement((energy,)),))
    >>> fixed = FixedPointTariff.of(compile_tariff(tariff, ZoneInfo("UTC")))
    >>> start, end = datetime(2026, 5, 4, 9, tzinfo=UTC), datetime(2026, 5, 4, 10, tzinfo=UTC)
    >>> totals = fixed.totals([(25_701_000_000, None, None, start)], end)  # 25.701 kWh in an hour
    >>> totals.total_excl, totals.total_incl  # 10.02339 and 11.9278341 EUR, in units of 10^-10
    (100233900000, 119278341000)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from math import gcd
from typing import NamedTuple

from evbill.domain.rating._models import Phase
from evbill.domain.rating.compiled import Candidate, CompiledTariff, DimensionIndex
from evbill.domain.tariffs.model import TariffDimension

AMOUNT_PLACES = 10  # amounts are integers in units of 10^-10 (money.PRECISE_PLACES)
VOLUME_PLACES = 6  # volumes are integers in millionths of Wh or of a second
VOLUME_SCALE = 10**VOLUME_PLACES
# Past these the 28-digit argument above no longer holds: the CDR goes to the Decimal path.
_MAX_AMOUNT = 10**17  # 10 million in the currency (units of 10^-10)
_MAX_VOLUME = 10**19  # 10^13 Wh or s (in millionths)
_MAX_COEFFICIENT = 10**6  # digits of a price or VAT factor (its Decimal coefficient)
_NEAR_HALF = 10**9  # a remainder this close to a half (relative) is left to Decimal
_new = tuple.__new__

# A period as the batch reader gives it: energy (µWh), charging and parking time (µs), each None
# when the CDR does not report it, and its start (it ends where the next one starts, the last one
# with the session: its length is the time derived when neither time is reported).
Period = tuple[int | None, int | None, int | None, datetime]
_MICROSECOND = timedelta(microseconds=1)


class FixedTotals(NamedTuple):
    """A session's totals: amounts in units of 10^-10 (excl., incl. VAT), volumes in millionths."""

    total_excl: int
    total_incl: int
    fixed_excl: int
    fixed_incl: int
    energy_excl: int
    energy_incl: int
    time_excl: int
    time_incl: int
    parking_excl: int
    parking_incl: int
    energy_uwh: int
    parking_us: int
    session_us: int  # from the first period's start to the session's end (0 if not after it)
    with_vat: bool


class _Price(NamedTuple):
    """A component as integers: excl = round(volume x numerator / denominator); incl likewise."""

    numerator: int
    denominator: int
    vat_numerator: int  # 0: no VAT
    vat_denominator: int
    step: int  # in millionths of the base unit


def _fraction(value: Decimal) -> tuple[int, int]:
    """``value`` as (numerator, denominator), its Decimal coefficient and a power of ten."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return coefficient * 10**exponent, 1
    return coefficient, 10**-exponent


def _price(candidate: Candidate) -> _Price | None:
    """The component's integer form; None when its digits are too many for the exactness argument."""
    price, price_scale = _fraction(candidate.price)
    per_unit, unit_scale = _fraction(candidate.per_unit)
    if abs(price) >= _MAX_COEFFICIENT or unit_scale != 1 or per_unit <= 0:
        return None
    # excl (10^-10) = price / price_scale x volume / 10^6 / per_unit x 10^10
    numerator = price * 10**AMOUNT_PLACES
    denominator = price_scale * VOLUME_SCALE * per_unit
    common = gcd(numerator, denominator) or 1
    vat_numerator = vat_denominator = 1
    if candidate.vat_factor is not None:
        vat_numerator, vat_denominator = _fraction(candidate.vat_factor)
        if not 0 < vat_numerator < _MAX_COEFFICIENT:
            return None
    else:
        vat_numerator = 0
    if candidate.step_size < 1 and candidate.dimension is not TariffDimension.FLAT:
        return None  # (FLAT is never stepped)
    return _Price(
        numerator // common,
        denominator // common,
        vat_numerator,
        vat_denominator,
        candidate.step_size * VOLUME_SCALE,
    )


def _always(index: DimensionIndex | None) -> tuple[bool, _Price | None]:
    """(usable, price): the component that applies whatever the period; not usable if it may vary."""
    if index is None:
        return True, None
    first = index.candidates[0] if index.candidates else None
    if index.by_minute is not None or first is None or first.has_residual:
        return False, None
    if first.restrictions is not None and first.restrictions.has_time_of_week:
        return False, None
    price = _price(first)
    return price is not None, price


class FixedPointTariff:
    """A tariff whose session components apply to every period, priced in integers (see above)."""

    def __init__(
        self, flat: _Price | None, energy: _Price | None, time: _Price | None, parking: _Price | None
    ) -> None:
        self._energy = energy
        self._time = time
        self._parking = parking
        self._flat_line = None if flat is None else self._line(flat, VOLUME_SCALE)

    @classmethod
    def of(cls, compiled: CompiledTariff) -> FixedPointTariff | None:
        """The tariff in integers, or None when some component depends on the period or a bound."""
        tariff = compiled.tariff
        if tariff.min_price is not None or tariff.max_price is not None:
            return None
        session = compiled.phase(Phase.SESSION)
        prices = []
        for index, dimension in (
            (session.flat, TariffDimension.FLAT),
            (session.energy, TariffDimension.ENERGY),
            (session.time, TariffDimension.TIME),
            (session.parking, TariffDimension.PARKING_TIME),
        ):
            usable, price = _always(index)
            if not usable or (index is not None and index.candidates[0].dimension is not dimension):
                return None  # the component depends on the period (or its digits are too many)
            prices.append(price)
        fixed = cls(*prices)
        if prices[0] is not None and fixed._flat_line is None:
            return None
        return fixed

    @staticmethod
    def _line(price: _Price, volume: int) -> tuple[int, int, bool] | None:
        """(excl, incl, with VAT) of ``volume`` at ``price``, or None (leave it to Decimal)."""
        numerator, denominator, vat_numerator, vat_denominator, _ = price
        # rounded half-even to 10 places, as the engine's quantize (which Decimal's 28 digits could
        # round otherwise only near a half: that line is left to Decimal)
        excl, remainder = divmod(volume * numerator, denominator)
        if remainder:
            twice = 2 * remainder
            if twice > denominator or (twice == denominator and excl & 1):
                excl += 1
            if twice != denominator and abs(twice - denominator) * _NEAR_HALF < denominator:
                return None
        if not -_MAX_AMOUNT < excl < _MAX_AMOUNT:
            return None
        if not vat_numerator:
            return excl, excl, False
        # excl x factor is exact (both have few digits): rounding it half-even is the engine's quantize
        incl, remainder = divmod(excl * vat_numerator, vat_denominator)
        if remainder:
            twice = 2 * remainder
            if twice > vat_denominator or (twice == vat_denominator and incl & 1):
                incl += 1
        return excl, incl, True

    def totals(self, periods: list[Period], end: datetime) -> FixedTotals | None:
        """The session's totals as the engine has them, scaled; None: price it with Decimal.

        ``end``: the session's end (the last period's end, for a time derived from timestamps).
        """
        energy_price, time_price, parking_price = self._energy, self._time, self._parking
        line = self._line
        energy_total = parking_total = 0
        # per group (energy; time and parking): the volume priced, and the last line's price,
        # volume and amounts (its slot in ``amounts``: 2 energy, 4 time, 6 parking)
        priced_energy = priced_time = priced_parking = 0
        last_energy: tuple[_Price, int, tuple[int, int, bool], int] | None = None
        last_time: tuple[_Price, int, tuple[int, int, bool], int] | None = None
        amounts = [0] * 8  # excl, incl of fixed, energy, time, parking
        with_vat = False
        if self._flat_line is not None:
            amounts[0], amounts[1], with_vat = self._flat_line
        for position, (energy, charging, parking, start) in enumerate(periods):
            if charging is None and parking is None:  # ChargingPeriod.time_volumes
                following = periods[position + 1][3] if position + 1 < len(periods) else end
                length = (following - start) // _MICROSECOND
                if energy is not None and not energy:
                    charging, parking = 0, length
                else:
                    charging, parking = length, 0
            else:
                charging = charging or 0
                parking = parking or 0
            energy = energy or 0
            if energy and energy_price is not None:
                priced = line(energy_price, energy)
                if priced is None:
                    return None
                amounts[2] += priced[0]
                amounts[3] += priced[1]
                with_vat = with_vat or priced[2]
                priced_energy += energy
                last_energy = (energy_price, energy, priced, 2)
            if charging and time_price is not None:
                priced = line(time_price, charging)
                if priced is None:
                    return None
                amounts[4] += priced[0]
                amounts[5] += priced[1]
                with_vat = with_vat or priced[2]
                priced_time += charging
                last_time = (time_price, charging, priced, 4)
            if parking and parking_price is not None:
                priced = line(parking_price, parking)
                if priced is None:
                    return None
                amounts[6] += priced[0]
                amounts[7] += priced[1]
                with_vat = with_vat or priced[2]
                priced_parking += parking
                last_time = (parking_price, parking, priced, 6)
            energy_total += energy
            parking_total += parking
        if energy_total >= _MAX_VOLUME or priced_time >= _MAX_VOLUME or priced_parking >= _MAX_VOLUME:
            return None
        if last_energy is not None and not self._step(amounts, last_energy, priced_energy):
            return None
        if last_time is not None:
            total = priced_time if last_time[3] == 4 else priced_parking
            if not self._step(amounts, last_time, total):
                return None
        excl = amounts[0] + amounts[2] + amounts[4] + amounts[6]
        incl = amounts[1] + amounts[3] + amounts[5] + amounts[7]
        session = (end - periods[0][3]) // _MICROSECOND
        return _new(
            FixedTotals,
            (excl, incl, *amounts, energy_total, parking_total, session if session > 0 else 0, with_vat),
        )

    def _step(
        self, amounts: list[int], last: tuple[_Price, int, tuple[int, int, bool], int], total: int
    ) -> bool:
        """The engine's ``_apply_step``: the group's last line billed up to the next whole step."""
        price, volume, (excl, incl, _), slot = last
        step = price.step
        rounded = -(-total // step) * step
        if rounded == total:
            return True
        after = self._line(price, volume + (rounded - total))
        if after is None:
            return False
        amounts[slot] += after[0] - excl
        amounts[slot + 1] += after[1] - incl
        return True
