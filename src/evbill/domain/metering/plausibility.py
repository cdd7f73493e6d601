"""Plausibility: what a charger reports is checked against physics and clocks before it is priced.

DESIGN.md rule 11: a value that cannot be physically right is kept as evidence, flagged, and never
priced as-is. The checks, in order (thresholds in ``PlausibilityRules``, documented in the README):

1. **The session's start** must lie within [server clock at the start - ``max_offline``, server clock
   + ``clock_skew``]: a charger whose clock reset reports 1971, one whose clock runs ahead reports
   tomorrow. An implausible start is replaced by the first plausible sample's time (else the server's
   clock at the start) and flagged ``IMPLAUSIBLE_START``. A session started on request (a payment at
   the charger) cannot begin before the request - ``clock_skew``: an earlier start is replaced by the
   request's time and flagged the same way (a charger cannot backdate the start before the hold).
2. **The session's stop** must not be before the start, nor after the server clock at the stop +
   ``clock_skew``. An implausible stop is replaced by the last plausible sample's time (never before
   the start: the shorter session is the driver's side) and flagged ``IMPLAUSIBLE_STOP``.
3. **Each sample's time** must lie inside the session, give or take ``clock_skew``; one outside is
   left out (``IMPLAUSIBLE_TIMESTAMP``).
4. **Energy against the EVSE's rated power**: between two readings, the register may rise by at most
   rated power x elapsed time x (1 + ``power_margin``) + ``energy_allowance_wh`` (the meter's
   resolution: kWh meters report 0.1 kWh steps). A reading above that (a register jump, a value of
   2e12 Wh) is left out (``IMPLAUSIBLE_ENERGY``); the next readings are judged against the last
   plausible one. Its sample stays without its register, as charging time: the charger said energy
   flowed, so that time is never priced as parking (the session goes to review all the same).
   A register *below* the last plausible one is never a baseline by itself. It is a glitch when a
   later reading goes on from the old register (at or above it, within what the EVSE can deliver
   since): left to cleaning, which rejects it (``NEGATIVE_DELTA``). Otherwise it is a restart from
   zero only if the EVSE can have delivered the new register since the last reading, and becomes the
   baseline; else it is left out (``IMPLAUSIBLE_ENERGY``). Rated power 22 kW, 10 minutes: at most
   22 x 1/6 x 1.1 kWh + 100 Wh = 4,133 Wh; 5,000 Wh in 10 minutes (30 kW) is implausible.
5. **Power** above rated power x (1 + ``power_margin``) is dropped from the sample
   (``IMPLAUSIBLE_POWER``): it would pick a power class the EVSE cannot deliver.

A session with any of these flags is priced from its plausible data only and marked for review.

Example: a 22 kW EVSE cannot deliver 2e12 Wh in 15 minutes:

    >>> from datetime import UTC, datetime
    >>> start = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    >>> kept, anomalies = plausible_samples(
    ...     [MeterSample(start, Decimal(1_000_000)),
    ...      MeterSample(start + timedelta(minutes=15), Decimal("2e12")),
    ...      MeterSample(start + timedelta(minutes=30), Decimal(1_011_000))],
    ...     start=start, end=start + timedelta(minutes=30), max_power_w=Decimal(22_000),
    ...     rules=PlausibilityRules())
    >>> [str(sample.energy) for sample in kept], [anomaly.flag.value for anomaly in anomalies]
    (['1000000', 'None', '1011000'], ['implausible_energy'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from evbill.domain.metering.cleaning import (
    Anomaly,
    ChargingState,
    MeterFlag,
    MeterSample,
    ReadingContext,
)
from evbill.domain.quantities import SECONDS_PER_HOUR

IMPLAUSIBLE_FLAGS = frozenset(
    {
        MeterFlag.IMPLAUSIBLE_START,
        MeterFlag.IMPLAUSIBLE_STOP,
        MeterFlag.IMPLAUSIBLE_TIMESTAMP,
        MeterFlag.IMPLAUSIBLE_ENERGY,
        MeterFlag.IMPLAUSIBLE_POWER,
        MeterFlag.PRICING_FAILED,
        MeterFlag.UNRECORDABLE_VALUE,
        # A register below zero is a broken meter: ignored as a baseline, it leaves the time before
        # the first trustworthy reading with no known energy, which would be priced as idle (tester)
        MeterFlag.NEGATIVE_REGISTER,
    }
)

# A meter value is kept exactly with at most 28 digits before the point (38 digits, 10 after it); no
# real meter comes near (10^27 Wh is a million times the world's yearly electricity). A value past it
# is kept only in the frame that carried it.
RECORDABLE_LIMIT = Decimal(10) ** 28


def recordable_samples(samples: Iterable[MeterSample]) -> tuple[list[MeterSample], list[Anomaly]]:
    """The samples whose values can be recorded exactly, and an anomaly for each one that cannot."""
    kept: list[MeterSample] = []
    refused: list[Anomaly] = []
    for sample in samples:
        too_large = [
            name
            for name in ("energy", "power", "current")
            if (value := getattr(sample, name)) is not None and abs(value) >= RECORDABLE_LIMIT
        ]
        if too_large:
            detail = (
                f"{', '.join(too_large)} has more than 28 digits before the point; kept in the frame only"
            )
            refused.append(Anomaly(MeterFlag.UNRECORDABLE_VALUE, sample.timestamp, detail))
        else:
            kept.append(sample)
    return kept, refused


@dataclass(frozen=True, slots=True)
class PlausibilityRules:
    """The thresholds of the checks (see the module); the defaults are the documented ones."""

    clock_skew: timedelta = timedelta(minutes=5)
    max_offline: timedelta = timedelta(days=30)
    power_margin: Decimal = Decimal("0.10")
    energy_allowance_wh: Decimal = Decimal(100)
    unknown_max_power_w: Decimal = Decimal(4_000_000)  # an EVSE without a rated power: 4 MW (MCS)


@dataclass(frozen=True, slots=True)
class Window:
    """The session's start and end as priced, and what was wrong with the reported ones."""

    start: datetime
    end: datetime
    anomalies: tuple[Anomaly, ...]


