"""VAT categories (EN 16931 / UNCL5305), rates by country with validity dates, and reverse charge.

A line's category follows from its rate and the parties:

* ``S`` standard or reduced rate (a rate above zero);
* ``Z`` zero rated (0 %: taxable, at zero);
* ``E`` exempt (the operator says so, with a reason);
* ``AE`` reverse charge: a business buyer with a VAT id in another EU country than the seller's tax
  country; no VAT is charged, the buyer accounts for it, and the document says so;
* ``O`` outside the scope of VAT: a line with no rate at all (an omitted OCPI ``vat``), not 0 %.

    >>> category_of(Decimal("21"), reverse_charge=False)
    <VatCategory.STANDARD: 'S'>
    >>> category_of(None, reverse_charge=False), category_of(Decimal("21"), reverse_charge=True)
    (<VatCategory.OUTSIDE_SCOPE: 'O'>, <VatCategory.REVERSE_CHARGE: 'AE'>)

Rates change: Germany charged 16 % instead of 19 % from 2020-07-01 to 2020-12-31. A session is taxed
at the rate of its own date:

    >>> GERMANY.rate_on(date(2020, 6, 30)), GERMANY.rate_on(date(2020, 7, 1))
    (Decimal('19'), Decimal('16'))
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from evbill.domain.errors import InvalidInput, Problem

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196 Directive 2006/112/EC)"
)


class VatCategory(enum.StrEnum):
    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    OUTSIDE_SCOPE = "O"


class TaxMode(enum.StrEnum):
    """VAT (the price's tax is shown per category) or US-style sales tax added to a net price."""

    VAT = "VAT"
    SALES_TAX = "SALES_TAX"


EXEMPTION_REASONS = {
    VatCategory.EXEMPT: "Exempt from VAT",
    VatCategory.REVERSE_CHARGE: "Reverse charge",
    VatCategory.OUTSIDE_SCOPE: "Not subject to VAT",
}


def category_of(rate: Decimal | None, *, reverse_charge: bool, exempt: bool = False) -> VatCategory:
    if rate is None:
        return VatCategory.OUTSIDE_SCOPE
    if exempt:
        return VatCategory.EXEMPT
    if reverse_charge:
        return VatCategory.REVERSE_CHARGE
    return VatCategory.STANDARD if rate > 0 else VatCategory.ZERO


def is_reverse_charge(*, seller_country: str, buyer_country: str | None, buyer_vat_id: str | None) -> bool:
    """Cross-border B2B inside the EU with the buyer's VAT id: the buyer accounts for the VAT."""
    return (
        buyer_vat_id is not None
        and buyer_country is not None
        and buyer_country != seller_country
        and seller_country in EU_COUNTRIES
        and buyer_country in EU_COUNTRIES
    )


@dataclass(frozen=True, slots=True)
class RatePeriod:
    rate: Decimal
    valid_from: date
    valid_to: date | None = None  # exclusive; None: still in force


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """One country's standard rate over time."""

    country: str
    periods: tuple[RatePeriod, ...]

    def rate_on(self, day: date) -> Decimal:
        for period in self.periods:
            if period.valid_from <= day and (period.valid_to is None or day < period.valid_to):
                return period.rate
        raise InvalidInput(
            "no VAT rate", (Problem("$.vat", f"no standard VAT rate of {self.country} on {day}"),)
        )


GERMANY = RateSchedule(
    "DE",
    (
        RatePeriod(Decimal("19"), date(2007, 1, 1), date(2020, 7, 1)),
        RatePeriod(Decimal("16"), date(2020, 7, 1), date(2021, 1, 1)),
        RatePeriod(Decimal("19"), date(2021, 1, 1)),
    ),
)
NETHERLANDS = RateSchedule("NL", (RatePeriod(Decimal("21"), date(2012, 10, 1)),))
