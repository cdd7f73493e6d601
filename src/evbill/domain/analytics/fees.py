"""Costs beyond the energy: grid and demand fees, payment gateway fees, roaming fees.

- **Grid fee** (per location): a price per kWh delivered, on top of the energy's purchase price.
- **Demand fee** (per location): a price per kW of the location's monthly peak. The peak is the
  highest 15-minute average power of the month, from the sessions' energy spread evenly over their
  periods and cut at UTC quarter hours (as ``costs.PriceBook`` does): kWh in the quarter x 4. The
  month's fee (peak x price) is shared by the month's sessions at the location in proportion to their
  energy. The peak is of the sessions read: ask for whole local months.
- **Gateway fee** (per session): what the gateway recorded as fees for the session's own payment;
  a session paid on its own without a recorded fee: the configured percent of what was paid (gross)
  plus the fixed fee; a session paid through an invoice or a wallet: the percent of its gross alone
  (the fixed fee is per payment, and one payment covers many sessions).
- **Roaming fee** (per session of a roaming token): the first rule whose prefix starts the token's
  contract (eMA) id, e.g. ``DE*ABC``: a percent of the session's net revenue plus a fixed fee.

Percents are written as percents (``1.5`` = 1.5 %). Every fee is precise (rounded once, when shown).
Worked example (``tests/unit/test_analytics_fees.py``): 10 kWh in one hour at a location with a grid
fee of 0.05 and a demand fee of 0.50 per kW: grid 0.50, peak 2.5 kWh x 4 = 10 kW, demand 5.00.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.costs import PRICE_LIMIT, _quarters, price_problems
from evbill.domain.analytics.facts import ZERO
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.metering.usage import ChargingPeriod
from evbill.domain.money import PRECISE_CONTEXT, quantize_precise

HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)
QUARTERS_PER_HOUR = Decimal(4)


def _percent_problems(path: str, value: Decimal) -> Iterator[Problem]:
    if not value.is_finite() or not ZERO <= value <= HUNDRED:
        yield Problem(path, f"{value} is not a percent from 0 to 100")


@dataclass(frozen=True, slots=True)
class LocationFees:
    """A location's grid fee per kWh and demand fee per kW of monthly peak (excl. VAT, in ``currency``)."""

    location_id: str
    currency: str
    grid_per_kwh: Decimal = ZERO
    demand_per_kw: Decimal = ZERO

    def __post_init__(self) -> None:
        problems = [
            *price_problems("grid_per_kwh", self.grid_per_kwh),
            *price_problems("demand_per_kw", self.demand_per_kw),
        ]
        problems += [Problem(name, "a fee is not negative")
                     for name in ("grid_per_kwh", "demand_per_kw") if getattr(self, name) < 0]  # fmt: skip
        if problems:
            raise InvalidInput("the location's fees are not usable", tuple(problems))


@dataclass(frozen=True, slots=True)
class RoamingRule:
    prefix: str  # the start of a contract (eMA) id, e.g. "DE*ABC"
    percent: Decimal = ZERO
    fixed: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OperatorFees:
    """What the operator pays per payment (gateway) and per roaming session (in ``currency``)."""

    currency: str
    gateway_percent: Decimal = ZERO
    gateway_fixed: Decimal = ZERO
    roaming: tuple[RoamingRule, ...] = ()

    def __post_init__(self) -> None:
        problems = list(_percent_problems("gateway_percent", self.gateway_percent))
        problems += _fixed_problems("gateway_fixed", self.gateway_fixed)
        for index, rule in enumerate(self.roaming):
            if not rule.prefix.strip():
                problems.append(Problem(f"roaming[{index}].prefix", "a prefix of a contract id is required"))
            problems += _percent_problems(f"roaming[{index}].percent", rule.percent)
            problems += _fixed_problems(f"roaming[{index}].fixed", rule.fixed)
        if problems:
            raise InvalidInput("the operator's fees are not usable", tuple(problems))

    def roaming_rule(self, contract_id: str | None) -> RoamingRule | None:
        if contract_id is None:
            return None
        return next(
            (rule for rule in self.roaming if contract_id.upper().startswith(rule.prefix.upper())), None
        )


def _fixed_problems(path: str, value: Decimal) -> Iterator[Problem]:
    if not value.is_finite() or not ZERO <= value < PRICE_LIMIT:
        yield Problem(path, f"{value} is not a fee (0 or more)")


@dataclass(frozen=True, slots=True)
class SessionPayment:
    """The session's own payment (purpose session): what was paid and the fees the gateway recorded."""

    paid: Decimal  # major units
    recorded_fee: Decimal | None  # None: the gateway recorded no fee


