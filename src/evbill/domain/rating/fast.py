"""Fast rating to totals: the engine's own arithmetic without its lines, for backtests and batches.

``rate`` builds every ``RatedLine`` and a full ``RatedSession`` (with notes and volumes) for each
session: the price explanation, receipts and CDRs need them. A backtest over a million stored
sessions only needs each session's totals, and a batch of CDRs only the OCPI totals. ``FastTariff``
prices a session to those totals with the *same* Decimal operations in the *same* order as ``rate``
(each line ``price x volume / unit`` held to 10 places half-even, VAT per line, the step_size of each
group re-priced on its last line, the category sums, then ``min_price``/``max_price`` by the engine's
own ``_bound``), so every precise amount is identical, digit for digit, not just to the cent. What
it saves is everything around the arithmetic:

* the tariff is prepared once per (tariff, zone): per dimension, a component that applies whatever the
  period (no time-of-week, date, energy, duration, current or power restriction in the way) is found
  once, not per period; only the rest goes through ``restrictions.select`` (the engine's predicate);
* the local time is computed only when some restriction depends on it, and the UTC offset is looked
  up per UTC hour (an hour in which the offset changes is computed exactly, period by period);
* no line, session or explanation objects: a line is its (category, excl, incl) amounts;
* settling to minor units is done in place with the currency's exponent known in advance.

Sessions the fast path does not price itself go to ``rate`` (the scalar engine) and are counted in
``fallbacks``: those with reservation periods (a reservation's phases are rare and priced by other
elements), and a tariff in another currency (``rate`` raises ``CurrencyMismatch`` as it always does).
``FastTotals`` is the same for both paths, and equal to ``rate``'s ``RatedSession`` totals (tested on
more than 100,000 generated sessions over every tariff feature, and by Hypothesis).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from evbill.domain import currency as currencies
from evbill.domain.metering.usage import ZERO, ChargingPeriod, SessionUsage
from evbill.domain.money import PRECISE_CONTEXT, PRECISE_QUANTUM, RoundingMode
from evbill.domain.rating._models import Cost, Phase, RatedSession
from evbill.domain.rating.compiled import Candidate, CompiledTariff, DimensionIndex, compile_tariff
from evbill.domain.rating.engine import _bound, _seconds, rate
from evbill.domain.rating.restrictions import select
from evbill.domain.tariffs.model import MINUTES_PER_DAY, Tariff, TariffDimension

ONE = Decimal(1)
_UNIT = Decimal(1)
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
_EPOCH_NAIVE = _EPOCH.replace(tzinfo=None)
_NO_TIME = timedelta(0)
_Line = tuple[int, Decimal, Decimal, Candidate, Decimal]  # category, excl, incl, component, billed
_new = tuple.__new__  # builds a NamedTuple without its keyword-handling constructor (as the engine)
# Category keys, as the engine's _summarise: fixed, energy, time, parking, reservation.
FIXED, ENERGY_KEY, TIME_KEY, PARKING_KEY = 0, 1, 2, 3


class FastTotals(NamedTuple):
    """A session's totals as ``RatedSession`` has them (precise), and whether any line had VAT."""

    total_cost: Cost
    total_fixed_cost: Cost
    total_energy_cost: Cost
    total_time_cost: Cost
    total_parking_cost: Cost
    total_reservation_cost: Cost
    total_energy_wh: Decimal
    total_time_s: Decimal
    total_charging_s: Decimal
    total_parking_s: Decimal
    with_vat: bool


def totals_of(rated: RatedSession) -> FastTotals:
    """The totals of a session the scalar engine rated."""
    return FastTotals(
        rated.total_cost, rated.total_fixed_cost, rated.total_energy_cost, rated.total_time_cost,
        rated.total_parking_cost, rated.total_reservation_cost, rated.total_energy_wh, rated.total_time_s,
        rated.total_charging_s, rated.total_parking_s, any(line.vat is not None for line in rated.lines),
    )  # fmt: skip


class _Dimension(NamedTuple):
    """One dimension of the session phase: its index, and the component that always applies (if any)."""

    indexed: DimensionIndex
    always: Candidate | None
    key: int


def _prepare(index: DimensionIndex | None, key: int) -> _Dimension | None:
    if index is None:
        return None
    first = index.candidates[0] if index.candidates else None
    always = first if index.by_minute is None and first is not None and not first.has_residual else None
    return _Dimension(index, always, key)


