"""Billing one cycle of a contract: fees, sessions, allowances, fair use, services and promotions.

``bill_cycle`` is pure: given a contract, its terms history, the plans, the cycle's priced sessions
and the customer's promotions, it returns every line of the bill with its reason, and the totals per
VAT category computed on each category's net base (EN 16931 BR-CO-17; no rounding here: the invoice
rounds once). The order of work, and the rules OCPI and the issue leave open, are:

1. **Segments.** The cycle (local dates, end exclusive) is cut where the contract starts or ends and
   where its terms or its plan's version change. A change during a day counts from that day; a day
   the contract covers in part counts in full. Each segment is billed under the terms and plan
   version in force on its first day; a session belongs to the segment of its local start date.
2. **Plan fee** per segment: fee x days in segment / days in cycle (proration: join on the 17th of
   November pays 14/30; a plan change pays each plan for its days). A fee of another cycle than the
   contract's (a monthly fee billed weekly) is prorated by the calendar instead, per month its days
   fall in (7/30 of the fee for a week of November), rounded cumulatively so that a month's weekly
   lines add up to the monthly fee exactly (``fee_to_date``). Per-cycle service fees as the first
   rule; one-off service fees in the cycle their terms take effect.
3. **Sessions** are billed at what rating computed under the tariff chosen at their start (by
   ``pricing.resolve_price``), one line per VAT rate, named by their local start time (CET/CEST).
4. **Allowances** per segment, prorated like the fee, used up in session order:
   - SUBSCRIPTION included kWh credit the energy cost of the kWh they cover, and included minutes
     credit the charging-time cost;
   - FLAT_RATE covers a session's energy, time and start-fee cost up to the fair-use cap (kWh), and
     then the public price applies. Idle (parking) fees are never covered: they exist to free the bay.
5. **Promotions**, in priority order, each on what is left. If an exclusive one applies, it applies
   alone. Discounts are spread over what they discount in proportion, so every VAT category keeps
   its share.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from evbill.domain import currency as currencies
from evbill.domain.charging.sessions import ChargePart
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.money import PRECISE_CONTEXT, PRECISE_QUANTUM
from evbill.domain.offers.contracts import Contract, ContractTerms, FeeRecurrence
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.offers.promotions import DiscountKind, Promotion, PromotionKind, PromotionState
from evbill.domain.rating import RatedSession
from evbill.domain.tariffs.model import TariffDimension

ZERO = Decimal(0)
HUNDRED = Decimal(100)
WH_QUANTUM = Decimal("0.001")
ENERGY, TIME, PARKING, FLAT = (
    TariffDimension.ENERGY,
    TariffDimension.TIME,
    TariffDimension.PARKING_TIME,
    TariffDimension.FLAT,
)


def _precise(value: Decimal) -> Decimal:
    return value.quantize(PRECISE_QUANTUM, ROUND_HALF_EVEN, PRECISE_CONTEXT)


class LineKind(enum.StrEnum):
    PLAN_FEE = "PLAN_FEE"
    SERVICE_FEE = "SERVICE_FEE"
    SESSION = "SESSION"
    ALLOWANCE = "ALLOWANCE"
    FLAT_RATE = "FLAT_RATE"
    DISCOUNT = "DISCOUNT"


@dataclass(frozen=True, slots=True)
class SessionCharge:
    """A priced session as billing sees it."""

    session_id: str
    started_at: datetime
    connector_class: ConnectorClass
    energy_wh: Decimal
    charging_s: Decimal
    tariff_id: str
    rule: str  # why that tariff: pricing.resolve_price's explanation
    parts: tuple[ChargePart, ...]
    ordinal: int  # the customer's n-th session ever (1 = first)

    @property
    def excl_vat(self) -> Decimal:
        return sum((part.excl_vat for part in self.parts), ZERO)


def parts_of(rated: RatedSession) -> tuple[ChargePart, ...]:
    """A rating result grouped by (dimension, VAT rate). A min/max-price adjustment is spread over the
    parts in proportion: it changes the price, not what was bought or its tax category."""
    sums: dict[tuple[TariffDimension, Decimal | None], Decimal] = {}
    for line in rated.lines:
        key = (line.dimension, line.vat)
        sums[key] = sums.get(key, ZERO) + line.excl_vat
    adjustment = sum((a.excl_vat for a in rated.adjustments), ZERO)
    keys = list(sums)
    if adjustment and keys:
        weights = [sums[k] for k in keys] if any(sums.values()) else [Decimal(1)] * len(keys)
        for key, share in zip(keys, _allocate(adjustment, weights), strict=True):
            sums[key] += share
    elif adjustment:
        sums[(FLAT, None)] = adjustment
    return tuple(ChargePart(dimension, vat, amount) for (dimension, vat), amount in sums.items())


def charge_of(
    rated: RatedSession,
    *,
    session_id: str,
    started_at: datetime,
    connector_class: ConnectorClass,
    tariff_id: str,
    rule: str,
    ordinal: int,
) -> SessionCharge:
    return SessionCharge(
        session_id=session_id,
        started_at=started_at,
        connector_class=connector_class,
        energy_wh=rated.total_energy_wh,
        charging_s=rated.total_charging_s,
        tariff_id=tariff_id,
        rule=rule,
        parts=parts_of(rated),
        ordinal=ordinal,
    )


@dataclass(frozen=True, slots=True)
class BillLine:
    kind: LineKind
    description: str
    excl_vat: Decimal  # precise; negative for credits and discounts
    vat: Decimal | None  # None: not subject to VAT (not the same as 0 %)
    session_id: str | None = None
    promotion_id: str | None = None
    # what a session line (or a credit taken off one) sold, by tariff dimension: its precise amount
    # split by what the price parts paid for, summing to ``excl_vat`` (the ledger's revenue by kind)
    components: tuple[tuple[TariffDimension, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class TaxCategory:
    vat: Decimal | None
    base: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    promotion_id: str
    discount_excl_vat: Decimal
    free_kwh_used: Decimal


@dataclass(frozen=True, slots=True)
class Bill:
    contract_id: str
    cycle_start: date
    cycle_end: date
    currency: str
    lines: tuple[BillLine, ...]
    categories: tuple[TaxCategory, ...]
    applied: tuple[AppliedPromotion, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_excl_vat(self) -> Decimal:
        return sum((c.base for c in self.categories), ZERO)

    @property
    def total_vat(self) -> Decimal:
        return sum((c.tax for c in self.categories), ZERO)


@dataclass(frozen=True, slots=True)
class Segment:
    start: date
    end: date  # exclusive
    terms: ContractTerms
    plan: Plan
    plan_version: PlanVersion

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _end_day(moment: datetime, zone: ZoneInfo) -> date:
    """The first local day not covered by a contract ending at ``moment`` (a partial day counts)."""
    local = moment.astimezone(zone)
    at_midnight = local.hour == local.minute == local.second == local.microsecond == 0
    return local.date() if at_midnight else local.date() + timedelta(days=1)


def segments(
    *,
    contract: Contract,
    cycle_start: date,
    cycle_end: date,
    zone: ZoneInfo,
    terms: Sequence[ContractTerms],
    plans: Mapping[str, Plan],
    plan_versions: Mapping[str, Sequence[PlanVersion]],
) -> list[Segment]:
    """The cycle cut at every change of contract terms or plan version, within the contract's days."""
    first = max(cycle_start, local_date(contract.start, zone))
    last = min(cycle_end, _end_day(contract.end, zone)) if contract.end is not None else cycle_end
    if first >= last:
        return []
    cuts = {first, last}
    cuts.update(local_date(change.effective_from, zone) for change in terms)
    for versions in plan_versions.values():
        cuts.update(local_date(v.effective_from, zone) for v in versions)
    days = sorted(day for day in cuts if first <= day <= last)
    result = []
    for start, end in zip(days, days[1:], strict=False):
        in_force: ContractTerms | None = _in_force(terms, start, zone)
        if in_force is None:
            continue
        plan = plans[in_force.plan_id]
        plan_version: PlanVersion | None = _in_force(plan_versions.get(plan.id, ()), start, zone)
        if plan_version is None:
            raise InvalidInput(
                "cannot bill", (Problem("$.plan", f"plan {plan.name!r} has no version on {start}"),)
            )
        result.append(Segment(start, end, in_force, plan, plan_version))
    return result