@dataclass(frozen=True, slots=True)
class FeeBook:
    locations: Mapping[str, LocationFees] = field(default_factory=dict)
    operator: OperatorFees | None = None
    payments: Mapping[str, SessionPayment] = field(default_factory=dict)  # by session id
    contract_ids: Mapping[str, str] = field(default_factory=dict)  # session id -> its token's eMA id


@dataclass(frozen=True, slots=True)
class Fees:
    grid: Decimal = ZERO
    demand: Decimal = ZERO
    gateway: Decimal = ZERO
    roaming: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.grid + self.demand + self.gateway + self.roaming

    def __add__(self, other: Fees) -> Fees:
        return Fees(self.grid + other.grid, self.demand + other.demand, self.gateway + other.gateway,
                    self.roaming + other.roaming)  # fmt: skip


NO_FEES = Fees()


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currencies.exponent(currency))


def _percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return PRECISE_CONTEXT.divide(amount * percent, HUNDRED)


def session_fees(session: StoredSession, energy_wh: Decimal, book: FeeBook, *, demand: Decimal) -> Fees:
    """The fees of one session besides its share of the demand fee (given)."""
    location = book.locations.get(session.location_id)
    grid = ZERO
    if location is not None and location.currency == session.currency:
        grid = energy_wh * location.grid_per_kwh / THOUSAND
    gateway = roaming = ZERO
    operator = book.operator
    payment = book.payments.get(session.id)
    if payment is not None and payment.recorded_fee is not None:
        gateway = payment.recorded_fee
    elif operator is not None and operator.currency == session.currency:
        if payment is not None:
            gateway = _percent_of(payment.paid, operator.gateway_percent) + operator.gateway_fixed
        else:
            gateway = _percent_of(
                _major(session.billed_incl_minor, session.currency), operator.gateway_percent
            )
    if operator is not None and operator.currency == session.currency:
        rule = operator.roaming_rule(book.contract_ids.get(session.id))
        if rule is not None:
            net = _major(session.billed_excl_minor, session.currency)
            roaming = _percent_of(net, rule.percent) + rule.fixed
    return Fees(quantize_precise(grid), demand, quantize_precise(gateway), quantize_precise(roaming))


@dataclass(frozen=True, slots=True)
class Peak:
    location_id: str
    month: str
    peak_kw: Decimal
    charge: Decimal  # peak x the location's demand fee


def demand_shares(
    sessions: Iterable[tuple[StoredSession, str, Decimal]], book: FeeBook
) -> tuple[dict[str, Decimal], tuple[Peak, ...]]:
    """Each session's share of its location's monthly demand fee, and the peaks.

    ``sessions``: (session, its local month, its energy in Wh), sessions with stored periods only.
    """
    loads: dict[tuple[str, str], dict[datetime, Decimal]] = {}
    energy: dict[tuple[str, str], Decimal] = {}
    members: dict[tuple[str, str], list[tuple[str, Decimal]]] = {}
    for session, month, energy_wh in sessions:
        fees = book.locations.get(session.location_id)
        if (
            fees is None
            or not fees.demand_per_kw
            or fees.currency != session.currency
            or session.usage is None
        ):
            continue
        key = (session.location_id, month)
        load = loads.setdefault(key, {})
        for period in session.usage.periods:
            for quarter, kwh in _quarter_energy(period):
                load[quarter] = load.get(quarter, ZERO) + kwh
        energy[key] = energy.get(key, ZERO) + energy_wh
        members.setdefault(key, []).append((session.id, energy_wh))
    shares: dict[str, Decimal] = {}
    peaks = []
    for key, load in sorted(loads.items()):
        peak_kw = quantize_precise(max(load.values(), default=ZERO) * QUARTERS_PER_HOUR)
        charge = quantize_precise(peak_kw * book.locations[key[0]].demand_per_kw)
        peaks.append(Peak(key[0], key[1], peak_kw, charge))
        for session_id, energy_wh in members[key]:
            share = PRECISE_CONTEXT.divide(charge * energy_wh, energy[key]) if energy[key] else ZERO
            shares[session_id] = quantize_precise(share)
    return shares, tuple(peaks)


def _quarter_energy(period: ChargingPeriod) -> Iterator[tuple[datetime, Decimal]]:
    """The period's kWh per UTC quarter hour (spread evenly over the period)."""
    energy = period.energy_wh or ZERO
    if not energy:
        return
    length = period.length_s()
    start = period.start
    floor = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    if not length:
        yield floor, energy / THOUSAND
        return
    for slice_start, slice_seconds in _quarters(period.start, period.end):
        quarter = slice_start.replace(minute=slice_start.minute - slice_start.minute % 15, second=0,
                                      microsecond=0)  # fmt: skip
        yield quarter, PRECISE_CONTEXT.divide(energy * slice_seconds, length * THOUSAND)