def plausible_start(
    reported: datetime,
    *,
    opened_at: datetime,
    samples: Iterable[MeterSample],
    rules: PlausibilityRules,
    requested_at: datetime | None = None,
) -> tuple[datetime, tuple[Anomaly, ...]]:
    """The start to price from: the reported one if the server clock allows it (rule 1).

    ``requested_at``: when the start was asked for (a payment at the charger): the session cannot
    have begun before it, give or take ``clock_skew``; an earlier start is priced from it."""
    if requested_at is not None and reported < requested_at - rules.clock_skew:
        detail = (
            f"start {reported.isoformat()} is before the start was requested ({requested_at.isoformat()},"
            f" give or take {_seconds(rules.clock_skew)} s); priced from {requested_at.isoformat()}"
        )
        return requested_at, (Anomaly(MeterFlag.IMPLAUSIBLE_START, reported, detail),)
    if _near_server_clock(reported, opened_at, rules):
        return reported, ()
    plausible = sorted(s.timestamp for s in samples if _near_server_clock(s.timestamp, opened_at, rules))
    start = plausible[0] if plausible else opened_at
    detail = (
        f"start {reported.isoformat()} is not within {rules.max_offline.days} days before and"
        f" {_seconds(rules.clock_skew)} s after the server's clock ({opened_at.isoformat()});"
        f" priced from {start.isoformat()}"
    )
    return start, (Anomaly(MeterFlag.IMPLAUSIBLE_START, reported, detail),)


def plausible_window(
    *,
    start: datetime,
    reported_end: datetime,
    closed_at: datetime,
    samples: Iterable[MeterSample],
    rules: PlausibilityRules,
) -> Window:
    """The end to price to: the reported one unless it is before ``start`` or after the clock (rule 2)."""
    latest = closed_at + rules.clock_skew
    if start <= reported_end <= latest:
        return Window(start, reported_end, ())
    inside = [s.timestamp for s in samples if start <= s.timestamp <= latest]
    end = max([start, *inside])
    where = "before the start" if reported_end < start else "after the server's clock"
    detail = f"stop {reported_end.isoformat()} is {where}; priced up to {end.isoformat()}"
    return Window(start, end, (Anomaly(MeterFlag.IMPLAUSIBLE_STOP, reported_end, detail),))


def plausible_samples(
    samples: Sequence[MeterSample],
    *,
    start: datetime,
    end: datetime,
    max_power_w: Decimal | None,
    rules: PlausibilityRules,
) -> tuple[list[MeterSample], list[Anomaly]]:
    """The samples fit to price (rules 3-5), in their order, and an anomaly per value left out."""
    limit_w = max_power_w if max_power_w else rules.unknown_max_power_w
    anomalies: list[Anomaly] = []
    timely = [sample for sample in samples if _in_window(sample, start, end, rules, anomalies)]
    jumps, charging = _energy_jumps(timely, limit_w, rules, anomalies)
    kept = [
        _charging(_without_energy(s) if id(s) in jumps else s) if id(s) in charging else s
        for s in timely
        if id(s) not in jumps or id(s) in charging
    ]
    return [_power_checked(s, limit_w, rules, anomalies) for s in kept], anomalies


def _without_energy(sample: MeterSample) -> MeterSample:
    return dataclasses.replace(sample, energy=None, multiplier=0)


def _charging(sample: MeterSample) -> MeterSample:
    """The sample with the charging state, unless it reports a state of its own."""
    if sample.state is not None:
        return sample
    return dataclasses.replace(sample, state=ChargingState.CHARGING)