class FastTariff:
    """A compiled tariff prepared for fast rating to totals (one per tariff and zone)."""

    def __init__(self, compiled: CompiledTariff) -> None:
        self.compiled = compiled
        self.tariff: Tariff = compiled.tariff
        self.currency = compiled.tariff.currency
        session = compiled.phase(Phase.SESSION)
        self._flat = _prepare(session.flat, FIXED)
        self._dimensions = (
            _prepare(session.energy, ENERGY_KEY),
            _prepare(session.time, TIME_KEY),
            _prepare(session.parking, PARKING_KEY),
        )
        self._bounded = compiled.tariff.min_price is not None or compiled.tariff.max_price is not None
        self._zone = compiled.zone if compiled.needs_local_time else None
        self._offsets: dict[int, timedelta | None] = {}  # UTC hour -> offset (None: it changes)
        self._fixed: dict[int, _Line] = {}  # a FLAT component's line (billed once), by id(component)
        self.fallbacks = 0  # sessions priced by the scalar engine

    @classmethod
    def of(cls, tariff: Tariff, zone: ZoneInfo) -> FastTariff:
        return cls(compile_tariff(tariff, zone))

    def _local(self, moment: datetime) -> datetime:
        """``moment``'s local wall time in the zone (as ``astimezone``), the offset cached per UTC hour."""
        since_epoch = moment - _EPOCH
        hour = since_epoch // _HOUR
        offsets = self._offsets
        offset = offsets.get(hour, _NO_TIME)
        if offset is _NO_TIME:
            zone = self._zone
            begin = _EPOCH + hour * _HOUR
            first = begin.astimezone(zone).utcoffset()
            last = (begin + _HOUR - timedelta(microseconds=1)).astimezone(zone).utcoffset()
            offset = offsets[hour] = first if first == last else None
        if offset is None:
            return moment.astimezone(self._zone)
        return _EPOCH_NAIVE + since_epoch + offset

    def totals(self, usage: SessionUsage) -> FastTotals:
        """The session's totals, equal to ``rate(usage, compiled)``'s (fallback: ``rate`` itself)."""
        priced = self._lines(usage)
        if priced is None:
            return self._fallback(usage)
        lines, energy_wh, charging_s, parking_s, session_start = priced
        excl = [ZERO] * 5
        incl = [ZERO] * 5
        with_vat = False
        for key, line_excl, line_incl, candidate, _ in lines:
            excl[key] += line_excl
            incl[key] += line_incl
            with_vat = with_vat or candidate.vat is not None
        total = Cost(sum(excl, ZERO), sum(incl, ZERO))
        if self._bounded:
            total = _bound(total, self.tariff)[0]
        length = usage.end - session_start
        return _new(
            FastTotals,
            (
                total, _new(Cost, (excl[0], incl[0])), _new(Cost, (excl[1], incl[1])),
                _new(Cost, (excl[2], incl[2])), _new(Cost, (excl[3], incl[3])),
                _new(Cost, (excl[4], incl[4])),
                energy_wh, _seconds(length) if length > _NO_TIME else ZERO, charging_s, parking_s, with_vat,
            ),
        )  # fmt: skip

    def settled(self, usage: SessionUsage, rounding: RoundingMode) -> tuple[int, int]:
        """The session's total (excl., incl. VAT) rounded once to minor units, as its receipt was."""
        priced = self._lines(usage)
        if priced is None:
            total = self._fallback(usage).total_cost
        else:
            excl = [ZERO] * 5
            incl = [ZERO] * 5
            for key, line_excl, line_incl, _, _ in priced[0]:
                excl[key] += line_excl
                incl[key] += line_incl
            total = Cost(sum(excl, ZERO), sum(incl, ZERO))
            if self._bounded:
                total = _bound(total, self.tariff)[0]
        currency = self.currency
        return minor_units(total.excl_vat, currency, rounding), minor_units(
            total.incl_vat, currency, rounding
        )

    def _fallback(self, usage: SessionUsage) -> FastTotals:
        self.fallbacks += 1
        return totals_of(rate(usage, self.compiled))

    def _lines(self, usage: SessionUsage) -> tuple[list[_Line], Decimal, Decimal, Decimal, datetime] | None:
        """The session's priced lines as ``rate`` prices them (None: leave it to ``rate``)."""
        periods = usage.periods
        if usage.currency != self.currency or not periods:
            return None
        for period in periods:
            if period.reservation_s is not None:
                return None
        session_start = periods[0].start
        zone = self._zone
        flat = self._flat
        energy_dimension, time_dimension, parking_dimension = self._dimensions
        lines: list[_Line] = []
        energy_wh = charging_s = parking_s = ZERO
        last_energy = last_time = -1
        priced_energy = priced_time = priced_parking = ZERO
        minute = 0
        local_date = None
        for period in periods:
            if zone is not None:
                local = self._local(period.start)
                minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
                local_date = local.date()
            charging, parking = period.charging_s, period.parking_s
            if charging is None and parking is None:
                charging, parking, _ = period.time_volumes()
            charging = charging or ZERO
            parking = parking or ZERO
            energy = period.energy_wh or ZERO
            charging_s += charging
            parking_s += parking
            if flat is not None:
                candidate = flat.always or select(
                    flat.indexed, minute, local_date, energy_wh, period.start - session_start, period
                )
                if candidate is not None:
                    flat = None
                    line = self._fixed.get(id(candidate))
                    if line is None:  # the same amounts for every session: priced once
                        line = self._fixed[id(candidate)] = _priced(FIXED, candidate, ONE)
                    lines.append(line)
            if energy and energy_dimension is not None:
                candidate = energy_dimension.always or _choose(
                    energy_dimension.indexed,
                    minute,
                    local_date,
                    energy_wh,
                    period.start - session_start,
                    period,
                )
                if candidate is not None:
                    last_energy = len(lines)
                    priced_energy += energy
                    lines.append(_priced(ENERGY_KEY, candidate, energy))
            for volume, dimension in ((charging, time_dimension), (parking, parking_dimension)):
                if not volume or dimension is None:
                    continue
                candidate = dimension.always or _choose(
                    dimension.indexed, minute, local_date, energy_wh, period.start - session_start, period
                )
                if candidate is None:
                    continue
                last_time = len(lines)
                if candidate.dimension is TariffDimension.TIME:
                    priced_time += volume
                    lines.append(_priced(TIME_KEY, candidate, volume))
                else:
                    priced_parking += volume
                    lines.append(_priced(PARKING_KEY, candidate, volume))
            energy_wh += energy
        _step(lines, last_energy, priced_energy)
        if last_time >= 0:
            _step(lines, last_time, priced_time if lines[last_time][0] == TIME_KEY else priced_parking)
        return lines, energy_wh, charging_s, parking_s, session_start