Versioned = TypeVar("Versioned", ContractTerms, PlanVersion)


def _in_force(versions: Sequence[Versioned], day: date, zone: ZoneInfo) -> Versioned | None:
    chosen = None
    for version in sorted(versions, key=lambda v: v.effective_from):
        if local_date(version.effective_from, zone) <= day:
            chosen = version
    return chosen


@dataclass
class _Entry:
    """What is left to pay of one session's part, as discounts are taken off."""

    session: SessionCharge
    dimension: TariffDimension
    vat: Decimal | None
    amount: Decimal


@dataclass
class _Work:
    lines: list[BillLine] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    uncovered_wh: dict[str, Decimal] = field(default_factory=dict)  # energy not yet given free
    notes: list[str] = field(default_factory=list)

    def credit(
        self, entries: Sequence[_Entry], amount: Decimal, kind: LineKind, text: str, promo: str | None
    ) -> None:
        """Take ``amount`` off ``entries`` in proportion, as credit lines per (session, VAT rate)."""
        if not amount or not entries:
            return
        shares = _allocate(amount, [entry.amount for entry in entries])
        by_line: dict[tuple[str, Decimal | None], dict[TariffDimension, Decimal]] = {}
        for entry, share in zip(entries, shares, strict=True):
            entry.amount -= share
            split = by_line.setdefault((entry.session.session_id, entry.vat), {})
            split[entry.dimension] = split.get(entry.dimension, ZERO) + share
        for (session_id, vat), split in by_line.items():
            share = sum(split.values(), ZERO)
            if share:
                components = tuple((dimension, -part) for dimension, part in split.items())
                self.lines.append(BillLine(kind, text, -share, vat, session_id, promo, components))


