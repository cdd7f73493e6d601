"""The price explanation: for every period and dimension, what applied, why, and what it cost.

``explain(usage, compiled, rated)`` turns a rating result into an ``Explanation`` a driver, a support
agent or a dispute can read. Every line names the tariff element that priced it and why it applied
(its restrictions, each with the measured value), which earlier elements for the same dimension were
passed over and the restriction that failed, the volume measured and the volume billed (step_size),
the unit price, VAT, and the precise amounts. Volumes no element priced are listed as free, with the
reason. Min/max price adjustments and totals close it. The amounts are the rating's own, so the lines
and adjustments always add up to the total exactly.

``as_dict`` gives JSON-ready data (decimals as ``Decimal``); ``as_text`` gives the receipt-like text:

    Tariff 13 (EUR), times in Europe/Amsterdam
      #1 Mon 2026-05-04 09:30-12:00  charging  2 h 30 min x 3.00/h = 7.50  (+10% VAT = 8.25)
           element 0 applies: no restrictions
      #2 Mon 2026-05-04 12:00-12:42  parking  42 min, billed 45 min (steps of 5 min) x 5.00/h = 3.75 ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from evbill.domain import currency as currencies
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.rating import (
    CompiledTariff,
    PeriodState,
    Phase,
    RatedLine,
    RatedSession,
    period_states,
    restriction_checks,
)
from evbill.domain.tariffs.model import TariffDimension

_DIMENSION_WORDS = {
    TariffDimension.FLAT: "start fee",
    TariffDimension.ENERGY: "energy",
    TariffDimension.TIME: "charging",
    TariffDimension.PARKING_TIME: "parking",
}


@dataclass(frozen=True, slots=True)
class ExplainedLine:
    period_index: int
    period_start: datetime
    period_end: datetime
    phase: Phase
    dimension: TariffDimension
    element_index: int
    reasons: tuple[str, ...]
    passed_over: tuple[str, ...]
    volume: Decimal
    billed_volume: Decimal
    unit: str
    step_size: int
    price: Decimal
    vat: Decimal | None
    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True, slots=True)
class FreeVolume:
    """A measured volume no element priced (e.g. parking after 20:00 when parking is free then)."""

    period_index: int
    dimension: TariffDimension
    volume: Decimal
    unit: str
    reason: str


@dataclass(frozen=True, slots=True)
class Explanation:
    tariff_id: str
    currency: str
    zone: ZoneInfo
    lines: tuple[ExplainedLine, ...]
    free: tuple[FreeVolume, ...]
    rated: RatedSession

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)

    def as_text(self) -> str:
        return _as_text(self)


def explain(usage: SessionUsage, compiled: CompiledTariff, rated: RatedSession) -> Explanation:
    states = period_states(usage, compiled)
    lines = tuple(_explain_line(line, usage, compiled, states) for line in rated.lines)
    free = tuple(_free_volumes(usage, compiled, rated, states))
    return Explanation(rated.tariff_id, rated.currency, compiled.zone, lines, free, rated)


def _explain_line(
    line: RatedLine,
    usage: SessionUsage,
    compiled: CompiledTariff,
    states: list[tuple[PeriodState, int]],
) -> ExplainedLine:
    period = usage.periods[line.period_index]
    state, minute_of_week = states[line.period_index]
    elements = compiled.tariff.elements
    chosen = elements[line.element_index].restrictions
    reasons = tuple(text for text, _ in restriction_checks(chosen, state, minute_of_week)) or (
        "no restrictions",
    )
    passed_over = tuple(
        _why_not(index, compiled, state, minute_of_week)
        for index in _earlier_candidates(compiled, line.phase, line.dimension, line.element_index)
    )
    return ExplainedLine(
        line.period_index, period.start, period.end, line.phase, line.dimension, line.element_index,
        reasons, passed_over, line.volume, line.billed_volume, _unit(line.dimension), line.step_size,
        line.price, line.vat, line.excl_vat, line.incl_vat,
    )  # fmt: skip


def _earlier_candidates(
    compiled: CompiledTariff, phase: Phase, dimension: TariffDimension, chosen: int | None
) -> list[int]:
    index = compiled.indexes.get((phase, dimension))
    if index is None:
        return []
    result = []
    for candidate in index.candidates:
        if candidate.element_index == chosen:
            break
        result.append(candidate.element_index)
    return result


def _why_not(element_index: int, compiled: CompiledTariff, state: PeriodState, minute: int) -> str:
    restrictions = compiled.tariff.elements[element_index].restrictions
    failed = [text for text, holds in restriction_checks(restrictions, state, minute) if not holds]
    return f"element {element_index} does not apply: " + ("; ".join(failed) or "no match")


def _free_volumes(
    usage: SessionUsage,
    compiled: CompiledTariff,
    rated: RatedSession,
    states: list[tuple[PeriodState, int]],
) -> list[FreeVolume]:
    priced = {(line.period_index, line.dimension) for line in rated.lines}
    free = []
    for index, period in enumerate(usage.periods):
        if period.reservation_s is not None:
            volumes = [(TariffDimension.TIME, period.reservation_s)]
            phase = Phase.RESERVATION_EXPIRED if rated.reservation_expired else Phase.RESERVATION
        else:
            charging, parking, _ = period.time_volumes()
            volumes = [
                (TariffDimension.ENERGY, period.energy_wh or Decimal(0)),
                (TariffDimension.TIME, charging),
                (TariffDimension.PARKING_TIME, parking),
            ]
            phase = Phase.SESSION
        state, minute = states[index]
        for dimension, volume in volumes:
            if volume and (index, dimension) not in priced:
                others = [
                    _why_not(i, compiled, state, minute)
                    for i in _earlier_candidates(compiled, phase, dimension, None)
                ]
                if (phase, dimension) not in compiled.indexes:
                    continue  # the tariff never prices this dimension: nothing to explain
                reason = "; ".join(others) or "no element applies"
                free.append(FreeVolume(index, dimension, volume, _unit(dimension), reason))
    return free


def _unit(dimension: TariffDimension) -> str:
    if dimension is TariffDimension.ENERGY:
        return "Wh"
    if dimension is TariffDimension.FLAT:
        return "unit"
    return "s"


def _as_dict(explanation: Explanation) -> dict[str, Any]:
    rated = explanation.rated
    return {
        "tariff_id": explanation.tariff_id,
        "currency": explanation.currency,
        "time_zone": explanation.zone.key,
        "lines": [
            {
                "period_index": line.period_index,
                "period_start": line.period_start.isoformat(),
                "period_end": line.period_end.isoformat(),
                "phase": line.phase.value,
                "dimension": line.dimension.value,
                "element_index": line.element_index,
                "why": list(line.reasons),
                "passed_over": list(line.passed_over),
                "volume": line.volume,
                "billed_volume": line.billed_volume,
                "unit": line.unit,
                "step_size": line.step_size,
                "price": line.price,
                "vat": line.vat,
                "excl_vat": line.excl_vat,
                "incl_vat": line.incl_vat,
            }
            for line in explanation.lines
        ],
        "free": [
            {
                "period_index": free.period_index,
                "dimension": free.dimension.value,
                "volume": free.volume,
                "unit": free.unit,
                "why": free.reason,
            }
            for free in explanation.free
        ],
        "adjustments": [
            {"kind": a.kind.value, "excl_vat": a.excl_vat, "incl_vat": a.incl_vat} for a in rated.adjustments
        ],
        "total_cost": {"excl_vat": rated.total_cost.excl_vat, "incl_vat": rated.total_cost.incl_vat},
        "notes": list(rated.notes),
    }


def _as_text(explanation: Explanation) -> str:
    rated = explanation.rated
    currency = explanation.currency
    out = [f"Tariff {explanation.tariff_id} ({currency}), times in {explanation.zone.key}"]
    zone = explanation.zone
    for line in explanation.lines:
        start, end = line.period_start.astimezone(zone), line.period_end.astimezone(zone)
        when = f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}"
        words = _DIMENSION_WORDS[line.dimension]
        if line.phase is not Phase.SESSION and line.dimension is TariffDimension.TIME:
            words = "reservation"
        out.append(f"  #{line.period_index + 1} {when}  {words}  {_line_text(line, currency)}")
        out.append(f"       element {line.element_index} applies: {'; '.join(line.reasons)}")
        out.extend(f"       ({text})" for text in line.passed_over)
    for free in explanation.free:
        words = _DIMENSION_WORDS[free.dimension]
        quantity = _quantity(free.volume, free.dimension)
        out.append(f"  #{free.period_index + 1} {words} {quantity}: free ({free.reason})")
    for adjustment in rated.adjustments:
        label = "minimum price" if adjustment.kind.value == "MIN_PRICE" else "maximum price"
        out.append(
            f"  {label} adjustment: {_amount(adjustment.excl_vat, currency)} excl. VAT, "
            f"{_amount(adjustment.incl_vat, currency)} incl. VAT"
        )
    total = rated.total_cost
    out.append(
        f"  Total: {_amount(total.excl_vat, currency)} {currency} excl. VAT, "
        f"{_amount(total.incl_vat, currency)} {currency} incl. VAT "
        f"(exact amounts; the document rounds each total once to the {currency} minor unit)"
    )
    out.extend(f"  Note: {note}" for note in rated.notes)
    return "\n".join(out)


def _line_text(line: ExplainedLine, currency: str) -> str:
    amount = _amount(line.excl_vat, currency)
    vat = (
        "" if line.vat is None else f"  (+{line.vat.normalize():f}% VAT = {_amount(line.incl_vat, currency)})"
    )
    if line.dimension is TariffDimension.FLAT:
        return f"{amount}{vat}"
    quantity = _quantity(line.volume, line.dimension)
    if line.billed_volume != line.volume:
        step = _quantity(Decimal(line.step_size), line.dimension)
        quantity += f", billed {_quantity(line.billed_volume, line.dimension)} (steps of {step})"
    per = "kWh" if line.dimension is TariffDimension.ENERGY else "h"
    return f"{quantity} x {_amount(line.price, currency)}/{per} = {amount}{vat}"


def _quantity(volume: Decimal, dimension: TariffDimension) -> str:
    if dimension is TariffDimension.ENERGY:
        return f"{(volume / 1000).normalize():f} kWh"
    # Shown to the second (OCPI hours have 4 decimals: 0.6667 h is 40 min 0.12 s); JSON keeps it exact.
    seconds = int(volume.to_integral_value(rounding=ROUND_HALF_UP))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


def _amount(amount: Decimal, currency: str) -> str:
    """At least the minor unit, more digits only when the exact amount has them (at most 6)."""
    places = currencies.exponent(currency)
    shown = amount.quantize(Decimal(1).scaleb(-6), rounding=ROUND_HALF_UP).normalize()
    if -shown.as_tuple().exponent < places:  # type: ignore[operator]
        shown = shown.quantize(Decimal(1).scaleb(-places))
    return f"{shown:f}"
