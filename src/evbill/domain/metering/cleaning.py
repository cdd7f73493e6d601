"""Meter cleaning: from what a charger reported to an energy curve that can be priced (DESIGN.md rule 5).

Chargers report meter values as they can: in Wh or kWh with an OCPP ``multiplier``, twice when a
retransmission crosses an acknowledgement, late and out of order after being offline, with registers
that restart from zero when the meter reboots, sometimes relative to the session instead of absolute,
and with a ``Transaction.Begin`` register of 0 when the transaction was started offline.
``clean_series`` turns such ``MeterSample``s into ``MeterPoint``s whose ``energy_wh`` is the energy
delivered since the session's baseline: never negative, never decreasing. Whatever it had to correct
is kept as an ``Anomaly`` (data, not an exception) so the session can show it.

The rules, in the order they are applied:

1. Duplicates are dropped (``DUPLICATE``): a sample whose OCPP 2.0.1 ``seq_no`` and timestamp were
   already seen (one TransactionEvent may carry several samples, all with its ``seq_no`` but each with
   its own time), or with the same timestamp and values as an earlier one (unless both carry
   different ``seq_no``s). The first one received is kept. A ``Transaction.Begin`` or
   ``Transaction.End`` reading received again is dropped without an anomaly: OCPP 1.6 chargers send
   meterStart and meterStop and, as they should, the same two readings again in transactionData.
2. Samples are ordered by ``seq_no`` when every sample carries one, else by timestamp (stable). A
   sample that arrives after one that sorts later is ``OUT_OF_ORDER`` and is put in its place.
3. Registers that cannot be a baseline are ignored: a negative register (``NEGATIVE_REGISTER``) and a
   ``Transaction.Begin`` of exactly 0 sent offline (``OFFLINE_ZERO_BEGIN``): the charger did not know
   its register. The baseline is the first trustworthy register; energy before it is not known and
   is not invented.
4. A register below the last accepted one is a *reset* when it is "near zero" and stays there:
   the new reading is less than half the last register (closer to zero than to the old value), and
   no later reading climbs back to the old register. The meter restarted from zero, so energy goes
   on from there: cumulative energy + new reading (``REGISTER_RESET``; ``SESSION_RELATIVE_REGISTER``
   when it happens before any energy was counted, i.e. an absolute ``Transaction.Begin`` followed by
   session-relative readings). Any other decrease is a ``NEGATIVE_DELTA``: the reading is rejected and
   the cumulative energy stays. Both conditions err on the driver's side: a glitch that returns to the
   old level never bills the old register a second time.
5. Samples without a usable register keep their power, current and state; their energy is
   interpolated between the neighbouring readings (0 before the first, the last reading after the
   last) over *charging* time: time in a parking state (a StatusNotification SuspendedEV, a 2.0.1
   ChargingStateChanged without meter values) gets no energy, so a state change reported between
   two readings cuts the energy where it happened. Without states this is linear in time, the same
   linear model charging periods use.
6. Samples at the same instant are merged into one point (later values win where present). With
   ``seq_no`` ordering a timestamp can go backwards; such a sample is merged into the point before it
   (``CLOCK_REGRESSION``).

Example: a kWh meter sends one reading twice, then reboots:

    >>> from datetime import UTC, datetime
    >>> series = clean_series([
    ...     MeterSample(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), Decimal("1200.5"), EnergyUnit.KWH),
    ...     MeterSample(datetime(2026, 1, 5, 9, 10, tzinfo=UTC), Decimal("1201.7"), EnergyUnit.KWH),
    ...     MeterSample(datetime(2026, 1, 5, 9, 10, tzinfo=UTC), Decimal("1201.7"), EnergyUnit.KWH),
    ...     MeterSample(datetime(2026, 1, 5, 9, 20, tzinfo=UTC), Decimal("0.3"), EnergyUnit.KWH),
    ... ])
    >>> [str(point.energy_wh) for point in series.points]
    ['0.0', '1200.0', '1500.0']
    >>> [anomaly.flag.value for anomaly in series.anomalies]
    ['duplicate', 'register_reset']
"""

from __future__ import annotations

import bisect
import decimal
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from evbill.domain.errors import InvalidInput, MeterDataError, Problem
from evbill.domain.quantities import EnergyUnit, PowerUnit, energy_to_wh, power_to_w

ZERO = Decimal(0)
ENERGY_QUANTUM = Decimal("0.001")  # interpolated energy is held to a milliwatt-hour
# A local context for the few divisions here: never the ambient one.
METER_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)
_MICROSECOND = timedelta(microseconds=1)


