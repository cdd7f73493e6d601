"""Money: precise amounts, settled amounts, and the one rounding step between them.

Two kinds of amount are kept apart (DESIGN.md rules 1 and 2):

* ``PreciseMoney`` is what rating produces: an exact ``Decimal`` (held to ``PRECISE_PLACES`` = 10
  decimal places, far below anything a document shows) with its currency. Arithmetic on precise
  amounts never rounds to cents.
* ``SettledMoney`` is what a document (receipt, invoice, CDR total) shows and what a gateway moves:
  an integer count of the currency's minor unit.

``settle`` is the single rounding step, and it always names its mode (``RoundingMode``); the default
policy is half-up to the minor unit, which reproduces every worked example of OCPI 2.2.1:

    >>> settle(PreciseMoney(Decimal("5.6375"), "EUR")).as_decimal()
    Decimal('5.64')
    >>> settle(PreciseMoney(Decimal("5.6375"), "EUR"), RoundingMode.HALF_EVEN).as_decimal()
    Decimal('5.64')
    >>> settle(PreciseMoney(Decimal("5.625"), "EUR"), RoundingMode.HALF_EVEN).as_decimal()
    Decimal('5.62')

Amounts are built from ``str``, ``int`` or ``Decimal``; a ``float`` is refused because it cannot hold
0.1 exactly.
"""

from __future__ import annotations

import decimal
import enum
from dataclasses import dataclass
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.errors import CurrencyMismatch, InvalidInput, Problem

PRECISE_PLACES = 10
PRECISE_QUANTUM = Decimal(1).scaleb(-PRECISE_PLACES)

# A local context for precise arithmetic: enough digits for any charging bill, never the ambient one.
PRECISE_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)


class RoundingMode(enum.StrEnum):
    """How a precise amount becomes a settled one. Named per operator; HALF_UP is the default."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"
    UP = "up"

    @property
    def decimal_rounding(self) -> str:
        return _DECIMAL_ROUNDING[self]


_DECIMAL_ROUNDING = {
    RoundingMode.HALF_UP: decimal.ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    RoundingMode.DOWN: decimal.ROUND_DOWN,
    RoundingMode.UP: decimal.ROUND_UP,
}


def to_decimal(value: object, *, path: str = "$") -> Decimal:
    """Turn a JSON number or numeric string into an exact Decimal; floats go through their repr.

    JSON parsers hand numbers over as ``float``; ``repr`` gives the shortest string that reads back to
    the same float, which is the number as written in the document (``0.1`` stays ``Decimal('0.1')``).
    """
    if isinstance(value, bool):
        raise InvalidInput("not a number", (Problem(path, "must be a number, not a boolean"),))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except decimal.InvalidOperation:
            raise InvalidInput("not a number", (Problem(path, f"{value!r} is not a number"),)) from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise InvalidInput("not a number", (Problem(path, "must be a number"),))
    if not result.is_finite():
        raise InvalidInput("not a number", (Problem(path, "must be a finite number"),))
    return result


def quantize_precise(amount: Decimal) -> Decimal:
    """Hold a precise amount to PRECISE_PLACES decimal places (only repeating fractions are cut)."""
    return amount.quantize(PRECISE_QUANTUM, rounding=decimal.ROUND_HALF_EVEN, context=PRECISE_CONTEXT)


@dataclass(frozen=True, slots=True)
class PreciseMoney:
    """An unrounded amount with its currency (rating output)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("PreciseMoney.amount must be a Decimal (money is never a float)")
        currencies.exponent(self.currency)  # refuses unknown codes

    def __add__(self, other: PreciseMoney) -> PreciseMoney:
        self._same_currency(other)
        return PreciseMoney(self.amount + other.amount, self.currency)

    def __sub__(self, other: PreciseMoney) -> PreciseMoney:
        self._same_currency(other)
        return PreciseMoney(self.amount - other.amount, self.currency)

    def _same_currency(self, other: PreciseMoney) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    @classmethod
    def zero(cls, currency: str) -> PreciseMoney:
        return cls(Decimal(0), currency)


@dataclass(frozen=True, slots=True)
class SettledMoney:
    """A rounded amount: an integer number of the currency's minor units (cents for EUR)."""

    minor_units: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor_units, int) or isinstance(self.minor_units, bool):
            raise TypeError("SettledMoney.minor_units must be an int")
        currencies.exponent(self.currency)

    def as_decimal(self) -> Decimal:
        return Decimal(self.minor_units).scaleb(-currencies.exponent(self.currency))

    def __add__(self, other: SettledMoney) -> SettledMoney:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")
        return SettledMoney(self.minor_units + other.minor_units, self.currency)

    def __str__(self) -> str:
        return f"{self.as_decimal()} {self.currency}"


def settle(money: PreciseMoney, mode: RoundingMode = RoundingMode.HALF_UP) -> SettledMoney:
    """The one rounding step: precise amount -> minor units of its currency, with a named mode."""
    return SettledMoney(round_to_minor_units(money.amount, money.currency, mode), money.currency)


def round_to_minor_units(amount: Decimal, currency: str, mode: RoundingMode) -> int:
    places = currencies.exponent(currency)
    scaled = amount.scaleb(places, context=PRECISE_CONTEXT)
    return int(scaled.quantize(Decimal(1), rounding=mode.decimal_rounding, context=PRECISE_CONTEXT))
