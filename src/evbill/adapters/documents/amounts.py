"""What both e-invoice syntaxes share: amounts as decimals, line quantities, exemption reasons.

EN 16931 forbids a negative item price (BR-27); a credit or discount line is written as quantity -1
at a positive price, so the line amount is negative and the totals add up as they do on the document.
"""

from __future__ import annotations

from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.invoicing.compose import DocumentLine
from evbill.domain.invoicing.documents import Document
from evbill.domain.invoicing.tax import EXEMPTION_REASONS, VatCategory

EXEMPTION_CODES = {
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.OUTSIDE_SCOPE: "VATEX-EU-O",
}


def money(minor: int, currency: str) -> Decimal:
    places = currencies.exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def quantity_and_price(line: DocumentLine, currency: str) -> tuple[Decimal, Decimal]:
    amount = money(line.net_minor, currency)
    return (Decimal("-1") if amount < 0 else Decimal("1")), abs(amount)


def percent(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("0.01"))


def exemption_reason(category: VatCategory) -> str | None:
    return EXEMPTION_REASONS.get(category)


def check_writable(document: Document) -> None:
    """EN 16931 allows no other category beside O (BR-O-11..14); and a document needs its number."""
    categories = {b.category for b in document.composed.breakdown}
    if VatCategory.OUTSIDE_SCOPE in categories and len(categories) > 1:
        raise ValueError(
            "an EN 16931 invoice cannot mix lines outside the scope of VAT (O) with taxed ones (BR-O-11)"
        )
    if document.number is None or document.issue_date is None:
        raise ValueError("only an issued document (with its number) is written as an e-invoice")