class ChargingState(enum.StrEnum):
    """OCPP 2.0.1 ChargingStateEnumType: what the connector was doing."""

    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"  # the EVSE offers no power: still charging time
    SUSPENDED_EV = "SuspendedEV"  # the vehicle requests no power: parking
    EV_CONNECTED = "EVConnected"  # connected, not charging: parking
    IDLE = "Idle"

    @property
    def is_parking(self) -> bool:
        """Whether time in this state is parking (idle) time rather than charging time."""
        return self in _PARKING_STATES


_PARKING_STATES = frozenset({ChargingState.SUSPENDED_EV, ChargingState.EV_CONNECTED, ChargingState.IDLE})


class ReadingContext(enum.StrEnum):
    """OCPP ReadingContext: why a sample was taken."""

    INTERRUPTION_BEGIN = "Interruption.Begin"
    INTERRUPTION_END = "Interruption.End"
    OTHER = "Other"
    SAMPLE_CLOCK = "Sample.Clock"
    SAMPLE_PERIODIC = "Sample.Periodic"
    TRANSACTION_BEGIN = "Transaction.Begin"
    TRANSACTION_END = "Transaction.End"
    TRIGGER = "Trigger"


_TRANSACTION_BOUNDARIES = frozenset({ReadingContext.TRANSACTION_BEGIN, ReadingContext.TRANSACTION_END})


class MeterFlag(enum.StrEnum):
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    CLOCK_REGRESSION = "clock_regression"
    NEGATIVE_REGISTER = "negative_register"
    NEGATIVE_DELTA = "negative_delta"
    REGISTER_RESET = "register_reset"
    SESSION_RELATIVE_REGISTER = "session_relative_register"
    OFFLINE_ZERO_BEGIN = "offline_zero_begin"
    NO_ENERGY = "no_energy"
    # Plausibility (``plausibility.py``): left out of pricing, and the session goes to review.
    IMPLAUSIBLE_START = "implausible_start"
    IMPLAUSIBLE_STOP = "implausible_stop"
    IMPLAUSIBLE_TIMESTAMP = "implausible_timestamp"
    IMPLAUSIBLE_ENERGY = "implausible_energy"
    IMPLAUSIBLE_POWER = "implausible_power"
    PRICING_FAILED = "pricing_failed"
    UNRECORDABLE_VALUE = (
        "unrecordable_value"  # more digits than a meter value is kept with (the frame has it)
    )


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something the cleaning corrected or could not use, at the sample's timestamp."""

    flag: MeterFlag
    timestamp: datetime
    detail: str


