"""From precise lines to a settled document: one rounding step, totals that add up as EN 16931 checks.

Rating and billing keep amounts unrounded. A document rounds once, with the operator's mode:

1. Lines are grouped by VAT category and rate. Each group's net base is the sum of its precise lines,
   rounded once to the currency's minor unit.
2. Each group's tax is computed on that base (BR-CO-17: rate x category base, not the sum of line
   taxes), rounded once.
3. The lines shown are the precise lines spread over the rounded base by largest remainder, so they
   add up to it exactly (BR-CO-10); each shown line differs from its precise amount by less than one
   minor unit, and the document keeps both.
4. Totals: lines = sum of lines (BR-CO-10), excl. VAT = lines (no document-level allowances or
   charges, BR-CO-13), VAT = sum of category taxes (BR-CO-14), incl. VAT = excl. + VAT (BR-CO-15),
   payable = incl. - prepaid (BR-CO-16).

Where the precise total and the document differ, the document is right and ``rounding_difference``
says by how much, so nothing is hidden.

    >>> line = DraftLine("a", Decimal("1.004"), Decimal("21"))
    >>> lines = [line, line]
    >>> document = compose(lines, currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False)
    >>> [line.net_minor for line in document.lines], document.totals.excl_vat_minor
    ([101, 100], 201)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.invoicing.tax import TaxMode, VatCategory, category_of
from evbill.domain.money import PRECISE_CONTEXT, RoundingMode, quantize_precise, round_to_minor_units

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# What a line sold, by tariff dimension ("ENERGY", "TIME", "PARKING_TIME", "FLAT"): its precise net
# split by the price parts (a session line, or a discount taken off one), for revenue by kind in the
# ledger. Empty for a line that sold one thing (a plan fee): its kind says what. A partial credit of a
# line carries the original's split, which then gives the proportions of the credited amount.
Components = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class DraftLine:
    """A precise line before rounding; ``rate`` None: not subject to VAT."""

    description: str
    net: Decimal
    rate: Decimal | None
    supply_date: date | None = None
    session_id: str | None = None
    kind: str = "SESSION"
    quantity: Decimal = Decimal(1)
    unit: str = "C62"  # UN/ECE rec. 20: one (a piece); "KWH" for energy
    exempt: bool = False
    components: Components = ()


@dataclass(frozen=True, slots=True)
class DocumentLine:
    number: int
    description: str
    kind: str
    net_precise: Decimal
    net_minor: int  # what the document shows
    category: VatCategory
    rate: Decimal  # 0 for categories without VAT
    supply_date: date | None
    session_id: str | None
    quantity: Decimal
    unit: str
    components: Components = ()


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    category: VatCategory
    rate: Decimal
    base_precise: Decimal
    base_minor: int
    tax_minor: int


@dataclass(frozen=True, slots=True)
class Totals:
    lines_minor: int  # BT-106
    excl_vat_minor: int  # BT-109
    vat_minor: int  # BT-110
    incl_vat_minor: int  # BT-112
    prepaid_minor: int  # BT-113
    payable_minor: int  # BT-115


@dataclass(frozen=True, slots=True)
class Composed:
    currency: str
    tax_mode: TaxMode
    lines: tuple[DocumentLine, ...]
    breakdown: tuple[TaxBreakdown, ...]
    totals: Totals
    precise_incl_vat: Decimal
    rounding_difference: Decimal  # document incl. VAT minus the precise incl. VAT


def _allocate_minor(total_minor: int, precise: Sequence[Decimal], currency: str) -> list[int]:
    """Minor units per line, each within one unit of its precise amount, summing to ``total_minor``."""
    scale = Decimal(10) ** currencies.exponent(currency)
    scaled = [amount * scale for amount in precise]
    floors = [int(value.to_integral_value(rounding="ROUND_FLOOR")) for value in scaled]
    left = total_minor - sum(floors)
    order = sorted(range(len(scaled)), key=lambda i: (-(scaled[i] - floors[i]), i))
    step = 1 if left >= 0 else -1
    if step < 0:
        order = list(reversed(order))
    for index in range(abs(left)):
        floors[order[index % len(order)]] += step
    return floors


def compose(
    lines: Sequence[DraftLine],
    *,
    currency: str,
    mode: RoundingMode,
    reverse_charge: bool,
    tax_mode: TaxMode = TaxMode.VAT,
    prepaid_minor: int = 0,
) -> Composed:
    """The settled document of ``lines`` (see the module's steps)."""
    groups: dict[tuple[VatCategory, Decimal], list[int]] = {}
    categories = []
    for index, line in enumerate(lines):
        charge_reverse = reverse_charge and tax_mode is TaxMode.VAT
        category = category_of(line.rate, reverse_charge=charge_reverse, exempt=line.exempt)
        rate = line.rate if category in (VatCategory.STANDARD, VatCategory.ZERO) and line.rate else ZERO
        categories.append((category, rate))
        groups.setdefault((category, rate), []).append(index)
    net_minor = [0] * len(lines)
    breakdown = []
    precise_incl = ZERO
    for (category, rate), members in sorted(groups.items(), key=lambda item: (item[0][0].value, -item[0][1])):
        base_precise = sum((lines[i].net for i in members), ZERO)
        base_minor = round_to_minor_units(base_precise, currency, mode)
        tax_precise = quantize_precise(base_precise * rate / HUNDRED)
        base_settled = Decimal(base_minor).scaleb(-currencies.exponent(currency), context=PRECISE_CONTEXT)
        tax_minor = round_to_minor_units(base_settled * rate / HUNDRED, currency, mode)
        for i, minor in zip(
            members, _allocate_minor(base_minor, [lines[i].net for i in members], currency), strict=True
        ):
            net_minor[i] = minor
        breakdown.append(TaxBreakdown(category, rate, base_precise, base_minor, tax_minor))
        precise_incl += base_precise + tax_precise
    document_lines = tuple(
        DocumentLine(
            number=index + 1, description=line.description, kind=line.kind, net_precise=line.net,
            net_minor=net_minor[index], category=categories[index][0], rate=categories[index][1],
            supply_date=line.supply_date, session_id=line.session_id, quantity=line.quantity, unit=line.unit,
            components=line.components,
        )
        for index, line in enumerate(lines)
    )  # fmt: skip
    lines_minor = sum(line.net_minor for line in document_lines)
    vat_minor = sum(b.tax_minor for b in breakdown)
    incl = lines_minor + vat_minor
    totals = Totals(lines_minor, lines_minor, vat_minor, incl, prepaid_minor, incl - prepaid_minor)
    shown_incl = Decimal(incl).scaleb(-currencies.exponent(currency), context=PRECISE_CONTEXT)
    return Composed(
        currency=currency,
        tax_mode=tax_mode,
        lines=document_lines,
        breakdown=tuple(breakdown),
        totals=totals,
        precise_incl_vat=precise_incl,
        rounding_difference=shown_incl - precise_incl,
    )