def _allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights``, held to 10 places, summing exactly to it."""
    total = sum(weights, ZERO)
    if not total:
        return [ZERO] * len(weights)
    shares = [_precise(amount * weight / total) for weight in weights]
    remainder = amount - sum(shares, ZERO)
    if remainder:
        largest = max(range(len(weights)), key=lambda i: weights[i])
        shares[largest] += remainder
    return shares


def bill_cycle(
    *,
    contract: Contract,
    cycle_start: date,
    cycle_end: date,
    zone: ZoneInfo,
    currency: str,
    terms: Sequence[ContractTerms],
    plans: Mapping[str, Plan],
    plan_versions: Mapping[str, Sequence[PlanVersion]],
    sessions: Sequence[SessionCharge],
    promotions: Sequence[PromotionState] = (),
    customer_sessions_before: int = 0,
) -> Bill:
    """Every line of one cycle's bill and its VAT categories (precise amounts)."""
    cycle_days = (cycle_end - cycle_start).days
    parts = segments(
        contract=contract, cycle_start=cycle_start, cycle_end=cycle_end, zone=zone, terms=terms, plans=plans,
        plan_versions=plan_versions,
    )  # fmt: skip
    work = _Work()
    for segment in parts:
        _fees(work, segment, cycle_days, cycle_start, cycle_end, zone, currencies.exponent(currency))
    inside_contract = [
        s for s in sessions if any(seg.start <= local_date(s.started_at, zone) < seg.end for seg in parts)
    ]
    ordered = sorted(inside_contract, key=lambda s: (s.started_at, s.session_id))
    for session in ordered:
        _session_lines(work, session, zone)
    for segment in parts:
        inside = [s for s in ordered if segment.start <= local_date(s.started_at, zone) < segment.end]
        _allowances(work, segment, cycle_days, inside)
    applied = _promotions(work, promotions, ordered, cycle_start, zone, customer_sessions_before)
    billed = {id(s) for s in inside_contract}  # by identity: comparing sessions field by field was O(n^2)
    notes = tuple(
        f"session {s.session_id} started outside the contract's days and is not billed here"
        for s in sorted(sessions, key=lambda s: (s.started_at, s.session_id))
        if id(s) not in billed
    ) + tuple(work.notes)
    return Bill(
        contract.id,
        cycle_start,
        cycle_end,
        currency,
        tuple(work.lines),
        _categories(work.lines),
        applied,
        notes,
    )