def _choose(
    index: DimensionIndex,
    minute: int,
    local_date: date | None,
    energy_wh: Decimal,
    elapsed: timedelta,
    period: ChargingPeriod,
) -> Candidate | None:
    """The engine's choice: the first candidate of the minute, checked only if it has residuals."""
    by_minute = index.by_minute
    candidates = index.candidates if by_minute is None else by_minute[minute]
    if candidates and not candidates[0].has_residual:
        return candidates[0]
    return select(index, minute, local_date, energy_wh, elapsed, period)


def _priced(key: int, candidate: Candidate, billed: Decimal) -> _Line:
    """One line as the engine's ``_line`` prices it: (price x billed / unit) to 10 places, then VAT."""
    excl = (candidate.price * billed / candidate.per_unit).quantize(
        PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT
    )
    factor = candidate.vat_factor
    incl = (
        excl
        if factor is None
        else (excl * factor).quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)
    )
    return (key, excl, incl, candidate, billed)


def _step(lines: list[_Line], position: int, total: Decimal) -> None:
    """The engine's ``_apply_step``: the group's last line is billed the extra volume."""
    if position < 0:
        return
    key, _, _, candidate, volume = lines[position]
    step = Decimal(candidate.step_size)
    rounded = (total / step).to_integral_value(ROUND_CEILING) * step
    if rounded != total:
        # The engine re-prices with a vat_factor computed afresh (the same value as the candidate's).
        lines[position] = _priced(key, candidate, volume + (rounded - total))


_EXPONENTS: dict[str, int] = {}


def minor_units(amount: Decimal, currency: str, rounding: RoundingMode) -> int:
    """``money.round_to_minor_units`` with the exponent looked up once per currency."""
    places = _EXPONENTS.get(currency)
    if places is None:
        places = _EXPONENTS[currency] = currencies.exponent(currency)
    scaled = amount.scaleb(places, PRECISE_CONTEXT)  # positional: Decimal parses keywords slowly
    return int(scaled.quantize(_UNIT, rounding.decimal_rounding, PRECISE_CONTEXT))