_ENERGY_UNITS = frozenset(unit.value for unit in EnergyUnit)
_POWER_UNITS = frozenset(unit.value for unit in PowerUnit)


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One meter reading as the charger sent it, already parsed into exact values.

    ``multiplier`` scales the energy register by 10**multiplier (OCPP unitOfMeasure.multiplier);
    ``current`` is in amperes summed over the phases. Plain strings are accepted for ``state`` and
    ``context`` (the OCPP spelling) and turned into their enums.
    """

    timestamp: datetime
    energy: Decimal | None = None
    energy_unit: str = EnergyUnit.WH
    multiplier: int = 0
    power: Decimal | None = None
    power_unit: str = PowerUnit.W
    current: Decimal | None = None
    state: ChargingState | None = None
    seq_no: int | None = None
    context: ReadingContext | None = None
    offline: bool = False
    signed_data: str | None = (
        None  # a signed meter value (OCMF, 1.6 SignedData, 2.0.1 signedMeterValue), verbatim
    )

    def __post_init__(self) -> None:
        for name in ("energy", "power", "current"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                raise TypeError(
                    f"MeterSample.{name} must be a Decimal or None (meter values are never floats)"
                )
        problems = [*self._value_problems(), *self._enum_problems()]
        if problems:
            raise InvalidInput("meter sample is invalid", tuple(problems))

    def _value_problems(self) -> list[Problem]:
        problems = []
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            problems.append(Problem("$.timestamp", "must be timezone-aware"))
        for name in ("energy", "power", "current"):
            value = getattr(self, name)
            if value is not None and not value.is_finite():
                problems.append(Problem(f"$.{name}", "must be a finite number"))
        if not isinstance(self.multiplier, int) or isinstance(self.multiplier, bool):
            problems.append(Problem("$.multiplier", "must be an integer power of ten"))
        if self.energy_unit not in _ENERGY_UNITS:
            problems.append(Problem("$.energy_unit", f"unit {self.energy_unit!r} is not one of Wh, kWh"))
        if self.power_unit not in _POWER_UNITS:
            problems.append(Problem("$.power_unit", f"unit {self.power_unit!r} is not one of W, kW"))
        return problems

    def _enum_problems(self) -> list[Problem]:
        problems = []
        for name, enum_type in (("state", ChargingState), ("context", ReadingContext)):
            value = getattr(self, name)
            if value is None or isinstance(value, enum_type):
                continue
            try:
                object.__setattr__(self, name, enum_type(value))
            except ValueError:
                problems.append(Problem(f"$.{name}", f"{value!r} is not a known {enum_type.__name__}"))
        return problems

    @property
    def energy_wh(self) -> Decimal | None:
        if self.energy is None:
            return None
        return energy_to_wh(self.energy, self.energy_unit, multiplier=self.multiplier)

    @property
    def power_w(self) -> Decimal | None:
        return None if self.power is None else power_to_w(self.power, self.power_unit)

    def values_key(self) -> tuple[object, ...]:
        """What makes two samples the same reading (seq_no and offline delivery aside)."""
        return (self.timestamp, self.energy_wh, self.power_w, self.current, self.state, self.context)


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """A cleaned reading: ``energy_wh`` delivered since the baseline, in UTC time order."""

    timestamp: datetime
    energy_wh: Decimal
    power_w: Decimal | None = None
    current_a: Decimal | None = None
    state: ChargingState | None = None

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise InvalidInput("meter point is invalid", (Problem("$.timestamp", "must be timezone-aware"),))
        if not isinstance(self.energy_wh, Decimal):
            raise TypeError("MeterPoint.energy_wh must be a Decimal")
        if self.energy_wh < 0:
            raise InvalidInput("meter point is invalid", (Problem("$.energy_wh", "must not be negative"),))


@dataclass(frozen=True, slots=True)
class CleanSeries:
    """Points strictly increasing in time with non-decreasing energy, and what was corrected."""

    points: tuple[MeterPoint, ...]
    anomalies: tuple[Anomaly, ...] = ()

    def __post_init__(self) -> None:
        problems = [
            Problem(f"$.points[{index}]", "must be later than the point before, with no less energy")
            for index, (earlier, later) in enumerate(zip(self.points, self.points[1:], strict=False), 1)
            if later.timestamp <= earlier.timestamp or later.energy_wh < earlier.energy_wh
        ]
        if problems:
            raise InvalidInput("meter series is not clean", tuple(problems))

    @property
    def energy_wh(self) -> Decimal:
        """Energy delivered over the whole series."""
        return self.points[-1].energy_wh - self.points[0].energy_wh if self.points else ZERO

    @property
    def flags(self) -> tuple[MeterFlag, ...]:
        return tuple(anomaly.flag for anomaly in self.anomalies)


def clean_series(samples: Iterable[MeterSample]) -> CleanSeries:
    """Order, deduplicate and baseline raw samples; raise MeterDataError only when there are none."""
    received = tuple(samples)
    if not received:
        raise MeterDataError("no meter samples: nothing to build a meter series from")
    anomalies: list[Anomaly] = []
    with decimal.localcontext(METER_CONTEXT):
        ordered = _in_order(_without_duplicates(received, anomalies), anomalies)
        cumulative = _cumulative_energy(ordered, anomalies)
        energies = _fill_between_readings(ordered, cumulative)
        return CleanSeries(_points(ordered, energies, anomalies), tuple(anomalies))


def _without_duplicates(received: Sequence[MeterSample], anomalies: list[Anomaly]) -> list[MeterSample]:
    kept: list[MeterSample] = []
    seen_messages: set[tuple[int, datetime]] = set()
    seq_nos_by_values: dict[tuple[object, ...], set[int | None]] = {}
    for sample in received:
        seq_nos = seq_nos_by_values.setdefault(sample.values_key(), set())
        if sample.seq_no is not None and (sample.seq_no, sample.timestamp) in seen_messages:
            detail = f"seqNo {sample.seq_no} at this time was already received; the first one is kept"
        elif seq_nos and (sample.seq_no is None or None in seq_nos):
            if sample.context in _TRANSACTION_BOUNDARIES:
                continue  # the transaction's own begin or end reading, reported twice as OCPP 1.6 does
            detail = "same timestamp and values as an earlier sample"
        else:
            kept.append(sample)
            seq_nos.add(sample.seq_no)
            if sample.seq_no is not None:
                seen_messages.add((sample.seq_no, sample.timestamp))
            continue
        anomalies.append(Anomaly(MeterFlag.DUPLICATE, sample.timestamp, detail))
    return kept


def _in_order(samples: list[MeterSample], anomalies: list[Anomaly]) -> list[MeterSample]:
    by_seq_no = all(sample.seq_no is not None for sample in samples)

    def key(sample: MeterSample) -> tuple[int, datetime]:
        return (sample.seq_no or 0, sample.timestamp) if by_seq_no else (0, sample.timestamp)

    latest: tuple[int, datetime] | None = None
    for sample in samples:
        if latest is not None and key(sample) < latest:
            what = f"seqNo {sample.seq_no}" if by_seq_no else "timestamp"
            anomalies.append(
                Anomaly(MeterFlag.OUT_OF_ORDER, sample.timestamp, f"arrived late; put in place by {what}")
            )
        else:
            latest = key(sample)
    return sorted(samples, key=key)


def _usable_register(sample: MeterSample, anomalies: list[Anomaly]) -> Decimal | None:
    energy = sample.energy_wh
    if energy is None:
        return None
    if energy < 0:
        anomalies.append(
            Anomaly(MeterFlag.NEGATIVE_REGISTER, sample.timestamp, f"register {energy} Wh ignored")
        )
        return None
    if sample.context is ReadingContext.TRANSACTION_BEGIN and sample.offline and energy == 0:
        detail = "Transaction.Begin of 0 sent offline is not used as the baseline"
        anomalies.append(Anomaly(MeterFlag.OFFLINE_ZERO_BEGIN, sample.timestamp, detail))
        return None
    return energy


def _highest_later(registers: Sequence[Decimal | None]) -> list[Decimal | None]:
    """For each position, the highest register after it (None when there is none)."""
    result: list[Decimal | None] = [None] * len(registers)
    highest: Decimal | None = None
    for index in range(len(registers) - 1, -1, -1):
        result[index] = highest
        register = registers[index]
        if register is not None and (highest is None or register > highest):
            highest = register
    return result


def _is_reset(register: Decimal, last: Decimal, highest_later: Decimal | None) -> bool:
    near_zero = register * 2 < last
    return near_zero and (highest_later is None or highest_later < last)


def _cumulative_energy(ordered: Sequence[MeterSample], anomalies: list[Anomaly]) -> list[Decimal | None]:
    """Energy since the baseline at each accepted register, None where there is no usable one."""
    registers = [_usable_register(sample, anomalies) for sample in ordered]
    cumulative: list[Decimal | None] = []
    last: Decimal | None = None  # the last accepted register
    offset = base = total = ZERO  # total = offset + register - base
    for sample, register, highest in zip(ordered, registers, _highest_later(registers), strict=True):
        if register is None:
            cumulative.append(None)
            continue
        if last is None:
            base = register  # the baseline
        elif register < last and _is_reset(register, last, highest):
            anomalies.append(_reset(sample.timestamp, register, last, total))
            offset, base = total, ZERO
        elif register < last:
            detail = f"register {register} Wh is below {last} Wh; reading rejected"
            anomalies.append(Anomaly(MeterFlag.NEGATIVE_DELTA, sample.timestamp, detail))
            cumulative.append(None)
            continue
        total, last = offset + register - base, register
        cumulative.append(total)
    if last is None:
        anomalies.append(Anomaly(MeterFlag.NO_ENERGY, ordered[0].timestamp, "no usable energy register"))
    return cumulative


def _reset(timestamp: datetime, register: Decimal, last: Decimal, total: Decimal) -> Anomaly:
    if total == 0:
        detail = (
            f"register went from {last} Wh to {register} Wh before any energy: counted from session start"
        )
        return Anomaly(MeterFlag.SESSION_RELATIVE_REGISTER, timestamp, detail)
    detail = f"register restarted: {last} Wh then {register} Wh; energy continues from {total} Wh"
    return Anomaly(MeterFlag.REGISTER_RESET, timestamp, detail)


def _fill_between_readings(
    ordered: Sequence[MeterSample], cumulative: Sequence[Decimal | None]
) -> list[Decimal]:
    """Energy at every sample: its own reading, else spread over the charging time between the
    readings around it (time in a parking state gets none: the car drew nothing then)."""
    readings = [index for index, value in enumerate(cumulative) if value is not None]
    filled: list[Decimal] = []
    for index, value in enumerate(cumulative):
        if value is not None:
            filled.append(value)
            continue
        position = bisect.bisect(readings, index)
        if position == 0:
            filled.append(ZERO)  # before the baseline nothing is counted yet
        elif position == len(readings):
            filled.append(_known(cumulative, readings[-1]))
        else:
            filled.append(_spread(ordered, cumulative, readings[position - 1], readings[position], index))
    return filled


def _known(cumulative: Sequence[Decimal | None], index: int) -> Decimal:
    value = cumulative[index]
    assert value is not None
    return value


def _spread(
    ordered: Sequence[MeterSample],
    cumulative: Sequence[Decimal | None],
    first: int,
    last: int,
    index: int,
) -> Decimal:
    """Energy at sample ``index`` between the readings at ``first`` and ``last``, by charging time.

    Each stretch between two samples counts its length unless the state in force over it (the
    earlier sample's, or the last one known before) is a parking state. When every stretch is
    parking, energy flowed all the same: it is spread over plain time.
    """
    start_energy, end_energy = _known(cumulative, first), _known(cumulative, last)
    state = next((ordered[k].state for k in range(first, -1, -1) if ordered[k].state is not None), None)
    weights: list[int] = []
    for k in range(first, last):
        state = ordered[k].state if ordered[k].state is not None else state
        length = max((ordered[k + 1].timestamp - ordered[k].timestamp) // _MICROSECOND, 0)
        weights.append(0 if state is not None and state.is_parking else length)
    if not sum(weights):
        weights = [
            max((ordered[k + 1].timestamp - ordered[k].timestamp) // _MICROSECOND, 0)
            for k in range(first, last)
        ]
    total, before = sum(weights), sum(weights[: index - first])
    if total == 0:
        return start_energy
    delta = end_energy - start_energy
    value = start_energy + METER_CONTEXT.divide(
        METER_CONTEXT.multiply(delta, Decimal(before)), Decimal(total)
    )
    value = value.quantize(ENERGY_QUANTUM, rounding=decimal.ROUND_HALF_EVEN, context=METER_CONTEXT)
    return min(max(value, start_energy), end_energy)


def interpolate_energy_wh(
    moment: datetime, start: tuple[datetime, Decimal], end: tuple[datetime, Decimal]
) -> Decimal:
    """Energy at ``moment`` when it flows linearly from ``start`` to ``end`` (instant, energy Wh).

    Held to ENERGY_QUANTUM (half-even) and never outside the two energies.

    >>> from datetime import UTC, datetime
    >>> nine, ten = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC)
    >>> twenty_past = datetime(2026, 1, 5, 9, 20, tzinfo=UTC)
    >>> interpolate_energy_wh(twenty_past, (nine, Decimal(0)), (ten, Decimal(1000)))
    Decimal('333.333')
    """
    (start_time, start_energy), (end_time, end_energy) = start, end
    total = (end_time - start_time) // _MICROSECOND
    if total <= 0 or moment <= start_time:
        return start_energy
    if moment >= end_time:
        return end_energy
    part = (moment - start_time) // _MICROSECOND
    delta = end_energy - start_energy
    value = start_energy + METER_CONTEXT.divide(METER_CONTEXT.multiply(delta, Decimal(part)), Decimal(total))
    value = value.quantize(ENERGY_QUANTUM, rounding=decimal.ROUND_HALF_EVEN, context=METER_CONTEXT)
    return min(max(value, start_energy), end_energy)


def _points(
    ordered: Sequence[MeterSample], energies: Sequence[Decimal], anomalies: list[Anomaly]
) -> tuple[MeterPoint, ...]:
    points: list[MeterPoint] = []
    for sample, energy in zip(ordered, energies, strict=True):
        point = MeterPoint(
            sample.timestamp.astimezone(UTC), energy, sample.power_w, sample.current, sample.state
        )
        if points and point.timestamp <= points[-1].timestamp:
            if point.timestamp < points[-1].timestamp:
                detail = (
                    f"timestamp goes back to {point.timestamp.isoformat()}; merged into the sample before"
                )
                anomalies.append(Anomaly(MeterFlag.CLOCK_REGRESSION, sample.timestamp, detail))
            point = _merge(points.pop(), point)
        points.append(point)
    return tuple(points)


def _merge(earlier: MeterPoint, later: MeterPoint) -> MeterPoint:
    """One point at the earlier instant; the later sample's values win where it has them."""
    return MeterPoint(
        earlier.timestamp,
        max(earlier.energy_wh, later.energy_wh),
        later.power_w if later.power_w is not None else earlier.power_w,
        later.current_a if later.current_a is not None else earlier.current_a,
        later.state if later.state is not None else earlier.state,
    )