def fee_to_date(fee: Decimal, fee_cycle: BillingCycle, day: date, exponent: int) -> Decimal:
    """What a plan fee of ``fee`` per ``fee_cycle`` has come to from a fixed origin until ``day``
    (exclusive), rounded half up to the currency's minor unit: whole months (weeks) at the full fee,
    the running month pro rata of its days (a week of its 7). A cycle that is not the fee's pays
    ``fee_to_date(end) - fee_to_date(start)``, so its lines add up over a month (week) to the fee
    exactly, whatever the cycles' lengths; and a cent lost rounding one cycle is made up in the next.

        >>> fee_to_date(Decimal("9.99"), BillingCycle.MONTHLY, date(2026, 11, 8), 2) - fee_to_date(
        ...     Decimal("9.99"), BillingCycle.MONTHLY, date(2026, 11, 1), 2)
        Decimal('2.33')
    """
    quantum = Decimal(1).scaleb(-exponent)
    if fee_cycle is BillingCycle.WEEKLY:
        whole, elapsed, length = divmod(day.toordinal(), 7) + (7,)
    else:
        whole = day.year * 12 + day.month - 1
        elapsed, length = day.day - 1, calendar.monthrange(day.year, day.month)[1]
    part = (fee * elapsed / length).quantize(quantum, ROUND_HALF_UP, PRECISE_CONTEXT)
    return fee * whole + part


def _plan_fee(segment: Segment, cycle_days: int, exponent: int) -> tuple[Decimal, str]:
    """The segment's plan fee and its line's text. A fee of the contract's own billing cycle is
    prorated by the segment's days of the cycle (join on the 17th of November: 14/30); a fee of
    another cycle (a monthly fee billed weekly) by the calendar (``fee_to_date``)."""
    version, name = segment.plan_version, segment.plan.name
    last = segment.end - timedelta(days=1)
    if version.fee_cycle in (segment.terms.billing_cycle, BillingCycle.PER_SESSION):
        amount = _precise(version.fee * (Decimal(segment.days) / Decimal(cycle_days)))  # as always
        return amount, f"{name} fee, {segment.days} of {cycle_days} days ({segment.start} to {last})"
    fee, cycle = version.fee, version.fee_cycle
    amount = fee_to_date(fee, cycle, segment.end, exponent) - fee_to_date(fee, cycle, segment.start, exponent)
    per = "month" if cycle is BillingCycle.MONTHLY else "week"
    return amount, f"{name} fee of {fee:f} per {per}, {segment.days} days ({segment.start} to {last})"


def _fees(
    work: _Work, segment: Segment, cycle_days: int, start: date, end: date, zone: ZoneInfo, exponent: int
) -> None:
    version = segment.plan_version
    fraction = Decimal(segment.days) / Decimal(cycle_days)
    span = f"{segment.days} of {cycle_days} days ({segment.start} to {segment.end - timedelta(days=1)})"
    if version.fee:
        amount, text = _plan_fee(segment, cycle_days, exponent)
        work.lines.append(BillLine(LineKind.PLAN_FEE, text, amount, version.fee_vat))
    effective = local_date(segment.terms.effective_from, zone)
    for service in segment.terms.services:
        if service.recurrence is FeeRecurrence.PER_CYCLE:
            amount, text = _precise(service.amount * fraction), f"{service.description}, {span}"
        elif segment.start == max(effective, start) and start <= effective < end:
            amount, text = service.amount, f"{service.description} (once)"
        else:
            continue
        work.lines.append(BillLine(LineKind.SERVICE_FEE, text, amount, service.vat))


