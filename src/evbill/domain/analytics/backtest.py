"""Tariff backtesting: what past sessions would have earned under a candidate tariff.

Each stored session is re-rated by the same engine (``rating.rate``) on the very periods it was
billed on, under the candidate compiled in the session's location zone, and its total rounded once
with the operator's rounding mode, as its own receipt was. Re-rating a session under the tariff it
was billed with therefore gives back its billed amount to the cent; the difference under a
candidate is what the price change alone would have changed.

The assumption is stated with every result (``ASSUMPTION``): same behaviour, no demand response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.rating import CompiledTariff, rate
from evbill.domain.rating.fast import FastTariff

ASSUMPTION = (
    "Same behaviour: every session is re-rated as it happened (same start, periods, energy, charging "
    "and idle time), under the candidate tariff in force from its start. Drivers are assumed not to "
    "react to the new price (no demand response: no session shortened, moved or lost). Sessions without "
    "stored periods or in another currency are left out and counted."
)


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A finished session as billed, with the periods it was rated on (None: not stored)."""

    id: str
    location_id: str
    customer_id: str | None
    zone: str
    currency: str
    tariff_version_id: str | None
    billed_excl_minor: int
    billed_incl_minor: int
    usage: SessionUsage | None


class Rerated(NamedTuple):
    session_id: str
    location_id: str
    customer_id: str | None
    billed_excl_minor: int
    billed_incl_minor: int
    candidate_excl_minor: int
    candidate_incl_minor: int

    @property
    def difference_minor(self) -> int:
        """Candidate minus billed, incl. VAT (what the driver pays)."""
        return self.candidate_incl_minor - self.billed_incl_minor


def rerate(
    session: StoredSession, usage: SessionUsage, compiled: CompiledTariff, rounding: RoundingMode
) -> Rerated:
    total = rate(usage, compiled).total_cost
    currency = compiled.tariff.currency
    return Rerated(
        session.id, session.location_id, session.customer_id, session.billed_excl_minor,
        session.billed_incl_minor, settle(PreciseMoney(total.excl_vat, currency), rounding).minor_units,
        settle(PreciseMoney(total.incl_vat, currency), rounding).minor_units,
    )  # fmt: skip


def rerate_fast(
    session: StoredSession, usage: SessionUsage, fast: FastTariff, rounding: RoundingMode
) -> Rerated:
    """``rerate`` by the fast path: the same totals (``rating.fast``), without lines or explanation."""
    excl, incl = fast.settled(usage, rounding)
    return Rerated(
        session.id, session.location_id, session.customer_id, session.billed_excl_minor,
        session.billed_incl_minor, excl, incl,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Shift:
    """How one customer's or location's revenue moves (minor units, incl. VAT)."""

    key: str
    sessions: int
    billed_minor: int
    candidate_minor: int

    @property
    def difference_minor(self) -> int:
        return self.candidate_minor - self.billed_minor


@dataclass(frozen=True, slots=True)
class Backtest:
    currency: str
    sessions: int
    billed_excl_minor: int
    billed_incl_minor: int
    candidate_excl_minor: int
    candidate_incl_minor: int
    by_customer: tuple[Shift, ...]  # largest rise first
    by_location: tuple[Shift, ...]
    most_affected: tuple[Rerated, ...]  # largest absolute difference first
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> sessions
    assumption: str = ASSUMPTION
    scalar_fallbacks: int = 0  # sessions the fast path left to the scalar engine (same result)

    @property
    def difference_excl_minor(self) -> int:
        return self.candidate_excl_minor - self.billed_excl_minor

    @property
    def difference_incl_minor(self) -> int:
        return self.candidate_incl_minor - self.billed_incl_minor

    def customers_paying(self) -> tuple[int, int, int]:
        """(more, less, the same) among customers with sessions (ad hoc sessions are one '(none)')."""
        more = sum(1 for shift in self.by_customer if shift.difference_minor > 0)
        less = sum(1 for shift in self.by_customer if shift.difference_minor < 0)
        return more, less, len(self.by_customer) - more - less


def summarise_backtest(
    currency: str,
    rerated: Iterable[Rerated],
    *,
    left_out: dict[str, int],
    top: int = 10,
    scalar_fallbacks: int = 0,
) -> Backtest:
    every = list(rerated)
    by_customer = _shifts(every, lambda r: r.customer_id or "(none)")
    by_location = _shifts(every, lambda r: r.location_id)
    affected = sorted(every, key=lambda r: (-abs(r.difference_minor), r.session_id))[:top]
    billed_excl, billed_incl = (
        sum(r.billed_excl_minor for r in every),
        sum(r.billed_incl_minor for r in every),
    )
    candidate_excl = sum(r.candidate_excl_minor for r in every)
    candidate_incl = sum(r.candidate_incl_minor for r in every)
    return Backtest(
        currency, len(every), billed_excl, billed_incl, candidate_excl, candidate_incl, by_customer,
        by_location, tuple(affected), dict(left_out), ASSUMPTION, scalar_fallbacks,
    )  # fmt: skip


def _shifts(every: list[Rerated], key_of: Callable[[Rerated], str]) -> tuple[Shift, ...]:
    sums: dict[str, list[int]] = {}
    for item in every:
        key = key_of(item)
        entry = sums.setdefault(key, [0, 0, 0])
        entry[0] += 1
        entry[1] += item.billed_incl_minor
        entry[2] += item.candidate_incl_minor
    shifts = (Shift(key, n, billed, candidate) for key, (n, billed, candidate) in sums.items())
    return tuple(sorted(shifts, key=lambda s: (-s.difference_minor, s.key)))