def _in_window(
    sample: MeterSample, start: datetime, end: datetime, rules: PlausibilityRules, anomalies: list[Anomaly]
) -> bool:
    if start - rules.clock_skew <= sample.timestamp <= end + rules.clock_skew:
        return True
    detail = f"sample at {sample.timestamp.isoformat()} is outside the session; left out"
    anomalies.append(Anomaly(MeterFlag.IMPLAUSIBLE_TIMESTAMP, sample.timestamp, detail))
    return False


def _energy_jumps(
    samples: Sequence[MeterSample], limit_w: Decimal, rules: PlausibilityRules, anomalies: list[Anomaly]
) -> tuple[set[int], set[int]]:
    """The ids of samples whose register cannot be right (rule 4): a rise faster than the EVSE can
    deliver, or a fall that is neither a glitch nor a plausible restart from zero; and the ids of
    the samples that show charging all the same (a rise left out and the reading it rose from)."""
    readings = [
        (sample, register)
        for sample in sorted(samples, key=lambda s: s.timestamp)
        if (register := sample.energy_wh) is not None and register >= 0 and not _offline_zero_begin(sample)
    ]  # a negative register or an offline zero begin is cleaning's: it is never a baseline
    jumps: set[int] = set()
    charging: set[int] = set()  # a rise left out still says the car charged since the baseline
    last: tuple[datetime, Decimal] | None = None  # the last plausible register: the baseline
    baseline: MeterSample | None = None
    for index, (sample, register) in enumerate(readings):
        if last is None or baseline is None:
            last, baseline = (sample.timestamp, register), sample
            continue
        allowed = _allowed_wh(last[0], sample.timestamp, limit_w, rules)
        if register >= last[1]:
            if register - last[1] <= allowed:
                last, baseline = (sample.timestamp, register), sample
                continue
            charging.update((id(baseline), id(sample)))
            detail = (
                f"register {register} Wh is {register - last[1]} Wh above {last[1]} Wh of"
                f" {last[0].isoformat()}: more than {limit_w} W can deliver (+"
                f"{rules.power_margin:%} and {rules.energy_allowance_wh} Wh); left out"
            )
        elif _continued(readings[index + 1 :], last, limit_w, rules):
            continue  # a glitch: later readings go on from the old register; cleaning rejects it
        elif register <= allowed:
            # a restart from zero the EVSE can have delivered since: the new baseline
            last, baseline = (sample.timestamp, register), sample
            continue
        else:
            detail = (
                f"register fell from {last[1]} Wh to {register} Wh: no later reading goes on from"
                f" {last[1]} Wh, and a restart from zero cannot have delivered {register} Wh since"
                f" {last[0].isoformat()} at {limit_w} W; left out"
            )
        jumps.add(id(sample))
        anomalies.append(Anomaly(MeterFlag.IMPLAUSIBLE_ENERGY, sample.timestamp, detail))
    return jumps, charging


def _continued(
    later: Sequence[tuple[MeterSample, Decimal]],
    last: tuple[datetime, Decimal],
    limit_w: Decimal,
    rules: PlausibilityRules,
) -> bool:
    """Whether a later reading goes on from the register ``last``: at or above it, by no more than the
    EVSE can deliver since. A fall before such a reading was a glitch, not a meter restart."""
    return any(
        last[1] <= register <= last[1] + _allowed_wh(last[0], sample.timestamp, limit_w, rules)
        for sample, register in later
    )


def _allowed_wh(since: datetime, until: datetime, limit_w: Decimal, rules: PlausibilityRules) -> Decimal:
    """The most energy the EVSE can deliver between two instants, with the margin and allowance."""
    hours = _seconds(until - since) / SECONDS_PER_HOUR
    return limit_w * hours * (1 + rules.power_margin) + rules.energy_allowance_wh


def _power_checked(
    sample: MeterSample, limit_w: Decimal, rules: PlausibilityRules, anomalies: list[Anomaly]
) -> MeterSample:
    power = sample.power_w
    if power is None or power <= limit_w * (1 + rules.power_margin):
        return sample
    detail = f"power {power} W is above the EVSE's {limit_w} W; left out"
    anomalies.append(Anomaly(MeterFlag.IMPLAUSIBLE_POWER, sample.timestamp, detail))
    return dataclasses.replace(sample, power=None)


def _offline_zero_begin(sample: MeterSample) -> bool:
    return sample.context is ReadingContext.TRANSACTION_BEGIN and sample.offline and sample.energy == 0


def _near_server_clock(moment: datetime, server: datetime, rules: PlausibilityRules) -> bool:
    return server - rules.max_offline <= moment <= server + rules.clock_skew


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta // timedelta(microseconds=1)).scaleb(-6)