def _session_lines(work: _Work, session: SessionCharge, zone: ZoneInfo) -> None:
    by_vat: dict[Decimal | None, Decimal] = {}
    split: dict[Decimal | None, dict[TariffDimension, Decimal]] = {}
    for part in session.parts:
        by_vat[part.vat] = by_vat.get(part.vat, ZERO) + part.excl_vat
        of_rate = split.setdefault(part.vat, {})
        of_rate[part.dimension] = of_rate.get(part.dimension, ZERO) + part.excl_vat
        work.entries.append(_Entry(session, part.dimension, part.vat, part.excl_vat))
    kwh = (session.energy_wh / 1000).normalize()
    local = session.started_at.astimezone(zone)  # the customer's clock, as the session detail shows it
    # (as f"{local:%Y-%m-%d %H:%M} {local:%Z}" reads, without strftime's cost on every session)
    when = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d} "
        f"{local.tzname()}"
    )
    text = f"Charging {when}, {session.connector_class.value}, {kwh:f} kWh ({session.rule})"
    for vat, amount in by_vat.items():
        components = tuple(split[vat].items())
        work.lines.append(BillLine(LineKind.SESSION, text, amount, vat, session.session_id, None, components))
    work.uncovered_wh[session.session_id] = session.energy_wh


def _pool(amount: Decimal | None, days: int, cycle_days: int, factor: int) -> Decimal:
    """An allowance prorated to the segment's days, in base units (Wh or s), rounded down."""
    if amount is None:
        return ZERO
    return (amount * factor * days / cycle_days).quantize(WH_QUANTUM, rounding=ROUND_DOWN)


def _allowances(work: _Work, segment: Segment, cycle_days: int, sessions: Sequence[SessionCharge]) -> None:
    version, kind, name = segment.plan_version, segment.plan.kind, segment.plan.name
    if kind is PlanKind.SUBSCRIPTION:
        energy = _pool(version.included_kwh, segment.days, cycle_days, 1000)
        seconds = _pool(
            Decimal(version.included_minutes) if version.included_minutes else None,
            segment.days,
            cycle_days,
            60,
        )
        for session in sessions:
            energy = _cover(
                work, session, energy, session.energy_wh, (ENERGY,), f"included kWh of {name}", True
            )
            seconds = _cover(
                work, session, seconds, session.charging_s, (TIME,), f"included minutes of {name}", False
            )
    elif kind is PlanKind.FLAT_RATE:
        cap = _pool(version.fair_use_kwh, segment.days, cycle_days, 1000)
        for session in sessions:
            if cap <= 0:
                break
            text = f"covered by {name} (fair use up to {version.fair_use_kwh} kWh per cycle)"
            cap = _cover(
                work, session, cap, session.energy_wh, (ENERGY, TIME, FLAT), text, True, LineKind.FLAT_RATE
            )


def _cover(
    work: _Work,
    session: SessionCharge,
    pool: Decimal,
    volume: Decimal,
    dimensions: tuple[TariffDimension, ...],
    text: str,
    is_energy: bool,
    kind: LineKind = LineKind.ALLOWANCE,
) -> Decimal:
    """Credit the share of ``dimensions`` that ``pool`` covers of ``volume``; returns what is left."""
    if pool <= 0:
        return pool
    covered = min(pool, volume) if volume else ZERO
    fraction = (
        (covered / volume) if volume else (Decimal(1) if is_energy and kind is LineKind.FLAT_RATE else ZERO)
    )
    if not fraction:
        return pool
    entries = [e for e in work.entries if e.session is session and e.dimension in dimensions and e.amount]
    amount = _precise(sum((e.amount for e in entries), ZERO) * fraction)
    unit = f"{(covered / 1000).normalize():f} kWh" if is_energy else f"{(covered / 60).normalize():f} min"
    work.credit(entries, amount, kind, f"{unit} {text}", None)
    if is_energy:
        work.uncovered_wh[session.session_id] -= covered
    return pool - covered


def _promotions(
    work: _Work, states: Sequence[PromotionState], sessions: Sequence[SessionCharge], cycle_start: date,
    zone: ZoneInfo, sessions_before: int,
) -> tuple[AppliedPromotion, ...]:  # fmt: skip
    usable = [
        s
        for s in sorted(states, key=lambda s: (s.promotion.priority, s.promotion.id))
        if s.exhausted() is None
    ]
    exclusive = [s for s in usable if s.promotion.exclusive]
    for state in exclusive:  # the first exclusive promotion that would give something applies alone
        trial = _Work(
            [],
            [_Entry(e.session, e.dimension, e.vat, e.amount) for e in work.entries],
            dict(work.uncovered_wh),
        )
        if _apply(trial, state, sessions, cycle_start, zone, sessions_before) is not None:
            chosen = _apply(work, state, sessions, cycle_start, zone, sessions_before)
            assert chosen is not None
            _unused_coupons(work, usable, (chosen,), cycle_start, zone)
            return (chosen,)
    applied = []
    for state in usable:
        if not state.promotion.exclusive:
            result = _apply(work, state, sessions, cycle_start, zone, sessions_before)
            if result is not None:
                applied.append(result)
    _unused_coupons(work, usable, applied, cycle_start, zone)
    return tuple(applied)


def _unused_coupons(
    work: _Work, usable: Sequence[PromotionState], applied: Sequence[AppliedPromotion], cycle_start: date,
    zone: ZoneInfo,
) -> None:  # fmt: skip
    """A coupon the customer holds, valid this cycle, that discounted nothing says so on the bill."""
    used = {a.promotion_id for a in applied}
    moment = datetime.combine(cycle_start, datetime.min.time(), zone)
    for state in usable:
        promotion = state.promotion
        if promotion.kind is not PromotionKind.COUPON or promotion.id in used:
            continue
        if not promotion.active_at(moment):
            continue
        charging = sum((e.amount for e in work.entries), ZERO)
        why = (
            "coupons discount charging, not plan or service fees, and this cycle has no charging to discount"
            if charging <= 0
            else "another promotion applied alone (exclusive)"
        )
        work.notes.append(f"coupon {promotion.code} ({promotion.name}) does not apply to this bill: {why}")


def _apply(
    work: _Work, state: PromotionState, sessions: Sequence[SessionCharge], cycle_start: date, zone: ZoneInfo,
    sessions_before: int,
) -> AppliedPromotion | None:  # fmt: skip
    promotion = state.promotion
    before = len(work.lines)
    free_used = ZERO
    kind = promotion.kind
    if kind is PromotionKind.COUPON:
        moment = datetime.combine(cycle_start, datetime.min.time(), zone)
        if promotion.active_at(moment):
            _percent_or_fixed(work, work.entries, state, f"coupon {promotion.code}: {promotion.name}")
    elif kind is PromotionKind.FIRST_SESSION:
        first = [
            s
            for s in sessions
            if s.ordinal == 1 and sessions_before == 0 and promotion.active_at(s.started_at)
        ]
        if first:
            entries = [e for e in work.entries if e.session is first[0]]
            _percent_or_fixed(work, entries, state, f"first session: {promotion.name}")
    elif kind is PromotionKind.NTH_SESSION_FREE and promotion.nth:
        for session in sessions:
            if session.ordinal % promotion.nth == 0 and promotion.active_at(session.started_at):
                entries = [e for e in work.entries if e.session is session]
                amount = _capped(sum((e.amount for e in entries), ZERO), promotion.cap)
                work.credit(
                    entries,
                    amount,
                    LineKind.DISCOUNT,
                    f"session #{session.ordinal} free: {promotion.name}",
                    promotion.id,
                )
    elif kind is PromotionKind.VOLUME_PRICE:
        _volume_price(work, promotion, sessions)
    elif kind is PromotionKind.FREE_KWH and promotion.free_kwh is not None:
        free_used = _free_kwh(work, state, sessions)
    discount = -sum((line.excl_vat for line in work.lines[before:]), ZERO)
    if not discount and not free_used:
        return None
    return AppliedPromotion(promotion.id, discount, free_used)


def _capped(amount: Decimal, cap: Decimal | None) -> Decimal:
    return amount if cap is None else min(amount, cap)


def _percent_or_fixed(work: _Work, entries: Sequence[_Entry], state: PromotionState, text: str) -> None:
    promotion = state.promotion
    base = sum((e.amount for e in entries), ZERO)
    if base <= 0 or promotion.value is None:
        return
    if promotion.discount_kind is DiscountKind.PERCENT:
        amount = _precise(base * promotion.value / HUNDRED)
    else:
        amount = min(promotion.value, base)
    work.credit(entries, _capped(amount, promotion.cap), LineKind.DISCOUNT, text, promotion.id)


def _volume_price(work: _Work, promotion: Promotion, sessions: Sequence[SessionCharge]) -> None:
    if promotion.threshold_kwh is None or promotion.price_per_kwh is None:
        return
    threshold = promotion.threshold_kwh * 1000
    so_far = ZERO
    for session in sessions:
        over = max(ZERO, min(session.energy_wh, so_far + session.energy_wh - threshold))
        so_far += session.energy_wh
        if not over or not promotion.active_at(session.started_at):
            continue
        entries = [e for e in work.entries if e.session is session and e.dimension is ENERGY]
        current = _precise(sum((e.amount for e in entries), ZERO) * over / session.energy_wh)
        target = _precise(promotion.price_per_kwh * over / 1000)
        if current > target:
            text = (
                f"{(over / 1000).normalize():f} kWh beyond {promotion.threshold_kwh} kWh this cycle "
                f"at {promotion.price_per_kwh}/kWh: {promotion.name}"
            )
            work.credit(entries, current - target, LineKind.DISCOUNT, text, promotion.id)


def _free_kwh(work: _Work, state: PromotionState, sessions: Sequence[SessionCharge]) -> Decimal:
    promotion = state.promotion
    assert promotion.free_kwh is not None
    left = promotion.free_kwh * 1000 - state.free_kwh_used * 1000
    used = ZERO
    for session in sessions:
        uncovered = work.uncovered_wh[session.session_id]
        if left <= 0 or uncovered <= 0 or not promotion.active_at(session.started_at):
            continue
        covered = min(left, uncovered)
        entries = [e for e in work.entries if e.session is session and e.dimension is ENERGY]
        amount = _precise(sum((e.amount for e in entries), ZERO) * covered / uncovered)
        work.credit(
            entries,
            amount,
            LineKind.DISCOUNT,
            f"{(covered / 1000).normalize():f} free kWh: {promotion.name}",
            promotion.id,
        )
        work.uncovered_wh[session.session_id] -= covered
        left -= covered
        used += covered
    return used / 1000


def _categories(lines: Sequence[BillLine]) -> tuple[TaxCategory, ...]:
    """VAT per category on the category's net base, not the sum of rounded line taxes (BR-CO-17)."""
    bases: dict[Decimal | None, Decimal] = {}
    for line in lines:
        bases[line.vat] = bases.get(line.vat, ZERO) + line.excl_vat
    ordered = sorted(bases.items(), key=lambda item: (item[0] is None, item[0] or ZERO))
    return tuple(
        TaxCategory(vat, base, ZERO if vat is None else _precise(base * vat / HUNDRED))
        for vat, base in ordered
    )
